package tarx

import (
	"archive/tar"
	"compress/bzip2"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/faultline-go/faultline/chain"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Conditions callers test with errors.Is. An *Error wraps one of them, or
// the failure it met (a read error, a decoder error, a file-system error).
var (
	// ErrUnsafe reports an entry that would write outside the tree, through
	// a symlink, or create a device or FIFO.
	ErrUnsafe = errors.New("tarx: unsafe archive entry")
	// ErrLimit reports an archive beyond one of Options.Limits.
	ErrLimit = errors.New("tarx: archive exceeds a limit")
	// ErrExist reports that the destination exists and Options.Replace is
	// not set. It matches fs.ErrExist too.
	ErrExist = fmt.Errorf("tarx: destination exists: %w", fs.ErrExist)
	// ErrFormat reports a stream tarx does not unpack: not an archive (the
	// message says what it looks like), or an archive using a feature tarx
	// cannot stream (an xz filter other than LZMA2, an encrypted zip
	// entry, a stored zip entry whose size follows its data).
	ErrFormat = errors.New("tarx: unsupported archive format")
	// ErrTruncated reports a tar stream that ends, on a block boundary,
	// before its end-of-archive marker: archive/tar accepts it as a shorter
	// archive, tarx does not. It matches io.ErrUnexpectedEOF.
	ErrTruncated = fmt.Errorf("tarx: archive ends before its end-of-archive marker: %w", io.ErrUnexpectedEOF)
)

// errArchive marks a malformed but not hostile archive: an unsupported entry
// type, a file where a directory is needed.
var errArchive = errors.New("tarx: malformed archive")

// The kinds tarx reports through chain.Attrs.Kind; they are classify's
// vocabulary, spelled out here so tarx depends only on chain.
const (
	kindUnsafe   = "unsafe_archive"
	kindLimit    = "limit"
	kindArchive  = "archive"
	kindChecksum = "checksum"
	kindExists   = "exists"
)

// Error is the error type Extract returns. Its message reads
// "<Op> <Entry>: <Err>", for example
// "unpacking python/lib/libpython3.so: read tcp 127.0.0.1:80: connection reset by peer".
type Error struct {
	// Op is what Extract was doing: "staging" (preparing the staging
	// directory), "reading archive" (detecting the format), "reading
	// header" or "reading header after <entry>", "unpacking" (an entry),
	// "verifying" (draining the decoder past the end-of-archive marker),
	// "committing" (the rename into place), "finishing" (the root's mode
	// and times, applied after the rename) or "syncing".
	Op string
	// Entry is the archive entry being unpacked (as named in the archive),
	// or "" when the failure is not tied to one.
	Entry string
	// Format is the layer the failure belongs to: "gzip", "zstd", "xz" or
	// "bzip2" when the decompressor (or the reader below it) failed, "zip"
	// for any failure in a zip, otherwise "tar".
	Format string
	// Offset is how many bytes of the (compressed) input had been read.
	Offset int64
	// Kind is the failure kind tarx reports for this layer: "unsafe_archive",
	// "limit" or "checksum" when it recognised one, "exists" when the
	// destination exists (before staging, or because another extraction
	// committed first), "archive" for any other failure while unpacking, ""
	// for other staging and committing failures (the file system's error
	// speaks). classify lets a deeper cause decide the
	// kind — a connection reset under "archive" stays connection_reset and
	// is marked caused_by_transport — while checksum, unsafe_archive and
	// limit always win.
	Kind string
	// Err is the cause.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	if e.Entry != "" {
		b.WriteByte(' ')
		b.WriteString(e.Entry)
	}
	b.WriteString(": ")
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	} else {
		b.WriteString("<nil>")
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// DescribeFault implements chain.Describer.
func (e *Error) DescribeFault(a *chain.Attrs) {
	if e.Entry != "" {
		a.Entry = e.Entry
	}
	if e.Format != "" {
		a.Format = e.Format
	}
	if e.Offset > 0 {
		a.Offset = e.Offset
	}
	if e.Kind != "" {
		a.Kind = e.Kind
	}
}

// kindOf returns the kind tarx can vouch for, or "" when the cause should
// decide. Only conditions tarx or its decoders detect are named here; a
// transport error below a decoder is never relabelled.
func kindOf(err error) string {
	switch {
	case errors.Is(err, ErrUnsafe):
		return kindUnsafe
	case errors.Is(err, ErrLimit):
		return kindLimit
	case errors.Is(err, gzip.ErrChecksum), errors.Is(err, zstd.ErrCRCMismatch), errors.Is(err, ErrChecksum),
		isBzip2Checksum(err):
		return kindChecksum
	case errors.Is(err, ErrFormat), errors.Is(err, errArchive), errors.Is(err, errXzCorrupt),
		errors.Is(err, tar.ErrHeader), errors.Is(err, tar.ErrFieldTooLong):
		return kindArchive
	case escapesRoot(err):
		// Our own checks should have refused the entry first; os.Root is
		// the backstop, and what it caught is still an attack.
		return kindUnsafe
	}
	return ""
}

// isBzip2Checksum reports compress/bzip2's block or stream checksum
// mismatch, which it reports only as a StructuralError's text.
func isBzip2Checksum(err error) bool {
	var se bzip2.StructuralError
	return errors.As(err, &se) && strings.Contains(string(se), "checksum")
}

// escapesRoot reports os.Root's refusal of a path that leaves it. The
// sentinel is unexported, so its text is all there is to match.
func escapesRoot(err error) bool {
	var pe *fs.PathError
	if !errors.As(err, &pe) {
		return false
	}
	return strings.Contains(pe.Err.Error(), "path escapes from parent")
}
