package livefault

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"
)

func dialCases() []Case {
	return []Case{
		{Name: "refused", Doc: "HTTP/1.1: connecting to a loopback port nobody listens on", Provoke: refused},
		{Name: "tls-untrusted", Doc: "HTTPS: the server's certificate is signed by an authority the client does not trust", Provoke: untrusted},
		{Name: "tls-version", Doc: "HTTPS: the server offers at most TLS 1.2, the client requires TLS 1.3", Provoke: tlsVersion},
		{Name: "dns-not-found", Doc: "HTTP/1.1: a loopback DNS server answers NXDOMAIN for the host", Provoke: dnsNotFound},
		{Name: "tcp-broken-pipe", Doc: "TCP: writing to a connection the peer has closed, until EPIPE", Provoke: brokenPipe},
	}
}

// refused dials a port that was just free.
func refused(ctx context.Context, t testing.TB) Failure {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("livefault: listen: %v", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return fetch(ctx, newClient(t, h1, nil, clientOptions{}), "http://"+addr+"/python.tar.gz", nil)
}

// untrusted fetches from an httptest TLS server with a client that only
// trusts the system roots.
func untrusted(ctx context.Context, t testing.TB) Failure {
	s := httptest.NewUnstartedServer(http.NotFoundHandler())
	s.Config.ErrorLog = quietLog()
	s.StartTLS()
	t.Cleanup(s.Close)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return fetch(ctx, &http.Client{Transport: tr}, archiveURL(s), nil)
}

// tlsVersion fails the handshake on a version the two sides do not share.
func tlsVersion(ctx context.Context, t testing.TB) Failure {
	s := httptest.NewUnstartedServer(http.NotFoundHandler())
	s.Config.ErrorLog = quietLog()
	s.TLS = &tls.Config{MaxVersion: tls.VersionTLS12}
	s.StartTLS()
	t.Cleanup(s.Close)
	tr := s.Client().Transport.(*http.Transport).Clone()
	tr.TLSClientConfig.MinVersion = tls.VersionTLS13
	t.Cleanup(tr.CloseIdleConnections)
	return fetch(ctx, &http.Client{Transport: tr}, archiveURL(s), nil)
}

// dnsNotFound resolves the host through a loopback DNS server that says
// the name does not exist.
func dnsNotFound(ctx context.Context, t testing.TB) Failure {
	server := startNXDOMAIN(t)
	r := &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "udp", server)
		},
	}
	tr := &http.Transport{DialContext: (&net.Dialer{Resolver: r}).DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	return fetch(ctx, &http.Client{Transport: tr}, "http://downloads.faultline.test./python.tar.gz", nil)
}

// brokenPipe writes to a connection whose peer closed it. The first write
// succeeds and draws a reset; a later one fails with EPIPE.
func brokenPipe(ctx context.Context, t testing.TB) Failure {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("livefault: listen: %v", err)
	}
	defer ln.Close()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("livefault: dial: %v", err)
	}
	defer conn.Close()
	peer, err := ln.Accept()
	if err != nil {
		t.Fatalf("livefault: accept: %v", err)
	}
	peer.Close()
	var last error
	chunk := make([]byte, 1024)
	for range 200 {
		if _, err := conn.Write(chunk); err != nil {
			last = err
			if errors.Is(err, syscall.EPIPE) {
				break
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	return Failure{Err: last, Phase: PhaseRequest, TotalExpected: -1}
}
