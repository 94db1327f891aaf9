package httpx

import (
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/faultline-go/faultline/classify"
)

// width decides how many connections a parallel download uses.
//
// A fixed width (Options.Connections = N) opens them all at once. Auto
// probes the way TCP probes for bandwidth: it starts with the one
// connection of the first response, and every probe period it compares
// the total rate with the rate before its last change. While a change
// paid (the rate grew by a sixth or more) it adds more, doubling the step
// while each new connection brings nearly as much as the old ones did;
// when a change did not pay it goes back to the best width seen and
// waits a while before trying again. It never adds a connection while
// one waits for room in the reorder window (the consumer, not the
// network, is then the limit), nor while connections fail or the bytes
// barely move, never passes the maximum, and on a 429 or
// 503 from any range it drops a connection and lowers its ceiling to
// what is left (RFC 6585 §4, RFC 9110 §15.6.4: the server asks for less).
//
// HTTP/2 multiplexes requests on one connection, which helps against a
// limit on each request but not against one on each connection. A fixed
// width over HTTP/2 gives every connection its own transport, which
// helps against both. Auto first adds streams on the shared connection;
// if that does not pay, it tries connections of their own once before
// settling.
type width struct {
	s      *stream
	max    int
	auto   bool
	base   *http.Client
	period time.Duration

	mu        sync.Mutex
	target    int  // connections wanted, the first response included while it runs
	dedicated bool // new ranged connections get a transport of their own
	triedOwn  bool // auto tried dedicated connections over HTTP/2
	clients   []*http.Client
	failures  atomic.Int64 // decisions made: failures of any connection
	done      chan struct{}
	exited    chan struct{}
	stopOnce  sync.Once
}

// probePeriod is auto's measuring interval: a change is judged on the
// period after the one it was made in, so a new connection's first round
// trips do not count against it.
const probePeriod = 200 * time.Millisecond

// minProbeBytes is the least a probe period must deliver before auto
// adds a connection: a download that barely moves is not limited by its
// width.
const minProbeBytes = 256 << 10

func newWidth(s *stream, max int, auto bool) *width {
	w := &width{s: s, max: max, auto: auto, base: s.o.c.httpClient(), period: probePeriod, target: max,
		done: make(chan struct{}), exited: make(chan struct{})}
	if auto {
		w.target = 1
	}
	if !auto && s.head.resp != nil && s.head.resp.ProtoMajor == 2 {
		w.dedicated = true
	}
	return w
}

// start opens the first connections and, for auto, starts probing.
func (w *width) start() {
	w.s.mu.Lock()
	w.s.grow()
	w.s.mu.Unlock()
	if !w.auto {
		close(w.exited)
		return
	}
	go w.run()
}

// stopWatching ends probing and closes the idle connections of dedicated
// transports.
func (w *width) stopWatching() {
	w.stopOnce.Do(func() { close(w.done) })
	<-w.exited
	w.mu.Lock()
	clients := w.clients
	w.clients = nil
	w.mu.Unlock()
	for _, c := range clients {
		c.CloseIdleConnections()
	}
}

// rangedWanted returns how many ranged connections are wanted, given
// whether the first response still runs.
func (w *width) rangedWanted(head bool) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.target - btoi(head)
}

// connections returns the width wanted.
func (w *width) connections() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.target
}

// setTarget changes the width and opens connections to reach it; extra
// ones close after their current chunk.
func (w *width) setTarget(n int) {
	w.mu.Lock()
	w.target = max(1, min(n, w.max))
	w.mu.Unlock()
	w.s.mu.Lock()
	w.s.grow()
	w.s.cond.Broadcast()
	w.s.mu.Unlock()
}

// client returns the HTTP client for a new ranged connection.
func (w *width) client() *http.Client {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.dedicated {
		return w.base
	}
	var t *http.Transport
	switch bt := w.base.Transport.(type) {
	case *http.Transport:
		t = bt.Clone()
	case nil:
		t = http.DefaultTransport.(*http.Transport).Clone()
	default:
		return w.base // a transport we cannot copy: share it
	}
	if t.TLSClientConfig != nil {
		// Clone shares NextProtos' array, which net/http appends to when
		// it first uses a transport: give each copy its own.
		t.TLSClientConfig.NextProtos = slices.Clip(slices.Clone(t.TLSClientConfig.NextProtos))
	}
	c := &http.Client{Transport: t, CheckRedirect: w.base.CheckRedirect, Jar: w.base.Jar}
	w.clients = append(w.clients, c)
	return c
}

// observe wraps a decision hook: every decision is a failure, which
// holds auto back for a while, and a 429 or 503 on any connection makes
// the download narrower.
func (w *width) observe(f func(Event)) func(Event) {
	return func(e Event) {
		w.failures.Add(1)
		st := e.Input.Error.HTTP.Status
		if e.Input.Error.Kind == classify.RateLimited || st == http.StatusTooManyRequests || st == http.StatusServiceUnavailable {
			w.backOff()
		}
		if f != nil {
			f(e)
		}
	}
}

// backOff drops a connection and keeps the width at most there.
func (w *width) backOff() {
	w.mu.Lock()
	n := max(1, w.target-1)
	w.max = n
	w.mu.Unlock()
	w.setTarget(n)
}

// run is auto's probing loop.
func (w *width) run() {
	defer close(w.exited)
	t := time.NewTicker(w.period)
	defer t.Stop()
	var (
		lastFailures int64
		last         int64
		best         float64 // rate at the width being built on
		bestN        = 1
		step         = 1
		judging      bool // a change was made; the next period after the settling one judges it
		settling     bool
		cooldown     int
		primed       bool
	)
	for {
		select {
		case <-w.done:
			return
		case <-t.C:
		}
		s := w.s
		s.mu.Lock()
		delivered := s.delivered - last
		last = s.delivered
		waited := s.waited
		s.waited = false
		finished := s.next >= s.nchunks && s.headAt < 0
		s.mu.Unlock()
		if finished {
			return
		}
		rate := float64(delivered) / w.period.Seconds()
		n := w.connections()
		f := w.failures.Load()
		failing := f != lastFailures
		lastFailures = f
		if failing {
			// Connections are failing: more of them would fail too, and
			// the rates say nothing. Judge nothing; try again later.
			judging, settling = false, false
			cooldown = max(cooldown, 2)
			continue
		}
		switch {
		case !primed:
			// The first period includes the first response's ramp-up.
			primed = true
			continue
		case settling:
			settling = false
			continue
		case judging:
			judging = false
			perOld := best / float64(bestN)
			perNew := rate / float64(n)
			if rate >= best*7/6 {
				if perNew >= perOld*3/4 {
					step *= 2
				} else {
					step = 1
				}
				best, bestN = rate, n
			} else {
				w.setTarget(bestN)
				step = 1
				cooldown = 10
				w.mu.Lock()
				h2 := s.head.resp != nil && s.head.resp.ProtoMajor == 2
				if h2 && !w.triedOwn {
					// Streams on the one connection did not pay; try
					// connections of their own before giving up.
					w.triedOwn, w.dedicated, cooldown = true, true, 0
				}
				w.mu.Unlock()
				settling = true
				continue
			}
		default:
			best, bestN = rate, n
		}
		if cooldown > 0 {
			cooldown--
			continue
		}
		if waited || n >= w.maxNow() || delivered < minProbeBytes {
			continue
		}
		w.setTarget(n + step)
		settling, judging = true, true
	}
}

func (w *width) maxNow() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.max
}

// changed is called when the first response stops: a ranged connection
// takes its place.
func (w *width) changed() {
	w.s.mu.Lock()
	w.s.grow()
	w.s.mu.Unlock()
}
