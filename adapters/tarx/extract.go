package tarx

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// Stats describe a finished (or failed) extraction.
type Stats struct {
	Format    Format
	Entries   int   // entries read, of every type
	Files     int   // regular files written
	Dirs      int   // directory entries
	Symlinks  int   // symlinks created
	Hardlinks int   // hard links created
	Bytes     int64 // file content written
	Stream    int64 // uncompressed tar bytes read, trailer included
	Input     int64 // bytes read from r
	// StaleRemoved counts leftover staging directories removed first.
	StaleRemoved int
}

// Buffer sizes: one read-ahead buffer for the compressed input and one copy
// buffer, each allocated once per Extract, never per entry.
const (
	inputBufferSize = 256 << 10
	copyBufferSize  = 256 << 10
	// maxTrailing bounds what may follow the end-of-archive marker (tar
	// pads to its record size, 10 KiB by default, up to 1 MiB with -b 2048).
	maxTrailing = 4 << 20
)

// Extract unpacks the tar, tar.gz or tar.zst archive read from r into a new
// directory dest, whose parent must exist. The tree appears at dest only
// once the whole archive has been read and verified; on error dest is as it
// was (with one exception: with Options.Sync, a failure to fsync the parent
// directory after the rename is reported with Op "syncing" and the tree in
// place). Any error returned is an *Error. See the package documentation
// for what is refused and what is kept.
func Extract(ctx context.Context, r io.Reader, dest string, opts Options) (Stats, error) {
	return extract(ctx, r, dest, opts, defaultDecoders())
}

func extract(ctx context.Context, r io.Reader, dest string, opts Options, dec decoders) (st Stats, err error) {
	if err := ctx.Err(); err != nil {
		return st, &Error{Op: "extracting", Err: err}
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
		return st, &Error{Op: "staging", Err: fmt.Errorf("%w: %s", ErrExist, abs)}
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
	st.Format, st.Entries, st.Files, st.Dirs = u.format, u.stats.Entries, u.stats.Files, u.stats.Dirs
	st.Symlinks, st.Hardlinks, st.Bytes = u.stats.Symlinks, u.stats.Hardlinks, u.stats.Bytes
	st.Stream, st.Input = u.stream.n, u.in.n
	if cerr := root.Close(); err == nil && cerr != nil {
		err = &Error{Op: "staging", Err: cerr}
	}
	if err != nil {
		return st, err
	}
	if err := ctx.Err(); err != nil {
		return st, &Error{Op: "committing", Err: err}
	}
	if err := stg.commit(abs, opts.Replace); err != nil {
		if errors.Is(err, fs.ErrExist) {
			err = fmt.Errorf("%w: %w", ErrExist, err)
		}
		return st, &Error{Op: "committing", Err: err}
	}
	// The tree is in place; what is left is the marker and perhaps the
	// old tree. Failing to remove them does not undo the extraction, and
	// the next cleanup will retry.
	_ = stg.remove()
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

// unpacker holds one extraction's state.
type unpacker struct {
	ctx    context.Context
	root   *os.Root
	limits Limits
	sync   bool

	format Format
	in     inputCounter
	stream tarStream
	tr     *tar.Reader
	buf    []byte

	// dirs are the directories known to exist in the tree, created
	// explicitly or as parents; symlinks are the symlinks created so far.
	// Only these are kept per entry, never regular files.
	dirs     map[string]bool
	symlinks map[string]bool
	// deferred are directory modes and times, applied after contents.
	deferred []dirMeta
	total    int64 // declared file bytes so far
	stats    Stats
}

type dirMeta struct {
	name string
	hdr  *tar.Header
}

func newUnpacker(ctx context.Context, root *os.Root, opts Options) *unpacker {
	return &unpacker{
		ctx:      ctx,
		root:     root,
		limits:   opts.Limits.resolved(),
		sync:     opts.Sync,
		format:   FormatTar,
		dirs:     map[string]bool{".": true},
		symlinks: map[string]bool{},
	}
}

// fail wraps err in an *Error naming op and entry, attributing it to the
// decoder's layer when the decoder (or the reader under it) failed. A
// failure tarx cannot name more precisely is marked "archive": classify lets
// the deepest layer that speaks decide the kind (a reset connection stays a
// reset), and an archive layer above a transport failure is what makes it
// caused_by_transport.
func (u *unpacker) fail(op, entry string, err error) error {
	kind := kindOf(err)
	if kind == "" {
		kind = kindArchive
	}
	e := &Error{Op: op, Entry: entry, Format: string(FormatTar), Offset: u.in.n, Kind: kind, Err: err}
	if u.stream.err != nil && u.format != FormatTar {
		e.Format = string(u.format)
	}
	return e
}

func (u *unpacker) run(r io.Reader, dec decoders) error {
	u.in.r = r
	br := bufio.NewReaderSize(&u.in, inputBufferSize)
	head, err := br.Peek(sniffLen)
	if err != nil && err != io.EOF {
		// A short stream is left to the tar reader to judge; a failing one
		// is reported as it is.
		return u.fail("reading archive", "", err)
	}
	if u.format, err = Detect(head); err != nil {
		return u.fail("reading archive", "", err)
	}
	d, err := dec.open(u.format, br)
	if err != nil {
		u.stream.err = err
		return u.fail("reading archive", "", err)
	}
	closed := false
	defer func() {
		if !closed {
			_ = d.Close() // a failure is already being reported
		}
	}()
	u.stream = tarStream{r: d, in: &u.in, ratio: u.limits.Ratio, err: u.stream.err}
	u.tr = tar.NewReader(&u.stream)
	u.buf = make([]byte, copyBufferSize)

	if err := u.entries(); err != nil {
		return err
	}
	if err := u.drain(); err != nil {
		return err
	}
	closed = true
	if err := d.Close(); err != nil {
		return u.fail("verifying", "", err)
	}
	if err := u.finishDirs(); err != nil {
		return err
	}
	if u.sync {
		if err := u.syncDirs(); err != nil {
			return u.fail("syncing", "", err)
		}
	}
	return nil
}

// entries unpacks every entry up to the end-of-archive marker.
func (u *unpacker) entries() error {
	prev := ""
	for {
		if err := u.ctx.Err(); err != nil {
			return u.fail("unpacking", "", err)
		}
		// The previous entry's data has been read in full, so start is
		// where its padding begins.
		start := u.stream.n
		hdr, err := u.tr.Next()
		if err == io.EOF {
			// archive/tar also reports a stream that simply stops at a
			// header boundary, in padding or in an extended header as EOF.
			// Insist on a zero block of the end-of-archive marker past the
			// previous entry's padding.
			if !u.stream.endsWithMarker(roundBlock(start)) {
				return u.fail(headerOp(prev), "", ErrTruncated)
			}
			return nil
		}
		if err != nil {
			return u.fail(headerOp(prev), "", err)
		}
		u.stats.Entries++
		if u.stats.Entries > u.limits.Entries {
			return u.fail("unpacking", hdr.Name, fmt.Errorf("%w: more than %d entries", ErrLimit, u.limits.Entries))
		}
		if err := u.entry(hdr); err != nil {
			return u.fail("unpacking", hdr.Name, err)
		}
		// Consume what the entry did not (data of skipped entries), so the
		// next start is exact.
		if err := u.skipRest(); err != nil {
			return u.fail("unpacking", hdr.Name, err)
		}
		prev = hdr.Name
	}
}

const blockSize = 512

func roundBlock(n int64) int64 { return (n + blockSize - 1) &^ (blockSize - 1) }

func headerOp(prev string) string {
	if prev == "" {
		return "reading header"
	}
	return "reading header after " + prev
}

func (u *unpacker) skipRest() error {
	for {
		_, err := u.tr.Read(u.buf)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := u.ctx.Err(); err != nil {
			return err
		}
	}
}

// drain reads the decoder to its end after the end-of-archive marker:
// archive/tar stops at the marker, before the gzip trailer or the last zstd
// block, and only reading on verifies the CRC-32 or checksum there.
func (u *unpacker) drain() error {
	start := u.stream.n
	for {
		_, err := u.stream.Read(u.buf)
		if u.stream.n-start > maxTrailing {
			return u.fail("verifying", "", fmt.Errorf("%w: more than %d bytes after the end-of-archive marker", ErrLimit, maxTrailing))
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return u.fail("verifying", "", err)
		}
		if err := u.ctx.Err(); err != nil {
			return u.fail("verifying", "", err)
		}
	}
	return nil
}

// entry unpacks one entry.
func (u *unpacker) entry(hdr *tar.Header) error {
	switch hdr.Typeflag {
	case tar.TypeXGlobalHeader:
		return nil // archive-wide PAX records; archive/tar applies what matters
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		return fmt.Errorf("%w: device or FIFO entry (type %q)", ErrUnsafe, hdr.Typeflag)
	}
	name, err := localName(hdr.Name)
	if err != nil {
		return err
	}
	if u.throughSymlink(name) {
		return fmt.Errorf("%w: path %q passes through a symlink in the archive", ErrUnsafe, hdr.Name)
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		return u.dir(name, hdr)
	case tar.TypeReg, tar.TypeGNUSparse:
		if name == "." {
			return fmt.Errorf("%w: a file named %q", errArchive, hdr.Name)
		}
		return u.file(name, hdr)
	case tar.TypeSymlink:
		return u.symlink(name, hdr)
	case tar.TypeLink:
		return u.hardlink(name, hdr)
	}
	return fmt.Errorf("%w: unsupported entry type %q", errArchive, hdr.Typeflag)
}

// throughSymlink reports whether a proper ancestor of name is a symlink the
// archive created. os.Root would follow such a link as long as it stays
// inside the tree; tarx refuses it anyway, since no honest archive writes
// through its own links and the rule keeps symlink checks simple.
func (u *unpacker) throughSymlink(name string) bool {
	if len(u.symlinks) == 0 {
		return false
	}
	for i := 0; i < len(name); i++ {
		if name[i] == '/' && u.symlinks[name[:i]] {
			return true
		}
	}
	return false
}

// mkParent makes sure name's parent directory exists, creating it and its
// ancestors (mode 0755 less umask) the first time.
func (u *unpacker) mkParent(name string) error {
	dir := parentOf(name)
	if u.dirs[dir] {
		return nil
	}
	if err := u.root.MkdirAll(dir, 0o755); err != nil {
		if errors.Is(err, fs.ErrExist) || errors.Is(err, syscall.ENOTDIR) {
			// An earlier entry put a file where a directory is needed.
			return fmt.Errorf("%w: %w", errArchive, err)
		}
		return err
	}
	for ; !u.dirs[dir]; dir = parentOf(dir) {
		u.dirs[dir] = true
	}
	return nil
}

// parentOf is path.Dir for cleaned relative names, without allocating.
func parentOf(name string) string {
	for i := len(name) - 1; i >= 0; i-- {
		if name[i] == '/' {
			return name[:i]
		}
	}
	return "."
}

func (u *unpacker) dir(name string, hdr *tar.Header) error {
	if u.symlinks[name] {
		return fmt.Errorf("%w: directory %q over a symlink in the archive", ErrUnsafe, hdr.Name)
	}
	if !u.dirs[name] {
		if err := u.mkParent(name); err != nil {
			return err
		}
		// Owner-writable until finishDirs applies the archive's mode.
		err := u.root.Mkdir(name, 0o700)
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%w: directory %q replaces a file", errArchive, hdr.Name)
		}
		if err != nil {
			return err
		}
		u.dirs[name] = true
	}
	u.stats.Dirs++
	u.deferred = append(u.deferred, dirMeta{name: name, hdr: hdr})
	return nil
}

// create makes a new, empty name with mk, first removing a file or link of
// that name left by an earlier entry (the later entry wins, as in tar). It
// never opens an existing name, so it never follows a symlink there.
func (u *unpacker) create(name, shown string, mk func() error) error {
	if u.dirs[name] {
		return fmt.Errorf("%w: %q replaces a directory", errArchive, shown)
	}
	if err := u.mkParent(name); err != nil {
		return err
	}
	err := mk()
	if !errors.Is(err, fs.ErrExist) {
		return err
	}
	if err := u.root.Remove(name); err != nil {
		return err
	}
	delete(u.symlinks, name)
	return mk()
}

func (u *unpacker) file(name string, hdr *tar.Header) error {
	if hdr.Size > u.limits.FileSize {
		return fmt.Errorf("%w: %d bytes exceed the file size limit of %d", ErrLimit, hdr.Size, u.limits.FileSize)
	}
	u.total += hdr.Size
	if u.total > u.limits.TotalSize {
		return fmt.Errorf("%w: files total more than %d bytes", ErrLimit, u.limits.TotalSize)
	}
	var f *os.File
	err := u.create(name, hdr.Name, func() (err error) {
		f, err = u.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		return err
	})
	if err != nil {
		return err
	}
	n, err := u.copy(f)
	u.stats.Bytes += n
	if err == nil && u.sync {
		err = f.Sync()
	}
	if err == nil {
		// Created 0600 and set here, so the umask does not alter it.
		// Masking to the permission bits drops setuid, setgid and sticky.
		err = f.Chmod(fs.FileMode(hdr.Mode) & fs.ModePerm)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	u.stats.Files++
	return u.root.Chtimes(name, hdr.AccessTime, hdr.ModTime)
}

// copy writes the current entry's data to f, checking ctx between chunks so
// a large file does not delay cancellation.
func (u *unpacker) copy(f *os.File) (int64, error) {
	var written int64
	for {
		if err := u.ctx.Err(); err != nil {
			return written, err
		}
		n, err := u.tr.Read(u.buf)
		if n > 0 {
			m, werr := f.Write(u.buf[:n])
			written += int64(m)
			if werr != nil {
				return written, werr
			}
		}
		if err == io.EOF {
			return written, nil
		}
		if err != nil {
			return written, err
		}
	}
}

func (u *unpacker) symlink(name string, hdr *tar.Header) error {
	if name == "." {
		return fmt.Errorf("%w: the archive's root as a symlink", ErrUnsafe)
	}
	if err := checkSymlink(name, hdr.Linkname); err != nil {
		return err
	}
	if u.dirs[name] {
		return fmt.Errorf("%w: symlink %q over a directory", ErrUnsafe, hdr.Name)
	}
	if err := u.create(name, hdr.Name, func() error { return u.root.Symlink(hdr.Linkname, name) }); err != nil {
		return err
	}
	u.symlinks[name] = true
	u.stats.Symlinks++
	return nil
}

func (u *unpacker) hardlink(name string, hdr *tar.Header) error {
	target, err := localName(hdr.Linkname)
	if err != nil {
		return fmt.Errorf("hard link target: %w", err)
	}
	if u.symlinks[target] || u.throughSymlink(target) {
		// A hard link to a symlink is a symlink tarx has not checked.
		return fmt.Errorf("%w: hard link to %q, a symlink or a path through one", ErrUnsafe, hdr.Linkname)
	}
	if name == "." || target == "." || u.dirs[target] {
		return fmt.Errorf("%w: hard link to a directory", errArchive)
	}
	if err := u.create(name, hdr.Name, func() error { return u.root.Link(target, name) }); err != nil {
		return err
	}
	u.stats.Hardlinks++
	return nil
}

// finishDirs applies directory modes and times, deepest first, so that
// neither creating children nor a read-only parent gets in the way.
func (u *unpacker) finishDirs() error {
	sortDeepestFirst(u.deferred)
	for _, d := range u.deferred {
		if err := u.ctx.Err(); err != nil {
			return u.fail("unpacking", d.hdr.Name, err)
		}
		if err := u.root.Chmod(d.name, fs.FileMode(d.hdr.Mode)&fs.ModePerm); err != nil {
			return u.fail("unpacking", d.hdr.Name, err)
		}
		if err := u.root.Chtimes(d.name, d.hdr.AccessTime, d.hdr.ModTime); err != nil {
			return u.fail("unpacking", d.hdr.Name, err)
		}
	}
	return nil
}

func (u *unpacker) syncDirs() error {
	for dir := range u.dirs {
		f, err := u.root.Open(dir)
		if err != nil {
			return err
		}
		err = f.Sync()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}
