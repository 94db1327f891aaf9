package archivetest

import (
	"archive/tar"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
)

// Attack is an archive built to hurt an extractor through its resources
// rather than its paths — memory, disk, time, descriptors — or one of the
// path attacks of Hostile, together with what a safe extractor with its
// default limits must make of it.
type Attack struct {
	Name   string
	Format Format
	// Build returns the archive. When Tail is set, the archive is Build's
	// bytes followed by Tail repeated without end.
	Build func() ([]byte, error)
	Tail  []byte
	// Kind is how the extraction must be refused ("limit",
	// "unsafe_archive"; for a zip also "checksum", or "archive" for one
	// that cannot be streamed), or "" when the archive is within every
	// bound and must unpack.
	Kind string
	// Victim is the path a path attack aims at, as in Case.
	Victim string
	// Heavy attacks decompress to gigabytes: seconds of work outside the
	// race detector, minutes under it.
	Heavy bool
}

// Reader returns the attack's archive as a stream, endless for attacks
// with a Tail.
func (a Attack) Reader() (io.Reader, error) {
	data, err := a.Build()
	if err != nil {
		return nil, err
	}
	if a.Tail == nil {
		return bytes.NewReader(data), nil
	}
	return Repeat(data, a.Tail, -1), nil
}

// Attacks returns the adversarial suite: every path attack of Hostile that
// the default limits refuse, and one archive per resource bound. Each is a
// pure function of its name, built in milliseconds however large it
// decompresses.
func Attacks() []Attack {
	var out []Attack
	for _, c := range Hostile() {
		if c.Kind != "unsafe_archive" && c.Name != "zstd-bomb" {
			// The other limit cases exceed only TightLimits.
			continue
		}
		c := c
		out = append(out, Attack{Name: c.Name, Format: c.Format, Kind: c.Kind, Victim: c.Victim,
			Build: func() ([]byte, error) { return Bytes(c.Format, c.Entries) }})
	}
	// Issue 11's hostile zips: each path attack, lie and bomb the
	// default limits refuse (the others exceed only TightLimits; a deflate
	// bomb stays under 1000:1).
	for _, c := range HostileZips() {
		if c.Kind == "limit" && c.Name != "zip-zstd-bomb" {
			continue
		}
		c := c
		out = append(out, Attack{Name: c.Name, Format: ZipFormat, Kind: c.Kind, Victim: c.Victim,
			Build: func() ([]byte, error) { return Zip(c.Entries, c.Options) }})
	}
	deep := func(depth, width int) func() ([]byte, error) {
		return func() ([]byte, error) {
			return Compress(Gzip, append(LongNameEntry(DeepName(depth, width), tar.TypeReg, []byte("deep\n")), EndMarker()...))
		}
	}
	small := func() []byte {
		b, err := Bytes(Tar, Tree(21, 8, 8<<10))
		if err != nil {
			panic(err)
		}
		return b
	}
	out = append(out,
		// Issue 9, finding 2: a megabyte of PAX records on each of 3,000
		// directories, about 500:1, under the ratio limit.
		Attack{Name: "pax-on-3000-directories", Format: Zstd, Heavy: true,
			Build: func() ([]byte, error) { return PAXDirBomb(Zstd, 3000, 1000<<10, 500) }},
		Attack{Name: "pax-on-150-directories", Format: Zstd,
			Build: func() ([]byte, error) { return PAXDirBomb(Zstd, 150, 1000<<10, 500) }},
		// An extended header just past archive/tar's 1 MiB.
		Attack{Name: "pax-header-over-1mib", Format: Gzip, Kind: "limit", Build: func() ([]byte, error) {
			raw := PAXHeader(PAXRecord("comment", strings.Repeat("c", 1<<20)))
			raw = append(raw, Header("f", tar.TypeReg, 0, 0o644)...)
			return Compress(Gzip, append(raw, EndMarker()...))
		}},
		// Issue 9, finding 3: 4 GiB of holes from a few hundred bytes.
		Attack{Name: "sparse-4gib-pax", Format: Gzip, Kind: "limit", Build: sparseBomb(SparsePAX)},
		Attack{Name: "sparse-4gib-gnu", Format: Gzip, Kind: "limit", Build: sparseBomb(SparseGNU)},
		// Issue 9, finding 4: input that yields nothing, without end.
		Attack{Name: "endless-empty-gzip-members", Format: Gzip, Kind: "limit", Tail: EmptyMember(Gzip),
			Build: func() ([]byte, error) { return Compress(Gzip, small()) }},
		Attack{Name: "endless-skippable-zstd-frames", Format: Zstd, Kind: "limit", Tail: SkippableFrame(60 << 10),
			Build: func() ([]byte, error) { return Compress(Zstd, small()) }},
		Attack{Name: "endless-empty-zstd-frames", Format: Zstd, Kind: "limit", Tail: EmptyMember(Zstd),
			Build: func() ([]byte, error) { return Compress(Zstd, small()) }},
		Attack{Name: "empty-members-mid-stream", Format: Gzip, Kind: "limit", Build: func() ([]byte, error) {
			raw := small()
			head, err := Compress(Gzip, raw[:len(raw)/2])
			if err != nil {
				return nil, err
			}
			tail, err := Compress(Gzip, raw[len(raw)/2:])
			if err != nil {
				return nil, err
			}
			unit := EmptyMember(Gzip)
			mid := bytes.Repeat(unit, (8<<20)/len(unit))
			return append(append(head, mid...), tail...), nil
		}},
		// Issue 9, finding 9: one entry, 200,000 directories deep.
		Attack{Name: "200000-levels", Format: Gzip, Kind: "limit", Build: deep(200000, 2)},
		Attack{Name: "257-levels", Format: Gzip, Kind: "limit", Build: deep(257, 2)},
		Attack{Name: "256-levels", Format: Gzip, Build: deep(256, 2)},
		// Names kept to the end, past Limits.Metadata: 4,000-byte
		// directory names.
		Attack{Name: "metadata-past-64mib", Format: Zstd, Kind: "limit", Heavy: true,
			Build: func() ([]byte, error) { return MetadataBomb(Zstd, 20000) }},
		// A zstd frame that asks for a 2 GiB window.
		Attack{Name: "zstd-window-2gib", Format: Zstd, Kind: "limit",
			Build: func() ([]byte, error) { return ZstdWindowFrame(31, small()), nil }},
	)
	return out
}

func sparseBomb(f SparseFormat) func() ([]byte, error) {
	return func() ([]byte, error) {
		raw := SparseFile(f, "huge", 4<<30, []Region{{Offset: 4<<30 - 512, Data: bytes.Repeat([]byte("z"), 512)}})
		return Compress(Gzip, append(raw, EndMarker()...))
	}
}

// PAXDirBomb returns an archive in format f (gzip or zstd) of dirs
// directories, each with an extended header carrying a PAX record of
// recordSize bytes. Built from repeated members, it would compress beyond
// any ratio limit; ratio, if positive, pads it (with zstd skippable frames,
// or gzip members whose header carries an extra field) to about that many
// unpacked bytes per compressed byte, as a real attack would to pass a
// ratio limit.
func PAXDirBomb(f Format, dirs, recordSize int, ratio int) ([]byte, error) {
	pax := PAXHeader(PAXRecord("comment", strings.Repeat("x", recordSize)))
	var padding []byte
	if ratio > 0 {
		padding = Padding(f, (len(pax)+512)/ratio)
	}
	parts := make([][]byte, 0, 2*dirs+1)
	for i := range dirs {
		parts = append(parts, pax, Header(fmt.Sprintf("d%05d/", i), tar.TypeDir, 0, 0o755))
	}
	parts = append(parts, EndMarker())
	var out []byte
	cache := map[string][]byte{}
	for i, p := range parts {
		c, ok := cache[string(p)]
		if !ok {
			var err error
			if c, err = Compress(f, p); err != nil {
				return nil, err
			}
			if i == 0 {
				cache[string(p)] = c
			}
		}
		out = append(out, c...)
		if i%2 == 1 {
			out = append(out, padding...)
		}
	}
	return out, nil
}

// Padding returns about n bytes in format f that decompress to nothing:
// zstd skippable frames, or gzip members whose header carries an extra
// field (RFC 1952 section 2.3.1.1), in pieces of at most 60 KiB. Spread it
// out: an extractor bounds the input that yields no output.
func Padding(f Format, n int) []byte {
	const piece = 60 << 10
	var out []byte
	for n > 0 {
		size := min(n, piece)
		switch f {
		case Zstd:
			out = append(out, SkippableFrame(max(size-8, 0))...)
		default:
			out = append(out, gzipExtra(max(size-20, 0))...)
		}
		n -= size
	}
	return out
}

// gzipExtra returns an empty gzip member with an extra field of n bytes.
func gzipExtra(n int) []byte {
	n = min(n, 0xffff)
	out := []byte{0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 255}
	out = binary.LittleEndian.AppendUint16(out, uint16(n))
	out = append(out, make([]byte, n)...)
	out = append(out, 3, 0)                // an empty final fixed-Huffman block
	return append(out, make([]byte, 8)...) // CRC-32 and size of nothing
}

// MetadataBomb returns dirs directories with 4,000-byte names (16 levels
// of 249 bytes and a distinct last one), all of which an extractor must
// remember until the end to set their modes. It is compressed in groups of
// 100 directories, padded to about 500:1 so that a ratio limit of 1000:1
// lets it through whatever the reads look like.
func MetadataBomb(f Format, dirs int) ([]byte, error) {
	prefix := DeepName(15, 250)
	var out, group []byte
	flush := func() error {
		c, err := Compress(f, group)
		if err != nil {
			return err
		}
		out = append(out, c...)
		out = append(out, Padding(f, len(group)/500-len(c))...)
		group = group[:0]
		return nil
	}
	for i := range dirs {
		name := fmt.Sprintf("%s/%0249d", prefix, i)
		group = append(group, PAXHeader(PAXRecord("path", name))...)
		group = append(group, Header("dir", tar.TypeDir, 0, 0o755)...)
		if (i+1)%100 == 0 {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	group = append(group, EndMarker()...)
	if err := flush(); err != nil {
		return nil, err
	}
	return out, nil
}

// ZeroFile returns an archive of one file of size zero bytes, compressed
// in 1 MiB members or frames compressed once.
func ZeroFile(f Format, name string, size int64) ([]byte, error) {
	const chunk = 1 << 20
	zero := make([]byte, chunk)
	parts := [][]byte{Header(name, tar.TypeReg, size, 0o644)}
	for left := size; left > 0; left -= chunk {
		parts = append(parts, zero[:min(left, chunk)])
	}
	parts = append(parts, pad(int(size%512)), EndMarker())
	return Frames(f, parts...)
}

// ZstdWindowFrame returns a zstd frame (RFC 8878 section 3.1.1) whose
// header asks for a window of 2^windowLog bytes and whose content is data
// in raw blocks.
func ZstdWindowFrame(windowLog int, data []byte) []byte {
	out := binary.LittleEndian.AppendUint32(nil, 0xFD2FB528)
	out = append(out, 0x00, byte(windowLog-10)<<3) // no checksum, no size; exponent, mantissa 0
	for {
		n := min(len(data), 128<<10)
		last := 0
		if n == len(data) {
			last = 1
		}
		h := uint32(last) | uint32(n)<<3 // raw block
		out = append(out, byte(h), byte(h>>8), byte(h>>16))
		out = append(out, data[:n]...)
		data = data[n:]
		if last == 1 {
			return out
		}
	}
}
