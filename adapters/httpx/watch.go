package httpx

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/faultline-go/faultline/chain"
)

// Stall detection: defaults and bounds.
const (
	// DefaultStallTimeout is the StallTimeout of a zero Client: the
	// longest a body that was flowing may go silent.
	DefaultStallTimeout = 5 * time.Second
	// MinStallTimeout is the floor under the adaptive stall limit. Go's
	// collector pauses for well under a millisecond and a loaded machine
	// deschedules a reader for tens of milliseconds; a lost packet costs
	// TCP a retransmission timeout of 200 ms or more, doubling with each
	// loss. Two seconds clears all of these, while a body that is really
	// gone is still left in seconds.
	MinStallTimeout = 2 * time.Second
	// StallScale is how many times the longest wait of a read that
	// returned data the stall limit allows: a body that has shown
	// one-second pauses is not stalled by a two-second one.
	StallScale = 4
	// DefaultLowSpeedTime is the window of Client.LowSpeedLimit when
	// Client.LowSpeedTime is zero.
	DefaultLowSpeedTime = 30 * time.Second
	// watchTick is how often a watch looks: stalls are caught within a
	// tick of their limit.
	watchTick = 100 * time.Millisecond
)

// watchConfig is what a watch enforces; a zero duration is off.
type watchConfig struct {
	idle         time.Duration // before the first body byte
	stallMax     time.Duration // the ceiling of the adaptive stall limit
	lowSpeed     int64         // bytes per second
	lowSpeedTime time.Duration
	clock        func() time.Duration // monotonic time; nil means time.Since(epoch)
	tick         time.Duration        // 0 means watchTick
	stallFloor   time.Duration        // 0 means MinStallTimeout
}

func (cfg watchConfig) on() bool { return cfg.idle > 0 || cfg.stallMax > 0 || cfg.lowSpeed > 0 }

var epoch = time.Now()

// A watch cancels an attempt that makes no progress. Readers bracket
// every wait on the network with enter and leave, which costs two clock
// reads and a few atomic stores; a timer looks every watchTick:
//
//   - until the first body byte, a wait longer than idle (the request,
//     the headers, the first byte) is an idle timeout;
//   - once the body flows, a wait longer than the stall limit is a stall.
//     The limit adapts to what the body has shown: StallScale times the
//     longest wait of a read that returned data, at least the floor
//     (MinStallTimeout) and at most stallMax. A slow but steady body
//     returns data every fraction of a second and is never stalled;
//   - with lowSpeed set, fewer than lowSpeed bytes a second over the last
//     lowSpeedTime of a flowing body is a stall too (curl's
//     --speed-limit and --speed-time).
//
// The consumer's own time between reads never counts: only waits do.
// The watch cancels with a cause (*IdleTimeoutError or *StallError) that
// the body reports in place of the cancellation.
type watch struct {
	cfg    watchConfig
	cancel func(error)
	t      *time.Timer

	since   atomic.Int64 // clock when the pending wait began; -1: none
	flowing atomic.Bool  // a body byte arrived
	longest atomic.Int64 // the longest wait of a data-bearing read after the first
	bytes   atomic.Int64 // body bytes this attempt

	mu      sync.Mutex // fire and stop
	stopped bool
	samples []speedSample // for the low-speed window; used by fire only
}

type speedSample struct {
	at    time.Duration
	bytes int64
}

func newWatch(cfg watchConfig, cancel func(error)) *watch {
	if cfg.clock == nil {
		cfg.clock = func() time.Duration { return time.Since(epoch) }
	}
	if cfg.tick <= 0 {
		cfg.tick = watchTick
	}
	if cfg.stallFloor <= 0 {
		cfg.stallFloor = MinStallTimeout
	}
	if cfg.lowSpeed > 0 && cfg.lowSpeedTime <= 0 {
		cfg.lowSpeedTime = DefaultLowSpeedTime
	}
	w := &watch{cfg: cfg, cancel: cancel}
	w.since.Store(int64(cfg.clock())) // the request itself is waited for
	w.mu.Lock()
	w.t = time.AfterFunc(cfg.tick, w.fire)
	w.mu.Unlock()
	return w
}

// enter and leave bracket a wait on the network; n is what it returned.
func (w *watch) enter() {
	if w != nil {
		w.since.Store(int64(w.cfg.clock()))
	}
}

func (w *watch) leave(n int) {
	if w == nil {
		return
	}
	waited := int64(w.cfg.clock()) - w.since.Swap(-1)
	if n <= 0 {
		return
	}
	w.bytes.Add(int64(n))
	// The wait for the first byte is the server's to take (the idle
	// timeout bounds it); the rhythm of the body starts after it.
	if w.flowing.Swap(true) && waited > w.longest.Load() {
		w.longest.Store(waited)
	}
}

// stallLimit is the silence that makes a flowing body stalled, or 0.
func (w *watch) stallLimit() time.Duration {
	if w.cfg.stallMax <= 0 {
		return 0
	}
	return min(max(StallScale*time.Duration(w.longest.Load()), w.cfg.stallFloor), w.cfg.stallMax)
}

func (w *watch) fire() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return
	}
	now := w.cfg.clock()
	if err := w.check(now); err != nil {
		w.stopped = true
		w.cancel(err)
		return
	}
	w.t.Reset(w.cfg.tick)
}

// check returns the cause to cancel with, or nil.
func (w *watch) check(now time.Duration) error {
	since := w.since.Load()
	waiting := since >= 0
	waited := now - time.Duration(since)
	flowing := w.flowing.Load()
	if waiting && flowing {
		if limit := w.stallLimit(); limit > 0 && waited >= limit && (w.cfg.idle <= 0 || limit <= w.cfg.idle) {
			return &StallError{Silent: waited, Limit: limit}
		}
	}
	if waiting && w.cfg.idle > 0 && waited >= w.cfg.idle {
		return &IdleTimeoutError{After: w.cfg.idle}
	}
	if w.cfg.lowSpeed > 0 && flowing {
		n := w.bytes.Load()
		w.samples = append(w.samples, speedSample{now, n})
		// Keep the newest sample at least a window old as the base.
		i := 0
		for i < len(w.samples)-1 && now-w.samples[i+1].at >= w.cfg.lowSpeedTime {
			i++
		}
		w.samples = append(w.samples[:0], w.samples[i:]...)
		base := w.samples[0]
		if span := now - base.at; span >= w.cfg.lowSpeedTime {
			rate := float64(n-base.bytes) / span.Seconds()
			if rate < float64(w.cfg.lowSpeed) {
				return &StallError{Slow: true, Rate: rate, MinRate: w.cfg.lowSpeed, Window: span}
			}
		}
	}
	return nil
}

func (w *watch) stop() {
	if w == nil {
		return
	}
	w.mu.Lock()
	w.stopped = true
	w.t.Stop()
	w.mu.Unlock()
}

// StallError reports a body that stopped flowing: silent for longer than
// the adaptive stall limit (see Client.StallTimeout), or, with Slow,
// slower than Client.LowSpeedLimit over Client.LowSpeedTime. Its kind is
// "stall", which policies can tell from a reset or a timeout before the
// response began; the default policy resumes it on a new connection.
type StallError struct {
	// Silent is how long the body had sent nothing; Limit is the limit
	// that passed.
	Silent, Limit time.Duration
	// Slow reports a body too slow rather than silent: Rate bytes a
	// second over Window, under MinRate.
	Slow    bool
	Rate    float64
	MinRate int64
	Window  time.Duration
	Err     error // what the interrupted read returned, if it says more
}

func (e *StallError) Error() string {
	var msg string
	if e.Slow {
		msg = fmt.Sprintf("httpx: the body stalled: %.0f bytes/s over %v, under the limit of %d bytes/s",
			e.Rate, e.Window.Round(time.Millisecond), e.MinRate)
	} else {
		msg = fmt.Sprintf("httpx: the body stalled: no data for %v (limit %v)",
			e.Silent.Round(time.Millisecond), e.Limit.Round(time.Millisecond))
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *StallError) Unwrap() error { return e.Err }

// DescribeFault implements chain.Describer.
func (e *StallError) DescribeFault(a *chain.Attrs) {
	a.Kind = "stall"
	a.Timeout = true
}

// Timeout reports true, as net.Error timeouts do.
func (e *StallError) Timeout() bool { return true }
