package faulttest

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

// chunk is the size of the body writes.
const chunk = 32 << 10

// serveH1 serves HTTP/1.1 requests on c until the connection closes or a
// fault ends it. raw is the TCP connection under c.
func (s *Server) serveH1(raw, c net.Conn, br *bufio.Reader) {
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		io.Copy(io.Discard, io.LimitReader(req.Body, 1<<20))
		req.Body.Close()
		r := s.respond("HTTP/1.1", req.Method, req.RequestURI, req.Header)
		if !s.writeH1(raw, c, br, r) || req.Close {
			return
		}
	}
}

// writeH1 writes r and reports whether the connection may be reused.
func (s *Server) writeH1(raw, c net.Conn, br *bufio.Reader, r *response) bool {
	if r.fault.BeforeResponse {
		s.strikeH1(raw, c, br, r.fault)
		return false
	}
	var hb bytes.Buffer
	hb.WriteString("HTTP/1.1 " + strconv.Itoa(r.status) + " " + http.StatusText(r.status) + "\r\n")
	r.header.Write(&hb)
	hb.WriteString("\r\n")
	if _, err := c.Write(hb.Bytes()); err != nil {
		return false
	}
	body, f := r.body, r.fault
	limit := int64(len(body))
	if f.Kind != None {
		limit = min(max(f.At, 0), limit)
	}
	if !s.writeBody(r, body[:limit], c.Write) {
		return false
	}
	if f.Kind == None {
		return true
	}
	s.strikeH1(raw, c, br, f)
	return false
}

// strikeH1 carries out a body fault on an HTTP/1.1 connection.
func (s *Server) strikeH1(raw, c net.Conn, br *bufio.Reader, f Fault) {
	switch f.Kind {
	case Reset:
		reset(raw)
	case Stall:
		gone := closedByPeer(br)
		s.stall(f, gone)
		c.Close()
		<-gone
	default:
		// ResetStream, GoAway, Truncate: HTTP/1.1 can only hang up.
		c.Close()
	}
}

// writeBody writes body in chunks through write, counting bytes.
func (s *Server) writeBody(r *response, body []byte, write func([]byte) (int, error)) bool {
	for len(body) > 0 {
		// Count before writing: a client that has read the bytes must
		// never see a count lower than what it got.
		m := min(chunk, len(body))
		r.pace(int64(m))
		r.count(s, int64(m))
		n, err := write(body[:m])
		r.count(s, int64(n-m))
		if err != nil {
			return false
		}
		body = body[n:]
	}
	return true
}

// closedByPeer returns a channel closed when the peer closes the
// connection behind br (or sends anything: an HTTP/1.1 client waiting for
// a response has nothing to say).
func closedByPeer(br *bufio.Reader) <-chan struct{} {
	ch := make(chan struct{})
	go func() {
		defer close(ch)
		br.ReadByte()
	}()
	return ch
}

// stall waits until gone is closed, the server closes, or the fault's
// stall limit passes.
func (s *Server) stall(f Fault, gone <-chan struct{}) {
	d := f.Stall
	if d <= 0 {
		d = s.cfg.StallLimit
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-gone:
	case <-s.done:
	case <-t.C:
	}
}

func (r *response) count(s *Server, n int64) {
	r.rec.bodyBytes.Add(n)
	s.bodyBytes.Add(n)
}
