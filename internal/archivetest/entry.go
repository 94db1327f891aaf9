package archivetest

import (
	"archive/tar"
	"time"
)

// Entry describes one archive entry, in the order it is written.
type Entry struct {
	// Name is slash-separated. Directories may omit the trailing slash;
	// the writer adds it. Hostile entries carry whatever name the attack
	// needs.
	Name string
	// Type is a tar type flag: tar.TypeReg, TypeDir, TypeSymlink, TypeLink,
	// TypeChar, TypeBlock, TypeFifo.
	Type byte
	// Mode is the tar mode: permission bits, plus setuid (04000), setgid
	// (02000) and sticky (01000) bits.
	Mode int64
	// ModTime is the modification time, in whole seconds; zero means
	// 2024-01-02T03:04:05Z.
	ModTime time.Time
	// Linkname is the target of a symlink or hard link.
	Linkname string
	// Data is a regular file's content.
	Data []byte
	// Size, when Data is nil, makes a regular file of Size zero bytes
	// without holding them in memory (bombs, limit tests).
	Size int64
	// Format is the header format to write (tar.FormatPAX, tar.FormatGNU);
	// zero lets archive/tar choose.
	Format tar.Format
}

func (e *Entry) size() int64 {
	if e.Data != nil {
		return int64(len(e.Data))
	}
	return e.Size
}

func (e *Entry) modTime() time.Time {
	if e.ModTime.IsZero() {
		return time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	}
	return e.ModTime
}
