package httpx

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/json"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	fs "github.com/faultline-go/faultline/faulttest"
)

// TestCRC32Combine: the CRC-32C of two pieces joined is the CRC-32C of
// the whole, for any split, including empty pieces.
func TestCRC32Combine(t *testing.T) {
	data := payload(1 << 16)
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		n := r.IntN(len(data) + 1)
		k := r.IntN(n + 1)
		a, b := data[:k], data[k:n]
		got := crc32Combine(crc32.Checksum(a, castagnoliSpool), crc32.Checksum(b, castagnoliSpool), int64(len(b)))
		require.Equal(t, crc32.Checksum(data[:n], castagnoliSpool), got, "split %d of %d", k, n)
	}
}

// newTestSpool opens an empty spool recording a representation of
// length n.
func newTestSpool(t *testing.T, dir, url string, n int64) *spool {
	t.Helper()
	sp, _, ext := openSpool(dir, url, &Options{}, func(string) io.Writer { return io.Discard },
		func(e *SpoolError) { t.Errorf("warning: %v", e) })
	require.NotNil(t, sp)
	require.Empty(t, ext)
	sp.begin(`"v"`, true, n, url)
	return sp
}

// TestSpoolWritesExtents: bytes written at their offsets, in any order,
// some twice, some past the end, become sorted disjoint extents with the
// right checksums (adjacent ones merged), described by the sidecar after a
// sync, and checked and handed back by the next openSpool. Disk use stays
// within the length.
func TestSpoolWritesExtents(t *testing.T) {
	const url = "http://127.0.0.1:1/f"
	body := payload(100_000)
	dir := filepath.Join(t.TempDir(), ".t"+SpoolSuffix)
	sp := newTestSpool(t, dir, url, int64(len(body)))
	put := func(a, b int) { sp.write(int64(a), body[a:b]) }
	put(50_000, 60_000)
	put(10_000, 20_000)
	put(0, 5_000)
	put(55_000, 70_000) // overlaps the first: only 60000-70000 is new
	put(20_000, 30_000) // continues 10000-20000
	put(5_000, 10_000)  // fills the gap: 0-30000 is one extent
	put(95_000, 100_000)
	sp.write(99_000, append(append([]byte(nil), body[99_000:]...), "past the end"...))
	want := []extent{{0, 30_000, 0}, {50_000, 70_000, 0}, {95_000, 100_000, 0}}
	for i := range want {
		want[i].CRC32C = crc32.Checksum(body[want[i].Start:want[i].End], castagnoliSpool)
	}
	require.NoError(t, sp.sync())
	assert.Equal(t, want, readSidecar(t, dir).Extents)
	sp.finish(true)
	fi, err := os.Stat(filepath.Join(dir, spoolData))
	require.NoError(t, err)
	assert.LessOrEqual(t, fi.Size(), int64(len(body)))

	var seen []byte
	sp, side, ext := openSpool(dir, url, &Options{}, func(string) io.Writer { return writerTo{&seen} },
		func(e *SpoolError) { t.Errorf("warning: %v", e) })
	require.NotNil(t, sp)
	defer sp.finish(false)
	assert.Equal(t, want, ext)
	assert.Equal(t, `"v"`, side.Validator)
	assert.Equal(t, body[:30_000], seen, "the body's hash is seeded with the first extent only")
	for _, e := range ext {
		got, err := io.ReadAll(sp.replay(e.Start, e.End))
		require.NoError(t, err)
		assert.Equal(t, body[e.Start:e.End], got)
	}
}

// TestSpoolExtentBound: a spool keeps at most maxExtents extents: a write
// that would start one more is not recorded (its bytes are fetched again
// by the next run), one that extends an extent still is. A sidecar of
// maxExtents extents is read back whole.
func TestSpoolExtentBound(t *testing.T) {
	const url = "http://127.0.0.1:1/f"
	body := payload(4 * (maxExtents + 1))
	dir := filepath.Join(t.TempDir(), ".t"+SpoolSuffix)
	sp := newTestSpool(t, dir, url, int64(len(body)))
	for i := range maxExtents + 1 {
		sp.write(int64(4*i), body[4*i:4*i+2])
	}
	sp.write(2, body[2:3]) // extends the first
	require.NoError(t, sp.sync())
	side := readSidecar(t, dir)
	require.Len(t, side.Extents, maxExtents)
	assert.Equal(t, extent{0, 3, crc32.Checksum(body[:3], castagnoliSpool)}, side.Extents[0])
	assert.Equal(t, int64(4*(maxExtents-1)), side.Extents[maxExtents-1].Start, "the extent past the bound is not recorded")
	raw, err := os.ReadFile(filepath.Join(dir, spoolSidecar))
	require.NoError(t, err)
	assert.Less(t, len(raw), maxSidecar, "a sidecar at the bound fits")
	sp.finish(true)

	sp, _, ext := openSpool(dir, url, &Options{}, func(string) io.Writer { return io.Discard },
		func(e *SpoolError) { t.Errorf("warning: %v", e) })
	require.NotNil(t, sp)
	defer sp.finish(false)
	assert.Len(t, ext, maxExtents, "read back at the bound")
}

// parallelInterrupted runs a parallel download with a spool in dir whose
// first response stalls at 1.5 MiB, so that the consumer waits there while
// the ranged connections fill the window ahead (chunks 2 to 4), then
// stops it once the spool describes all of that. It returns the sidecar
// left.
func parallelInterrupted(t *testing.T, s *fs.Server, dir string) sidecar {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	want := []extent{{0, 3 * parChunk / 2, 0}, {2 * parChunk, 5 * parChunk, 0}}
	done := make(chan error, 1)
	go func() {
		c := &Client{HTTP: s.Client(fs.HTTP1), StallTimeout: -1}
		opts := parOpts
		opts.Spool = dir
		var h hashConsumer
		_, err := c.Do(ctx, s.URL, h.consume, &opts)
		done <- err
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		b, err := os.ReadFile(filepath.Join(dir, spoolSidecar))
		var side sidecar
		if err == nil && json.Unmarshal(b, &side) == nil && len(side.Extents) == len(want) &&
			side.Extents[0].End == want[0].End && side.Extents[1].Start == want[1].Start && side.Extents[1].End == want[1].End {
			break
		}
		require.True(t, time.Now().Before(deadline), "the spool never described the pieces ahead: %s", b)
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		require.ErrorIs(t, err, context.Canceled)
	case <-time.After(20 * time.Second):
		t.Fatal("the download did not stop")
	}
	side := readSidecar(t, dir)
	for i := range want {
		want[i].CRC32C = crc32.Checksum(s.Content()[want[i].Start:want[i].End], castagnoliSpool)
	}
	require.Equal(t, want, side.Extents, "pieces fetched ahead of the consumer are spooled at their offsets")
	return side
}

// served returns the byte ranges reqs were served, merged, and fails the
// test if any byte was served twice. Each must be a Range request with
// If-Range.
func served(t *testing.T, reqs []fs.Request, etag string) []extent {
	t.Helper()
	var out []extent
	for i, r := range reqs {
		require.True(t, strings.HasPrefix(r.Range, "bytes="), "request %d asks for a range: %q", i, r.Range)
		assert.Equal(t, etag, r.IfRange, "request %d carries If-Range", i)
		from, _, _ := strings.Cut(strings.TrimPrefix(r.Range, "bytes="), "-")
		start, err := strconv.ParseInt(from, 10, 64)
		require.NoError(t, err)
		if r.BodyBytes > 0 {
			out = append(out, extent{Start: start, End: start + r.BodyBytes})
		}
	}
	slices.SortFunc(out, func(a, b extent) int { return cmp.Compare(a.Start, b.Start) })
	var merged []extent
	for _, e := range out {
		if n := len(merged); n > 0 {
			require.LessOrEqual(t, merged[n-1].End, e.Start, "bytes %d-%d served twice", e.Start, merged[n-1].End)
			if merged[n-1].End == e.Start {
				merged[n-1].End = e.End
				continue
			}
		}
		merged = append(merged, e)
	}
	return merged
}

// TestSpoolParallelResume: a parallel download stopped while pieces were
// fetched ahead of its consumer keeps them; the next operation replays
// every spooled byte and asks the server only for the two gaps, each with
// If-Range, going wide again: the first response replays the spool and
// asks for the first gap, the other connections read the chunks the spool
// holds and ask for the rest of theirs. The body is exact and the server
// sent the body once in all.
func TestSpoolParallelResume(t *testing.T) {
	body := payload(parSize)
	s, err := fs.Start(fs.Config{Content: body, StallLimit: 30 * time.Second, Choose: func(r fs.Request) fs.Fault {
		if r.N == 1 {
			return fs.Fault{Kind: fs.Stall, At: 3 * parChunk / 2}
		}
		return fs.Fault{}
	}})
	require.NoError(t, err)
	defer s.Close()
	dir := filepath.Join(t.TempDir(), ".tree"+SpoolSuffix)
	parallelInterrupted(t, s, dir)
	first := s.BodyBytes()
	before := len(s.Requests())

	var h hashConsumer
	opts := parOpts
	opts.Spool = dir
	res, err := (&Client{HTTP: s.Client(fs.HTTP1)}).Do(t.Context(), s.URL, h.consume, &opts)
	require.NoError(t, err)
	assert.Equal(t, sha256.Sum256(body), h.sum, "exact")
	assert.Equal(t, 1, h.calls)
	assert.Equal(t, int64(3*parChunk/2+3*parChunk), res.Replayed)
	reqs := s.Requests()[before:]
	assert.Equal(t, "bytes="+strconv.Itoa(3*parChunk/2)+"-"+strconv.Itoa(2*parChunk-1), reqs[0].Range, "the first gap, first")
	assert.Equal(t, []extent{{3 * parChunk / 2, 2 * parChunk, 0}, {5 * parChunk, parSize, 0}}, served(t, reqs, s.ETag()), "only the gaps")
	assert.Greater(t, res.Connections, 1, "wide again")
	assert.Equal(t, int64(len(body))-res.Replayed, res.BytesServed)
	ratio := float64(s.BodyBytes()) / float64(len(body))
	assert.LessOrEqual(t, ratio, 1.0, "the server sent %d then %d bytes", first, s.BodyBytes()-first)
	assert.NoDirExists(t, dir, "removed after success")
}

// TestSpoolExtentsResumeCases: spools whose extents do not start at 0,
// or cover the whole body, resume from the gaps; one whose server changed
// the body starts clean with the new body — never a splice, and no
// spooled byte reaches the consumer before the server's answer (the
// consumer runs once).
func TestSpoolExtentsResumeCases(t *testing.T) {
	tests := []struct {
		name     string
		spoil    func(t *testing.T, dir string, body []byte)
		change   bool
		reset    int64 // the rerun's first response is reset after this many bytes
		first    string
		gaps     []extent
		replayed int64
		warn     string
	}{
		{name: "as left", first: "bytes=1572864-2097151", gaps: []extent{{1572864, 2 * parChunk, 0}, {5 * parChunk, parSize, 0}},
			replayed: 3*parChunk/2 + 3*parChunk},
		{name: "without the first bytes", first: "bytes=0-2097151", gaps: []extent{{0, 2 * parChunk, 0}, {5 * parChunk, parSize, 0}},
			replayed: 3 * parChunk,
			spoil: func(t *testing.T, dir string, _ []byte) {
				editSidecar(t, dir, func(side *sidecar) { side.Extents = side.Extents[1:] })
			}},
		{name: "all of it", first: "bytes=12582911-", gaps: []extent{{parSize - 1, parSize, 0}}, replayed: parSize - 1,
			spoil: func(t *testing.T, dir string, body []byte) {
				require.NoError(t, os.WriteFile(filepath.Join(dir, spoolData), body, 0o600))
				editSidecar(t, dir, func(side *sidecar) {
					side.Extents = []extent{{0, parSize, crc32.Checksum(body, castagnoliSpool)}}
				})
			}},
		{name: "a reset in a gap", reset: 100_000, replayed: 3*parChunk/2 + 3*parChunk,
			first: "bytes=1572864-2097151", gaps: []extent{{1572864, 2 * parChunk, 0}, {5 * parChunk, parSize, 0}}},
		{name: "changed on the server", change: true, first: "bytes=1572864-2097151",
			warn: "the server cannot continue it (the validator changed)"},
		{name: "changed, without the first bytes", change: true, first: "bytes=0-2097151",
			warn: "the server sent the whole representation; starting clean",
			spoil: func(t *testing.T, dir string, _ []byte) {
				editSidecar(t, dir, func(side *sidecar) { side.Extents = side.Extents[1:] })
			}},
		{name: "changed, all of it", change: true, first: "bytes=12582911-",
			warn: "the server cannot continue it (the validator changed)",
			spoil: func(t *testing.T, dir string, body []byte) {
				require.NoError(t, os.WriteFile(filepath.Join(dir, spoolData), body, 0o600))
				editSidecar(t, dir, func(side *sidecar) {
					side.Extents = []extent{{0, parSize, crc32.Checksum(body, castagnoliSpool)}}
				})
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := payload(parSize)
			var next atomic.Pointer[fs.Fault]
			s, err := fs.Start(fs.Config{Content: body, StallLimit: 30 * time.Second, Choose: func(r fs.Request) fs.Fault {
				switch {
				case r.N == 1:
					return fs.Fault{Kind: fs.Stall, At: 3 * parChunk / 2}
				}
				if f := next.Swap(nil); f != nil {
					return *f
				}
				return fs.Fault{}
			}})
			require.NoError(t, err)
			defer s.Close()
			dir := filepath.Join(t.TempDir(), ".tree"+SpoolSuffix)
			parallelInterrupted(t, s, dir)
			if tc.spoil != nil {
				tc.spoil(t, dir, body)
			}
			before := len(s.Requests())
			switch {
			case tc.change:
				next.Store(&fs.Fault{Kind: fs.ChangeContent})
			case tc.reset > 0:
				next.Store(&fs.Fault{Kind: fs.Reset, At: tc.reset})
			}

			var logBuf bytes.Buffer
			var h hashConsumer
			opts := parOpts
			opts.Spool = dir
			res, err := (&Client{HTTP: s.Client(fs.HTTP1), Logger: slogTo(&logBuf), Sleep: (&sleeps{}).sleep}).Do(t.Context(), s.URL, h.consume, &opts)
			require.NoError(t, err)
			assert.Equal(t, sha256.Sum256(s.Content()), h.sum, "exact")
			assert.Equal(t, 1, h.calls, "nothing spooled was delivered before the server's answer")
			assert.Equal(t, tc.replayed, res.Replayed)
			reqs := s.Requests()[before:]
			require.NotEmpty(t, reqs)
			assert.Equal(t, tc.first, reqs[0].Range, "the first request asks for the first gap")
			assert.NotEmpty(t, reqs[0].IfRange)
			if tc.change {
				assert.NotEqual(t, body, s.Content(), "the body changed")
				assert.Contains(t, logBuf.String(), tc.warn)
				assert.Zero(t, res.Resumes)
			} else {
				assert.Equal(t, tc.gaps, served(t, reqs, s.ETag()), "only the gaps")
				assert.NotContains(t, logBuf.String(), "spool")
				assert.Equal(t, 1+btoi(tc.reset > 0), res.Resumes)
			}
			assert.NoDirExists(t, dir, "removed after success")
		})
	}
}

// TestSpoolResumeInterruptedAgain: a rerun stopped in its turn, inside a
// gap, keeps what it received there too (the extent before the gap grows);
// a third run asks only for what neither run holds. The server sent the
// body once across the three.
func TestSpoolResumeInterruptedAgain(t *testing.T) {
	body := payload(parSize)
	const more = 100_000
	s, err := fs.Start(fs.Config{Content: body, StallLimit: 30 * time.Second, Choose: func(r fs.Request) fs.Fault {
		switch {
		case r.N == 1: // the first run's first response
			return fs.Fault{Kind: fs.Stall, At: 3 * parChunk / 2}
		case r.Range == "bytes=1572864-2097151": // the rerun's
			return fs.Fault{Kind: fs.Stall, At: more}
		}
		return fs.Fault{}
	}})
	require.NoError(t, err)
	defer s.Close()
	dir := filepath.Join(t.TempDir(), ".tree"+SpoolSuffix)
	parallelInterrupted(t, s, dir)

	// The rerun: stopped once it received more bytes of the first gap.
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		opts := parOpts
		opts.Spool = dir
		var h hashConsumer
		_, err := (&Client{HTTP: s.Client(fs.HTTP1), StallTimeout: -1}).Do(ctx, s.URL, h.consume, &opts)
		done <- err
	}()
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(filepath.Join(dir, spoolSidecar))
		var side sidecar
		return err == nil && json.Unmarshal(b, &side) == nil && prefix(side.Extents) == 3*parChunk/2+more
	}, 20*time.Second, 20*time.Millisecond, "the rerun's bytes were never synced")
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	side := readSidecar(t, dir)
	require.Len(t, side.Extents, 2)
	assert.Equal(t, extent{0, 3*parChunk/2 + more, crc32.Checksum(body[:3*parChunk/2+more], castagnoliSpool)}, side.Extents[0])
	before := len(s.Requests())

	var h hashConsumer
	opts := parOpts
	opts.Spool = dir
	res, err := (&Client{HTTP: s.Client(fs.HTTP1)}).Do(t.Context(), s.URL, h.consume, &opts)
	require.NoError(t, err)
	assert.Equal(t, sha256.Sum256(body), h.sum, "exact")
	reqs := s.Requests()[before:]
	assert.Equal(t, "bytes="+strconv.Itoa(3*parChunk/2+more)+"-2097151", reqs[0].Range)
	assert.Equal(t, []extent{{3*parChunk/2 + more, 2 * parChunk, 0}, {5 * parChunk, parSize, 0}}, served(t, reqs, s.ETag()))
	assert.Equal(t, int64(3*parChunk/2+more+3*parChunk), res.Replayed)
	assert.Equal(t, int64(len(body)), s.BodyBytes(), "the body once across three runs")
}
