package archivetest

import (
	"archive/tar"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Some attacks need bytes archive/tar will not write (sparse headers) or
// streams far larger than their description (a gigabyte of extended
// headers in a few megabytes of zstd). The builders below write them
// block by block.

// Header builds one 512-byte ustar header block with a valid checksum.
func Header(name string, typ byte, size, mode int64) []byte {
	var b [512]byte
	copy(b[0:100], name)
	octal(b[100:108], mode)
	octal(b[108:116], 0)
	octal(b[116:124], 0)
	octal(b[124:136], size)
	octal(b[136:148], 1704164645) // 2024-01-02T03:04:05Z
	b[156] = typ
	copy(b[257:263], "ustar\x00")
	copy(b[263:265], "00")
	checksum(b[:])
	return b[:]
}

// octal writes v as a NUL-terminated octal field filling f.
func octal(f []byte, v int64) {
	s := strconv.FormatInt(v, 8)
	if len(s) > len(f)-1 {
		panic(fmt.Sprintf("archivetest: %d does not fit a %d-byte field", v, len(f)))
	}
	pad := len(f) - 1 - len(s)
	for i := range pad {
		f[i] = '0'
	}
	copy(f[pad:], s)
	f[len(f)-1] = 0
}

func checksum(b []byte) {
	copy(b[148:156], "        ")
	var sum int64
	for _, c := range b {
		sum += int64(c)
	}
	copy(b[148:155], fmt.Sprintf("%06o\x00", sum))
}

// pad returns the zero bytes that round n up to a whole block.
func pad(n int) []byte { return make([]byte, (512-n%512)%512) }

// PAXRecord encodes one PAX record, "<length> <key>=<value>\n", whose
// length counts itself.
func PAXRecord(key, value string) string {
	body := " " + key + "=" + value + "\n"
	n := len(body) + 1
	for len(strconv.Itoa(n))+len(body) != n {
		n = len(strconv.Itoa(n)) + len(body)
	}
	return strconv.Itoa(n) + body
}

// PAXHeader returns a PAX extended header (type 'x') holding records,
// padded to whole blocks: it applies to the header that follows it.
func PAXHeader(records ...string) []byte {
	data := strings.Join(records, "")
	out := append(Header("PaxHeader", tar.TypeXHeader, int64(len(data)), 0o644), data...)
	return append(out, pad(len(data))...)
}

// EndMarker is the end-of-archive marker: two zero blocks.
func EndMarker() []byte { return make([]byte, 1024) }

// Region is a stretch of data in a sparse file; the rest are holes.
type Region struct {
	Offset int64
	Data   []byte
}

// SparseFormat is one of the ways tar writes a sparse file.
type SparseFormat string

const (
	// SparsePAX is GNU tar's PAX format 1.0 (--sparse --format=posix):
	// the map at the start of the data, the name and size in records.
	SparsePAX SparseFormat = "pax-1.0"
	// SparseGNU is the old GNU format (type 'S'): the map in the header
	// and in extension blocks after it.
	SparseGNU SparseFormat = "gnu"
)

// SparseFile returns the blocks of one sparse file of logical size size
// holding regions (sorted, not overlapping), in format f. Only the
// regions' bytes are stored.
func SparseFile(f SparseFormat, name string, size int64, regions []Region) []byte {
	var data []byte
	for _, r := range regions {
		data = append(data, r.Data...)
	}
	switch f {
	case SparsePAX:
		var m strings.Builder
		fmt.Fprintf(&m, "%d\n", len(regions))
		for _, r := range regions {
			fmt.Fprintf(&m, "%d\n%d\n", r.Offset, len(r.Data))
		}
		smap := append([]byte(m.String()), pad(m.Len())...)
		out := PAXHeader(
			PAXRecord("GNU.sparse.major", "1"),
			PAXRecord("GNU.sparse.minor", "0"),
			PAXRecord("GNU.sparse.name", name),
			PAXRecord("GNU.sparse.realsize", strconv.FormatInt(size, 10)))
		out = append(out, Header("GNUSparseFile.0/"+name, tar.TypeReg, int64(len(smap)+len(data)), 0o644)...)
		out = append(out, smap...)
		out = append(out, data...)
		return append(out, pad(len(data))...)
	case SparseGNU:
		h := Header(name, tar.TypeGNUSparse, int64(len(data)), 0o644)
		copy(h[257:265], "ustar  \x00") // GNU magic and version
		rest := regions
		entry := func(b []byte, r Region) {
			octal(b[0:12], r.Offset)
			octal(b[12:24], int64(len(r.Data)))
		}
		for i := 0; i < 4 && len(rest) > 0; i++ {
			entry(h[386+24*i:], rest[0])
			rest = rest[1:]
		}
		if len(rest) > 0 {
			h[482] = 1
		}
		octal(h[483:495], size)
		checksum(h)
		out := h
		for len(rest) > 0 {
			var ext [512]byte
			for i := 0; i < 21 && len(rest) > 0; i++ {
				entry(ext[24*i:], rest[0])
				rest = rest[1:]
			}
			if len(rest) > 0 {
				ext[504] = 1
			}
			out = append(out, ext[:]...)
		}
		out = append(out, data...)
		return append(out, pad(len(data))...)
	}
	panic("archivetest: unknown sparse format " + string(f))
}

// Compress compresses raw tar bytes in format f (Tar returns them as
// they are).
func Compress(f Format, raw []byte) ([]byte, error) {
	if f == Tar {
		return raw, nil
	}
	var buf bytes.Buffer
	zw, err := compressor(&buf, f)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(raw); err != nil {
		zw.Close()
		return nil, err
	}
	err = zw.Close()
	return buf.Bytes(), err
}

// Frames compresses each part separately, as consecutive gzip members or
// zstd frames, which decompress to the parts' concatenation. A part that
// repeats is compressed once: a bomb of a thousand identical megabytes
// costs one megabyte of compression.
func Frames(f Format, parts ...[]byte) ([]byte, error) {
	var out []byte
	cache := map[string][]byte{}
	for _, p := range parts {
		c, ok := cache[string(p)]
		if !ok {
			var err error
			if c, err = Compress(f, p); err != nil {
				return nil, err
			}
			cache[string(p)] = c
		}
		out = append(out, c...)
	}
	return out, nil
}

// EmptyMember returns a gzip member, or a zstd frame, that decompresses to
// nothing.
func EmptyMember(f Format) []byte {
	c, err := Compress(f, nil)
	if err != nil {
		panic(err)
	}
	return c
}

// SkippableFrame returns a zstd skippable frame (RFC 8878 section 3.1.2)
// carrying n bytes that decoders ignore.
func SkippableFrame(n int) []byte {
	out := make([]byte, 8+n)
	binary.LittleEndian.PutUint32(out, 0x184D2A50)
	binary.LittleEndian.PutUint32(out[4:], uint32(n))
	return out
}

// Repeat reads as prefix followed by unit over and over, to limit bytes in
// all, or forever if limit is negative: an archive followed by endless
// empty members.
func Repeat(prefix, unit []byte, limit int64) io.Reader {
	return &repeater{prefix: prefix, unit: unit, left: limit}
}

type repeater struct {
	prefix, unit []byte
	off          int   // into unit
	left         int64 // bytes still to give; negative: endless
	read         int64
}

func (r *repeater) Read(p []byte) (int, error) {
	if r.left == 0 {
		return 0, io.EOF
	}
	if r.left > 0 && int64(len(p)) > r.left {
		p = p[:r.left]
	}
	n := 0
	if len(r.prefix) > 0 {
		n = copy(p, r.prefix)
		r.prefix = r.prefix[n:]
	}
	for n < len(p) && len(r.unit) > 0 {
		m := copy(p[n:], r.unit[r.off:])
		n += m
		r.off = (r.off + m) % len(r.unit)
	}
	if r.left > 0 {
		r.left -= int64(n)
	}
	r.read += int64(n)
	return n, nil
}

// DeepName returns a path of depth components, each of width bytes
// (width-1 letters and the slash).
func DeepName(depth, width int) string {
	elem := strings.Repeat("d", max(width-1, 1))
	var b strings.Builder
	for i := range depth {
		if i > 0 {
			b.WriteByte('/')
		}
		b.WriteString(elem)
	}
	return b.String()
}

// LongNameEntry returns one entry named name, whatever its length, through
// a PAX "path" record.
func LongNameEntry(name string, typ byte, data []byte) []byte {
	out := PAXHeader(PAXRecord("path", name))
	out = append(out, Header("long", typ, int64(len(data)), 0o644)...)
	out = append(out, data...)
	return append(out, pad(len(data))...)
}
