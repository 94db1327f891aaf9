package livefault

import (
	"context"
	"net"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

func h2Cases() []Case {
	return []Case{
		{
			Name: "h2-rst-refused-midbody",
			Doc:  "net/http HTTP/2: RST_STREAM REFUSED_STREAM from a raw framer server mid-body",
			Provoke: func(ctx context.Context, t testing.TB) Failure {
				return rawMidBody(ctx, t, h2, rstStream(http2.ErrCodeRefusedStream))
			},
		},
		{
			Name: "h2x-rst-internal-midbody",
			Doc:  "x/net HTTP/2: RST_STREAM INTERNAL_ERROR from a raw framer server mid-body",
			Provoke: func(ctx context.Context, t testing.TB) Failure {
				return rawMidBody(ctx, t, h2x, rstStream(http2.ErrCodeInternal))
			},
		},
		{
			Name: "h2-goaway-midbody",
			Doc:  "net/http HTTP/2: GOAWAY NO_ERROR (last stream 1) mid-body, then the server closes",
			Provoke: func(ctx context.Context, t testing.TB) Failure {
				return rawMidBody(ctx, t, h2, goAway(http2.ErrCodeNo, "shutting down", false))
			},
		},
		{
			Name: "h2x-goaway-reset-midbody",
			Doc:  "x/net HTTP/2: GOAWAY INTERNAL_ERROR mid-body, then a TCP reset the client never reports",
			Provoke: func(ctx context.Context, t testing.TB) Failure {
				return rawMidBody(ctx, t, h2x, goAway(http2.ErrCodeInternal, "", true))
			},
		},
		{
			Name:    "h2-goaway-unprocessed",
			Doc:     "net/http HTTP/2: GOAWAY INTERNAL_ERROR with last stream 0 before any response: the request was not processed",
			Provoke: goAwayUnprocessed,
		},
		{
			Name: "h2-connection-lost",
			Doc:  "net/http HTTP/2: the server stops answering mid-body; the PING health check fails",
			Provoke: func(ctx context.Context, t testing.TB) Failure {
				return rawMidBodyWith(ctx, t, h2, clientOptions{pingTimeout: 250 * time.Millisecond}, silence)
			},
		},
		{
			Name: "h2x-connection-lost",
			Doc:  "x/net HTTP/2: the server stops answering mid-body; the PING health check fails",
			Provoke: func(ctx context.Context, t testing.TB) Failure {
				return rawMidBodyWith(ctx, t, h2x, clientOptions{pingTimeout: 250 * time.Millisecond}, silence)
			},
		},
		{
			Name: "h2x-protocol-error",
			Doc:  "x/net HTTP/2: a DATA frame on stream 0 mid-body, a connection error",
			Provoke: func(ctx context.Context, t testing.TB) Failure {
				return rawMidBody(ctx, t, h2x, dataOnStreamZero)
			},
		},
		{
			Name: "h2-close-midbody",
			Doc:  "net/http HTTP/2: the server closes the TCP connection (FIN) mid-body without GOAWAY",
			Provoke: func(ctx context.Context, t testing.TB) Failure {
				return rawMidBody(ctx, t, h2, closeWrite)
			},
		},
		{
			Name:    "h2-short-body",
			Doc:     "net/http HTTP/2: END_STREAM after half the announced content-length",
			Provoke: shortBodyH2,
		},
	}
}

// strike is what a raw server does once the client is mid-body.
type strike func(s *rawH2, conn net.Conn, fr *http2.Framer, id uint32)

// rawMidBody serves the archive from a raw HTTP/2 server that strikes
// mid-body, and fetches it with client c.
func rawMidBody(ctx context.Context, t testing.TB, c client, do strike) Failure {
	return rawMidBodyWith(ctx, t, c, clientOptions{}, do)
}

func rawMidBodyWith(ctx context.Context, t testing.TB, c client, o clientOptions, do strike) Failure {
	body := Archive()
	g := newGate(gateAt)
	s := startRawH2(t, func(s *rawH2, conn net.Conn, fr *http2.Framer, id uint32) {
		if s.startBody(fr, id, body, g) {
			do(s, conn, fr, id)
		}
	})
	return fetch(ctx, newClient(t, c, nil, o), s.url(), g)
}

// rstStream resets the stream and keeps the connection open until the
// client is done with it.
func rstStream(code http2.ErrCode) strike {
	return func(_ *rawH2, conn net.Conn, fr *http2.Framer, id uint32) {
		if fr.WriteRSTStream(id, code) == nil {
			drain(conn)
		}
	}
}

// goAway sends GOAWAY naming the current stream as processed, then closes
// the connection — with a TCP reset when reset is set.
func goAway(code http2.ErrCode, debug string, reset bool) strike {
	return func(_ *rawH2, conn net.Conn, fr *http2.Framer, id uint32) {
		if fr.WriteGoAway(id, code, []byte(debug)) != nil {
			return
		}
		if tcp, ok := conn.(*net.TCPConn); ok && reset {
			_ = tcp.SetLinger(0)
		}
		conn.Close()
	}
}

// silence stops answering, PINGs included, until the client gives up.
func silence(s *rawH2, _ net.Conn, _ *http2.Framer, _ uint32) { stall(s.ctx) }

// closeWrite sends a FIN and reads until the client closes. Closing the
// socket outright would send a reset instead, because the client's
// WINDOW_UPDATE frames sit unread in the receive buffer.
func closeWrite(_ *rawH2, conn net.Conn, _ *http2.Framer, _ uint32) {
	if tcp, ok := conn.(*net.TCPConn); ok && tcp.CloseWrite() == nil {
		drain(conn)
	}
}

// dataOnStreamZero breaks RFC 9113 §6.1: DATA frames belong to a stream.
func dataOnStreamZero(_ *rawH2, conn net.Conn, fr *http2.Framer, _ uint32) {
	if fr.WriteData(0, false, []byte("junk")) == nil {
		drain(conn)
	}
}

// goAwayUnprocessed answers the first request with GOAWAY whose last
// stream ID is 0: RFC 9113 §6.8 says stream 1 was never processed.
func goAwayUnprocessed(ctx context.Context, t testing.TB) Failure {
	s := startRawH2(t, func(_ *rawH2, conn net.Conn, fr *http2.Framer, _ uint32) {
		if fr.WriteGoAway(0, http2.ErrCodeInternal, []byte("overloaded")) == nil {
			drain(conn)
		}
	})
	return fetch(ctx, newClient(t, h2, nil, clientOptions{}), s.url(), nil)
}

// shortBodyH2 ends the stream after half of the announced length.
func shortBodyH2(ctx context.Context, t testing.TB) Failure {
	body := Archive()
	s := startRawH2(t, func(_ *rawH2, conn net.Conn, fr *http2.Framer, id uint32) {
		if writeHeaders(fr, id, len(body)) == nil && writeBody(fr, id, body[:len(body)/2], true) == nil {
			drain(conn)
		}
	})
	return fetch(ctx, newClient(t, h2, nil, clientOptions{}), s.url(), nil)
}
