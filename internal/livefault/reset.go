package livefault

import (
	"context"
	"net/http"
	"testing"
)

// Where mid-body faults strike: the server sends cutAt bytes of the
// archive, and waits until the client has read gateAt of them.
const (
	cutAt  = 48 << 10
	gateAt = 16 << 10
)

func resetCases() []Case {
	return []Case{
		{
			Name:    "h1-reset-midbody",
			Doc:     "HTTP/1.1: TCP reset (SO_LINGER 0) while the body is read through gzip and tar",
			Provoke: func(ctx context.Context, t testing.TB) Failure { return resetMidBody(ctx, t, h1) },
		},
		{
			Name:    "h2-reset-midbody",
			Doc:     "net/http's bundled HTTP/2 (h2c): TCP reset while the body is read through gzip and tar (about one run in four the client sees unexpected EOF instead: its WINDOW_UPDATE write consumes the reset)",
			Provoke: func(ctx context.Context, t testing.TB) Failure { return resetMidBody(ctx, t, h2) },
		},
		{
			Name:    "h2x-reset-midbody",
			Doc:     "x/net http2.Transport (h2c): TCP reset while the body is read through gzip and tar",
			Provoke: func(ctx context.Context, t testing.TB) Failure { return resetMidBody(ctx, t, h2x) },
		},
		{
			Name:    "h2tls-reset-midbody",
			Doc:     "net/http's HTTP/2 over TLS: TCP reset while the body is read through gzip and tar",
			Provoke: func(ctx context.Context, t testing.TB) Failure { return resetMidBody(ctx, t, h2tls) },
		},
		{
			Name:    "h1-abort-handler",
			Doc:     "HTTP/1.1: the handler panics with http.ErrAbortHandler mid-body; the server closes the connection",
			Provoke: func(ctx context.Context, t testing.TB) Failure { return abortMidBody(ctx, t, h1) },
		},
		{
			Name:    "h2-abort-handler",
			Doc:     "net/http HTTP/2: the handler aborts mid-body; the server sends RST_STREAM INTERNAL_ERROR",
			Provoke: func(ctx context.Context, t testing.TB) Failure { return abortMidBody(ctx, t, h2) },
		},
		{
			Name:    "h2x-abort-handler",
			Doc:     "x/net HTTP/2: the handler aborts mid-body; the server sends RST_STREAM INTERNAL_ERROR",
			Provoke: func(ctx context.Context, t testing.TB) Failure { return abortMidBody(ctx, t, h2x) },
		},
		{
			Name:    "h1-short-body",
			Doc:     "HTTP/1.1: the body ends before its Content-Length and the server closes",
			Provoke: shortBodyH1,
		},
	}
}

// resetMidBody serves the archive and resets the connection mid-body.
func resetMidBody(ctx context.Context, t testing.TB, c client) Failure {
	body := Archive()
	g := newGate(gateAt)
	s := newServer(t, c, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if serveArchive(w, r, body, cutAt, g) {
			resetConn(r)
		}
	}))
	return fetch(ctx, newClient(t, c, s, clientOptions{}), archiveURL(s), g)
}

// abortMidBody serves part of the archive and aborts the handler.
func abortMidBody(ctx context.Context, t testing.TB, c client) Failure {
	body := Archive()
	g := newGate(gateAt)
	s := newServer(t, c, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if serveArchive(w, r, body, cutAt, g) {
			panic(http.ErrAbortHandler)
		}
	}))
	return fetch(ctx, newClient(t, c, s, clientOptions{}), archiveURL(s), g)
}

// shortBodyH1 announces the whole archive and returns after part of it.
func shortBodyH1(ctx context.Context, t testing.TB) Failure {
	body := Archive()
	g := newGate(gateAt)
	s := newServer(t, h1, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		serveArchive(w, r, body, cutAt, g)
	}))
	return fetch(ctx, newClient(t, h1, s, clientOptions{}), archiveURL(s), g)
}
