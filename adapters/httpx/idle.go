package httpx

import (
	"math"
	"sync/atomic"
	"time"
)

// idleWatch cancels an attempt that makes no progress for a while. It
// costs two atomic stores per read instead of a timer reset: the timer
// fires every d and cancels only if a read (or the request) has been
// pending since the previous firing without completing, so a stall is
// caught after between d and 2d, and time the consumer spends between
// reads never counts.
type idleWatch struct {
	d       time.Duration
	cancel  func(error)
	t       *time.Timer
	reads   atomic.Uint64
	waiting atomic.Bool
	stopped atomic.Bool
	last    uint64 // reads at the previous firing; used by fire only
	pending bool   // waiting at the previous firing; used by fire only
}

func newIdleWatch(d time.Duration, cancel func(error)) *idleWatch {
	w := &idleWatch{d: d, cancel: cancel}
	w.waiting.Store(true) // the request itself is waited for
	// Arm the timer only once w.t is set: fire reads it, and a short d
	// can fire before AfterFunc returns.
	w.t = time.AfterFunc(time.Duration(math.MaxInt64), w.fire)
	w.t.Reset(d)
	return w
}

func (w *idleWatch) fire() {
	if w.stopped.Load() {
		return
	}
	n, waiting := w.reads.Load(), w.waiting.Load()
	if waiting && w.pending && n == w.last {
		w.cancel(errIdle)
		return
	}
	w.last, w.pending = n, waiting
	w.t.Reset(w.d)
}

// enter and leave bracket a wait on the network.
func (w *idleWatch) enter() {
	if w != nil {
		w.waiting.Store(true)
	}
}

func (w *idleWatch) leave() {
	if w != nil {
		w.reads.Add(1)
		w.waiting.Store(false)
	}
}

func (w *idleWatch) stop() {
	if w != nil {
		w.stopped.Store(true)
		w.t.Stop()
	}
}
