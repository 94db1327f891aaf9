package httpx

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faultline-go/faultline/classify"
	fs "github.com/faultline-go/faultline/faulttest"
)

// lastRead is a consumer that notes when each read returned data, so a
// test can tell how long after the last byte a stall was declared.
type lastRead struct {
	mu   sync.Mutex
	last time.Time
	n    int64
}

func (l *lastRead) consume(ctx context.Context, r io.Reader) error {
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			l.mu.Lock()
			l.last, l.n = time.Now(), l.n+int64(n)
			l.mu.Unlock()
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func (l *lastRead) since() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return time.Since(l.last)
}

// TestStallResumes: a body that flows, then goes silent with the
// connection open (the server stalls for 30s, as behind a black hole), is
// declared stalled within MinStallTimeout and a tick of its last byte —
// not after the 30s idle timeout — classified as kind stall, not as a
// reset or a timeout, and resumed on a new connection, over HTTP/1.1 and
// HTTP/2.
func TestStallResumes(t *testing.T) {
	body := payload(4 << 20)
	for _, m := range modes[:3] {
		t.Run(m.name, func(t *testing.T) {
			s, err := fs.Start(fs.Config{Content: body, TLS: m.tls, StallLimit: 30 * time.Second,
				Script: []fs.Fault{{Kind: fs.Stall, At: 1 << 20}}})
			require.NoError(t, err)
			defer s.Close()
			var (
				lr        lastRead
				kinds     []classify.Kind
				detection time.Duration
			)
			c := &Client{HTTP: m.client(t, s), OnDecision: func(e Event) {
				kinds = append(kinds, e.Input.Error.Kind)
				detection = lr.since()
			}}
			begin := time.Now()
			res, err := c.Do(t.Context(), s.URL, lr.consume, nil)
			require.NoError(t, err)
			took := time.Since(begin)
			assert.Equal(t, int64(len(body)), lr.n)
			assert.Equal(t, []classify.Kind{classify.Stall}, kinds)
			assert.Equal(t, 1, res.Resumes)
			assert.GreaterOrEqual(t, detection, MinStallTimeout-100*time.Millisecond, "not before the floor")
			assert.Less(t, detection, DefaultStallTimeout, "within the stall limit of the last byte")
			assert.Less(t, took, 10*time.Second, "seconds, not the idle timeout")
			t.Logf("stall declared %v after the last byte; fetch took %v", detection.Round(time.Millisecond), took.Round(time.Millisecond))
			if m.proto == fs.HTTP2 {
				// The resume went over a new connection: the stalled one
				// may be a black hole.
				assert.Equal(t, int64(2), s.Connections(), "connections")
			}
		})
	}
}

// paced serves size bytes in chunks of chunk every gap, pausing after
// every pauseEvery chunks for the next of pauses (the last repeats).
func paced(size, chunk int, gap time.Duration, pauseEvery int, pauses ...time.Duration) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(size))
		rc := http.NewResponseController(w)
		b := make([]byte, chunk)
		for sent, i := 0, 1; sent < size; i++ {
			n := min(chunk, size-sent)
			if _, err := w.Write(b[:n]); err != nil {
				return
			}
			rc.Flush()
			sent += n
			d := gap
			if pauseEvery > 0 && i%pauseEvery == 0 && len(pauses) > 0 {
				d = pauses[min(i/pauseEvery-1, len(pauses)-1)]
			}
			select {
			case <-r.Context().Done():
				return
			case <-time.After(d):
			}
		}
	}
}

// TestSlowSteadyNeverStalls: a body at 200 KB/s (20 KB every 100 ms), and
// one that pauses 1.5s and then 3s, are slow, not stalled: no failure,
// one attempt. The second teaches the limit its rhythm: a 3s pause is
// over the 2s floor, but after a 1.5s one the limit is 5s.
func TestSlowSteadyNeverStalls(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
	}{
		{"200KBps", paced(1_000_000, 20_000, 100*time.Millisecond, 0)},
		{"pauses", paced(240_000, 20_000, 10*time.Millisecond, 4, 1500*time.Millisecond, 3*time.Second)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			var decisions int
			c := &Client{HTTP: srv.Client(), OnDecision: func(Event) { decisions++ }}
			var lr lastRead
			res, err := c.Do(t.Context(), srv.URL, lr.consume, nil)
			require.NoError(t, err)
			assert.Zero(t, decisions)
			assert.Equal(t, 1, res.Attempts)
		})
	}
}

// TestLowSpeedLimit: with LowSpeedLimit set, a body slower than it over
// LowSpeedTime is a stall (Slow), though it never goes silent.
func TestLowSpeedLimit(t *testing.T) {
	srv := httptest.NewServer(paced(10_000_000, 1000, 10*time.Millisecond, 0)) // 100 KB/s
	defer srv.Close()
	defer srv.CloseClientConnections()
	c := &Client{HTTP: srv.Client(), LowSpeedLimit: 500_000, LowSpeedTime: time.Second, MaxAttempts: 1}
	var lr lastRead
	begin := time.Now()
	_, err := c.Do(t.Context(), srv.URL, lr.consume, nil)
	var se *StallError
	require.ErrorAs(t, err, &se)
	assert.True(t, se.Slow)
	assert.Less(t, se.Rate, 500_000.0)
	assert.Greater(t, se.Rate, 10_000.0)
	assert.Less(t, time.Since(begin), 5*time.Second)
}

// TestIdleBeforeFirstByte: a response that never starts is an idle
// timeout (kind timeout), not a stall: the stall limit applies only once
// the body flowed.
func TestIdleBeforeFirstByte(t *testing.T) {
	body := payload(100_000)
	s, err := fs.Start(fs.Config{Content: body, StallLimit: 10 * time.Second, Script: []fs.Fault{{Kind: fs.Stall, At: 0}}})
	require.NoError(t, err)
	defer s.Close()
	var kinds []classify.Kind
	c := &Client{HTTP: s.Client(fs.HTTP1), IdleTimeout: 500 * time.Millisecond,
		OnDecision: func(e Event) { kinds = append(kinds, e.Input.Error.Kind) }}
	var lr lastRead
	_, err = c.Do(t.Context(), s.URL, lr.consume, nil)
	require.NoError(t, err)
	assert.Equal(t, []classify.Kind{classify.Timeout}, kinds)
}

// TestWatchLimit checks the adaptive limit against a fake clock.
func TestWatchLimit(t *testing.T) {
	var now time.Duration
	cfg := watchConfig{idle: 30 * time.Second, stallMax: 5 * time.Second, clock: func() time.Duration { return now }, tick: time.Hour}
	w := newWatch(cfg, func(error) {})
	defer w.stop()
	read := func(wait time.Duration, n int) {
		w.enter()
		now += wait
		w.leave(n)
	}
	w.leave(0)              // the headers
	read(10*time.Second, 1) // the first byte may take long: it does not count
	assert.Equal(t, MinStallTimeout, w.stallLimit())
	read(100*time.Millisecond, 1)
	assert.Equal(t, MinStallTimeout, w.stallLimit(), "fast reads: the floor")
	read(time.Second, 1)
	assert.Equal(t, 4*time.Second, w.stallLimit(), "scaled from the slowest read")
	read(3*time.Second, 1)
	assert.Equal(t, 5*time.Second, w.stallLimit(), "capped")

	w.enter()
	now += 4900 * time.Millisecond
	assert.NoError(t, w.check(now))
	now += 100 * time.Millisecond
	var se *StallError
	require.ErrorAs(t, w.check(now), &se)
	assert.Equal(t, 5*time.Second, se.Silent)
}
