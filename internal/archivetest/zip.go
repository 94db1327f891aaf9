package archivetest

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io/fs"
	"time"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/zstd"
)

// Zip methods the builder writes (APPNOTE 4.4.5).
const (
	ZipStore   uint16 = 0
	ZipDeflate uint16 = 8
	ZipZstd    uint16 = 93
)

// ZipEntry is one entry of a zip the builder writes record by record, so
// that tests can have every layout honest writers produce — sizes in the
// local header or in a data descriptor after the data, ZIP64 fields — and
// every lie a hostile zip tells.
type ZipEntry struct {
	Name string
	Data []byte
	// Mode is the entry's mode: permission bits, with fs.ModeDir or
	// fs.ModeSymlink (Data is then the target) or a device bit; zero
	// means 0644 (0755 for a name ending in "/"). It is written in the
	// external attributes with a Unix made-by host.
	Mode    fs.FileMode
	Method  uint16
	ModTime time.Time
	// Descriptor writes the CRC-32 and sizes after the data, with zeros in
	// the local header, as a writer that streams does.
	Descriptor bool
	// Zip64 writes the sizes (and offset) in ZIP64 extra fields.
	Zip64 bool
	// NoUnixMode writes MS-DOS attributes (made-by host 0) instead.
	NoUnixMode bool

	// Lies. CentralName, if set, is the name the central directory gives
	// the entry; BadCRC corrupts the CRC-32 the local header (or the
	// descriptor) declares; Hidden leaves the entry out of the central
	// directory; Encrypted sets the encryption flag.
	CentralName string
	BadCRC      bool
	Hidden      bool
	Encrypted   bool
}

// ZipOptions change the zip as a whole.
type ZipOptions struct {
	// Overlap adds central directory records that point at the first
	// entry's data under other names: the overlapping-file zip bomb.
	Overlap int
	// WrongCount makes the end record's entry count disagree.
	WrongCount bool
	// Zip64End writes the ZIP64 end records even when nothing needs them.
	Zip64End bool
	// Comment is the archive comment.
	Comment string
}

func (e *ZipEntry) mode() fs.FileMode {
	if e.Mode != 0 {
		return e.Mode
	}
	if len(e.Name) > 0 && e.Name[len(e.Name)-1] == '/' {
		return fs.ModeDir | 0o755
	}
	return 0o644
}

// unixMode is e's mode as a Unix st_mode, for the external attributes.
func unixMode(m fs.FileMode) uint32 {
	u := uint32(m.Perm())
	switch {
	case m&fs.ModeDir != 0:
		u |= 0o040000
	case m&fs.ModeSymlink != 0:
		u |= 0o120000
	case m&fs.ModeCharDevice != 0:
		u |= 0o020000
	case m&fs.ModeDevice != 0:
		u |= 0o060000
	case m&fs.ModeNamedPipe != 0:
		u |= 0o010000
	default:
		u |= 0o100000
	}
	if m&fs.ModeSticky != 0 {
		u |= 0o1000
	}
	return u
}

// Zip writes entries as a zip archive.
func Zip(entries []ZipEntry, opts ZipOptions) ([]byte, error) {
	var out bytes.Buffer
	type central struct {
		e                 *ZipEntry
		crc               uint32
		csize, usize, off int64
		flags             uint16
		dosDate, dosTime  uint16
	}
	var cds []central
	for i := range entries {
		e := &entries[i]
		data := e.Data
		var comp []byte
		switch e.Method {
		case ZipStore:
			comp = data
		case ZipDeflate:
			var b bytes.Buffer
			w, _ := flate.NewWriter(&b, flate.DefaultCompression)
			w.Write(data)
			w.Close()
			comp = b.Bytes()
		case ZipZstd:
			w, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
			if err != nil {
				return nil, err
			}
			comp = w.EncodeAll(data, nil)
			w.Close()
		default:
			return nil, fmt.Errorf("archivetest: zip method %d", e.Method)
		}
		crc := crc32.ChecksumIEEE(data)
		declared := crc
		if e.BadCRC {
			declared ^= 0xdeadbeef
		}
		mt := e.ModTime
		if mt.IsZero() {
			mt = time.Date(2024, 1, 2, 3, 4, 6, 0, time.UTC)
		}
		dd := uint16((mt.Year()-1980)<<9 | int(mt.Month())<<5 | mt.Day())
		dt := uint16(mt.Hour()<<11 | mt.Minute()<<5 | mt.Second()/2)
		flags := uint16(0x800) // UTF-8 names
		if e.Descriptor {
			flags |= 8
		}
		if e.Encrypted {
			flags |= 1
		}
		off := int64(out.Len())
		lcrc, lc, lu := declared, uint32(len(comp)), uint32(len(data))
		if e.Descriptor {
			lcrc, lc, lu = 0, 0, 0
		}
		// The extended timestamp (0x5455) keeps the time to the second.
		extra := binary.LittleEndian.AppendUint16(nil, 0x5455)
		extra = binary.LittleEndian.AppendUint16(extra, 5)
		extra = append(extra, 1)
		extra = binary.LittleEndian.AppendUint32(extra, uint32(mt.Unix()))
		if e.Zip64 {
			lc, lu = 0xffffffff, 0xffffffff
			extra = binary.LittleEndian.AppendUint16(extra, 1)
			extra = binary.LittleEndian.AppendUint16(extra, 16)
			if e.Descriptor {
				extra = append(extra, make([]byte, 16)...)
			} else {
				extra = binary.LittleEndian.AppendUint64(extra, uint64(len(data)))
				extra = binary.LittleEndian.AppendUint64(extra, uint64(len(comp)))
			}
		}
		h := binary.LittleEndian.AppendUint32(nil, 0x04034b50)
		h = binary.LittleEndian.AppendUint16(h, 45)
		h = binary.LittleEndian.AppendUint16(h, flags)
		h = binary.LittleEndian.AppendUint16(h, e.Method)
		h = binary.LittleEndian.AppendUint16(h, dt)
		h = binary.LittleEndian.AppendUint16(h, dd)
		h = binary.LittleEndian.AppendUint32(h, lcrc)
		h = binary.LittleEndian.AppendUint32(h, lc)
		h = binary.LittleEndian.AppendUint32(h, lu)
		h = binary.LittleEndian.AppendUint16(h, uint16(len(e.Name)))
		h = binary.LittleEndian.AppendUint16(h, uint16(len(extra)))
		out.Write(h)
		out.WriteString(e.Name)
		out.Write(extra)
		out.Write(comp)
		if e.Descriptor {
			d := binary.LittleEndian.AppendUint32(nil, 0x08074b50)
			d = binary.LittleEndian.AppendUint32(d, declared)
			if e.Zip64 {
				d = binary.LittleEndian.AppendUint64(d, uint64(len(comp)))
				d = binary.LittleEndian.AppendUint64(d, uint64(len(data)))
			} else {
				d = binary.LittleEndian.AppendUint32(d, uint32(len(comp)))
				d = binary.LittleEndian.AppendUint32(d, uint32(len(data)))
			}
			out.Write(d)
		}
		if !e.Hidden {
			cds = append(cds, central{e: e, crc: crc, csize: int64(len(comp)), usize: int64(len(data)), off: off, flags: flags, dosDate: dd, dosTime: dt})
		}
	}
	for i := 0; i < opts.Overlap && len(cds) > 0; i++ {
		c := cds[0]
		dup := *c.e
		dup.CentralName = fmt.Sprintf("overlap%05d", i)
		c.e = &dup
		cds = append(cds, c)
	}
	cdStart := int64(out.Len())
	for _, c := range cds {
		e := c.e
		name := e.Name
		if e.CentralName != "" {
			name = e.CentralName
		}
		made := uint16(3<<8 | 45)
		ext := unixMode(e.mode()) << 16
		if e.NoUnixMode {
			made, ext = 45, 0
			if e.mode()&fs.ModeDir != 0 {
				ext = 0x10
			}
		}
		csize, usize, off := uint32(c.csize), uint32(c.usize), uint32(c.off)
		var extra []byte
		if e.Zip64 {
			csize, usize, off = 0xffffffff, 0xffffffff, 0xffffffff
			extra = binary.LittleEndian.AppendUint16(extra, 1)
			extra = binary.LittleEndian.AppendUint16(extra, 24)
			extra = binary.LittleEndian.AppendUint64(extra, uint64(c.usize))
			extra = binary.LittleEndian.AppendUint64(extra, uint64(c.csize))
			extra = binary.LittleEndian.AppendUint64(extra, uint64(c.off))
		}
		h := binary.LittleEndian.AppendUint32(nil, 0x02014b50)
		h = binary.LittleEndian.AppendUint16(h, made)
		h = binary.LittleEndian.AppendUint16(h, 45)
		h = binary.LittleEndian.AppendUint16(h, c.flags)
		h = binary.LittleEndian.AppendUint16(h, e.Method)
		h = binary.LittleEndian.AppendUint16(h, c.dosTime)
		h = binary.LittleEndian.AppendUint16(h, c.dosDate)
		h = binary.LittleEndian.AppendUint32(h, c.crc)
		h = binary.LittleEndian.AppendUint32(h, csize)
		h = binary.LittleEndian.AppendUint32(h, usize)
		h = binary.LittleEndian.AppendUint16(h, uint16(len(name)))
		h = binary.LittleEndian.AppendUint16(h, uint16(len(extra)))
		h = binary.LittleEndian.AppendUint16(h, 0) // comment
		h = binary.LittleEndian.AppendUint16(h, 0) // disk
		h = binary.LittleEndian.AppendUint16(h, 0) // internal attributes
		h = binary.LittleEndian.AppendUint32(h, ext)
		h = binary.LittleEndian.AppendUint32(h, off)
		out.Write(h)
		out.WriteString(name)
		out.Write(extra)
	}
	cdSize := int64(out.Len()) - cdStart
	count := len(cds)
	if opts.WrongCount {
		count++
	}
	n16, size32, off32 := uint16(count), uint32(cdSize), uint32(cdStart)
	if opts.Zip64End {
		end64 := int64(out.Len())
		h := binary.LittleEndian.AppendUint32(nil, 0x06064b50)
		h = binary.LittleEndian.AppendUint64(h, 44)
		h = binary.LittleEndian.AppendUint16(h, 3<<8|45)
		h = binary.LittleEndian.AppendUint16(h, 45)
		h = binary.LittleEndian.AppendUint32(h, 0)
		h = binary.LittleEndian.AppendUint32(h, 0)
		h = binary.LittleEndian.AppendUint64(h, uint64(count))
		h = binary.LittleEndian.AppendUint64(h, uint64(count))
		h = binary.LittleEndian.AppendUint64(h, uint64(cdSize))
		h = binary.LittleEndian.AppendUint64(h, uint64(cdStart))
		h = binary.LittleEndian.AppendUint32(h, 0x07064b50)
		h = binary.LittleEndian.AppendUint32(h, 0)
		h = binary.LittleEndian.AppendUint64(h, uint64(end64))
		h = binary.LittleEndian.AppendUint32(h, 1)
		out.Write(h)
		n16, size32, off32 = 0xffff, 0xffffffff, 0xffffffff
	}
	h := binary.LittleEndian.AppendUint32(nil, 0x06054b50)
	h = binary.LittleEndian.AppendUint16(h, 0)
	h = binary.LittleEndian.AppendUint16(h, 0)
	h = binary.LittleEndian.AppendUint16(h, n16)
	h = binary.LittleEndian.AppendUint16(h, n16)
	h = binary.LittleEndian.AppendUint32(h, size32)
	h = binary.LittleEndian.AppendUint32(h, off32)
	h = binary.LittleEndian.AppendUint16(h, uint16(len(opts.Comment)))
	out.Write(h)
	out.WriteString(opts.Comment)
	return out.Bytes(), nil
}

// ZipCase is one hostile zip.
type ZipCase struct {
	Name    string
	Entries []ZipEntry
	Options ZipOptions
	// Kind is how an extractor must refuse it: "unsafe_archive", "limit",
	// "checksum" or "archive" (a zip it cannot stream).
	Kind   string
	Victim string // as in Case
}

// HostileZips returns one hostile zip per attack an extractor must refuse.
func HostileZips() []ZipCase {
	benign := []ZipEntry{
		{Name: "inside/", Method: ZipStore},
		{Name: "inside/ok.txt", Data: []byte("harmless\n"), Method: ZipDeflate},
	}
	with := func(attack ...ZipEntry) []ZipEntry { return append(append([]ZipEntry(nil), benign...), attack...) }
	evil := []byte("pwned\n")
	big := bytes.Repeat([]byte{0}, TightFileSize+1)
	cases := []ZipCase{
		{Name: "zip-dotdot", Entries: with(ZipEntry{Name: "../../victim.txt", Data: evil}), Kind: "unsafe_archive", Victim: "victim.txt"},
		{Name: "zip-absolute", Entries: with(ZipEntry{Name: "/tmp/faultline-archivetest-zip-absolute", Data: evil}), Kind: "unsafe_archive", Victim: "/tmp/faultline-archivetest-zip-absolute"},
		{Name: "zip-drive-letter", Entries: with(ZipEntry{Name: "C:/victim.txt", Data: evil}), Kind: "unsafe_archive"},
		{Name: "zip-backslash", Entries: with(ZipEntry{Name: "..\\..\\victim.txt", Data: evil}), Kind: "unsafe_archive"},
		{Name: "zip-duplicate-name", Entries: with(ZipEntry{Name: "inside/ok.txt", Data: evil}), Kind: "unsafe_archive"},
		{Name: "zip-local-disagrees", Entries: with(ZipEntry{Name: "innocent.txt", Data: evil, CentralName: "other.txt"}), Kind: "unsafe_archive"},
		{Name: "zip-overlapping-entries", Entries: with(), Options: ZipOptions{Overlap: 50}, Kind: "unsafe_archive"},
		{Name: "zip-hidden-entry", Entries: with(ZipEntry{Name: "hidden.txt", Data: evil, Hidden: true}), Kind: "unsafe_archive"},
		{Name: "zip-wrong-count", Entries: with(), Options: ZipOptions{WrongCount: true}, Kind: "unsafe_archive"},
		{Name: "zip-symlink-escape", Entries: with(ZipEntry{Name: "inside/up", Data: []byte("../../../victim.txt"), Mode: fs.ModeSymlink | 0o777}), Kind: "unsafe_archive", Victim: "victim.txt"},
		{Name: "zip-symlink-absolute", Entries: with(ZipEntry{Name: "etc", Data: []byte("/etc"), Mode: fs.ModeSymlink | 0o777}), Kind: "unsafe_archive"},
		{Name: "zip-write-through-symlink", Entries: with(
			ZipEntry{Name: "alias", Data: []byte("inside"), Mode: fs.ModeSymlink | 0o777},
			ZipEntry{Name: "alias/ok.txt", Data: evil}), Kind: "unsafe_archive"},
		{Name: "zip-device", Entries: with(ZipEntry{Name: "null", Mode: fs.ModeDevice | fs.ModeCharDevice | 0o666}), Kind: "unsafe_archive"},
		{Name: "zip-crc-mismatch", Entries: with(ZipEntry{Name: "bad.txt", Data: evil, BadCRC: true}), Kind: "checksum"},
		{Name: "zip-file-too-large", Entries: with(ZipEntry{Name: "big", Data: big, Method: ZipDeflate}), Kind: "limit"},
		{Name: "zip-file-too-large-streamed", Entries: with(ZipEntry{Name: "big", Data: big, Method: ZipDeflate, Descriptor: true}), Kind: "limit"},
		{Name: "zip-bomb", Entries: with(ZipEntry{Name: "zeros", Data: make([]byte, 8<<20), Method: ZipDeflate}), Kind: "limit"},
		// Deflate stops near 1000:1; zstd in a zip (method 93) goes far
		// past it, so this one the default limits refuse too.
		{Name: "zip-zstd-bomb", Entries: with(ZipEntry{Name: "zeros", Data: make([]byte, 8<<20), Method: ZipZstd}), Kind: "limit"},
		{Name: "zip-stored-with-descriptor", Entries: with(ZipEntry{Name: "s.txt", Data: evil, Descriptor: true}), Kind: "archive"},
		{Name: "zip-encrypted", Entries: with(ZipEntry{Name: "secret.txt", Data: evil, Encrypted: true}), Kind: "archive"},
	}
	return cases
}

// ZipTree turns tar entries (as Tree makes them) into zip entries written
// with method, as a streaming writer would if descriptor is set, and
// returns them with the entries an extraction must produce: zip has no
// hard links, so each becomes a copy of its target.
func ZipTree(entries []Entry, method uint16, descriptor bool) ([]ZipEntry, []Entry) {
	var zs []ZipEntry
	var want []Entry
	for _, e := range entries {
		z := ZipEntry{Name: e.Name, Method: method, ModTime: e.modTime(), Descriptor: descriptor && method != ZipStore}
		w := e
		switch e.Type {
		case '5': // directory
			z.Name += "/"
			z.Method = ZipStore
			z.Descriptor = false
			z.Mode = fs.ModeDir | fs.FileMode(e.Mode)&fs.ModePerm
		case '0':
			z.Data = e.Data
			if z.Data == nil {
				z.Data = make([]byte, e.Size)
			}
			z.Mode = fs.FileMode(e.Mode) & fs.ModePerm
		case '2':
			z.Data = []byte(e.Linkname)
			z.Method = ZipStore
			z.Descriptor = false
			z.Mode = fs.ModeSymlink | 0o777
		case '1':
			t := findEntry(entries, e.Linkname)
			z.Data = t.Data
			z.Mode = fs.FileMode(t.Mode) & fs.ModePerm
			w = Entry{Name: e.Name, Type: '0', Mode: t.Mode, Data: t.Data, ModTime: e.modTime()}
		default:
			continue
		}
		zs = append(zs, z)
		want = append(want, w)
	}
	return zs, want
}

func findEntry(entries []Entry, name string) Entry {
	for _, e := range entries {
		if e.Name == name {
			return e
		}
	}
	return Entry{}
}
