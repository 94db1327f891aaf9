package tarx

import (
	"fmt"
	"io"
)

// inputCounter counts the compressed bytes read from the caller's reader.
type inputCounter struct {
	r io.Reader
	n int64
}

func (c *inputCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// tarStream sits between the decoder and the tar reader. It counts the
// uncompressed bytes (archive/tar reads exactly what it needs, so the count
// is the tar reader's position), enforces the compression-ratio limit, and
// remembers the first error the decoder returned so failures can be
// attributed to the right layer. It also keeps the last complete 512-byte
// block (aligned to the stream, as tar blocks are) so the end-of-archive
// marker can be verified: archive/tar reports io.EOF for a stream that
// stops at a block boundary or inside padding as readily as for a marker.
type tarStream struct {
	r     io.Reader
	in    *inputCounter
	ratio float64 // 0: no limit
	n     int64
	err   error // first non-EOF error from r

	last    [blockSize]byte // the last complete block read
	lastEnd int64           // stream offset just past last; 0 if none
	cur     [blockSize]byte // the block being read, up to n
}

func (s *tarStream) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.track(p[:n])
	s.n += int64(n)
	if err != nil && err != io.EOF && s.err == nil {
		s.err = err
	}
	if s.ratio > 0 && s.n > RatioFloor && float64(s.n) > s.ratio*float64(s.in.n) {
		return n, fmt.Errorf("%w: compression ratio above %g:1 (%d bytes from %d)", ErrLimit, s.ratio, s.n, s.in.n)
	}
	return n, err
}

// track records p, the bytes just read at offset s.n, in last and cur.
// It copies at most two blocks per call, whatever len(p).
func (s *tarStream) track(p []byte) {
	off, end := s.n, s.n+int64(len(p))
	e := end &^ (blockSize - 1) // end of the last block completed by p
	if e <= off {
		copy(s.cur[off%blockSize:], p)
		return
	}
	start := e - blockSize
	if start < off { // the block began in an earlier read
		k := off - start
		copy(s.last[:k], s.cur[:k])
		copy(s.last[k:], p[:e-off])
	} else {
		copy(s.last[:], p[start-off:e-off])
	}
	s.lastEnd = e
	copy(s.cur[:], p[e-off:])
}

// endsWithMarker reports whether the stream so far ends with a zero block
// that starts at or after from: the end-of-archive marker (or its first
// half), not a zero block of file data or a cut-off extended header.
func (s *tarStream) endsWithMarker(from int64) bool {
	if s.lastEnd != s.n || s.lastEnd-blockSize < from {
		return false
	}
	for _, b := range s.last {
		if b != 0 {
			return false
		}
	}
	return true
}
