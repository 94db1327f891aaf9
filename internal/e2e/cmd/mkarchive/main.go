// Mkarchive writes a deterministic archive shaped like a software
// distribution, from internal/archivetest's generator, for benchmarks.
//
// Usage:
//
//	mkarchive [-files N] [-bytes N] [-seed N] [-format gzip|zstd|tar] FILE
//
// It prints the archive's size and SHA-256:
//
//	archive.tar.gz 67108864 bytes sha256 9f2c...
package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/faultline-go/faultline/internal/archivetest"
)

func main() {
	files := flag.Int("files", 3000, "about `N` regular files")
	bytes := flag.Int64("bytes", 150<<20, "about `N` bytes of file content in all")
	seed := flag.Uint64("seed", 1, "generator `SEED`; the same seed gives the same bytes")
	format := flag.String("format", "gzip", "container `FORMAT`: gzip, zstd or tar")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintf(os.Stderr, "usage: mkarchive [flags] FILE\n")
		flag.PrintDefaults()
		os.Exit(2)
	}
	if err := write(flag.Arg(0), archivetest.Format(*format), archivetest.Tree(*seed, *files, *bytes)); err != nil {
		fmt.Fprintf(os.Stderr, "mkarchive: %v\n", err)
		os.Exit(1)
	}
}

func write(name string, f archivetest.Format, entries []archivetest.Entry) error {
	switch f {
	case archivetest.Gzip, archivetest.Zstd, archivetest.Tar:
	default:
		return fmt.Errorf("unknown format %q", f)
	}
	out, err := os.Create(name)
	if err != nil {
		return err
	}
	h := sha256.New()
	bw := bufio.NewWriterSize(io.MultiWriter(out, h), 1<<20)
	if err := archivetest.Write(bw, f, entries); err != nil {
		out.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	st, err := os.Stat(name)
	if err != nil {
		return err
	}
	fmt.Printf("%s %d bytes sha256 %s\n", name, st.Size(), hex.EncodeToString(h.Sum(nil)))
	return nil
}
