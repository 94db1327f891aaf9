package tarx

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"

	kgzip "github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Format is an archive's container format, detected from its first bytes.
type Format string

// The formats Extract unpacks.
const (
	FormatTar  Format = "tar"  // uncompressed tar
	FormatGzip Format = "gzip" // tar.gz, tgz
	FormatZstd Format = "zstd" // tar.zst
)

// Magic numbers of the compressed formats; RFC 1952 section 2.3.1 (gzip),
// RFC 8878 section 3.1.1 (zstd) and its skippable frames (section 3.1.2).
var (
	magicGzip  = []byte{0x1f, 0x8b}
	magicZstd  = []byte{0x28, 0xb5, 0x2f, 0xfd}
	magicXz    = []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}
	magicBzip2 = []byte("BZh")
	magicZip   = []byte("PK\x03\x04")
)

// sniffLen is how many bytes Detect needs to tell every format apart.
const sniffLen = 8

// Detect names the format of a stream from its first bytes. Anything that
// is not a known compressed format is taken for plain tar, which the tar
// reader then validates. xz, bzip2 and zip are reported with ErrFormat.
func Detect(head []byte) (Format, error) {
	switch {
	case bytes.HasPrefix(head, magicGzip):
		return FormatGzip, nil
	case bytes.HasPrefix(head, magicZstd), isSkippableFrame(head):
		return FormatZstd, nil
	case bytes.HasPrefix(head, magicXz):
		return "", fmt.Errorf("%w: xz", ErrFormat)
	case bytes.HasPrefix(head, magicBzip2) && len(head) > 3 && head[3] >= '1' && head[3] <= '9':
		return "", fmt.Errorf("%w: bzip2", ErrFormat)
	case bytes.HasPrefix(head, magicZip):
		return "", fmt.Errorf("%w: zip", ErrFormat)
	}
	return FormatTar, nil
}

func isSkippableFrame(head []byte) bool {
	return len(head) >= 4 && binary.LittleEndian.Uint32(head)&0xFFFFFFF0 == 0x184D2A50
}

// decoder is a decompressor, or the raw stream for plain tar.
type decoder interface {
	io.Reader
	Close() error
}

// decoders builds decompressors. Extract uses klauspost/compress for both;
// the benchmarks swap in compress/gzip to compare.
type decoders struct {
	gzip func(r *bufio.Reader) (decoder, error)
	// zstdConcurrency is passed to zstd.WithDecoderConcurrency. 1 decodes
	// synchronously in Extract's goroutine: no helper goroutines, least
	// memory.
	zstdConcurrency int
}

func defaultDecoders() decoders {
	return decoders{gzip: newKlauspostGzip, zstdConcurrency: 1}
}

func newKlauspostGzip(r *bufio.Reader) (decoder, error) {
	// kgzip reads through r directly because it is an io.ByteReader.
	zr, err := kgzip.NewReader(r)
	if err != nil {
		return nil, err
	}
	return zr, nil
}

func newStdGzip(r *bufio.Reader) (decoder, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, err
	}
	return zr, nil
}

// maxZstdWindow is the largest window zstd.WithDecoderMaxWindow accepts.
const maxZstdWindow = 1 << 41

type zstdDecoder struct{ *zstd.Decoder }

func (z zstdDecoder) Close() error { z.Decoder.Close(); return nil }

type rawDecoder struct{ io.Reader }

func (rawDecoder) Close() error { return nil }

// open returns the decoder for format reading from r.
// window bounds the decoder's window (Limits.Window): frames needing more
// are refused rather than allowed to claim memory.
func (d decoders) open(format Format, r *bufio.Reader, window int64) (decoder, error) {
	switch format {
	case FormatGzip:
		return d.gzip(r)
	case FormatZstd:
		zr, err := zstd.NewReader(r,
			zstd.WithDecoderConcurrency(d.zstdConcurrency),
			zstd.WithDecoderMaxWindow(uint64(min(window, maxZstdWindow))),
			zstd.WithDecoderLowmem(true))
		if err != nil {
			return nil, err
		}
		return zstdDecoder{zr}, nil
	}
	return rawDecoder{r}, nil
}
