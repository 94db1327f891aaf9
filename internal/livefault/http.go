package livefault

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

// client names one of the HTTP clients a case runs with.
type client int

const (
	h1    client = iota // net/http, HTTP/1.1
	h2                  // net/http's bundled HTTP/2, unencrypted with prior knowledge
	h2x                 // golang.org/x/net/http2.Transport, unencrypted
	h2tls               // net/http's bundled HTTP/2 over TLS, negotiated by ALPN
)

// clientOptions are the limits a case sets on its client.
type clientOptions struct {
	responseHeaderTimeout time.Duration
	timeout               time.Duration // http.Client.Timeout
	pingTimeout           time.Duration // HTTP/2 health check: idle time and ping timeout
}

// connKey is the request-context key of the server-side net.Conn.
type connKey struct{}

// newServer starts an httptest server speaking HTTP/1.1 and unencrypted
// HTTP/2 (or, for h2tls, HTTP/1.1 and HTTP/2 over TLS). Handlers find their
// connection in the request context under connKey.
func newServer(t testing.TB, c client, h http.Handler) *httptest.Server {
	t.Helper()
	s := httptest.NewUnstartedServer(h)
	s.Config.ConnContext = func(ctx context.Context, conn net.Conn) context.Context {
		return context.WithValue(ctx, connKey{}, conn)
	}
	s.Config.ErrorLog = quietLog()
	if c == h2tls {
		s.EnableHTTP2 = true
		s.StartTLS()
	} else {
		s.Config.Protocols = new(http.Protocols)
		s.Config.Protocols.SetHTTP1(true)
		s.Config.Protocols.SetUnencryptedHTTP2(true)
		s.Start()
	}
	t.Cleanup(s.Close)
	return s
}

// newClient returns a client of the given kind for s (nil s: no TLS
// trust), closing its idle connections at cleanup.
func newClient(t testing.TB, c client, s *httptest.Server, o clientOptions) *http.Client {
	t.Helper()
	var rt http.RoundTripper
	switch c {
	case h1, h2:
		tr := &http.Transport{
			ResponseHeaderTimeout: o.responseHeaderTimeout,
			Protocols:             new(http.Protocols),
			HTTP2:                 &http.HTTP2Config{SendPingTimeout: o.pingTimeout, PingTimeout: o.pingTimeout},
		}
		if c == h1 {
			tr.Protocols.SetHTTP1(true)
		} else {
			tr.Protocols.SetUnencryptedHTTP2(true)
		}
		t.Cleanup(tr.CloseIdleConnections)
		rt = tr
	case h2tls:
		tr := s.Client().Transport.(*http.Transport).Clone()
		tr.ResponseHeaderTimeout = o.responseHeaderTimeout
		t.Cleanup(tr.CloseIdleConnections)
		rt = tr
	case h2x:
		rt = newXNetTransport(t, o)
	}
	return &http.Client{Transport: rt, Timeout: o.timeout}
}

// archiveURL is where the servers of this package serve the archive.
func archiveURL(s *httptest.Server) string { return s.URL + "/python.tar.gz" }

// fetch downloads url and unpacks the body as it arrives, the way the
// failure in uv issue 14171 happened, and returns the failure with the
// operation's state.
func fetch(ctx context.Context, hc *http.Client, url string, g *gate) Failure {
	f := Failure{TotalExpected: -1}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		f.Err = err
		return f
	}
	resp, err := hc.Do(req)
	if err != nil {
		f.Err, f.Phase = err, requestPhase(err)
		return f
	}
	defer resp.Body.Close()
	f.Protocol, f.TotalExpected = resp.Proto, resp.ContentLength
	if resp.StatusCode >= 400 {
		f.Err, f.Phase = newStatusError(resp), PhaseHeaders
		return f
	}
	body := &countingReader{r: resp.Body, gate: g}
	f.Err = Unpack(body)
	f.BytesReceived = body.n
	f.Phase = PhaseUnpack
	if body.err != nil {
		f.Phase = PhaseBody
	}
	return f
}

// requestPhase tells a failure to connect from one waiting for headers.
func requestPhase(err error) string {
	var op *net.OpError
	var cert *tls.CertificateVerificationError
	var alert tls.AlertError
	var rh tls.RecordHeaderError
	switch {
	case errors.As(err, &op) && op.Op == "dial", errors.As(err, &cert),
		errors.As(err, &alert), errors.As(err, &rh):
		return PhaseConnect
	}
	return PhaseHeaders
}

// serveArchive writes the first cut bytes of body with a Content-Length
// for all of it, flushes, and waits for the client to read past the gate.
// It reports whether the gate opened.
func serveArchive(w http.ResponseWriter, r *http.Request, body []byte, cut int, g *gate) bool {
	w.Header().Set("Content-Type", "application/gzip")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	if _, err := w.Write(body[:cut]); err != nil {
		return false
	}
	http.NewResponseController(w).Flush()
	return g.wait(r.Context())
}

// resetConn aborts the handler's connection with a TCP RST: SO_LINGER 0
// makes close(2) discard unsent data and send a reset instead of a FIN.
func resetConn(r *http.Request) {
	conn, _ := r.Context().Value(connKey{}).(net.Conn)
	if tc, ok := conn.(*tls.Conn); ok {
		conn = tc.NetConn()
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	if conn != nil {
		_ = conn.Close()
	}
}
