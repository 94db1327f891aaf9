package livefault

import (
	"context"
	"sync"
	"time"
)

// waitLimit bounds every wait on a peer in this package.
const waitLimit = 5 * time.Second

// gate makes a fault happen mid-body: the server sends part of the body,
// then waits until the client has read at least `at` bytes before it
// strikes, so the failure always lands after the headers and inside the
// body, never in a socket buffer the client has not looked at yet.
type gate struct {
	at   int64
	once sync.Once
	ch   chan struct{}
	// onPass runs once, on the client's goroutine, when the gate opens
	// (a client-side fault: cancel the request).
	onPass func()
}

func newGate(at int64) *gate { return &gate{at: at, ch: make(chan struct{})} }

// pass opens the gate when n bytes have been read.
func (g *gate) pass(n int64) {
	if g == nil || n < g.at {
		return
	}
	g.once.Do(func() {
		close(g.ch)
		if g.onPass != nil {
			g.onPass()
		}
	})
}

// wait reports whether the gate opened before ctx was done or the wait
// limit passed.
func (g *gate) wait(ctx context.Context) bool {
	t := time.NewTimer(waitLimit)
	defer t.Stop()
	select {
	case <-g.ch:
		return true
	case <-ctx.Done():
	case <-t.C:
	}
	return false
}

// stall blocks until ctx is done or the wait limit passes: a peer that
// stops talking.
func stall(ctx context.Context) {
	t := time.NewTimer(waitLimit)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
