package httpx

import (
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	fs "github.com/faultline-go/faultline/faulttest"
)

// The parallel tests fetch 12 MiB with 4 connections and a 4 MiB window:
// 1 MiB chunks, the first response asking for chunks 0 and 1 (parFirst),
// ranged requests for chunks 2 to 11.
const (
	parSize   = 12 << 20
	parChunk  = 1 << 20
	parChunks = parSize / parChunk
	parFirst  = "bytes=0-2097151"
)

var parOpts = Options{Connections: 4, Window: 4 << 20}

// chunkRange is the Range header of chunk k's request.
func chunkRange(k int) string {
	return "bytes=" + strconv.Itoa(k*parChunk) + "-" + strconv.Itoa((k+1)*parChunk-1)
}

// onceAt returns a Choose function that faults the first request whose
// Range starts where chunk k does.
func onceAt(k int, f fs.Fault) func(fs.Request) fs.Fault {
	var done bool
	prefix := "bytes=" + strconv.Itoa(k*parChunk) + "-"
	return func(r fs.Request) fs.Fault {
		if !done && strings.HasPrefix(r.Range, prefix) {
			done = true
			return f
		}
		return fs.Fault{}
	}
}

// passes splits a server's requests into the passes of a download: each
// pass starts with a request without Range, or for the first bytes.
func passes(reqs []fs.Request) [][]fs.Request {
	var out [][]fs.Request
	for _, r := range reqs {
		if r.Range == "" || r.Range == parFirst || len(out) == 0 {
			out = append(out, nil)
		}
		out[len(out)-1] = append(out[len(out)-1], r)
	}
	return out
}

// wholePass checks that pass is a whole parallel download: the first
// request for the first two chunks, then every chunk past them exactly
// once, plus the extra requests listed.
func wholePass(t *testing.T, pass []fs.Request, extra ...string) {
	t.Helper()
	want := map[string]int{}
	for k := 2; k < parChunks; k++ {
		want[chunkRange(k)]++
	}
	for _, e := range extra {
		want[e]++
	}
	got := map[string]int{}
	for _, r := range pass[1:] {
		got[r.Range]++
	}
	require.NotEmpty(t, pass)
	assert.Equal(t, parFirst, pass[0].Range)
	assert.Equal(t, want, got, "the ranges of the pass")
}

// TestParallelFaultFree: a fault-free parallel download is exact, asks
// for every chunk once, with If-Range, and sends no byte twice.
func TestParallelFaultFree(t *testing.T) {
	body := payload(parSize)
	for _, m := range modes[:3] {
		t.Run(m.name, func(t *testing.T) {
			s := startServer(t, m, body)
			c := &Client{HTTP: s.Client(m.proto)}
			var h hashConsumer
			opts := parOpts
			res, err := c.Do(t.Context(), s.URL+"/f", h.consume, &opts)
			require.NoError(t, err)
			assert.Equal(t, sha256.Sum256(body), h.sum)
			assert.Equal(t, 1, h.calls)
			ps := passes(s.Requests())
			require.Len(t, ps, 1)
			wholePass(t, ps[0])
			for _, r := range ps[0][1:] {
				assert.Equal(t, s.ETag(), r.IfRange, "every range carries If-Range")
				assert.Equal(t, http.StatusPartialContent, r.Status)
			}
			assert.Equal(t, s.RequestCount(), res.Attempts)
			// Nothing read twice, nothing sent past where a response
			// stopped: the first asked for its two chunks only.
			assert.Equal(t, int64(parSize), res.BytesServed)
			assert.Equal(t, int64(parSize), s.BodyBytes())
			assert.Equal(t, 4, res.Connections)
			assert.Zero(t, res.Resumes)
			assert.Zero(t, res.Restarts)
		})
	}
}

// TestParallelRangeFaults: one range among several breaks. A broken body
// resumes that range alone; a 503 retries it; a 206 that is not the one
// asked for (another validator, another Content-Range) or a 200 restarts
// the whole download, never splicing; a 200 from a server that ignored
// Range makes the restart use one connection.
func TestParallelRangeFaults(t *testing.T) {
	body := payload(parSize)
	const k = 6
	tests := []struct {
		name  string
		fault fs.Fault
		// resumed: the range is asked for again from where it broke.
		// retried: the same range is asked for again.
		resumed, retried bool
		// restart: the download starts over; single: on one connection.
		restart, single bool
	}{
		{name: "reset", fault: fs.Fault{Kind: fs.Reset, At: 300_000}, resumed: true},
		{name: "truncate", fault: fs.Fault{Kind: fs.Truncate, At: 300_000}, resumed: true},
		{name: "stall", fault: fs.Fault{Kind: fs.Stall, At: 300_000, Stall: 3 * time.Second}, resumed: true},
		{name: "503", fault: fs.Fault{Kind: fs.Status, Status: 503, RetryAfter: "1"}, retried: true},
		{name: "another validator", fault: fs.Fault{Kind: fs.ForeignETag}, restart: true},
		{name: "wrong Content-Range", fault: fs.Fault{Kind: fs.WrongContentRange}, restart: true},
		{name: "mislabelled Content-Range", fault: fs.Fault{Kind: fs.MislabelledRange}, restart: true},
		{name: "ignores Range", fault: fs.Fault{Kind: fs.IgnoreRange}, restart: true, single: true},
	}
	for _, m := range modes[:3] {
		for _, tt := range tests {
			t.Run(m.name+"/"+tt.name, func(t *testing.T) {
				s, err := fs.Start(fs.Config{Content: body, TLS: m.tls, Choose: onceAt(k, tt.fault), StallLimit: 5 * time.Second})
				require.NoError(t, err)
				defer s.Close()
				var sl sleeps
				c := &Client{HTTP: s.Client(m.proto), Sleep: sl.sleep}
				var h hashConsumer
				opts := parOpts
				res, err := c.Do(t.Context(), s.URL+"/f", h.consume, &opts)
				require.NoError(t, err)
				assert.Equal(t, sha256.Sum256(body), h.sum, "exact")
				assert.Equal(t, int64(parSize), res.Bytes)
				reqs := s.Requests()
				count := map[string]int{}
				for _, r := range reqs {
					count[r.Range]++
				}

				switch {
				case tt.restart:
					// Requests the first pass had in flight when it stopped
					// may reach the server after the second began, so the
					// passes are told apart by counting: two requests for
					// the whole, the bad range twice (broken, then in the
					// second pass), every other at most twice.
					// The restart after a server ignored a range asks
					// for the whole, on one connection.
					assert.Equal(t, 2, count[parFirst]+count[""], "the download restarted once")
					assert.Equal(t, btoi(tt.single), count[""])
					assert.Equal(t, 2, h.calls, "the consumer started over")
					assert.Equal(t, 1, res.Restarts)
					for j := 2; j < parChunks; j++ {
						n := count[chunkRange(j)]
						switch {
						case tt.single:
							assert.LessOrEqual(t, n, 1, "the restart uses one connection: %s", chunkRange(j))
						case j == k:
							assert.Equal(t, 2, n, "the bad range, then again")
						default:
							assert.True(t, n >= 1 && n <= 2, "%s asked for %d times", chunkRange(j), n)
						}
					}
					if tt.single {
						assert.Equal(t, 1, count[chunkRange(k)])
					}
					// Each request was counted; some of the first pass's last
					// ones never reached the server.
					assert.GreaterOrEqual(t, res.Attempts, len(reqs))
					assert.LessOrEqual(t, res.Attempts, len(reqs)+parOpts.Connections)
				case tt.resumed, tt.retried:
					// One pass; the broken range asked for again. On a
					// loaded machine stall detection may catch a healthy
					// range that went quiet too, so the count allows what
					// the policy decided, and no more: each decision is one
					// more request.
					ps := passes(reqs)
					require.Len(t, ps, 1)
					assert.Equal(t, len(reqs), res.Attempts, "every request is counted")
					assert.Equal(t, 1, h.calls)
					assert.Zero(t, res.Restarts)
					require.NotEmpty(t, res.Trail)
					assert.Equal(t, parChunks-1+len(res.Trail), len(reqs), "one request for the first response, one for each ranged chunk, one for each decision")
					for j := 2; j < parChunks; j++ {
						assert.GreaterOrEqual(t, count[chunkRange(j)], 1, "%s", chunkRange(j))
					}
					end := "-" + strconv.Itoa((k+1)*parChunk-1)
					var again []string
					for _, r := range ps[0][1:] {
						if strings.HasSuffix(r.Range, end) && r.N > 1 {
							again = append(again, r.Range)
						}
					}
					require.GreaterOrEqual(t, len(again), 2, "the broken range was asked for again: %v", again)
					from, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(again[1], "bytes="), end))
					if tt.resumed {
						assert.Greater(t, from, k*parChunk, "from where it broke")
						assert.LessOrEqual(t, from, k*parChunk+300_000)
					} else {
						assert.Equal(t, k*parChunk, from, "a 503 sent nothing: the whole range again")
						assert.Contains(t, sl.all(), time.Second, "Retry-After is honoured for the range")
					}
				}
			})
		}
	}
}

// TestParallelPolicyGivesUp: a range that keeps failing is given up on
// under the policy; the download fails with an *Error, stops every other
// connection and leaks nothing.
func TestParallelPolicyGivesUp(t *testing.T) {
	body := payload(parSize)
	prefix := "bytes=" + strconv.Itoa(6*parChunk) + "-"
	s, err := fs.Start(fs.Config{Content: body, Choose: func(r fs.Request) fs.Fault {
		if strings.HasPrefix(r.Range, prefix) {
			return fs.Fault{Kind: fs.Status, Status: 404}
		}
		return fs.Fault{}
	}})
	require.NoError(t, err)
	defer s.Close()
	c := &Client{HTTP: s.Client(fs.HTTP1)}
	var h hashConsumer
	opts := parOpts
	_, err = c.Do(t.Context(), s.URL+"/f", h.consume, &opts)
	var he *Error
	require.ErrorAs(t, err, &he)
	var se *StatusError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 404, se.Status)
	assert.Contains(t, se.URL, "(bytes 6291456-7340031)", "the error names the range")
}

// TestParallelConsumerStops: a consumer that fails part-way stops every
// connection; the failure is decided as any consumer's is.
func TestParallelConsumerStops(t *testing.T) {
	body := payload(parSize)
	s := startServer(t, modes[0], body)
	c := &Client{HTTP: s.Client(fs.HTTP1)}
	opts := parOpts
	boom := errors.New("disk on fire")
	_, err := c.Do(t.Context(), s.URL+"/f", func(ctx context.Context, r io.Reader) error {
		var buf [1 << 16]byte
		for n := 0; n < 3<<20; {
			m, err := r.Read(buf[:])
			if err != nil {
				return err
			}
			n += m
		}
		return boom
	}, &opts)
	require.ErrorIs(t, err, boom)
}

// TestParallelFallback: without ranges, without a strong validator or
// without a length, the download stays on one connection.
func TestParallelFallback(t *testing.T) {
	body := payload(parSize)
	for _, tc := range []struct {
		name     string
		cfg      fs.Config
		requests int
	}{
		// The 206 for the first bytes has no validator to join the rest
		// with: dropped for a request for the whole.
		{"weak ETag", fs.Config{Content: body, WeakETag: true}, 2},
		// Shorter than the first range: the 206 is the whole.
		{"small", fs.Config{Content: body[:parChunk]}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := fs.Start(tc.cfg)
			require.NoError(t, err)
			defer s.Close()
			c := &Client{HTTP: s.Client(fs.HTTP1)}
			var h hashConsumer
			opts := parOpts
			res, err := c.Do(t.Context(), s.URL+"/f", h.consume, &opts)
			require.NoError(t, err)
			assert.Equal(t, sha256.Sum256(tc.cfg.Content), h.sum)
			assert.Equal(t, tc.requests, s.RequestCount())
			assert.Equal(t, 1, res.Connections)
		})
	}
}

// TestParallelAutoGrows: against a server that limits each response's
// rate, auto adds connections, because each one adds rate; the result is
// exact.
func TestParallelAutoGrows(t *testing.T) {
	body := payload(24 << 20)
	for _, m := range modes[:2] {
		t.Run(m.name, func(t *testing.T) {
			s, err := fs.Start(fs.Config{Content: body, TLS: m.tls, Rate: 4 << 20})
			require.NoError(t, err)
			defer s.Close()
			c := &Client{HTTP: s.Client(m.proto)}
			var h hashConsumer
			res, err := c.Do(t.Context(), s.URL+"/f", h.consume, &Options{Connections: ConnectionsAuto, MaxConnections: 4, Window: 16 << 20})
			require.NoError(t, err)
			assert.Equal(t, sha256.Sum256(body), h.sum)
			// Each connection adds 4 MiB/s, so auto should reach the
			// maximum; a loaded machine (the race detector, two cores
			// shared with other jobs) can misjudge a probe period, so
			// the test asks only that it grew.
			assert.GreaterOrEqual(t, res.Connections, 2, "each connection adds 4 MiB/s")
			t.Logf("%d connections", res.Connections)
			assert.Zero(t, res.Restarts)
		})
	}
}

// TestParallelAutoConsumerBound: when the consumer, not the network, is
// the limit, the window fills and auto never adds a connection: one
// request, as without the option.
func TestParallelAutoConsumerBound(t *testing.T) {
	body := payload(parSize)
	s := startServer(t, modes[0], body)
	c := &Client{HTTP: s.Client(fs.HTTP1)}
	res, err := c.Do(t.Context(), s.URL+"/f", func(ctx context.Context, r io.Reader) error {
		buf := make([]byte, 64<<10)
		for {
			_, err := r.Read(buf)
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			time.Sleep(2 * time.Millisecond) // 32 MiB/s at most
		}
	}, &Options{Connections: ConnectionsAuto, Window: 4 << 20})
	require.NoError(t, err)
	assert.Equal(t, 1, res.Connections)
	assert.Equal(t, 1, s.RequestCount())
}

// TestWidthBacksOff: a 429 or 503 on any range drops a connection and
// keeps the width there.
func TestWidthBacksOff(t *testing.T) {
	for _, status := range []int{429, 503} {
		s := &stream{pieces: map[int]*piece{}, headAt: -1}
		s.cond = sync.NewCond(&s.mu)
		s.o = &op{c: &Client{}}
		s.head = &Body{}
		w := newWidth(s, 6, false)
		s.width = w
		var seen int
		hook := w.observe(func(Event) { seen++ })
		hook(Event{})
		assert.Equal(t, 6, w.connections(), "another failure changes nothing")
		var e Event
		e.Input.Error.Kind = "http_status"
		e.Input.Error.HTTP.Status = status
		hook(e)
		assert.Equal(t, 5, w.connections())
		w.setTarget(8)
		assert.Equal(t, 5, w.connections(), "the ceiling came down too")
		hook(e)
		hook(e)
		assert.Equal(t, 3, w.connections())
		assert.Equal(t, 4, seen, "the client's hook still sees every decision")
	}
}
