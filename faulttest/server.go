package faulttest

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
)

// Config configures a Server.
type Config struct {
	// Content is the representation served at every path. When nil, File
	// is read at Start.
	Content []byte
	File    string
	// ETag is the strong entity tag, quoted; "" derives one from the
	// content's SHA-256.
	ETag string
	// LastModified defaults to a fixed time in the past, so that it is a
	// strong validator under RFC 9110 §8.8.2.2.
	LastModified time.Time
	// WeakETag makes every response behave as under a WeakETag fault.
	WeakETag bool
	// TLS serves HTTPS with a fresh self-signed certificate for
	// 127.0.0.1, choosing HTTP/2 or HTTP/1.1 by ALPN. Without it the
	// server speaks HTTP/1.1 and HTTP/2 with prior knowledge (h2c).
	TLS bool
	// Script[i] is the fault for the (i+1)th request.
	Script []Fault
	// Choose, when set, picks each request's fault instead of Script,
	// from the request as it arrived (its N, Range and If-Range are set),
	// so that a test can fault one range among several in flight at once,
	// whatever order they arrive in. It is called with the server's lock
	// held: it must not call the server's methods.
	Choose func(Request) Fault
	// StallLimit bounds a Stall fault; default 10s.
	StallLimit time.Duration
	// MaxRange, when positive, caps every 206 at MaxRange bytes, as
	// servers and CDNs that limit range sizes do (RFC 9110 §14.2 allows
	// a server to send less than asked): "Range: bytes=N-" gets bytes N
	// to N+MaxRange-1, and a Content-Range that says so.
	MaxRange int64
	// Rate, when positive, paces every response body to at most Rate
	// bytes a second, each response on its own, as servers and CDNs that
	// limit each request do (nginx's limit_rate): two requests at once get
	// twice the bytes.
	Rate int64
}

// Proto names the protocol a client speaks to the server.
type Proto string

// The protocols. HTTP2 is h2 over TLS on a TLS server and h2c with prior
// knowledge on a plain one.
const (
	HTTP1 Proto = "HTTP/1.1"
	HTTP2 Proto = "HTTP/2.0"
)

// Request records one request the server received and what it did with it.
type Request struct {
	N       int    // 1 for the first request
	Proto   string // "HTTP/1.1" or "HTTP/2.0"
	Method  string
	Target  string
	Range   string
	IfRange string
	// Header is the request's header (on HTTP/2, its regular fields).
	Header http.Header
	// Status is the status sent, or 0 when the fault struck before the
	// response (Fault.BeforeResponse).
	Status int
	Fault  Fault
	// BodyBytes counts the response body bytes written to the connection.
	BodyBytes int64
}

// Server is a running fault server. Its methods are safe for concurrent
// use.
type Server struct {
	// URL is the base URL, "http://127.0.0.1:port" or "https://…", with
	// path "/file".
	URL string

	cfg   Config
	ln    net.Listener
	tlsSv *tls.Config
	pool  *x509.CertPool
	cert  []byte // DER of the TLS certificate
	done  chan struct{}
	wg    sync.WaitGroup

	bodyBytes atomic.Int64
	wireBytes atomic.Int64
	accepted  atomic.Int64

	mu         sync.Mutex
	rep        representation
	reqs       []*record
	conns      map[net.Conn]struct{}
	transports []*http.Transport
	closed     bool
}

// representation is one version of the served resource.
type representation struct {
	body    []byte
	etag    string
	modTime time.Time
}

type record struct {
	Request
	bodyBytes atomic.Int64
}

// Start starts a server on 127.0.0.1.
func Start(cfg Config) (*Server, error) {
	content := cfg.Content
	if content == nil && cfg.File != "" {
		b, err := os.ReadFile(cfg.File)
		if err != nil {
			return nil, fmt.Errorf("faulttest: %w", err)
		}
		content = b
	}
	if cfg.StallLimit <= 0 {
		cfg.StallLimit = 10 * time.Second
	}
	rep := representation{body: content, etag: cfg.ETag, modTime: cfg.LastModified}
	if rep.etag == "" {
		rep.etag = etagOf(content)
	}
	if rep.modTime.IsZero() {
		rep.modTime = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	}
	s := &Server{cfg: cfg, rep: rep, done: make(chan struct{}), conns: make(map[net.Conn]struct{})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faulttest: %w", err)
	}
	s.ln = ln
	scheme := "http"
	if cfg.TLS {
		cert, pool, err := newCert()
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("faulttest: %w", err)
		}
		s.pool, s.cert = pool, cert.Certificate[0]
		s.tlsSv = &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}}
		scheme = "https"
	}
	s.URL = scheme + "://" + ln.Addr().String() + "/file"
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

func etagOf(b []byte) string {
	sum := sha256.Sum256(b)
	return `"` + hex.EncodeToString(sum[:8]) + `"`
}

// Close stops the listener, drops every connection and waits for every
// goroutine the server started. It also closes the idle connections of the
// clients made by Client.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.done)
	err := s.ln.Close()
	for c := range s.conns {
		c.Close()
	}
	trs := s.transports
	s.mu.Unlock()
	s.wg.Wait()
	for _, t := range trs {
		t.CloseIdleConnections()
	}
	return err
}

// Content returns the bytes currently served (they change after a
// ChangeContent fault).
func (s *Server) Content() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rep.body
}

// ETag returns the current strong entity tag.
func (s *Server) ETag() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rep.etag
}

// Requests returns a snapshot of the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.reqs))
	for i, r := range s.reqs {
		out[i] = r.Request
		out[i].BodyBytes = r.bodyBytes.Load()
	}
	return out
}

// RequestCount returns the number of requests received so far.
func (s *Server) RequestCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.reqs)
}

// BodyBytes returns the response body bytes written so far, over all
// requests.
func (s *Server) BodyBytes() int64 { return s.bodyBytes.Load() }

// WireBytes returns every byte written to connections so far: bodies,
// headers, frames, TLS records.
func (s *Server) WireBytes() int64 { return s.wireBytes.Load() }

// CertPool returns the pool holding the TLS server's certificate, or nil
// for a plain server.
func (s *Server) CertPool() *x509.CertPool { return s.pool }

// CertPEM returns the TLS server's self-signed certificate as PEM, for
// clients configured from a file (curl --cacert, retrycheck --ca), or nil
// for a plain server.
func (s *Server) CertPEM() []byte {
	if s.cert == nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.cert})
}

// TLSConfig returns a client TLS configuration trusting the server, or nil
// for a plain server.
func (s *Server) TLSConfig() *tls.Config {
	if s.pool == nil {
		return nil
	}
	return &tls.Config{RootCAs: s.pool}
}

// Transport returns a new transport that speaks p to the server, with
// net/http's own HTTP/2 (HTTP2 is h2c with prior knowledge on a plain
// server). Close closes its idle connections.
func (s *Server) Transport(p Proto) *http.Transport {
	t := &http.Transport{
		DisableCompression: true,
		TLSClientConfig:    s.TLSConfig(),
		Protocols:          new(http.Protocols),
	}
	switch {
	case p == HTTP1:
		t.Protocols.SetHTTP1(true)
	case s.cfg.TLS:
		t.Protocols.SetHTTP2(true)
	default:
		t.Protocols.SetUnencryptedHTTP2(true)
	}
	s.mu.Lock()
	s.transports = append(s.transports, t)
	s.mu.Unlock()
	return t
}

// Connections returns how many connections the server has accepted.
func (s *Server) Connections() int64 { return s.accepted.Load() }

// Client returns a client that speaks p to the server.
func (s *Server) Client(p Proto) *http.Client {
	return &http.Client{Transport: s.Transport(p)}
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		if !s.track(c, true) {
			c.Close()
			return
		}
		s.accepted.Add(1)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer s.track(c, false)
			defer c.Close()
			s.serveConn(c)
		}()
	}
}

func (s *Server) track(c net.Conn, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if add {
		if s.closed {
			return false
		}
		s.conns[c] = struct{}{}
	} else {
		delete(s.conns, c)
	}
	return true
}

// serveConn picks the protocol: ALPN on TLS, the client preface on a plain
// connection.
func (s *Server) serveConn(raw net.Conn) {
	var c net.Conn = countingConn{raw, &s.wireBytes}
	if s.tlsSv != nil {
		tc := tls.Server(c, s.tlsSv)
		tc.SetDeadline(time.Now().Add(10 * time.Second))
		if err := tc.Handshake(); err != nil {
			return
		}
		tc.SetDeadline(time.Time{})
		c = tc
		if tc.ConnectionState().NegotiatedProtocol == "h2" {
			br := bufio.NewReader(c)
			if !readPreface(br) {
				return
			}
			s.serveH2(raw, c, br)
			return
		}
		s.serveH1(raw, c, bufio.NewReader(c))
		return
	}
	br := bufio.NewReader(c)
	if p, err := br.Peek(len(http2.ClientPreface)); err == nil && string(p) == http2.ClientPreface {
		br.Discard(len(p))
		s.serveH2(raw, c, br)
		return
	}
	s.serveH1(raw, c, br)
}

func readPreface(br *bufio.Reader) bool {
	p := make([]byte, len(http2.ClientPreface))
	if _, err := io.ReadFull(br, p); err != nil {
		return false
	}
	return bytes.Equal(p, []byte(http2.ClientPreface))
}

// countingConn counts the bytes written to a connection.
type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c countingConn) Write(p []byte) (int, error) {
	c.n.Add(int64(len(p))) // before, as with body bytes
	n, err := c.Conn.Write(p)
	c.n.Add(int64(n - len(p)))
	return n, err
}

// reset closes raw with SO_LINGER 0, so the peer receives an RST. It first
// waits, briefly, for the bytes already written to leave the send queue:
// a reset discards unsent data, and the fault must strike at the byte
// offset the script names.
func reset(raw net.Conn) {
	tc, ok := raw.(*net.TCPConn)
	if !ok {
		raw.Close()
		return
	}
	waitSent(tc, time.Second)
	tc.SetLinger(0)
	tc.Close()
}
