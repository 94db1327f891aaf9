package tarx

import (
	"bufio"
	"compress/bzip2"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/zstd"
)

// A zip is unpacked as it streams, from its local file headers (APPNOTE
// 6.3.10, section 4.3.7), each entry's CRC-32 and sizes verified as its
// data ends. The central directory comes last; it is read in full and
// checked against what was unpacked — every name, CRC-32, size, method and
// local header offset, the count, its own size and offset — before the
// tree may be renamed into place. Any disagreement is ErrUnsafe: two
// readers of the same zip would see different files (the overlapping-entry
// bomb, hidden entries). Modes and symlinks live only in the central
// directory's external attributes, so entries are written as regular files
// (a symlink's content is its target) and given their modes, or turned
// into symlinks, once it has been checked.
//
// Stored entries whose size comes only after their data (a data
// descriptor) cannot be delimited while streaming and are refused with
// ErrFormat, as are encrypted entries, multi-disk archives and methods
// other than stored, deflate, bzip2 and zstd. Such a zip must be
// downloaded first and unpacked with archive/zip.

// Zip record signatures (APPNOTE 4.3).
const (
	sigLocal       = 0x04034b50
	sigDescriptor  = 0x08074b50
	sigCentral     = 0x02014b50
	sigEnd         = 0x06054b50
	sigEnd64       = 0x06064b50
	sigLocator64   = 0x07064b50
	sigSignature   = 0x05054b50
	zipMethodStore = 0
	zipMethodFlate = 8
	zipMethodBzip2 = 12
	zipMethodZstd  = 93
	max32          = 0xffffffff
	max16          = 0xffff
)

// zipEntry is what a local header and its data showed, kept for the
// central directory's cross-check.
type zipEntry struct {
	name         string // as in the archive
	local        string // cleaned
	offset       int64
	crc          uint32
	csize, usize int64
	method       uint16
	dir          bool
	deferred     int // index in u.deferred for a directory, -1 otherwise
	matched      bool
}

type zipReader struct {
	u       *unpacker
	br      *bufio.Reader
	pos     func() int64
	entries []zipEntry
	names   map[string]bool // cleaned names seen; true for regular files
	zstd    *zstd.Decoder
}

func (u *unpacker) unzip(br *bufio.Reader) (err error) {
	u.in.watchIdle = true
	u.stream = tarStream{in: &u.in, ratio: u.limits.Ratio}
	u.buf = make([]byte, copyBufferSize)
	z := &zipReader{u: u, br: br, names: map[string]bool{},
		pos: func() int64 { return u.in.n - int64(br.Buffered()) }}
	defer func() {
		if z.zstd != nil {
			z.zstd.Close()
		}
	}()
	for {
		if err := canceled(u.ctx); err != nil {
			return u.fail("unpacking", "", err)
		}
		sig, err := z.peekSig()
		if err != nil {
			return u.fail(z.headerOp(), "", err)
		}
		if sig != sigLocal {
			break
		}
		if err := z.local(); err != nil {
			return err
		}
	}
	if err := z.directory(); err != nil {
		return err
	}
	return u.finishTree()
}

func (z *zipReader) headerOp() string {
	if len(z.entries) == 0 {
		return "reading header"
	}
	return "reading header after " + z.entries[len(z.entries)-1].name
}

func (z *zipReader) peekSig() (uint32, error) {
	b, err := z.br.Peek(4)
	if err != nil {
		return 0, noEOF(err)
	}
	return binary.LittleEndian.Uint32(b), nil
}

// read returns the next n bytes, which stay valid until the next read.
func (z *zipReader) read(n int) ([]byte, error) {
	if n > z.br.Size() {
		buf := make([]byte, n)
		_, err := io.ReadFull(z.br, buf)
		return buf, noEOF(err)
	}
	b, err := z.br.Peek(n)
	if err != nil {
		return nil, noEOF(err)
	}
	_, _ = z.br.Discard(n)
	return b, nil
}

// zipFields are the fields a local and a central header share.
type zipFields struct {
	flags, method uint16
	modTime       time.Time
	crc           uint32
	csize, usize  int64
	offset        int64 // central only
	name          string
	zip64         bool // a ZIP64 extra field was present
	madeBy        uint16
	external      uint32
	extended      bool // the time came from an extended timestamp
}

// parseExtra reads the extra fields a reader must understand: ZIP64
// sizes and offset (APPNOTE 4.5.3) and the extended timestamp (0x5455).
func (f *zipFields) parseExtra(extra []byte, central bool) error {
	for len(extra) >= 4 {
		id := binary.LittleEndian.Uint16(extra)
		size := int(binary.LittleEndian.Uint16(extra[2:]))
		if 4+size > len(extra) {
			return fmt.Errorf("%w: zip extra field beyond its header", errArchive)
		}
		data := extra[4 : 4+size]
		extra = extra[4+size:]
		switch id {
		case 0x0001:
			f.zip64 = true
			next := func(ok bool, v *int64) error {
				if !ok {
					return nil
				}
				if len(data) < 8 {
					return fmt.Errorf("%w: short ZIP64 extra field", errArchive)
				}
				u := binary.LittleEndian.Uint64(data)
				if u > 1<<62 {
					return fmt.Errorf("%w: ZIP64 value %d out of range", errArchive, u)
				}
				*v, data = int64(u), data[8:]
				return nil
			}
			// In a local header both sizes are present (4.5.3); in the
			// central directory only those whose fields are full.
			if err := next(!central || f.usize == max32, &f.usize); err != nil {
				return err
			}
			if err := next(!central || f.csize == max32, &f.csize); err != nil {
				return err
			}
			if err := next(central && f.offset == max32, &f.offset); err != nil {
				return err
			}
		case 0x5455:
			if len(data) >= 5 && data[0]&1 != 0 {
				f.modTime = time.Unix(int64(int32(binary.LittleEndian.Uint32(data[1:]))), 0)
				f.extended = true
			}
		}
	}
	return nil
}

// dosTime decodes an MS-DOS date and time, which has no time zone; like
// archive/zip, tarx reads it as UTC.
func dosTime(d, t uint16) time.Time {
	return time.Date(int(d>>9)+1980, time.Month(d>>5&0xf), int(d&0x1f),
		int(t>>11), int(t>>5&0x3f), int(t&0x1f)*2, 0, time.UTC)
}

// zipName checks a zip entry name: besides what localName refuses,
// backslashes and drive letters, which are separators and roots to the
// Windows tools the archive may also be unpacked with.
func zipName(name string) (string, error) {
	if strings.Contains(name, "\\") {
		return "", fmt.Errorf("%w: name %q has a backslash", ErrUnsafe, name)
	}
	if len(name) >= 2 && name[1] == ':' && ('a' <= name[0]|0x20 && name[0]|0x20 <= 'z') {
		return "", fmt.Errorf("%w: name %q starts with a drive letter", ErrUnsafe, name)
	}
	return localName(name)
}

// local reads one local file header and unpacks its entry.
func (z *zipReader) local() error {
	u := z.u
	offset := z.pos()
	h, err := z.read(30)
	if err != nil {
		return u.fail(z.headerOp(), "", err)
	}
	f := zipFields{
		flags:   binary.LittleEndian.Uint16(h[6:]),
		method:  binary.LittleEndian.Uint16(h[8:]),
		modTime: dosTime(binary.LittleEndian.Uint16(h[12:]), binary.LittleEndian.Uint16(h[10:])),
		crc:     binary.LittleEndian.Uint32(h[14:]),
		csize:   int64(binary.LittleEndian.Uint32(h[18:])),
		usize:   int64(binary.LittleEndian.Uint32(h[22:])),
	}
	nlen, xlen := int(binary.LittleEndian.Uint16(h[26:])), int(binary.LittleEndian.Uint16(h[28:]))
	b, err := z.read(nlen)
	if err != nil {
		return u.fail(z.headerOp(), "", err)
	}
	f.name = string(b)
	extra, err := z.read(xlen)
	if err != nil {
		return u.fail(z.headerOp(), f.name, err)
	}
	if err := f.parseExtra(extra, false); err != nil {
		return u.fail("unpacking", f.name, err)
	}
	u.in.idleFrom = u.in.n // a header is progress
	u.stats.Entries++
	if u.stats.Entries+u.implied > u.limits.Entries {
		return u.fail("unpacking", f.name, u.entriesLimit())
	}
	if err := z.entry(offset, &f); err != nil {
		return u.fail("unpacking", f.name, err)
	}
	return nil
}

func (z *zipReader) entry(offset int64, f *zipFields) error {
	u := z.u
	if f.flags&1 != 0 {
		return fmt.Errorf("%w: encrypted zip entry", ErrFormat)
	}
	name, err := zipName(f.name)
	if err != nil {
		return err
	}
	if u.throughSymlink(name) {
		return fmt.Errorf("%w: path %q passes through a symlink in the archive", ErrUnsafe, f.name)
	}
	if err := u.checkName(name, f.name, ""); err != nil {
		return err
	}
	if _, dup := z.names[name]; dup {
		return fmt.Errorf("%w: a second entry named %q", ErrUnsafe, name)
	}
	// An earlier regular entry may be a symlink, which only the central
	// directory will say: a path through it is refused as one through a
	// symlink would be.
	for i := 0; i < len(name); i++ {
		if name[i] == '/' && z.names[name[:i]] {
			return fmt.Errorf("%w: path %q passes through the earlier file entry %q (a symlink, perhaps)", ErrUnsafe, f.name, name[:i])
		}
	}
	if err := u.keep(len(f.name) + len(name)); err != nil {
		return err
	}
	e := zipEntry{name: f.name, local: name, offset: offset, method: f.method, deferred: -1,
		dir: strings.HasSuffix(f.name, "/")}
	z.names[strings.Clone(name)] = !e.dir
	if e.dir {
		if err := z.dirEntry(&e, f); err != nil {
			return err
		}
	} else if err := z.fileEntry(&e, f); err != nil {
		return err
	}
	z.entries = append(z.entries, e)
	return nil
}

func (z *zipReader) dirEntry(e *zipEntry, f *zipFields) error {
	u := z.u
	if f.csize != 0 && f.flags&8 == 0 {
		return fmt.Errorf("%w: a directory entry with %d bytes of data", errArchive, f.csize)
	}
	if f.flags&8 != 0 {
		if err := z.descriptor(e, f, 0, crc32.NewIEEE().Sum32(), 0); err != nil {
			return err
		}
	}
	if e.local == "." {
		return nil
	}
	if !u.dirs[e.local] {
		if err := u.mkParent(e.local); err != nil {
			return err
		}
		err := u.root.Mkdir(e.local, 0o700)
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%w: directory %q replaces a file", errArchive, f.name)
		}
		if err != nil {
			return err
		}
		u.dirs[strings.Clone(e.local)] = true
	}
	e.deferred = len(u.deferred)
	u.deferred = append(u.deferred, dirMeta{name: strings.Clone(e.local), mode: 0o755, atime: f.modTime, mtime: f.modTime})
	u.stats.Dirs++
	return nil
}

func (z *zipReader) fileEntry(e *zipEntry, f *zipFields) error {
	u := z.u
	known := f.flags&8 == 0 || f.csize != 0 || f.usize != 0
	if known {
		if f.usize > u.limits.FileSize {
			return fmt.Errorf("%w: %d bytes exceed the file size limit of %d", ErrLimit, f.usize, u.limits.FileSize)
		}
		if u.total+f.usize > u.limits.TotalSize {
			return fmt.Errorf("%w: files total more than %d bytes", ErrLimit, u.limits.TotalSize)
		}
	}
	var src io.Reader
	var limited *io.LimitedReader
	start := z.pos()
	switch {
	case f.method == zipMethodFlate:
		// Deflate ends itself; read from the buffered input directly (an
		// io.ByteReader), so it consumes exactly its own bytes.
		fr := flate.NewReader(z.br)
		defer fr.Close()
		src = fr
	case !known:
		return fmt.Errorf("%w: a zip entry (method %d) whose size is only given after its data, or in the central directory; download the file and unpack it with archive/zip", ErrFormat, f.method)
	case f.method == zipMethodStore:
		limited = &io.LimitedReader{R: z.br, N: f.csize}
		src = limited
	case f.method == zipMethodBzip2:
		limited = &io.LimitedReader{R: z.br, N: f.csize}
		src = bzip2.NewReader(limited)
	case f.method == zipMethodZstd:
		limited = &io.LimitedReader{R: z.br, N: f.csize}
		if z.zstd == nil {
			d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1),
				zstd.WithDecoderMaxWindow(uint64(min(u.limits.Window, maxZstdWindow))), zstd.WithDecoderLowmem(true))
			if err != nil {
				return err
			}
			z.zstd = d
		}
		if err := z.zstd.Reset(limited); err != nil {
			return err
		}
		src = z.zstd
	default:
		return fmt.Errorf("%w: zip compression method %d", ErrFormat, f.method)
	}
	max := u.limits.FileSize
	if known {
		max = f.usize
	}
	cr := &crcReader{r: src, max: max, crc: crc32.NewIEEE(), known: known}
	var out *os.File
	err := u.create(e.local, f.name, func() (err error) {
		out, err = u.root.OpenFile(e.local, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		return err
	})
	if err != nil {
		return err
	}
	n, err := u.copy(out, cr, true, false)
	u.stats.Bytes += n
	u.total += n
	if err == nil && u.sync {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if u.total > u.limits.TotalSize {
		return fmt.Errorf("%w: files total more than %d bytes", ErrLimit, u.limits.TotalSize)
	}
	compressed := z.pos() - start
	if limited != nil {
		if limited.N != 0 {
			return fmt.Errorf("%w: %d bytes of compressed data left over in a zip entry", errArchive, limited.N)
		}
	}
	crc := cr.crc.Sum32()
	if f.flags&8 != 0 {
		if err := z.descriptor(e, f, compressed, crc, n); err != nil {
			return err
		}
	} else {
		if compressed != f.csize || n != f.usize {
			return fmt.Errorf("%w: zip entry of %d bytes from %d, its header says %d from %d", errArchive, n, compressed, f.usize, f.csize)
		}
		if crc != f.crc {
			return fmt.Errorf("%w: zip entry CRC-32 %08x, its header says %08x", ErrChecksum, crc, f.crc)
		}
	}
	e.crc, e.csize, e.usize = crc, compressed, n
	u.stats.Files++
	return u.root.Chtimes(e.local, f.modTime, f.modTime)
}

// descriptor reads a data descriptor (APPNOTE 4.3.9) and checks it
// against the entry just read.
func (z *zipReader) descriptor(e *zipEntry, f *zipFields, compressed int64, crc uint32, n int64) error {
	sig, err := z.peekSig()
	if err != nil {
		return err
	}
	if sig == sigDescriptor {
		_, _ = z.br.Discard(4)
	}
	size := 12
	if f.zip64 {
		size = 20
	}
	d, err := z.read(size)
	if err != nil {
		return err
	}
	wantCRC := binary.LittleEndian.Uint32(d)
	var wc, wu int64
	if f.zip64 {
		wc, wu = int64(binary.LittleEndian.Uint64(d[4:])), int64(binary.LittleEndian.Uint64(d[12:]))
	} else {
		wc, wu = int64(binary.LittleEndian.Uint32(d[4:])), int64(binary.LittleEndian.Uint32(d[8:]))
	}
	if wc != compressed || wu != n {
		return fmt.Errorf("%w: zip entry of %d bytes from %d, its data descriptor says %d from %d", errArchive, n, compressed, wu, wc)
	}
	if wantCRC != crc {
		return fmt.Errorf("%w: zip entry CRC-32 %08x, its data descriptor says %08x", ErrChecksum, crc, wantCRC)
	}
	e.crc, e.csize, e.usize = crc, compressed, n
	return nil
}

// crcReader computes the CRC-32 of what it reads and stops at max bytes:
// the declared size, or the file size limit when none is declared.
type crcReader struct {
	r     io.Reader
	crc   interface{ Sum32() uint32 }
	max   int64
	n     int64
	known bool
}

func (c *crcReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	c.crc.(io.Writer).Write(p[:n])
	if c.n > c.max {
		if c.known {
			return n, fmt.Errorf("%w: zip entry longer than the %d bytes its header says", errArchive, c.max)
		}
		return n, fmt.Errorf("%w: a file beyond the file size limit of %d bytes", ErrLimit, c.max)
	}
	return n, err
}

// directory reads the central directory and the end records, checking
// each against what was unpacked.
func (z *zipReader) directory() error {
	u := z.u
	cdStart := z.pos()
	count := 0
	for {
		if err := canceled(u.ctx); err != nil {
			return u.fail("verifying", "", err)
		}
		sig, err := z.peekSig()
		if err != nil {
			return u.fail("verifying", "", err)
		}
		if sig != sigCentral {
			break
		}
		if err := z.central(); err != nil {
			return err
		}
		count++
		u.in.idleFrom = u.in.n // a checked record is progress
	}
	cdSize := z.pos() - cdStart
	for _, e := range z.entries {
		if !e.matched {
			return u.fail("verifying", e.name, fmt.Errorf("%w: the central directory does not list the entry at offset %d", ErrUnsafe, e.offset))
		}
	}
	if err := z.end(int64(count), cdStart, cdSize); err != nil {
		return u.fail("verifying", "", err)
	}
	return nil
}

// central reads one central directory header (APPNOTE 4.3.12) and checks
// it against the local entry at its offset.
func (z *zipReader) central() error {
	u := z.u
	h, err := z.read(46)
	if err != nil {
		return u.fail("verifying", "", err)
	}
	f := zipFields{
		madeBy:   binary.LittleEndian.Uint16(h[4:]),
		flags:    binary.LittleEndian.Uint16(h[8:]),
		method:   binary.LittleEndian.Uint16(h[10:]),
		crc:      binary.LittleEndian.Uint32(h[16:]),
		csize:    int64(binary.LittleEndian.Uint32(h[20:])),
		usize:    int64(binary.LittleEndian.Uint32(h[24:])),
		external: binary.LittleEndian.Uint32(h[38:]),
		offset:   int64(binary.LittleEndian.Uint32(h[42:])),
	}
	nlen := int(binary.LittleEndian.Uint16(h[28:]))
	xlen := int(binary.LittleEndian.Uint16(h[30:]))
	clen := int(binary.LittleEndian.Uint16(h[32:]))
	if disk := binary.LittleEndian.Uint16(h[34:]); disk != 0 && disk != max16 {
		return u.fail("verifying", "", fmt.Errorf("%w: a multi-disk zip", ErrFormat))
	}
	b, err := z.read(nlen)
	if err != nil {
		return u.fail("verifying", "", err)
	}
	f.name = string(b)
	extra, err := z.read(xlen)
	if err != nil {
		return u.fail("verifying", f.name, err)
	}
	if err := f.parseExtra(extra, true); err != nil {
		return u.fail("verifying", f.name, err)
	}
	if _, err := z.read(clen); err != nil {
		return u.fail("verifying", f.name, err)
	}
	i := sort.Search(len(z.entries), func(i int) bool { return z.entries[i].offset >= f.offset })
	if i == len(z.entries) || z.entries[i].offset != f.offset {
		return u.fail("verifying", f.name, fmt.Errorf("%w: the central directory lists %q at offset %d, where no entry begins", ErrUnsafe, f.name, f.offset))
	}
	e := &z.entries[i]
	var disagree string
	switch {
	case e.matched:
		disagree = "a second central directory entry for the same data"
	case f.name != e.name:
		disagree = fmt.Sprintf("the local header names it %q", e.name)
	case f.method != e.method:
		disagree = fmt.Sprintf("method %d, the local header says %d", f.method, e.method)
	case f.crc != e.crc:
		disagree = fmt.Sprintf("CRC-32 %08x, the data's is %08x", f.crc, e.crc)
	case f.csize != e.csize || f.usize != e.usize:
		disagree = fmt.Sprintf("%d bytes from %d, the data is %d from %d", f.usize, f.csize, e.usize, e.csize)
	}
	if disagree != "" {
		return u.fail("verifying", f.name, fmt.Errorf("%w: the central directory disagrees with the local entry: %s", ErrUnsafe, disagree))
	}
	e.matched = true
	if err := z.applyAttrs(e, &f); err != nil {
		return u.fail("verifying", f.name, err)
	}
	return nil
}

// Unix file types in the high half of external attributes.
const (
	unixTypeMask = 0o170000
	unixRegular  = 0o100000
	unixDir      = 0o040000
	unixSymlink  = 0o120000
)

// applyAttrs gives an entry its mode, or makes it the symlink it is, from
// the external attributes of a zip written on Unix (made-by host 3, or 19
// for macOS); entries from elsewhere get 0644 and 0755.
func (z *zipReader) applyAttrs(e *zipEntry, f *zipFields) error {
	u := z.u
	host := f.madeBy >> 8
	mode := uint32(0)
	if host == 3 || host == 19 {
		mode = f.external >> 16
	}
	perm := fs.FileMode(mode) & fs.ModePerm
	switch typ := mode & unixTypeMask; {
	case e.dir:
		if typ != 0 && typ != unixDir {
			return fmt.Errorf("%w: a directory entry whose attributes say type %#o", errArchive, typ)
		}
		dm := dirMode(int64(mode & 0o7777))
		if mode == 0 {
			dm = 0o755
		}
		if e.deferred >= 0 {
			u.deferred[e.deferred].mode = dm
		} else if e.local == "." {
			u.rootMeta = &dirMeta{name: ".", mode: dm, atime: time.Now(), mtime: time.Now()}
		}
		return nil
	case typ == unixSymlink:
		return z.symlink(e)
	case typ == 0 || typ == unixRegular:
		if mode == 0 {
			perm = 0o644
			if f.external&1 != 0 { // MS-DOS read-only
				perm = 0o444
			}
		}
		return u.root.Chmod(e.local, perm)
	default:
		return fmt.Errorf("%w: a device, FIFO or socket entry (type %#o)", ErrUnsafe, typ)
	}
}

// symlink turns the file written for e, whose content is the link's
// target, into the symlink.
func (z *zipReader) symlink(e *zipEntry) error {
	u := z.u
	if e.usize > int64(u.limits.Name) {
		return fmt.Errorf("%w: a link target of %d bytes, above the limit of %d", ErrLimit, e.usize, u.limits.Name)
	}
	target, err := u.root.ReadFile(e.local)
	if err != nil {
		return err
	}
	if err := checkSymlink(e.local, string(target)); err != nil {
		return err
	}
	prefix := e.local + "/"
	for _, other := range z.entries {
		if strings.HasPrefix(other.local, prefix) {
			return fmt.Errorf("%w: path %q passes through a symlink in the archive", ErrUnsafe, other.name)
		}
	}
	if err := u.root.Remove(e.local); err != nil {
		return err
	}
	if err := u.root.Symlink(string(target), e.local); err != nil {
		return err
	}
	u.symlinks[strings.Clone(e.local)] = true
	u.stats.Files--
	u.stats.Symlinks++
	return nil
}

// end reads the end of central directory record (APPNOTE 4.3.16), and
// the ZIP64 records before it when present, checks them against the
// central directory read, and insists the stream ends with its comment.
func (z *zipReader) end(count, cdStart, cdSize int64) error {
	sig, err := z.peekSig()
	if err != nil {
		return err
	}
	var end64 struct {
		seen                bool
		count, size, offset int64
	}
	if sig == sigSignature {
		h, err := z.read(6)
		if err != nil {
			return err
		}
		if _, err := z.read(int(binary.LittleEndian.Uint16(h[4:]))); err != nil {
			return err
		}
		if sig, err = z.peekSig(); err != nil {
			return err
		}
	}
	if sig == sigEnd64 {
		h, err := z.read(56)
		if err != nil {
			return err
		}
		rest := binary.LittleEndian.Uint64(h[4:])
		if rest < 44 || rest > 1<<20 {
			return fmt.Errorf("%w: ZIP64 end record of %d bytes", errArchive, rest)
		}
		if _, err := z.read(int(rest - 44)); err != nil {
			return err
		}
		end64.seen = true
		end64.count = int64(binary.LittleEndian.Uint64(h[32:]))
		end64.size = int64(binary.LittleEndian.Uint64(h[40:]))
		end64.offset = int64(binary.LittleEndian.Uint64(h[48:]))
		if binary.LittleEndian.Uint32(h[16:]) != 0 || binary.LittleEndian.Uint32(h[20:]) != 0 {
			return fmt.Errorf("%w: a multi-disk zip", ErrFormat)
		}
		if sig, err = z.peekSig(); err != nil {
			return err
		}
		if sig != sigLocator64 {
			return fmt.Errorf("%w: no ZIP64 end locator", errArchive)
		}
		if _, err := z.read(20); err != nil {
			return err
		}
		if sig, err = z.peekSig(); err != nil {
			return err
		}
	}
	if sig != sigEnd {
		return fmt.Errorf("%w: unexpected record %#08x where the central directory ends", errArchive, sig)
	}
	h, err := z.read(22)
	if err != nil {
		return err
	}
	if binary.LittleEndian.Uint16(h[4:]) != 0 && binary.LittleEndian.Uint16(h[4:]) != max16 {
		return fmt.Errorf("%w: a multi-disk zip", ErrFormat)
	}
	n := int64(binary.LittleEndian.Uint16(h[10:]))
	size := int64(binary.LittleEndian.Uint32(h[12:]))
	offset := int64(binary.LittleEndian.Uint32(h[16:]))
	if end64.seen {
		if n == max16 {
			n = end64.count
		}
		if size == max32 {
			size = end64.size
		}
		if offset == max32 {
			offset = end64.offset
		}
	}
	if n != count || size != cdSize || offset != cdStart {
		return fmt.Errorf("%w: the end record says %d entries, %d bytes at %d; the central directory has %d, %d bytes at %d",
			ErrUnsafe, n, size, offset, count, cdSize, cdStart)
	}
	if _, err := z.read(int(binary.LittleEndian.Uint16(h[20:]))); err != nil {
		return err
	}
	if _, err := z.br.Peek(1); err != io.EOF {
		if err != nil {
			return err
		}
		return fmt.Errorf("%w: data after the end of the central directory", errArchive)
	}
	return nil
}
