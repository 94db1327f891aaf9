package livefault

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"
)

// shortWait is the limit the timeout cases set: long enough for loopback,
// short enough to keep the suite fast.
const shortWait = 100 * time.Millisecond

func timeoutCases() []Case {
	return []Case{
		{
			Name: "h1-response-header-timeout",
			Doc:  "HTTP/1.1: Transport.ResponseHeaderTimeout passes while the server holds the headers",
			Provoke: func(ctx context.Context, t testing.TB) Failure {
				return slowHeaders(ctx, t, h1, clientOptions{responseHeaderTimeout: shortWait})
			},
		},
		{
			Name: "h2-response-header-timeout",
			Doc:  "net/http HTTP/2: Transport.ResponseHeaderTimeout passes while the server holds the headers",
			Provoke: func(ctx context.Context, t testing.TB) Failure {
				return slowHeaders(ctx, t, h2, clientOptions{responseHeaderTimeout: shortWait})
			},
		},
		{
			Name: "h1-client-timeout-headers",
			Doc:  "HTTP/1.1: http.Client.Timeout passes while awaiting headers",
			Provoke: func(ctx context.Context, t testing.TB) Failure {
				return slowHeaders(ctx, t, h1, clientOptions{timeout: shortWait})
			},
		},
		{
			Name: "h2-client-timeout-body",
			Doc:  "net/http HTTP/2: http.Client.Timeout passes while the body is read",
			Provoke: func(ctx context.Context, t testing.TB) Failure {
				return stalledBody(ctx, t, h2, clientOptions{timeout: 5 * shortWait}, nil, 0)
			},
		},
		{
			Name: "h1-cancel-midbody",
			Doc:  "HTTP/1.1: the caller cancels its context mid-body",
			Provoke: func(ctx context.Context, t testing.TB) Failure {
				return cancelMidBody(ctx, t, h1)
			},
		},
		{
			Name: "h2-cancel-midbody",
			Doc:  "net/http HTTP/2: the caller cancels its context mid-body",
			Provoke: func(ctx context.Context, t testing.TB) Failure {
				return cancelMidBody(ctx, t, h2)
			},
		},
		{
			Name: "h1-deadline-midbody",
			Doc:  "HTTP/1.1: the caller's context deadline passes mid-body",
			Provoke: func(ctx context.Context, t testing.TB) Failure {
				return deadlineMidBody(ctx, t, h1)
			},
		},
		{
			Name: "h2x-deadline-midbody",
			Doc:  "x/net HTTP/2: the caller's context deadline passes mid-body",
			Provoke: func(ctx context.Context, t testing.TB) Failure {
				return deadlineMidBody(ctx, t, h2x)
			},
		},
		{
			Name:    "tcp-read-timeout",
			Doc:     "TCP: a read deadline passes on a connection whose peer sends nothing",
			Provoke: readTimeout,
		},
	}
}

// slowHeaders holds the response headers until the client gives up.
func slowHeaders(ctx context.Context, t testing.TB, c client, o clientOptions) Failure {
	s := newServer(t, c, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		stall(r.Context())
	}))
	return fetch(ctx, newClient(t, c, s, o), archiveURL(s), nil)
}

// stalledBody sends part of the body and then nothing until the client
// gives up. g, when not nil, is the gate the client opens mid-body. A
// positive deadline is set on the request's context once the server is up,
// so slow setup (under -race) does not spend it before the body starts.
func stalledBody(ctx context.Context, t testing.TB, c client, o clientOptions, g *gate, deadline time.Duration) Failure {
	body := Archive()
	if g == nil {
		g = newGate(gateAt)
	}
	s := newServer(t, c, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		serveArchive(w, r, body, cutAt, g)
		stall(r.Context())
	}))
	hc := newClient(t, c, s, o)
	if deadline > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, deadline)
		defer cancel()
	}
	return fetch(ctx, hc, archiveURL(s), g)
}

// cancelMidBody cancels the request's context once the client is
// mid-body, on the client's own goroutine, as a caller giving up would.
func cancelMidBody(ctx context.Context, t testing.TB, c client) Failure {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g := newGate(gateAt)
	g.onPass = cancel
	return stalledBody(ctx, t, c, clientOptions{}, g, 0)
}

// deadlineMidBody lets the caller's deadline pass while the body stalls.
func deadlineMidBody(ctx context.Context, t testing.TB, c client) Failure {
	return stalledBody(ctx, t, c, clientOptions{}, nil, 5*shortWait)
}

// readTimeout reads from a peer that never writes, with a read deadline.
func readTimeout(ctx context.Context, t testing.TB) Failure {
	ln := listen(t)
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("livefault: dial: %v", err)
	}
	defer conn.Close()
	if err := conn.SetReadDeadline(time.Now().Add(shortWait)); err != nil {
		t.Fatalf("livefault: %v", err)
	}
	_, err = conn.Read(make([]byte, 1))
	return Failure{Err: err, Phase: PhaseHeaders, TotalExpected: -1}
}

// listen opens a loopback listener that accepts connections and holds them
// open without a word until cleanup.
func listen(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("livefault: listen: %v", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
	})
	return ln
}
