package tarx

import (
	"fmt"
	"io"
)

// inputCounter counts the compressed bytes read from the caller's reader,
// and stops reading them when a stream yields nothing for too long: more
// than MaxIdleInput bytes without a byte of output, or more than
// MaxTrailingInput bytes after the end-of-archive marker. It sits below
// the decoder, so it holds even when the decoder loops over empty members
// or frames inside one Read of its own.
type inputCounter struct {
	r io.Reader
	n int64

	watchIdle    bool  // compressed input: output is expected to follow
	idleFrom     int64 // n when the decoder last produced output
	trailingFrom int64 // n at the end-of-archive marker, once seen
	trailing     bool
	// limit is the limit that stopped reading, returned from then on.
	limit error
}

func (c *inputCounter) Read(p []byte) (int, error) {
	if c.limit != nil {
		return 0, c.limit
	}
	switch {
	case c.trailing && c.n-c.trailingFrom > MaxTrailingInput:
		c.limit = fmt.Errorf("%w: more than %d compressed bytes after the end-of-archive marker", ErrLimit, MaxTrailingInput)
		return 0, c.limit
	case c.watchIdle && c.n-c.idleFrom > MaxIdleInput:
		c.limit = fmt.Errorf("%w: %d compressed bytes decompressed to nothing (at most %d may)", ErrLimit, c.n-c.idleFrom, MaxIdleInput)
		return 0, c.limit
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// markTrailing starts counting the input after the end-of-archive marker.
func (c *inputCounter) markTrailing() {
	c.trailing, c.trailingFrom = true, c.n
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
	// expanded counts what came out of the tar reader without passing
	// through here: the holes of sparse files.
	expanded int64
	err      error // first non-EOF error from r

	last    [blockSize]byte // the last complete block read
	lastEnd int64           // stream offset just past last; 0 if none
	cur     [blockSize]byte // the block being read, up to n
}

func (s *tarStream) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.track(p[:n])
	s.n += int64(n)
	if n > 0 {
		s.in.idleFrom = s.in.n
	}
	if err != nil && err != io.EOF && s.err == nil {
		s.err = err
	}
	if lerr := s.checkRatio(); lerr != nil {
		return n, lerr
	}
	return n, err
}

// checkRatio enforces Limits.Ratio on the bytes unpacked so far.
func (s *tarStream) checkRatio() error {
	out := s.n + s.expanded
	if s.ratio > 0 && out > RatioFloor && float64(out) > s.ratio*float64(s.in.n) {
		return fmt.Errorf("%w: compression ratio above %g:1 (%d bytes from %d)", ErrLimit, s.ratio, out, s.in.n)
	}
	return nil
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
