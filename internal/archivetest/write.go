package archivetest

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Format is the container an archive is written in.
type Format string

// The formats Write produces.
const (
	Tar  Format = "tar"
	Gzip Format = "gzip" // tar.gz at the default level
	// GzipStored is tar.gz in stored (uncompressed) deflate blocks: every
	// content byte appears verbatim, so a test can flip one that only the
	// CRC-32 will catch.
	GzipStored Format = "gzip-stored"
	Zstd       Format = "zstd" // tar.zst with a content checksum, as the zstd CLI writes
)

// Formats returns the formats tarx unpacks, for table-driven tests.
func Formats() []Format { return []Format{Tar, Gzip, Zstd} }

// Ext returns the usual file name extension for f.
func (f Format) Ext() string {
	switch f {
	case Gzip, GzipStored:
		return ".tar.gz"
	case Zstd:
		return ".tar.zst"
	}
	return ".tar"
}

// Write writes entries as an archive in format f.
func Write(w io.Writer, f Format, entries []Entry) error {
	switch f {
	case Tar:
		return writeTar(w, entries)
	case Gzip, GzipStored:
		level := gzip.DefaultCompression
		if f == GzipStored {
			level = gzip.NoCompression
		}
		zw, err := gzip.NewWriterLevel(w, level)
		if err != nil {
			return err
		}
		if err := writeTar(zw, entries); err != nil {
			return err
		}
		return zw.Close()
	case Zstd:
		zw, err := zstd.NewWriter(w, zstd.WithEncoderConcurrency(1), zstd.WithEncoderCRC(true))
		if err != nil {
			return err
		}
		if err := writeTar(zw, entries); err != nil {
			zw.Close()
			return err
		}
		return zw.Close()
	}
	return fmt.Errorf("archivetest: unknown format %q", f)
}

// Bytes returns entries as an archive in format f.
func Bytes(f Format, entries []Entry) ([]byte, error) {
	var buf bytes.Buffer
	if err := Write(&buf, f, entries); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func writeTar(w io.Writer, entries []Entry) error {
	tw := tar.NewWriter(w)
	for i := range entries {
		e := &entries[i]
		hdr := &tar.Header{
			Typeflag: e.Type,
			Name:     e.Name,
			Linkname: e.Linkname,
			Mode:     e.Mode,
			ModTime:  e.modTime(),
			Format:   e.Format,
		}
		switch e.Type {
		case tar.TypeReg:
			hdr.Size = e.size()
		case tar.TypeDir:
			if !strings.HasSuffix(hdr.Name, "/") {
				hdr.Name += "/"
			}
		case tar.TypeChar, tar.TypeBlock:
			hdr.Devmajor, hdr.Devminor = 1, 3 // /dev/null's numbers
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("archivetest: entry %q: %w", e.Name, err)
		}
		if e.Type != tar.TypeReg {
			continue
		}
		var err error
		if e.Data != nil {
			_, err = tw.Write(e.Data)
		} else {
			_, err = io.CopyN(tw, zeros{}, e.Size)
		}
		if err != nil {
			return fmt.Errorf("archivetest: entry %q: %w", e.Name, err)
		}
	}
	return tw.Close()
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
