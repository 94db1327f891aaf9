package main

import (
	"bytes"
	"io"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFormatBytes(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{
		{0, "0 B"},
		{1023, "1023 B"},
		{1024, "1.0 KiB"},
		{1536, "1.5 KiB"},
		{150 << 20, "150.0 MiB"},
		{(1 << 30) - 1, "1024.0 MiB"},
		{5 << 30, "5.0 GiB"},
		{1 << 62, "4.0 EiB"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, formatBytes(tt.n), "%d", tt.n)
	}
}

// clock is a fake time source the tests move by hand.
type clock struct{ t time.Time }

func newClock() *clock { return &clock{t: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

// step moves the clock by a second, delivers n bytes and reports.
func (c *clock) step(p *progress, n int64) {
	c.advance(time.Second)
	p.n.Add(n)
	p.tick()
}

func lines(s string) []string { return strings.Split(strings.TrimSuffix(s, "\n"), "\n") }

func TestProgressLines(t *testing.T) {
	var out bytes.Buffer
	c := newClock()
	p := newProgress(&out, progressLines, 0, c.now)
	p.pass(4 << 20)
	p.tick() // the first sample: no rate yet
	c.step(p, 1<<20)
	c.step(p, 1<<20)
	p.resumed()
	p.event("attempt %d: connection_reset", 1)
	c.step(p, 512<<10)
	assert.Equal(t, []string{
		"fetch: 0 B of 4.0 MiB (0%), 0 B/s, 0 resumes, 0 restarts",
		"fetch: 1.0 MiB of 4.0 MiB (25%), 1.0 MiB/s, 0 resumes, 0 restarts",
		"fetch: 2.0 MiB of 4.0 MiB (50%), 1.0 MiB/s, 0 resumes, 0 restarts",
		"fetch: attempt 1: connection_reset",
		// The window is 3s: (2.5 MiB - 0) over 3s.
		"fetch: 2.5 MiB of 4.0 MiB (62%), 853.3 KiB/s, 1 resume, 0 restarts",
	}, lines(out.String()))
	assert.NotContains(t, out.String(), "\r", "no cursor movement in a log")

	// A restart counts from zero again, and the rate forgets the old pass.
	out.Reset()
	p.restarted()
	p.pass(4 << 20)
	c.step(p, 0)
	c.step(p, 2<<20)
	assert.Equal(t, []string{
		"fetch: 0 B of 4.0 MiB (0%), 0 B/s, 1 resume, 1 restart",
		"fetch: 2.0 MiB of 4.0 MiB (50%), 2.0 MiB/s, 1 resume, 1 restart",
	}, lines(out.String()))
}

func TestProgressUnknownLength(t *testing.T) {
	var out bytes.Buffer
	c := newClock()
	p := newProgress(&out, progressLines, 0, c.now)
	p.pass(-1)
	p.tick()
	c.step(p, 3<<10)
	assert.Equal(t, "fetch: 3.0 KiB, 3.0 KiB/s, 0 resumes, 0 restarts", lines(out.String())[1])
}

func TestProgressBar(t *testing.T) {
	c := newClock()
	tests := []struct {
		name            string
		width           int
		total, n        int64
		resumes, resets int
		conns           int32
		want            string
	}{
		{name: "start", width: 100, total: 100 << 20, n: 0,
			want: "[............................]   0%         0 B/100.0 MiB         0 B/s                            "},
		{name: "middle", width: 100, total: 100 << 20, n: 50 << 20, resumes: 1,
			want: "[##############..............]  50%    50.0 MiB/100.0 MiB    50.0 MiB/s      1 resume              "},
		{name: "done", width: 100, total: 1 << 20, n: 1 << 20, resumes: 2, resets: 1,
			want: "[##############################] 100%     1.0 MiB/1.0 MiB     1.0 MiB/s      2 resumes  1 restart  "},
		{name: "connections", width: 100, total: 100 << 20, n: 50 << 20, resumes: 12, resets: 1, conns: 8,
			want: "[##############..............]  50%    50.0 MiB/100.0 MiB    50.0 MiB/s x8   12 resumes  1 restart "},
		{name: "unknown length", width: 60, total: -1, n: 5 << 10,
			want: "5.0 KiB  5.0 KiB/s"},
		{name: "too narrow for a bar", width: 60, total: 100 << 20, n: 50 << 20, resumes: 1,
			want: "50%  50.0 MiB/100.0 MiB  50.0 MiB/s  1 resume"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newProgress(io.Discard, progressBar, tt.width, c.now)
			p.pass(tt.total)
			p.rate(c.now())
			c.advance(time.Second)
			p.n.Add(tt.n)
			p.resumes, p.restarts = tt.resumes, tt.resets
			p.conns.Store(tt.conns)
			got := p.barLine(c.now())
			assert.Equal(t, tt.want, got)
			assert.LessOrEqual(t, len(got), tt.width-1, "the last column stays free")
			if strings.HasPrefix(got, "[") {
				assert.Len(t, got, tt.width-1, "a bar fills the line")
			}
		})
	}
}

func TestProgressBarEvents(t *testing.T) {
	var out bytes.Buffer
	c := newClock()
	p := newProgress(&out, progressBar, 40, c.now)
	p.pass(1 << 20)
	p.tick()
	p.event("attempt 1: reset")
	p.stop()
	// Drawn, erased for the event line, drawn again below it, erased at
	// the end so the summary starts on a clean line.
	want := "\r0%  0 B/1.0 MiB  0 B/s\x1b[K" +
		"\r\x1b[K" + "fetch: attempt 1: reset\n" +
		"\r0%  0 B/1.0 MiB  0 B/s\x1b[K" +
		"\r\x1b[K"
	assert.Equal(t, want, out.String())
}

// syncBuffer is a bytes.Buffer safe for the ticker goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestProgressRunStop(t *testing.T) {
	var out syncBuffer
	p := newProgress(&out, progressLines, 0, time.Now)
	p.every = time.Millisecond
	p.pass(10)
	p.run()
	deadline := time.Now().Add(5 * time.Second)
	for strings.Count(out.String(), "\n") < 3 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	p.stop()
	n := out.String()
	require.GreaterOrEqual(t, strings.Count(n, "\n"), 3, "the ticker reported")
	time.Sleep(5 * time.Millisecond)
	assert.Equal(t, n, out.String(), "nothing is written after stop")

	// none reports events only, and starts no goroutine.
	var quiet bytes.Buffer
	q := newProgress(&quiet, progressNone, 0, time.Now)
	q.run()
	q.event("attempt 1: reset")
	q.stop()
	assert.Equal(t, "fetch: attempt 1: reset\n", quiet.String())
}

func TestProgressReader(t *testing.T) {
	data := bytes.Repeat([]byte("faultline "), 1000)
	p := newProgress(io.Discard, progressNone, 0, time.Now)
	r := p.reader(bytes.NewReader(data))
	require.NoError(t, iotest.TestReader(r, data))
	// TestReader reads the data more than once; what counts is that a
	// plain read of all of it counts exactly its length.
	p.pass(int64(len(data)))
	got, err := io.ReadAll(iotest.OneByteReader(p.reader(bytes.NewReader(data))))
	require.NoError(t, err)
	assert.Equal(t, data, got)
	assert.Equal(t, int64(len(data)), p.n.Load())
}

// TestProgressLinesRate reports at the real line interval, longer than
// the rate's window: the rate spans the interval. (It used to drop every
// sample but the current one and print "0 B/s" on every line.)
func TestProgressLinesRate(t *testing.T) {
	var out bytes.Buffer
	c := newClock()
	p := newProgress(&out, progressLines, 0, c.now)
	require.Greater(t, p.every, rateWindow, "the case this test covers")
	p.pass(-1)
	p.tick()
	for range 3 {
		c.advance(p.every)
		p.n.Add(5 << 20)
		p.tick()
	}
	c.advance(p.every)
	p.tick() // nothing arrived: a stall shows as 0 B/s
	assert.Equal(t, []string{
		"fetch: 0 B, 0 B/s, 0 resumes, 0 restarts",
		"fetch: 5.0 MiB, 1.0 MiB/s, 0 resumes, 0 restarts",
		"fetch: 10.0 MiB, 1.0 MiB/s, 0 resumes, 0 restarts",
		"fetch: 15.0 MiB, 1.0 MiB/s, 0 resumes, 0 restarts",
		"fetch: 15.0 MiB, 0 B/s, 0 resumes, 0 restarts",
	}, lines(out.String()))
}

// TestProgressBarFixedLayout: the bar keeps its length and place while the
// numbers grow and when resumes and restarts appear.
func TestProgressBarFixedLayout(t *testing.T) {
	c := newClock()
	p := newProgress(io.Discard, progressBar, 80, c.now)
	p.pass(1536 << 20)
	p.rate(c.now())
	var lines []string
	for _, step := range []struct {
		add               int64
		resumes, restarts int
	}{
		{0, 0, 0},
		{900 << 10, 0, 0},  // KiB
		{700 << 20, 1, 0},  // the first resume
		{100 << 20, 12, 0}, // two digits
		{700 << 20, 12, 1}, // a restart, past 1 GiB
		{35 << 20, 13, 2},  // the whole
	} {
		c.advance(time.Second)
		p.n.Add(step.add)
		p.resumes, p.restarts = step.resumes, step.restarts
		lines = append(lines, p.barLine(c.now()))
	}
	for i, l := range lines {
		require.True(t, strings.HasPrefix(l, "["), "line %d has a bar: %q", i, l)
		assert.Len(t, l, 79, "line %d: %q", i, l)
		assert.Equal(t, strings.Index(lines[0], "]"), strings.Index(l, "]"), "line %d: the bar's end moved: %q", i, l)
	}
	assert.Contains(t, lines[2], "1 resume")
	assert.Contains(t, lines[5], "13 resumes  2 restarts")
}
