package tarx

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/faultline-go/faultline/internal/archivetest"
)

// benchTree is about 20 MB in 500 files.
func benchTree(b *testing.B) (entries []archivetest.Entry, contentBytes int64) {
	entries = archivetest.Tree(42, 500, 20<<20)
	for _, e := range entries {
		contentBytes += int64(len(e.Data))
	}
	return entries, contentBytes
}

type benchCase struct {
	name   string
	format archivetest.Format
	dec    decoders
}

func benchCases() []benchCase {
	std := defaultDecoders()
	std.gzip = newStdGzip
	async := defaultDecoders()
	async.zstdConcurrency = 2
	return []benchCase{
		{"tar", archivetest.Tar, defaultDecoders()},
		{"gzip-klauspost", archivetest.Gzip, defaultDecoders()},
		{"gzip-stdlib", archivetest.Gzip, std},
		{"zstd-sync", archivetest.Zstd, defaultDecoders()},
		{"zstd-async2", archivetest.Zstd, async},
		{"xz", archivetest.XzCLI, defaultDecoders()},
		{"bzip2", archivetest.Bzip2, defaultDecoders()},
	}
}

// BenchmarkExtract unpacks the tree to disk, into $TARX_BENCH_DIR if set (a
// tmpfs gives stable figures) or a temp dir. Throughput is file content
// per second; "ratio" is the archive's compression ratio.
func BenchmarkExtract(b *testing.B) {
	entries, content := benchTree(b)
	base := os.Getenv("TARX_BENCH_DIR")
	if base == "" {
		base = b.TempDir()
	}
	for _, bc := range benchCases() {
		data, err := archivetest.Bytes(bc.format, entries)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bc.name, func(b *testing.B) {
			dir, err := os.MkdirTemp(base, "bench")
			if err != nil {
				b.Fatal(err)
			}
			defer os.RemoveAll(dir)
			b.SetBytes(content)
			b.ReportAllocs()
			b.ReportMetric(float64(content)/float64(len(data)), "ratio")
			i := 0
			for b.Loop() {
				dest := filepath.Join(dir, fmt.Sprint(i))
				i++
				if _, err := extract(context.Background(), bytes.NewReader(data), dest, Options{}, bc.dec); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if err := forceRemoveAll(dest); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}

// BenchmarkDecode reads the same archives through the decoder and the tar
// reader without touching the disk: the decoders' share of BenchmarkExtract.
func BenchmarkDecode(b *testing.B) {
	entries, content := benchTree(b)
	for _, bc := range benchCases() {
		data, err := archivetest.Bytes(bc.format, entries)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(content)
			b.ReportAllocs()
			buf := make([]byte, copyBufferSize)
			for b.Loop() {
				in := &inputCounter{r: bytes.NewReader(data)}
				br := bufio.NewReaderSize(in, inputBufferSize)
				format, _ := Detect(data[:sniffLen])
				d, err := bc.dec.open(format, br, DefaultWindow, func() int64 { return in.n - int64(br.Buffered()) })
				if err != nil {
					b.Fatal(err)
				}
				tr := tar.NewReader(d)
				for {
					_, err := tr.Next()
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					if _, err := io.CopyBuffer(io.Discard, onlyReader{tr}, buf); err != nil {
						b.Fatal(err)
					}
				}
				d.Close()
			}
		})
	}
}

// onlyReader hides io.WriterTo so CopyBuffer uses buf.
type onlyReader struct{ io.Reader }
