package livefault

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"io"

	"github.com/faultline-go/faultline/chain"
)

// UnpackError is what the test extractor returns when an archive cannot be
// read: the format, the entry being read, and the cause, which gzip and tar
// pass through unchanged from the body.
type UnpackError struct {
	Format string // "tar.gz"
	Entry  string // the entry being read, or "" before the first header
	Err    error
}

func (e *UnpackError) Error() string {
	if e.Entry == "" {
		return e.Format + ": " + e.Err.Error()
	}
	return fmt.Sprintf("%s: unpack %q: %v", e.Format, e.Entry, e.Err)
}

func (e *UnpackError) Unwrap() error { return e.Err }

// DescribeFault records the format and entry for the chain walker.
func (e *UnpackError) DescribeFault(a *chain.Attrs) {
	a.Format, a.Entry = e.Format, e.Entry
}

// Unpack reads a tar.gz stream to the end, as an extractor does, and
// discards the contents. After tar's end-of-archive it drains gzip too:
// archive/tar stops before the gzip trailer, and only the drain checks the
// CRC-32.
func Unpack(r io.Reader) error {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return &UnpackError{Format: "tar.gz", Err: err}
	}
	tr := tar.NewReader(zr)
	entry := ""
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return &UnpackError{Format: "tar.gz", Entry: entry, Err: err}
		}
		entry = hdr.Name
		if _, err := io.Copy(io.Discard, tr); err != nil {
			return &UnpackError{Format: "tar.gz", Entry: entry, Err: err}
		}
	}
	if _, err := io.Copy(io.Discard, zr); err != nil {
		return &UnpackError{Format: "tar.gz", Err: err}
	}
	if err := zr.Close(); err != nil {
		return &UnpackError{Format: "tar.gz", Err: err}
	}
	return nil
}

// countingReader counts the bytes read through it, remembers the first
// read error other than io.EOF (so a failure can be told apart as the
// body's or the decoder's), and opens a gate once enough has arrived.
type countingReader struct {
	r    io.Reader
	n    int64
	err  error
	gate *gate
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && err != io.EOF && c.err == nil {
		c.err = err
	}
	c.gate.pass(c.n)
	return n, err
}
