package tarx

import "time"

// Options configure Extract. The zero value is ready to use: an existing
// destination is refused, the default limits apply, nothing is fsynced, and
// staging directories left by dead processes (or older than a day) are
// cleaned up.
type Options struct {
	// Replace allows an existing destination to be replaced by the new
	// tree. See the package documentation for how.
	Replace bool
	// Sync fsyncs every file, every directory and the parent directory so
	// the tree is durable once Extract returns.
	Sync bool
	// Limits bound what the archive may contain.
	Limits Limits
	// Timeout, if positive, bounds the whole extraction in wall time: past
	// it Extract fails with ErrLimit (kind "limit") and removes its
	// staging directory. It is checked wherever ctx is (between entries,
	// between chunks of data, while draining the decoder), so it cannot
	// interrupt a Read blocked inside the caller's reader. Zero means no
	// bound beyond ctx's.
	Timeout time.Duration
	// StaleAfter is the age after which a staging directory is removed even
	// if the process that made it still seems alive (process ids are
	// reused). Zero means DefaultStaleAfter; a negative value turns the
	// cleanup off.
	StaleAfter time.Duration
}

// DefaultStaleAfter is the default Options.StaleAfter.
const DefaultStaleAfter = 24 * time.Hour

// Limits bound an archive. In each field zero means the default below and a
// negative value means no limit.
type Limits struct {
	// Entries is the largest number of entries (files, directories,
	// links), counting the directories an entry's path creates without an
	// entry of their own: "a/b/c/f" alone counts 4.
	Entries int
	// FileSize is the largest size of one file, as its header declares it
	// (the logical size, for sparse files).
	FileSize int64
	// TotalSize is the largest sum of file sizes (logical sizes).
	TotalSize int64
	// Ratio is the largest ratio of unpacked bytes to compressed input
	// bytes, checked once RatioFloor bytes have been unpacked. Unpacked
	// bytes are the tar stream's plus the holes of sparse files, so a
	// sparse file cannot expand beyond it either. deflate cannot exceed
	// about 1032:1; zstd can go far beyond.
	Ratio float64
	// Depth is the largest number of components in an entry's path
	// ("a/b/c" has 3), and so the deepest directory an archive can make.
	Depth int
	// Name is the longest entry name, and the longest link target, in
	// bytes.
	Name int
	// Metadata bounds what tarx keeps from one entry to the next, in
	// bytes: the names of the directories and symlinks made so far (to
	// check later entries against them) and each directory's mode and
	// times (applied at the end, after its contents). Each kept name costs
	// its length plus MetadataOverhead.
	Metadata int64
	// Window is the largest decompression window a compressed stream may
	// ask for: the zstd window, the xz dictionary. The decoder allocates up
	// to this much.
	Window int64
}

// Default limits, chosen to let any real software archive through and to
// stop bombs long before they fill a disk or memory.
const (
	DefaultEntries   = 1 << 20
	DefaultFileSize  = 16 << 30
	DefaultTotalSize = 64 << 30
	DefaultRatio     = 1000
	// DefaultDepth is far deeper than real trees (node_modules reaches a
	// few dozen levels) and keeps every path tarx touches short.
	DefaultDepth = 256
	// DefaultName is Linux's PATH_MAX.
	DefaultName = 4096
	// DefaultMetadata allows about 300,000 directories with 100-byte
	// names.
	DefaultMetadata = 64 << 20
	// DefaultWindow is the largest window the reference zstd tool decodes
	// without --long, and twice the dictionary of xz -9.
	DefaultWindow = 128 << 20
)

// MetadataOverhead is what Limits.Metadata counts for each name kept, on
// top of its length: the map slot, the string header and, for directories,
// the mode and times. It is an upper bound of what Go spends on them.
const MetadataOverhead = 128

// RatioFloor is how many uncompressed bytes must pass before the ratio limit
// applies: small archives of zeros are legitimately extreme.
const RatioFloor = 4 << 20

// Fixed bounds on what an archive may carry that no honest archive comes
// near; they keep a stream that yields nothing from being read forever.
const (
	// MaxTrailing bounds the uncompressed bytes after the end-of-archive
	// marker (tar pads to its record size, 10 KiB by default, up to 1 MiB
	// with -b 2048).
	MaxTrailing = 4 << 20
	// MaxTrailingInput bounds the compressed bytes read after the
	// end-of-archive marker, to the end of the stream: the rest of the
	// last frame or member, its checksum, and whatever frames, members or
	// padding follow, even those that decompress to nothing.
	MaxTrailingInput = 4 << 20
	// MaxIdleInput bounds the compressed bytes read, anywhere in the
	// stream, without a single byte coming out of the decompressor: empty
	// gzip members, zstd skippable frames, empty deflate blocks. Counted in
	// reads of the input buffer (256 KiB), so the input read may pass it
	// by that much before Extract stops.
	MaxIdleInput = 4 << 20
	// MaxHeader is the largest extended header — PAX records, a GNU long
	// name or link, an encoded sparse map — that an entry may have. It is
	// archive/tar's own limit (as libarchive's); tarx reports it as
	// ErrLimit. Such a header is held in memory only while its entry is
	// read.
	MaxHeader = 1 << 20
)

// resolved returns l with defaults applied and "no limit" as the largest
// value, so checks are plain comparisons.
func (l Limits) resolved() Limits {
	const maxInt64 = 1<<63 - 1
	const maxInt = int(^uint(0) >> 1)
	r := l
	r.Entries = resolve(r.Entries, DefaultEntries, maxInt)
	r.Depth = resolve(r.Depth, DefaultDepth, maxInt)
	r.Name = resolve(r.Name, DefaultName, maxInt)
	r.FileSize = resolve(r.FileSize, DefaultFileSize, maxInt64)
	r.TotalSize = resolve(r.TotalSize, DefaultTotalSize, maxInt64)
	r.Metadata = resolve(r.Metadata, DefaultMetadata, maxInt64)
	r.Window = resolve(r.Window, DefaultWindow, maxInt64)
	switch {
	case r.Ratio == 0:
		r.Ratio = DefaultRatio
	case r.Ratio < 0:
		r.Ratio = 0 // checked as "no limit"
	}
	return r
}

// resolve returns a limit's value: def when it is zero, none when it is
// negative.
func resolve[T int | int64](v, def, none T) T {
	switch {
	case v == 0:
		return def
	case v < 0:
		return none
	}
	return v
}
