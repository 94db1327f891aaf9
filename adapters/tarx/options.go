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
	// Entries is the largest number of entries (files, directories, links).
	Entries int
	// FileSize is the largest size of one file, as its header declares it
	// (the logical size, for sparse files).
	FileSize int64
	// TotalSize is the largest sum of file sizes.
	TotalSize int64
	// Ratio is the largest ratio of uncompressed tar bytes to compressed
	// input bytes, checked once RatioFloor bytes have been decompressed.
	// deflate cannot exceed about 1032:1; zstd can go far beyond.
	Ratio float64
}

// Default limits, chosen to let any real software archive through and to
// stop bombs long before they fill a disk.
const (
	DefaultEntries   = 1 << 20
	DefaultFileSize  = 16 << 30
	DefaultTotalSize = 64 << 30
	DefaultRatio     = 1000
)

// RatioFloor is how many uncompressed bytes must pass before the ratio limit
// applies: small archives of zeros are legitimately extreme.
const RatioFloor = 4 << 20

// resolved returns l with defaults applied and "no limit" as the largest
// value, so checks are plain comparisons.
func (l Limits) resolved() Limits {
	const maxInt64 = 1<<63 - 1
	r := l
	switch {
	case r.Entries == 0:
		r.Entries = DefaultEntries
	case r.Entries < 0:
		r.Entries = int(^uint(0) >> 1)
	}
	r.FileSize = resolveSize(r.FileSize, DefaultFileSize, maxInt64)
	r.TotalSize = resolveSize(r.TotalSize, DefaultTotalSize, maxInt64)
	switch {
	case r.Ratio == 0:
		r.Ratio = DefaultRatio
	case r.Ratio < 0:
		r.Ratio = 0 // checked as "no limit"
	}
	return r
}

func resolveSize(v, def, none int64) int64 {
	switch {
	case v == 0:
		return def
	case v < 0:
		return none
	}
	return v
}
