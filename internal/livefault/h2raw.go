package livefault

import (
	"bytes"
	"context"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// rawH2 is an HTTP/2 server written with http2.Framer, frame by frame, so
// a case controls exactly when RST_STREAM and GOAWAY are sent and what
// happens to the connection afterwards. It speaks cleartext HTTP/2 with
// prior knowledge.
type rawH2 struct {
	ln net.Listener
	// ctx is cancelled at cleanup: scripts that stall return.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// h2Script plays one response on stream id of an accepted connection.
type h2Script func(s *rawH2, conn net.Conn, fr *http2.Framer, id uint32)

// startRawH2 serves script on every connection until cleanup.
func startRawH2(t testing.TB, script h2Script) *rawH2 {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("livefault: listen: %v", err)
	}
	s := &rawH2{ln: ln}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.wg.Add(1)
	go s.accept(script)
	t.Cleanup(func() {
		s.cancel()
		ln.Close()
		s.wg.Wait()
	})
	return s
}

func (s *rawH2) url() string { return "http://" + s.ln.Addr().String() + "/python.tar.gz" }

func (s *rawH2) accept(script h2Script) {
	defer s.wg.Done()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer conn.Close()
			// Close the connection at cleanup even if the script is
			// blocked writing to a client that stopped reading.
			stop := context.AfterFunc(s.ctx, func() { conn.Close() })
			defer stop()
			_ = conn.SetDeadline(time.Now().Add(waitLimit))
			fr, id, ok := handshake(conn)
			if ok {
				script(s, conn, fr, id)
			}
		}()
	}
}

// handshake reads the client preface, exchanges SETTINGS and returns the
// stream ID of the first request.
func handshake(conn net.Conn) (*http2.Framer, uint32, bool) {
	preface := make([]byte, len(http2.ClientPreface))
	if _, err := io.ReadFull(conn, preface); err != nil || string(preface) != http2.ClientPreface {
		return nil, 0, false
	}
	fr := http2.NewFramer(conn, conn)
	fr.AllowIllegalWrites = true // the protocol-error case sends DATA on stream 0
	if fr.WriteSettings() != nil {
		return nil, 0, false
	}
	for range 16 { // a request arrives within a few frames
		f, err := fr.ReadFrame()
		if err != nil {
			return nil, 0, false
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() && fr.WriteSettingsAck() != nil {
				return nil, 0, false
			}
		case *http2.HeadersFrame:
			return fr, f.StreamID, true
		}
	}
	return nil, 0, false
}

// writeHeaders sends a 200 response's HEADERS announcing length bytes.
func writeHeaders(fr *http2.Framer, id uint32, length int) error {
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for _, f := range []hpack.HeaderField{
		{Name: ":status", Value: "200"},
		{Name: "content-type", Value: "application/gzip"},
		{Name: "content-length", Value: strconv.Itoa(length)},
	} {
		if err := enc.WriteField(f); err != nil {
			return err
		}
	}
	return fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: hb.Bytes(), EndHeaders: true})
}

// writeBody sends data in frames of the default maximum size.
func writeBody(fr *http2.Framer, id uint32, data []byte, end bool) error {
	const maxFrame = 16 << 10
	for len(data) > 0 {
		n := min(len(data), maxFrame)
		if err := fr.WriteData(id, end && n == len(data), data[:n]); err != nil {
			return err
		}
		data = data[n:]
	}
	return nil
}

// startBody sends the headers and the first cutAt bytes of the archive,
// then waits for the client to pass the gate. It reports whether the
// script should strike.
func (s *rawH2) startBody(fr *http2.Framer, id uint32, body []byte, g *gate) bool {
	if writeHeaders(fr, id, len(body)) != nil || writeBody(fr, id, body[:cutAt], false) != nil {
		return false
	}
	return g.wait(s.ctx)
}

// drain reads and discards frames until the client closes the connection
// or the deadline set at accept passes, so that a GOAWAY or RST_STREAM is
// read by the client before the connection goes away.
func drain(conn net.Conn) { _, _ = io.Copy(io.Discard, conn) }
