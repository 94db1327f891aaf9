package archivetest

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os/exec"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
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
	// Xz is tar.xz in one block: from the xz tool (xz -6 -T1) when it is
	// installed, else from ulikunitz/xz's writer (slow, under the race
	// detector very slow).
	Xz Format = "xz"
	// XzCLI is tar.xz from the xz tool, in several blocks (xz -T2
	// --block-size 64KiB, so that even small trees make several), as
	// multi-threaded xz writes them.
	XzCLI Format = "xz-cli"
	// Bzip2 is tar.bz2 from the bzip2 tool: Go has no bzip2 writer.
	Bzip2 Format = "bzip2"
	// ZipFormat names a zip, for the attacks that are zips: Zip writes
	// them, record by record; Write does not.
	ZipFormat Format = "zip"
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
	case Xz, XzCLI:
		return ".tar.xz"
	case Bzip2:
		return ".tar.bz2"
	case ZipFormat:
		return ".zip"
	}
	return ".tar"
}

// Write writes entries as an archive in format f.
func Write(w io.Writer, f Format, entries []Entry) error {
	switch f {
	case Tar:
		return writeTar(w, entries)
	case Xz:
		if _, err := exec.LookPath("xz"); err == nil {
			return throughTool(w, entries, "xz", "-c", "-6", "-T1")
		}
	case XzCLI:
		return throughTool(w, entries, "xz", "-c", "-6", "-T2", "--block-size=64KiB")
	case Bzip2:
		return throughTool(w, entries, "bzip2", "-c", "-9")
	case Gzip, GzipStored, Zstd:
	default:
		return fmt.Errorf("archivetest: unknown format %q", f)
	}
	zw, err := compressor(w, f)
	if err != nil {
		return err
	}
	if err := writeTar(zw, entries); err != nil {
		zw.Close()
		return err
	}
	return zw.Close()
}

// compressor returns a writer that compresses into w in format f, in
// process: gzip (stored for GzipStored), xz in one block, or zstd with a
// content checksum. Its Close ends the stream.
func compressor(w io.Writer, f Format) (io.WriteCloser, error) {
	switch f {
	case Gzip:
		return gzip.NewWriterLevel(w, gzip.DefaultCompression)
	case GzipStored:
		return gzip.NewWriterLevel(w, gzip.NoCompression)
	case Xz:
		return xz.WriterConfig{CheckSum: xz.CRC64}.NewWriter(w)
	case Zstd:
		return zstd.NewWriter(w, zstd.WithEncoderConcurrency(1), zstd.WithEncoderCRC(true))
	}
	return nil, fmt.Errorf("archivetest: cannot compress as %q", f)
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

// throughTool writes entries as a tar through a compressor on the PATH.
func throughTool(w io.Writer, entries []Entry, tool string, args ...string) error {
	path, err := exec.LookPath(tool)
	if err != nil {
		return fmt.Errorf("archivetest: %s is needed to write this format: %w", tool, err)
	}
	var raw bytes.Buffer
	if err := writeTar(&raw, entries); err != nil {
		return err
	}
	cmd := exec.Command(path, args...)
	cmd.Stdin = &raw
	cmd.Stdout = w
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("archivetest: %s: %w: %s", tool, err, stderr.String())
	}
	return nil
}
