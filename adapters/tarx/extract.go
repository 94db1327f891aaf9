package tarx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Stats describe a finished (or failed) extraction.
type Stats struct {
	Format    Format
	Entries   int   // entries read, of every type
	Files     int   // regular files written
	Dirs      int   // directory entries
	Symlinks  int   // symlinks created
	Hardlinks int   // hard links created
	Bytes     int64 // file content written (logical size, for sparse files)
	// Implied counts the directories made for entries' paths without an
	// entry of their own; Limits.Entries counts them too.
	Implied int
	Stream  int64 // uncompressed tar bytes read, trailer included
	Input   int64 // bytes read from r
	// StaleRemoved counts leftover staging directories removed first.
	StaleRemoved int
}

// Buffer sizes: one read-ahead buffer for the compressed input and one copy
// buffer, each allocated once per Extract, never per entry.
const (
	inputBufferSize = 256 << 10
	copyBufferSize  = 256 << 10
)

// Extract unpacks the tar, tar.gz or tar.zst archive read from r into a new
// directory dest, whose parent must exist. The tree appears at dest only
// once the whole archive has been read and verified; on error dest is as it
// was, with two exceptions where the tree is in place and its error says so:
// a failure to apply the archive root's own mode and times after the
// rename (Op "finishing"), and with Options.Sync a failure to fsync the
// parent directory after it (Op "syncing"). Any error returned is an *Error. See the package documentation
// for what is refused and what is kept.
func Extract(ctx context.Context, r io.Reader, dest string, opts Options) (Stats, error) {
	return extract(ctx, r, dest, opts, defaultDecoders())
}

func extract(ctx context.Context, r io.Reader, dest string, opts Options, dec decoders) (st Stats, err error) {
	if opts.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, opts.Timeout,
			fmt.Errorf("%w: unpacking took longer than %v", ErrLimit, opts.Timeout))
		defer cancel()
	}
	if err := canceled(ctx); err != nil {
		return st, &Error{Op: "extracting", Kind: kindOf(err), Err: err}
	}
	abs, err := filepath.Abs(dest)
	if err != nil {
		return st, &Error{Op: "staging", Err: err}
	}
	parent, base := filepath.Dir(abs), filepath.Base(abs)
	if base == string(filepath.Separator) || base == "." || parent == abs {
		return st, &Error{Op: "staging", Err: fmt.Errorf("tarx: cannot unpack to %q", dest)}
	}
	// Fail before reading a byte when dest is in the way; commit checks
	// again, atomically.
	if _, err := os.Lstat(abs); err == nil && !opts.Replace {
		return st, &Error{Op: "staging", Kind: kindExists, Err: fmt.Errorf("%w: %s", ErrExist, abs)}
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return st, &Error{Op: "staging", Err: err}
	}
	if opts.StaleAfter >= 0 {
		after := opts.StaleAfter
		if after == 0 {
			after = DefaultStaleAfter
		}
		// Best effort: a leftover we cannot remove must not stop this run.
		removed, _ := CleanStale(parent, after)
		st.StaleRemoved = len(removed)
	}

	stg, err := newStaging(parent, base)
	if err != nil {
		return st, &Error{Op: "staging", Err: err}
	}
	defer func() {
		if err != nil {
			_ = stg.remove()
		}
	}()
	root, err := os.OpenRoot(stg.tree)
	if err != nil {
		return st, &Error{Op: "staging", Err: err}
	}
	u := newUnpacker(ctx, root, opts)
	err = u.run(r, dec)
	st.Implied = u.implied
	st.Format, st.Entries, st.Files, st.Dirs = u.format, u.stats.Entries, u.stats.Files, u.stats.Dirs
	st.Symlinks, st.Hardlinks, st.Bytes = u.stats.Symlinks, u.stats.Hardlinks, u.stats.Bytes
	st.Stream, st.Input = u.stream.n, u.in.n
	if cerr := root.Close(); err == nil && cerr != nil {
		err = &Error{Op: "staging", Err: cerr}
	}
	if err != nil {
		return st, err
	}
	if err := canceled(ctx); err != nil {
		return st, &Error{Op: "committing", Kind: kindOf(err), Err: err}
	}
	if err := stg.commit(abs, opts.Replace); err != nil {
		if errors.Is(err, fs.ErrExist) {
			// Another extraction (or anyone) got there first.
			return st, &Error{Op: "committing", Kind: kindExists, Err: fmt.Errorf("%w: %w", ErrExist, err)}
		}
		return st, &Error{Op: "committing", Err: err}
	}
	// The tree is in place; what is left is the marker and perhaps the
	// old tree. Failing to remove them does not undo the extraction, and
	// the next cleanup will retry.
	_ = stg.remove()
	// The root's own mode and times come last: its owner could not have
	// moved it to another directory once it was read-only (renaming a
	// directory rewrites its ".." entry, which needs write permission on
	// it).
	if m := u.rootMeta; m != nil {
		if err := applyDirMeta(abs, m); err != nil {
			return st, &Error{Op: "finishing", Entry: ".", Err: err}
		}
		if opts.Sync {
			if err := syncDir(abs); err != nil {
				return st, &Error{Op: "syncing", Err: err}
			}
		}
	}
	if opts.Sync {
		if err := syncDir(parent); err != nil {
			// The tree is in place but its name may not be durable.
			return st, &Error{Op: "syncing", Err: err}
		}
	}
	return st, nil
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
