package archivetest

import (
	"archive/tar"
	"strconv"
)

// Case is one hostile archive.
type Case struct {
	// Name identifies the attack.
	Name string
	// Format is the container to write Entries in.
	Format Format
	// Entries is the archive's content, attack last.
	Entries []Entry
	// Kind is how the extractor's error must classify: "unsafe_archive"
	// or "limit".
	Kind string
	// Limit, for Kind "limit", names the limit the archive exceeds when
	// the extractor is configured with TightLimits: "entries",
	// "file_size", "total_size" or "ratio".
	Limit string
	// Victim is the path the attack tries to create or overwrite, relative
	// to the destination's parent directory, or absolute; "" if the attack
	// stays inside the tree.
	Victim string
}

// TightLimits are the limits the limit cases are built against; every
// other case stays well within them.
const (
	TightEntries   = 100
	TightFileSize  = 1 << 20
	TightTotalSize = 4 << 20
	TightRatio     = 50
)

// Hostile returns the corpus of hostile archives, one per attack an
// extractor must refuse. Victim paths assume the tree is staged two levels
// below the destination's parent (as tarx's staging directory is) but the
// attacks use enough "../" to reach it from one level too.
func Hostile() []Case {
	const victim = "victim.txt"
	benign := []Entry{
		{Name: "inside", Type: tar.TypeDir, Mode: 0o755},
		{Name: "inside/ok.txt", Type: tar.TypeReg, Mode: 0o644, Data: []byte("harmless\n")},
	}
	with := func(attack ...Entry) []Entry {
		return append(append([]Entry(nil), benign...), attack...)
	}
	evil := []byte("pwned\n")
	cases := []Case{
		{Name: "absolute-path", Entries: with(Entry{Name: "/tmp/faultline-archivetest-absolute/victim.txt", Type: tar.TypeReg, Mode: 0o644, Data: evil}),
			Kind: "unsafe_archive", Victim: "/tmp/faultline-archivetest-absolute"},
		{Name: "dotdot", Entries: with(Entry{Name: "../../" + victim, Type: tar.TypeReg, Mode: 0o644, Data: evil}),
			Kind: "unsafe_archive", Victim: victim},
		{Name: "dotdot-deep", Entries: with(Entry{Name: "../../../../../../../../tmp/faultline-archivetest-dotdot", Type: tar.TypeReg, Mode: 0o644, Data: evil}),
			Kind: "unsafe_archive", Victim: "/tmp/faultline-archivetest-dotdot"},
		{Name: "dotdot-in-the-middle", Entries: with(Entry{Name: "inside/../../../" + victim, Type: tar.TypeReg, Mode: 0o644, Data: evil}),
			Kind: "unsafe_archive", Victim: victim},
		{Name: "dotdot-dir", Entries: with(Entry{Name: "../../escaped", Type: tar.TypeDir, Mode: 0o755}),
			Kind: "unsafe_archive", Victim: "escaped"},
		{Name: "symlink-absolute", Entries: with(Entry{Name: "etc", Type: tar.TypeSymlink, Linkname: "/etc"}),
			Kind: "unsafe_archive"},
		{Name: "symlink-escape", Entries: with(Entry{Name: "inside/up", Type: tar.TypeSymlink, Linkname: "../../../" + victim}),
			Kind: "unsafe_archive", Victim: victim},
		{Name: "symlink-escape-then-write", Entries: with(
			Entry{Name: "up", Type: tar.TypeSymlink, Linkname: "../.."},
			Entry{Name: "up/" + victim, Type: tar.TypeReg, Mode: 0o644, Data: evil}),
			Kind: "unsafe_archive", Victim: victim},
		{Name: "symlink-dotdot-after-name", Entries: with(
			Entry{Name: "here", Type: tar.TypeSymlink, Linkname: "."},
			Entry{Name: "there", Type: tar.TypeSymlink, Linkname: "here/../" + victim}),
			Kind: "unsafe_archive", Victim: victim},
		{Name: "write-through-symlink", Entries: with(
			Entry{Name: "alias", Type: tar.TypeSymlink, Linkname: "inside"},
			Entry{Name: "alias/ok.txt", Type: tar.TypeReg, Mode: 0o644, Data: evil}),
			Kind: "unsafe_archive"},
		{Name: "dir-through-symlink", Entries: with(
			Entry{Name: "alias", Type: tar.TypeSymlink, Linkname: "inside"},
			Entry{Name: "alias/sub", Type: tar.TypeDir, Mode: 0o755}),
			Kind: "unsafe_archive"},
		{Name: "symlink-over-directory", Entries: with(
			Entry{Name: "inside", Type: tar.TypeSymlink, Linkname: "."}),
			Kind: "unsafe_archive"},
		{Name: "hardlink-escape", Entries: with(Entry{Name: "h", Type: tar.TypeLink, Linkname: "../../" + victim}),
			Kind: "unsafe_archive", Victim: victim},
		{Name: "hardlink-absolute", Entries: with(Entry{Name: "h", Type: tar.TypeLink, Linkname: "/etc/passwd"}),
			Kind: "unsafe_archive"},
		{Name: "hardlink-to-symlink", Entries: with(
			Entry{Name: "alias", Type: tar.TypeSymlink, Linkname: "inside"},
			Entry{Name: "h", Type: tar.TypeLink, Linkname: "alias"},
			Entry{Name: "h/ok.txt", Type: tar.TypeReg, Mode: 0o644, Data: evil}),
			Kind: "unsafe_archive"},
		{Name: "char-device", Entries: with(Entry{Name: "null", Type: tar.TypeChar, Mode: 0o666}),
			Kind: "unsafe_archive"},
		{Name: "block-device", Entries: with(Entry{Name: "disk", Type: tar.TypeBlock, Mode: 0o660}),
			Kind: "unsafe_archive"},
		{Name: "fifo", Entries: with(Entry{Name: "pipe", Type: tar.TypeFifo, Mode: 0o644}),
			Kind: "unsafe_archive"},

		{Name: "too-many-entries", Entries: manyFiles(TightEntries + 1), Kind: "limit", Limit: "entries"},
		{Name: "file-too-large", Entries: with(Entry{Name: "big", Type: tar.TypeReg, Mode: 0o644, Size: TightFileSize + 1}),
			Kind: "limit", Limit: "file_size"},
		{Name: "total-too-large", Entries: sizedFiles(5, TightTotalSize/4), Kind: "limit", Limit: "total_size"},
		// Zeros compress about 1000:1 with deflate and far more with zstd.
		{Name: "gzip-bomb", Format: Gzip, Entries: zeroFiles(3, 8<<20), Kind: "limit", Limit: "ratio"},
		{Name: "zstd-bomb", Format: Zstd, Entries: zeroFiles(3, 8<<20), Kind: "limit", Limit: "ratio"},
	}
	for i := range cases {
		if cases[i].Format == "" {
			cases[i].Format = Tar
		}
	}
	return cases
}

func manyFiles(n int) []Entry {
	out := make([]Entry, n)
	for i := range out {
		out[i] = Entry{Name: "f" + strconv.Itoa(i), Type: tar.TypeReg, Mode: 0o644, Data: []byte{}}
	}
	return out
}

// sizedFiles returns n files of size bytes each, all under the per-file limit.
func sizedFiles(n int, size int64) []Entry {
	out := make([]Entry, n)
	for i := range out {
		out[i] = Entry{Name: "s" + strconv.Itoa(i), Type: tar.TypeReg, Mode: 0o644, Size: size}
	}
	return out
}

// zeroFiles returns a directory of n files of size zero bytes. Its only
// excess is the compression ratio: tests of the "ratio" case lift the size
// limits.
func zeroFiles(n int, size int64) []Entry {
	out := []Entry{{Name: "zeros", Type: tar.TypeDir, Mode: 0o755}}
	for i := range n {
		out = append(out, Entry{Name: "zeros/z" + strconv.Itoa(i), Type: tar.TypeReg, Mode: 0o644, Size: size})
	}
	return out
}
