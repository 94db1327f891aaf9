package tarx

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"

	"github.com/ulikunitz/xz/lzma"
)

// The xz container (the .xz file format, version 1.0.4) is read here and
// only the LZMA2 data inside each block is handed to ulikunitz/xz's
// decoder: its own xz reader sizes each block's dictionary from the block
// header with no upper bound, so a header asking for 4 GiB would get it.
// Reading the container ourselves bounds every dictionary by
// Limits.Window and checks everything the format can check: the header
// and footer CRCs, each block's check (CRC-32, CRC-64 or SHA-256), and the
// index against the blocks actually read.

var (
	xzMagic     = []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}
	xzFooterEnd = []byte{'Y', 'Z'}
	crc64Table  = crc64.MakeTable(crc64.ECMA)
)

// errXzCorrupt is the error for a malformed xz container; check
// mismatches are ErrChecksum.
var errXzCorrupt = errors.New("xz: corrupt stream")

// ErrChecksum reports decoded data that failed its integrity check where
// the decoder has no sentinel of its own (an xz block check, a zip entry's
// CRC-32).
var ErrChecksum = errors.New("tarx: checksum mismatch")

// xzReader decodes a sequence of xz streams, separated by stream padding.
type xzReader struct {
	br     *bufio.Reader
	pos    func() int64 // compressed bytes consumed so far
	window int64

	flags   [2]byte   // the current stream's flags
	check   hash.Hash // the current block's check, nil for none
	lz      *lzma.Reader2
	blocks  []xzRecord // the current stream's blocks, for its index
	blk     xzRecord   // the block being read
	blkFrom int64      // pos at the block header
	dataAt  int64      // pos at the block's compressed data
	want    xzSizes    // sizes the block header declares (-1: absent)
	inBlock bool
	streams int
	err     error
}

type xzRecord struct {
	unpadded, uncompressed int64
}

// xzSizes are the optional sizes of a block header: of its compressed
// data, and uncompressed.
type xzSizes struct {
	compressed, uncompressed int64
}

func newXzReader(br *bufio.Reader, pos func() int64, window int64) (*xzReader, error) {
	z := &xzReader{br: br, pos: pos, window: window}
	if err := z.streamHeader(); err != nil {
		return nil, err
	}
	return z, nil
}

func (z *xzReader) Close() error { return nil }

func (z *xzReader) corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errXzCorrupt, fmt.Sprintf(format, args...))
}

func (z *xzReader) Read(p []byte) (int, error) {
	if z.err != nil {
		return 0, z.err
	}
	for {
		if !z.inBlock {
			if err := z.nextBlock(); err != nil {
				z.err = err
				return 0, err
			}
			continue
		}
		n, err := z.lz.Read(p)
		z.blk.uncompressed += int64(n)
		if z.check != nil {
			z.check.Write(p[:n])
		}
		if err == io.EOF {
			err = z.endBlock()
		}
		if err != nil {
			z.err = noEOF(err)
			return n, z.err
		}
		if n > 0 {
			return n, nil
		}
	}
}

// noEOF turns a premature io.EOF into io.ErrUnexpectedEOF.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// streamHeader reads a stream header (spec section 2.1.1).
func (z *xzReader) streamHeader() error {
	var h [12]byte
	if _, err := io.ReadFull(z.br, h[:]); err != nil {
		return noEOF(err)
	}
	if !bytes.Equal(h[:6], xzMagic) {
		return z.corrupt("no stream header")
	}
	if crc32.ChecksumIEEE(h[6:8]) != binary.LittleEndian.Uint32(h[8:]) {
		return fmt.Errorf("%w: xz stream header", ErrChecksum)
	}
	if h[6] != 0 || h[7]&0xf0 != 0 {
		return z.corrupt("unsupported stream flags %#x %#x", h[6], h[7])
	}
	switch h[7] {
	case 0x00, 0x01, 0x04, 0x0a:
	default:
		return z.corrupt("unsupported check type %#x", h[7])
	}
	z.flags = [2]byte{h[6], h[7]}
	z.blocks = z.blocks[:0]
	z.streams++
	return nil
}

func (z *xzReader) newCheck() hash.Hash {
	switch z.flags[1] {
	case 0x01:
		return crc32.NewIEEE()
	case 0x04:
		return crc64.New(crc64Table)
	case 0x0a:
		return sha256.New()
	}
	return nil
}

// nextBlock reads a block header (section 3.1), or the index and footer
// ending the stream, then stream padding and the next stream header, or
// the end.
func (z *xzReader) nextBlock() error {
	z.blkFrom = z.pos()
	size, err := z.br.ReadByte()
	if err != nil {
		return noEOF(err)
	}
	if size == 0 {
		if err := z.index(); err != nil {
			return err
		}
		return z.nextStream()
	}
	hdr := make([]byte, 4*(int(size)+1))
	hdr[0] = size
	if _, err := io.ReadFull(z.br, hdr[1:]); err != nil {
		return noEOF(err)
	}
	body, sum := hdr[:len(hdr)-4], binary.LittleEndian.Uint32(hdr[len(hdr)-4:])
	if crc32.ChecksumIEEE(body) != sum {
		return fmt.Errorf("%w: xz block header", ErrChecksum)
	}
	flags := body[1]
	if flags&0x3c != 0 {
		return z.corrupt("reserved block flags %#x", flags)
	}
	r := bytes.NewReader(body[2:])
	z.want = xzSizes{-1, -1}
	if flags&0x40 != 0 {
		if z.want.compressed, err = uvarint(r); err != nil {
			return err
		}
	}
	if flags&0x80 != 0 {
		if z.want.uncompressed, err = uvarint(r); err != nil {
			return err
		}
	}
	nfilters := int(flags&3) + 1
	var dict int64 = -1
	for i := range nfilters {
		id, err := uvarint(r)
		if err != nil {
			return err
		}
		psize, err := uvarint(r)
		if err != nil {
			return err
		}
		if psize > int64(r.Len()) {
			return z.corrupt("filter properties beyond the block header")
		}
		props := make([]byte, psize)
		r.Read(props)
		if id != 0x21 {
			return fmt.Errorf("%w: xz filter %#x (only LZMA2 is supported)", ErrFormat, id)
		}
		if i != nfilters-1 || psize != 1 {
			return z.corrupt("misplaced LZMA2 filter")
		}
		if dict, err = lzma2Dict(props[0]); err != nil {
			return err
		}
	}
	for r.Len() > 0 {
		if b, _ := r.ReadByte(); b != 0 {
			return z.corrupt("non-zero block header padding")
		}
	}
	if dict > z.window {
		return fmt.Errorf("%w: an xz block needs a %d-byte dictionary, above Limits.Window (%d)", ErrLimit, dict, z.window)
	}
	// Each block starts afresh, so no match reaches further back than the
	// block's own data: when the header gives its size, a dictionary
	// larger than that is never used (xz -T writes 64 KiB blocks with an
	// 8 MiB dictionary if asked to).
	if z.want.uncompressed >= 0 && z.want.uncompressed < dict {
		dict = z.want.uncompressed
	}
	// NewReader2 reads the first chunk header: the data starts here.
	z.dataAt = z.pos()
	z.lz, err = lzma.Reader2Config{DictCap: int(max(dict, lzma.MinDictCap))}.NewReader2(z.br)
	if err != nil {
		return fmt.Errorf("xz: %w", err)
	}
	z.check = z.newCheck()
	z.blk = xzRecord{}
	z.inBlock = true
	return nil
}

// lzma2Dict decodes the LZMA2 dictionary size property (section 5.3.1).
func lzma2Dict(b byte) (int64, error) {
	if b > 40 {
		return 0, fmt.Errorf("%w: LZMA2 dictionary size property %d", errXzCorrupt, b)
	}
	if b == 40 {
		return 1<<32 - 1, nil
	}
	return int64(2|b&1) << (b/2 + 11), nil
}

// endBlock reads the block padding and check after the LZMA2 data, and
// checks the sizes the header declared.
func (z *xzReader) endBlock() error {
	z.inBlock = false
	compressed := z.pos() - z.dataAt
	for i := compressed; i%4 != 0; i++ {
		b, err := z.br.ReadByte()
		if err != nil {
			return noEOF(err)
		}
		if b != 0 {
			return z.corrupt("non-zero block padding")
		}
	}
	if z.check != nil {
		want := make([]byte, z.check.Size())
		if _, err := io.ReadFull(z.br, want); err != nil {
			return noEOF(err)
		}
		got := z.check.Sum(nil)
		if z.flags[1] == 0x01 || z.flags[1] == 0x04 {
			// CRC-32 and CRC-64 are stored little-endian.
			for i, j := 0, len(got)-1; i < j; i, j = i+1, j-1 {
				got[i], got[j] = got[j], got[i]
			}
		}
		if !bytes.Equal(got, want) {
			return fmt.Errorf("%w: xz block check", ErrChecksum)
		}
	}
	checkLen := int64(0)
	if z.check != nil {
		checkLen = int64(z.check.Size())
	}
	z.blk.unpadded = (z.dataAt - z.blkFrom) + compressed + checkLen
	if z.want.compressed >= 0 && z.want.compressed != compressed {
		return z.corrupt("block compressed size %d, header says %d", compressed, z.want.compressed)
	}
	if z.want.uncompressed >= 0 && z.want.uncompressed != z.blk.uncompressed {
		return z.corrupt("block uncompressed size %d, header says %d", z.blk.uncompressed, z.want.uncompressed)
	}
	z.blocks = append(z.blocks, z.blk)
	return nil
}

// index reads the index (section 4) after its indicator byte and checks
// it against the blocks read, then the stream footer (section 2.1.2).
func (z *xzReader) index() error {
	start := z.blkFrom
	crc := crc32.NewIEEE()
	crc.Write([]byte{0})
	tr := io.TeeReader(z.br, crc)
	br := byteReaderOf(tr)
	n, err := uvarint(br)
	if err != nil {
		return err
	}
	if n != int64(len(z.blocks)) {
		return z.corrupt("index lists %d blocks, the stream has %d", n, len(z.blocks))
	}
	for _, b := range z.blocks {
		u, err := uvarint(br)
		if err != nil {
			return err
		}
		c, err := uvarint(br)
		if err != nil {
			return err
		}
		if u != b.unpadded || c != b.uncompressed {
			return z.corrupt("index record (%d, %d) disagrees with its block (%d, %d)", u, c, b.unpadded, b.uncompressed)
		}
	}
	for (z.pos()-start)%4 != 0 {
		b, err := br.ReadByte()
		if err != nil {
			return noEOF(err)
		}
		if b != 0 {
			return z.corrupt("non-zero index padding")
		}
	}
	size := z.pos() - start + 4
	var sum [4]byte
	if _, err := io.ReadFull(z.br, sum[:]); err != nil {
		return noEOF(err)
	}
	if crc.Sum32() != binary.LittleEndian.Uint32(sum[:]) {
		return fmt.Errorf("%w: xz index", ErrChecksum)
	}
	var f [12]byte
	if _, err := io.ReadFull(z.br, f[:]); err != nil {
		return noEOF(err)
	}
	if !bytes.Equal(f[10:], xzFooterEnd) {
		return z.corrupt("no stream footer")
	}
	if crc32.ChecksumIEEE(f[4:10]) != binary.LittleEndian.Uint32(f[:4]) {
		return fmt.Errorf("%w: xz stream footer", ErrChecksum)
	}
	if (int64(binary.LittleEndian.Uint32(f[4:8]))+1)*4 != size {
		return z.corrupt("footer's index size disagrees with the index")
	}
	if f[8] != z.flags[0] || f[9] != z.flags[1] {
		return z.corrupt("footer's flags disagree with the header's")
	}
	return nil
}

// nextStream skips stream padding (multiples of four zero bytes) and
// reads the next stream's header, or reports the end.
func (z *xzReader) nextStream() error {
	zeros := 0
	for {
		b, err := z.br.Peek(1)
		if err == io.EOF {
			if zeros%4 != 0 {
				return z.corrupt("stream padding of %d bytes", zeros)
			}
			return io.EOF
		}
		if err != nil {
			return err
		}
		if b[0] != 0 {
			break
		}
		z.br.ReadByte()
		zeros++
	}
	if zeros%4 != 0 {
		return z.corrupt("stream padding of %d bytes", zeros)
	}
	return z.streamHeader()
}

// uvarint reads a multibyte integer (section 1.2): at most nine bytes,
// with no needless trailing zero byte.
func uvarint(r io.ByteReader) (int64, error) {
	var v uint64
	for i := 0; i < 9; i++ {
		b, err := r.ReadByte()
		if err != nil {
			return 0, noEOF(err)
		}
		v |= uint64(b&0x7f) << (7 * i)
		if b&0x80 == 0 {
			if b == 0 && i > 0 {
				return 0, fmt.Errorf("%w: non-minimal integer", errXzCorrupt)
			}
			if v > 1<<63-1 {
				return 0, fmt.Errorf("%w: integer too large", errXzCorrupt)
			}
			return int64(v), nil
		}
	}
	return 0, fmt.Errorf("%w: integer too long", errXzCorrupt)
}

type byteReader struct{ r io.Reader }

func (b byteReader) ReadByte() (byte, error) {
	var c [1]byte
	_, err := io.ReadFull(b.r, c[:])
	return c[0], err
}

func byteReaderOf(r io.Reader) io.ByteReader { return byteReader{r} }
