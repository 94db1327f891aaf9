package tarx

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"strconv"
	"unicode"
	"unicode/utf8"

	kgzip "github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Format is an archive's container format, detected from its first bytes,
// never from a name.
type Format string

// The formats Extract unpacks.
const (
	FormatTar   Format = "tar"   // uncompressed tar
	FormatGzip  Format = "gzip"  // tar.gz, tgz
	FormatZstd  Format = "zstd"  // tar.zst
	FormatXz    Format = "xz"    // tar.xz, txz
	FormatBzip2 Format = "bzip2" // tar.bz2, tbz2
	FormatZip   Format = "zip"   // zip, and formats built on it (whl, jar)
)

// Magic numbers: RFC 1952 section 2.3.1 (gzip), RFC 8878 section 3.1.1
// (zstd) and its skippable frames (section 3.1.2), the xz format's
// section 2.1.1.1, bzip2's "BZh" and block size digit, and the zip
// local file header (APPNOTE 4.3.7) or, for an empty zip, the end of
// central directory record (4.3.16).
var (
	magicGzip     = []byte{0x1f, 0x8b}
	magicZstd     = []byte{0x28, 0xb5, 0x2f, 0xfd}
	magicXz       = []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}
	magicBzip2    = []byte("BZh")
	magicZip      = []byte("PK\x03\x04")
	magicZipEmpty = []byte("PK\x05\x06")
)

// sniffLen is how many bytes Detect looks at: a whole tar header block,
// whose checksum tells a plain tar from anything else.
const sniffLen = blockSize

// Detect names the format of a stream from its first bytes (up to 512).
// A plain tar is recognised by its first header's magic or checksum, or
// an empty archive's zero block; a stream that ends within its first 512
// bytes is taken for a tar cut short unless it is recognisably something
// else. Anything else is refused with an ErrFormat that says what the
// data looks like: "not an archive: the data starts with an HTML page".
func Detect(head []byte) (Format, error) {
	switch {
	case bytes.HasPrefix(head, magicGzip):
		return FormatGzip, nil
	case bytes.HasPrefix(head, magicZstd), isSkippableFrame(head):
		return FormatZstd, nil
	case bytes.HasPrefix(head, magicXz):
		return FormatXz, nil
	case bytes.HasPrefix(head, magicBzip2) && len(head) > 3 && head[3] >= '1' && head[3] <= '9':
		return FormatBzip2, nil
	case bytes.HasPrefix(head, magicZip), bytes.HasPrefix(head, magicZipEmpty):
		return FormatZip, nil
	case isTarHeader(head):
		return FormatTar, nil
	}
	// A stream cut inside a magic number is that format cut short.
	for _, m := range []struct {
		magic  []byte
		format Format
	}{{magicGzip, FormatGzip}, {magicZstd, FormatZstd}, {magicXz, FormatXz}, {magicBzip2, FormatBzip2}, {magicZip, FormatZip}} {
		if len(head) > 0 && len(head) < len(m.magic) && bytes.HasPrefix(m.magic, head) {
			return m.format, nil
		}
	}
	what := describe(head)
	if what == "" {
		// Too short to be sure, and nothing else: a tar cut short, which
		// the tar reader reports as such.
		return FormatTar, nil
	}
	return "", fmt.Errorf("%w: not an archive: %s", ErrFormat, what)
}

func isSkippableFrame(head []byte) bool {
	return len(head) >= 4 && binary.LittleEndian.Uint32(head)&0xFFFFFFF0 == 0x184D2A50
}

// isTarHeader reports whether block is a tar header (ustar or GNU magic,
// or a valid checksum as a V7 header has) or a zero block (an empty
// archive).
func isTarHeader(block []byte) bool {
	if len(block) < blockSize {
		return false
	}
	block = block[:blockSize]
	if bytes.Equal(block[257:262], []byte("ustar")) {
		return true
	}
	var unsigned, signed int64
	zero := true
	for i, c := range block {
		if i >= 148 && i < 156 {
			c = ' '
		} else if c != 0 {
			zero = false
		}
		unsigned += int64(c)
		signed += int64(int8(c))
	}
	if zero {
		return true
	}
	field := bytes.TrimSpace(bytes.TrimRight(block[148:156], "\x00 "))
	want, err := strconv.ParseInt(string(field), 8, 64)
	return err == nil && (want == unsigned || want == signed)
}

// describe says what head looks like when it is not an archive, or ""
// when it is too short to tell and could be the start of a tar header.
func describe(head []byte) string {
	if len(head) == 0 {
		return "" // a stream cut before its first byte: unexpected EOF
	}
	trimmed := bytes.TrimLeft(bytes.TrimPrefix(head, []byte("\xef\xbb\xbf")), " \t\r\n")
	lower := bytes.ToLower(trimmed[:min(len(trimmed), 64)])
	for _, k := range []struct{ prefix, what string }{
		{"<!doctype html", "an HTML page"}, {"<html", "an HTML page"}, {"<head", "an HTML page"},
		{"<body", "an HTML page"}, {"<!--", "an HTML page"},
		{"<?xml", "an XML document"},
		{"{", "JSON"}, {"[", "JSON"},
		{"%pdf", "a PDF document"},
		{"#!", "a script"},
	} {
		if bytes.HasPrefix(lower, []byte(k.prefix)) {
			return "the data starts with " + k.what
		}
	}
	for _, k := range []struct{ magic, what string }{
		{"\x7fELF", "an ELF executable"}, {"MZ", "a Windows executable"},
		{"7z\xbc\xaf\x27\x1c", "a 7-Zip archive, which is not supported"},
		{"Rar!\x1a\x07", "a RAR archive, which is not supported"},
		{"\x04\x22\x4d\x18", "an LZ4 stream, which is not supported"},
		{"\x89PNG", "a PNG image"}, {"\xff\xd8\xff", "a JPEG image"}, {"GIF8", "a GIF image"},
	} {
		if bytes.HasPrefix(head, []byte(k.magic)) {
			return "the data starts with " + k.what
		}
	}
	if isText(head) && (len(head) >= blockSize || bytes.ContainsAny(head, " \n\t")) {
		// Short text without a space could be the name at the start of a
		// tar header cut short.
		line, _, _ := bytes.Cut(trimmed, []byte("\n"))
		if len(line) > 60 {
			line = append(line[:57:57], "..."...)
		}
		return fmt.Sprintf("the data is text: %q", line)
	}
	if len(head) < blockSize {
		return ""
	}
	return fmt.Sprintf("unrecognised data starting % x", head[:min(len(head), 8)])
}

// isText reports whether b is printable UTF-8 text (a cut-off last rune
// allowed).
func isText(b []byte) bool {
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size <= 1 {
			return len(b) < utf8.UTFMax && !utf8.FullRune(b)
		}
		if !unicode.IsPrint(r) && !unicode.IsSpace(r) {
			return false
		}
		b = b[size:]
	}
	return true
}

// decoder is a decompressor, or the raw stream for plain tar.
type decoder interface {
	io.Reader
	Close() error
}

// decoders builds decompressors. Extract uses klauspost/compress for gzip
// and zstd; the benchmarks swap in compress/gzip to compare.
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

// open returns the decoder for format reading from r. window bounds the
// decoder's window (Limits.Window): frames and blocks needing more are
// refused rather than allowed to claim memory. pos reports how many bytes
// of r the decoder has consumed.
func (d decoders) open(format Format, r *bufio.Reader, window int64, pos func() int64) (decoder, error) {
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
	case FormatXz:
		return newXzReader(r, pos, window)
	case FormatBzip2:
		// A bzip2 block is at most 900 kB; the decoder's memory is a few
		// times that, whatever the stream.
		return rawDecoder{bzip2.NewReader(r)}, nil
	}
	return rawDecoder{r}, nil
}
