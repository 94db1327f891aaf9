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
	"strings"
	"syscall"
	"time"

	"github.com/klauspost/compress/zstd"
)

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
	// Only these are kept per entry, never regular files, and every name
	// kept is a copy: a name archive/tar returns may share memory with the
	// entry's whole extended header.
	dirs     map[string]bool
	symlinks map[string]bool
	// deferred are directory modes and times, applied after contents;
	// rootMeta is the root's, applied after the rename.
	deferred []dirMeta
	rootMeta *dirMeta
	kept     int64 // bytes of metadata kept, against Limits.Metadata
	implied  int   // directories made without an entry of their own
	total    int64 // declared file bytes so far
	stats    Stats
}

// dirMeta is what a directory entry leaves until the end: not its header,
// whose extended records may be megabytes.
type dirMeta struct {
	name         string // cleaned, as kept in dirs
	mode         fs.FileMode
	atime, mtime time.Time
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

// canceled returns why ctx is done, or nil: the cause, so that
// Options.Timeout reads as the limit it is rather than as a deadline.
func canceled(ctx context.Context) error {
	if ctx.Err() == nil {
		return nil
	}
	return context.Cause(ctx)
}

// fail wraps err in an *Error naming op and entry, attributing it to the
// decoder's layer when the decoder (or the reader under it) failed. A
// failure tarx cannot name more precisely is marked "archive": classify lets
// the deepest layer that speaks decide the kind (a reset connection stays a
// reset), and an archive layer above a transport failure is what makes it
// caused_by_transport.
func (u *unpacker) fail(op, entry string, err error) error {
	if u.in.limit != nil && !errors.Is(err, ErrLimit) {
		// The input counter stopped the decoder, which may have reported
		// it in its own words.
		err = u.in.limit
	}
	err = explainTarError(err)
	kind := kindOf(err)
	if kind == "" {
		kind = kindArchive
	}
	e := &Error{Op: op, Entry: entry, Format: string(FormatTar), Offset: u.in.n, Kind: kind, Err: err}
	if u.format == FormatZip {
		e.Format = string(FormatZip)
	} else if u.stream.err != nil && u.format != FormatTar {
		e.Format = string(u.format)
	}
	return e
}

// explainTarError turns archive/tar's refusals of oversized extended
// headers, and a zstd frame's demand for a window above Limits.Window, into
// ErrLimit, which they are.
func explainTarError(err error) error {
	if errors.Is(err, zstd.ErrWindowSizeExceeded) && !errors.Is(err, ErrLimit) {
		return fmt.Errorf("%w: a zstd frame needs a window above Limits.Window: %w", ErrLimit, err)
	}
	// archive/tar's sparse-map error is unexported; its text is all there
	// is to match.
	if errors.Is(err, tar.ErrFieldTooLong) || (err != nil && err.Error() == "archive/tar: sparse map too long") {
		return fmt.Errorf("%w: an extended header (PAX records, long name or sparse map) above %d bytes: %w", ErrLimit, MaxHeader, err)
	}
	return err
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
	if u.format == FormatZip {
		return u.unzip(br)
	}
	pos := func() int64 { return u.in.n - int64(br.Buffered()) }
	d, err := dec.open(u.format, br, u.limits.Window, pos)
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
	u.in.watchIdle = u.format != FormatTar
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
	return u.finishTree()
}

// entries unpacks every entry up to the end-of-archive marker.
func (u *unpacker) entries() error {
	prev := ""
	for {
		if err := canceled(u.ctx); err != nil {
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
		if u.stats.Entries+u.implied > u.limits.Entries {
			return u.fail("unpacking", hdr.Name, u.entriesLimit())
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

func (u *unpacker) entriesLimit() error {
	if u.implied == 0 {
		return fmt.Errorf("%w: more than %d entries", ErrLimit, u.limits.Entries)
	}
	return fmt.Errorf("%w: more than %d entries, counting %d directories made for paths", ErrLimit, u.limits.Entries, u.implied)
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
		if err := canceled(u.ctx); err != nil {
			return err
		}
	}
}

// drain reads the decoder to its end after the end-of-archive marker:
// archive/tar stops at the marker, before the gzip trailer or the last zstd
// block, and only reading on verifies the CRC-32 or checksum there. Both
// what comes out and what goes in are bounded, so that a stream of empty
// members or skippable frames ends.
func (u *unpacker) drain() error {
	start := u.stream.n
	u.in.markTrailing()
	for {
		_, err := u.stream.Read(u.buf)
		if u.stream.n-start > MaxTrailing {
			return u.fail("verifying", "", fmt.Errorf("%w: more than %d bytes after the end-of-archive marker", ErrLimit, MaxTrailing))
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return u.fail("verifying", "", err)
		}
		if err := canceled(u.ctx); err != nil {
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
	if err := u.checkName(name, hdr.Name, hdr.Linkname); err != nil {
		return err
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

// checkName applies the name, depth and link-target limits to an entry
// named raw in the archive (name cleaned).
func (u *unpacker) checkName(name, raw, linkname string) error {
	if len(raw) > u.limits.Name {
		return fmt.Errorf("%w: a name of %d bytes, above the limit of %d", ErrLimit, len(raw), u.limits.Name)
	}
	if len(linkname) > u.limits.Name {
		return fmt.Errorf("%w: a link target of %d bytes, above the limit of %d", ErrLimit, len(linkname), u.limits.Name)
	}
	if d := pathDepth(name); d > u.limits.Depth {
		return fmt.Errorf("%w: a path %d levels deep, above the limit of %d", ErrLimit, d, u.limits.Depth)
	}
	return nil
}

// pathDepth counts the components of a cleaned relative name.
func pathDepth(name string) int {
	if name == "." {
		return 0
	}
	return strings.Count(name, "/") + 1
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

// keep charges a kept name of n bytes against Limits.Metadata.
func (u *unpacker) keep(n int) error { return u.keepNames(n, 1) }

// keepNames charges names kept names of n bytes in all.
func (u *unpacker) keepNames(n, names int) error {
	u.kept += int64(n) + int64(names)*MetadataOverhead
	if u.kept > u.limits.Metadata {
		return fmt.Errorf("%w: more than %d bytes of directory and symlink names and metadata to keep", ErrLimit, u.limits.Metadata)
	}
	return nil
}

// mkParent makes sure name's parent directory exists, creating it and its
// ancestors (mode 0755 less umask) the first time. Each directory it makes
// counts as an entry and is kept.
func (u *unpacker) mkParent(name string) error {
	dir := parentOf(name)
	if u.dirs[dir] {
		return nil
	}
	n, cost := 0, 0
	for d := dir; !u.dirs[d]; d = parentOf(d) {
		n++
		cost += len(d)
	}
	u.implied += n
	if u.stats.Entries+u.implied > u.limits.Entries {
		return u.entriesLimit()
	}
	if err := u.keepNames(cost, n); err != nil {
		return err
	}
	if err := u.root.MkdirAll(dir, 0o755); err != nil {
		if errors.Is(err, fs.ErrExist) || errors.Is(err, syscall.ENOTDIR) {
			// An earlier entry put a file where a directory is needed.
			return fmt.Errorf("%w: %w", errArchive, err)
		}
		return err
	}
	for d := strings.Clone(dir); !u.dirs[d]; d = parentOf(d) {
		u.dirs[d] = true
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

// dirMode is a directory's mode from its header: permission bits and the
// sticky bit (a shared /tmp-like directory stays one); setuid and setgid
// are dropped.
func dirMode(m int64) fs.FileMode {
	mode := fs.FileMode(m) & fs.ModePerm
	if m&0o1000 != 0 {
		mode |= fs.ModeSticky
	}
	return mode
}

func (u *unpacker) dir(name string, hdr *tar.Header) error {
	if u.symlinks[name] {
		return fmt.Errorf("%w: directory %q over a symlink in the archive", ErrUnsafe, hdr.Name)
	}
	meta := dirMeta{name: ".", mode: dirMode(hdr.Mode), atime: hdr.AccessTime, mtime: hdr.ModTime}
	if name == "." {
		// The last entry for the root wins, as for any directory.
		if u.rootMeta == nil {
			if err := u.keep(0); err != nil {
				return err
			}
		}
		u.rootMeta = &meta
		u.stats.Dirs++
		return nil
	}
	if err := u.keep(len(name)); err != nil {
		return err
	}
	meta.name = strings.Clone(name)
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
		u.dirs[meta.name] = true // the same copy: charged once
	}
	u.stats.Dirs++
	u.deferred = append(u.deferred, meta)
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

// isSparse reports whether hdr is a sparse file, in the old GNU format or
// in one of GNU's PAX encodings (whose records archive/tar keeps).
func isSparse(hdr *tar.Header) bool {
	if hdr.Typeflag == tar.TypeGNUSparse {
		return true
	}
	for _, k := range []string{"GNU.sparse.major", "GNU.sparse.numblocks", "GNU.sparse.map", "GNU.sparse.size", "GNU.sparse.realsize"} {
		if _, ok := hdr.PAXRecords[k]; ok {
			return true
		}
	}
	return false
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
	sparse := isSparse(hdr)
	n, err := u.copy(f, u.tr, sparse, sparse)
	u.stats.Bytes += n
	if err == nil && sparse {
		// Holes were skipped, not written: a trailing one needs the size.
		err = f.Truncate(n)
	}
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
// a large file does not delay cancellation. A sparse file's holes come out
// of archive/tar as zeros without a byte of input: copy counts them against
// the ratio limit, and skips zero chunks rather than writing them, so holes
// stay holes.
//
// count says the bytes did not pass through u.stream, so copy counts them
// against the ratio limit itself (sparse holes, zip entries); holes says
// zero chunks are skipped rather than written.
func (u *unpacker) copy(f *os.File, src io.Reader, count, holes bool) (int64, error) {
	var written int64
	for {
		if err := canceled(u.ctx); err != nil {
			return written, err
		}
		n, err := src.Read(u.buf)
		if n > 0 {
			chunk := u.buf[:n]
			if count {
				u.stream.expanded += int64(n)
				u.in.idleFrom = u.in.n
				if lerr := u.stream.checkRatio(); lerr != nil {
					return written, lerr
				}
			}
			if holes && allZero(chunk) {
				if _, serr := f.Seek(int64(n), io.SeekCurrent); serr != nil {
					return written, serr
				}
				written += int64(n)
			} else {
				m, werr := f.Write(chunk)
				written += int64(m)
				if werr != nil {
					return written, werr
				}
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

// allZero reports whether b holds only zero bytes.
func allZero(b []byte) bool {
	for len(b) >= 8 {
		if b[0]|b[1]|b[2]|b[3]|b[4]|b[5]|b[6]|b[7] != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
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
	if !u.symlinks[name] {
		if err := u.keep(len(name)); err != nil {
			return err
		}
		u.symlinks[strings.Clone(name)] = true
	}
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

// finishTree ends a tar's or a zip's unpacking: it applies the directories'
// modes and times and, when asked to, syncs every directory made.
func (u *unpacker) finishTree() error {
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

// finishDirs applies directory modes and times, deepest first, so that
// neither creating children nor a read-only parent gets in the way. The
// root's waits for the rename (see extract).
func (u *unpacker) finishDirs() error {
	sortDeepestFirst(u.deferred)
	for i := range u.deferred {
		d := &u.deferred[i]
		if err := canceled(u.ctx); err != nil {
			return u.fail("unpacking", d.name, err)
		}
		if err := u.root.Chmod(d.name, d.mode); err != nil {
			return u.fail("unpacking", d.name, err)
		}
		if err := u.root.Chtimes(d.name, d.atime, d.mtime); err != nil {
			return u.fail("unpacking", d.name, err)
		}
	}
	return nil
}

// applyDirMeta sets a directory's mode and times by path.
func applyDirMeta(path string, m *dirMeta) error {
	if err := os.Chmod(path, m.mode); err != nil {
		return err
	}
	return os.Chtimes(path, m.atime, m.mtime)
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
