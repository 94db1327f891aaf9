package main

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/faultline-go/faultline/internal/redact"
)

// How fetch shows its progress (--progress).
const (
	progressAuto  = "auto"  // a bar on a terminal, else lines
	progressBar   = "bar"   // one line redrawn in place
	progressLines = "lines" // a line every few seconds, for logs
	progressNone  = "none"  // nothing but events and the summary
)

// Report intervals: a bar is redrawn often enough to look alive; a log
// gets a line every few seconds, which is enough to see a stall.
const (
	barEvery  = 200 * time.Millisecond
	lineEvery = 5 * time.Second
)

// rateWindow is how far back the rate looks: long enough to smooth
// bursts, short enough to show a stall within seconds.
const rateWindow = 3 * time.Second

// progress counts the bytes of a download as its consumer reads them and
// reports them to w, with every resume and restart as it happens.
// Bytes are counted on the consumer's goroutine; a ticker goroutine
// reports them, so a stalled read still shows a falling rate.
type progress struct {
	w     io.Writer
	bar   bool          // redraw one line in place instead of printing lines
	quiet bool          // report events only
	width int           // columns for the bar
	every time.Duration // between reports
	now   func() time.Time

	n     atomic.Int64 // bytes delivered in the current pass
	conns atomic.Int32 // connections open, when more than one

	mu        sync.Mutex // guards what follows and writes to w
	start     time.Time
	total     int64 // the announced length, or -1
	resumes   int
	restarts  int
	samples   []sample // recent counts, oldest first, for the rate
	drawn     bool     // a bar is on screen and must be erased first
	stopTick  chan struct{}
	tickerEnd sync.WaitGroup
}

type sample struct {
	t time.Time
	n int64
}

// newProgress returns a progress reporter writing to w in mode, which
// must not be progressAuto. width is the terminal's width, for a bar.
func newProgress(w io.Writer, mode string, width int, now func() time.Time) *progress {
	p := &progress{w: w, width: width, now: now, total: -1, every: lineEvery}
	switch mode {
	case progressBar:
		p.bar, p.every = true, barEvery
	case progressNone:
		p.quiet = true
	}
	if p.width < 20 {
		p.width = 80
	}
	p.start = now()
	return p
}

// run starts reporting every p.every until stop is called.
func (p *progress) run() {
	if p.quiet {
		return
	}
	p.stopTick = make(chan struct{})
	p.tickerEnd.Add(1)
	go func() {
		defer p.tickerEnd.Done()
		t := time.NewTicker(p.every)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				p.tick()
			case <-p.stopTick:
				return
			}
		}
	}()
}

// stop ends the reports and erases the bar, so the summary starts on a
// clean line.
func (p *progress) stop() {
	if p.stopTick != nil {
		close(p.stopTick)
		p.tickerEnd.Wait()
		p.stopTick = nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.erase()
}

// pass starts a pass of the consumer over the body: the first, or one
// after a restart, which reads everything again from byte 0.
func (p *progress) pass(total int64) {
	p.n.Store(0)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.total = total
	p.samples = p.samples[:0]
}

// resumed and restarted count what the bar shows beside the bytes.
func (p *progress) resumed() {
	p.mu.Lock()
	p.resumes++
	p.mu.Unlock()
}

func (p *progress) restarted() {
	p.mu.Lock()
	p.restarts++
	p.mu.Unlock()
}

// reader returns r counting into p.
func (p *progress) reader(r io.Reader) io.Reader { return &countingReader{r: r, n: &p.n} }

type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n.Add(int64(n))
	return n, err
}

// event prints a line that stays: a decision, a resume, a restart.
func (p *progress) event(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.erase()
	// Events quote reasons and errors: mask any secret they carry.
	fmt.Fprintf(p.w, "fetch: %s\n", redact.Text(fmt.Sprintf(format, args...)))
	if p.bar {
		p.draw(p.now())
	}
}

// tick reports once.
func (p *progress) tick() {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if p.bar {
		p.draw(now)
		return
	}
	fmt.Fprintf(p.w, "fetch: %s\n", p.status(now))
}

func (p *progress) erase() {
	if p.drawn {
		// Carriage return, then erase to the end of the line (ECMA-48 EL).
		io.WriteString(p.w, "\r\x1b[K")
		p.drawn = false
	}
}

func (p *progress) draw(now time.Time) {
	io.WriteString(p.w, "\r"+p.barLine(now)+"\x1b[K")
	p.drawn = true
}

// rate returns the bytes per second over the last rateWindow, recording
// the current count as a sample. p.mu must be held. The base of the rate
// is the newest sample at least rateWindow old, or the oldest there is:
// when reports are further apart than the window (a log line every 5s),
// the rate spans the interval instead of nothing.
func (p *progress) rate(now time.Time) float64 {
	n := p.n.Load()
	p.samples = append(p.samples, sample{now, n})
	i := 0
	for i < len(p.samples)-1 && now.Sub(p.samples[i+1].t) >= rateWindow {
		i++
	}
	p.samples = append(p.samples[:0], p.samples[i:]...)
	first := p.samples[0]
	dt := now.Sub(first.t).Seconds()
	if dt <= 0 {
		return 0
	}
	return float64(n-first.n) / dt
}

// status is a report as a log line: bytes, percentage, rate, resumes and
// restarts.
func (p *progress) status(now time.Time) string {
	n := p.n.Load()
	var b strings.Builder
	b.WriteString(formatBytes(n))
	if p.total > 0 {
		fmt.Fprintf(&b, " of %s (%d%%)", formatBytes(p.total), percent(n, p.total))
	}
	fmt.Fprintf(&b, ", %s/s", formatBytes(int64(p.rate(now))))
	fmt.Fprintf(&b, ", %s, %s", plural(p.resumes, "resume"), plural(p.restarts, "restart"))
	if c := p.conns.Load(); c > 1 {
		fmt.Fprintf(&b, ", %d connections", c)
	}
	return b.String()
}

// barLine is a report as a bar that fits p.width columns:
//
//	[#######.........]  42%    63.1 MiB/150.0 MiB    31.2 MiB/s  1 resume
//
// Its fields have fixed widths, room for the counts of resumes and
// restarts included, so that the bar keeps its length while the numbers
// change and when the first resume appears.
func (p *progress) barLine(now time.Time) string {
	n := p.n.Load()
	rate := p.rate(now)
	counts := ""
	if p.resumes > 0 {
		counts = plural(p.resumes, "resume")
	}
	// Connections, when more than one: "x4" beside the rate they make.
	conns := ""
	if c := p.conns.Load(); c > 1 {
		conns = fmt.Sprintf("x%d", min(c, 99))
	}
	if p.restarts > 0 {
		counts = strings.TrimLeft(counts+"  "+plural(p.restarts, "restart"), " ")
	}
	// Without a length, or without room for a bar: a line of what is
	// known, as short as it can be.
	line := formatBytes(n) + "  " + formatBytes(int64(rate)) + "/s"
	if p.total > 0 {
		line = fmt.Sprintf("%d%%  %s/%s  %s/s", percent(n, p.total), formatBytes(n), formatBytes(p.total), formatBytes(int64(rate)))
	}
	if conns != "" {
		line += " " + conns
	}
	if counts != "" {
		line += "  " + counts
	}
	tail := fmt.Sprintf(" %3d%%  %*s/%s  %*s/s %-*s  %-*s", percent(n, p.total),
		bytesWidth, formatBytes(n), formatBytes(p.total), bytesWidth, formatBytes(int64(rate)), connsWidth, conns, countsWidth, counts)
	// Leave the last column free: writing into it wraps some terminals.
	cells := p.width - 1 - len(tail) - 2
	if cells < 10 || p.total <= 0 {
		return truncate(line, p.width-1)
	}
	full := int(int64(cells) * min(n, p.total) / p.total)
	bar := strings.Repeat("#", full) + strings.Repeat(".", cells-full)
	return "[" + bar + "]" + tail
}

// The widths of the bar's fields: the longest formatBytes writes, up to
// 99 connections, and the counts of up to 99 resumes and 9 restarts.
const (
	bytesWidth  = len("1023.9 MiB")
	connsWidth  = len("x99")
	countsWidth = len("99 resumes  9 restarts")
)

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func percent(n, total int64) int64 {
	if total <= 0 {
		return 0
	}
	return min(n, total) * 100 / total
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	if strings.HasSuffix(noun, "ch") {
		return fmt.Sprintf("%d %ses", n, noun) // "refetches"
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// formatBytes prints n in binary units with one decimal, as a person
// reads sizes: "512 B", "63.1 MiB".
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
