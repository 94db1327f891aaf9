package faulttest

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// h2conn is one HTTP/2 connection (RFC 9113): a read loop that handles
// SETTINGS, PING, WINDOW_UPDATE, RST_STREAM and new streams, and one
// goroutine per stream writing its response under flow control.
type h2conn struct {
	s      *Server
	raw, c net.Conn
	fr     *http2.Framer

	wmu  sync.Mutex // serializes frame writes and guards henc, hbuf
	henc *hpack.Encoder
	hbuf bytes.Buffer

	mu       sync.Mutex // guards what follows; cond waits for flow control
	cond     *sync.Cond
	connWin  int64
	initWin  int64
	maxFrame int64
	streams  map[uint32]*h2stream
	closed   bool

	goneAway atomic.Bool // a GOAWAY was sent: the read loop only drains

	wg sync.WaitGroup
}

type h2stream struct {
	id   uint32
	win  int64
	gone chan struct{} // closed when the peer resets the stream or the connection ends
	done bool
}

const defaultWindow = 65535

func (s *Server) serveH2(raw, c net.Conn, br *bufio.Reader) {
	hc := &h2conn{
		s: s, raw: raw, c: c,
		connWin: defaultWindow, initWin: defaultWindow, maxFrame: 16384,
		streams: make(map[uint32]*h2stream),
	}
	hc.cond = sync.NewCond(&hc.mu)
	hc.henc = hpack.NewEncoder(&hc.hbuf)
	hc.fr = http2.NewFramer(c, br)
	hc.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	defer hc.shutdown()

	if hc.write(func() error {
		return hc.fr.WriteSettings(http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: 250})
	}) != nil {
		return
	}
	for {
		f, err := hc.fr.ReadFrame()
		if err != nil {
			return
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if f.IsAck() {
				continue
			}
			hc.applySettings(f)
			if hc.write(hc.fr.WriteSettingsAck) != nil {
				return
			}
		case *http2.WindowUpdateFrame:
			hc.mu.Lock()
			if f.StreamID == 0 {
				hc.connWin += int64(f.Increment)
			} else if st := hc.streams[f.StreamID]; st != nil {
				st.win += int64(f.Increment)
			}
			hc.cond.Broadcast()
			hc.mu.Unlock()
		case *http2.PingFrame:
			if !f.IsAck() {
				data := f.Data
				if hc.write(func() error { return hc.fr.WritePing(true, data) }) != nil {
					return
				}
			}
		case *http2.MetaHeadersFrame:
			hc.startStream(f)
		case *http2.DataFrame:
			if hc.goneAway.Load() {
				continue
			}
			// Request bodies are discarded; give the window back so that
			// a client can send bodies of any length (RFC 9113 §6.9).
			if n := f.Length; n > 0 {
				if hc.write(func() error { return hc.fr.WriteWindowUpdate(0, n) }) != nil {
					return
				}
				if !f.StreamEnded() {
					hc.write(func() error { return hc.fr.WriteWindowUpdate(f.StreamID, n) })
				}
			}
		case *http2.RSTStreamFrame:
			hc.mu.Lock()
			if st := hc.streams[f.StreamID]; st != nil {
				st.end()
			}
			hc.cond.Broadcast()
			hc.mu.Unlock()
		case *http2.GoAwayFrame:
			return
		}
	}
}

// hangUp ends the connection after a GOAWAY the way a server that means
// it does: it stops writing (a FIN after TLS's close_notify) but reads on
// until the client closes, so that what the client is still sending does
// not turn the close into a reset that would overtake the GOAWAY (RFC 9113
// §6.8 asks a sender to let the frames in flight arrive). The read loop
// ends when the client closes, the server closes, or after StallLimit.
func (hc *h2conn) hangUp() {
	if tc, ok := hc.c.(*tls.Conn); ok {
		tc.CloseWrite()
	}
	if tc, ok := hc.raw.(*net.TCPConn); ok {
		tc.CloseWrite()
	} else {
		hc.raw.Close()
	}
	hc.raw.SetReadDeadline(time.Now().Add(hc.s.cfg.StallLimit))
}

func (hc *h2conn) applySettings(f *http2.SettingsFrame) {
	hc.mu.Lock()
	defer hc.mu.Unlock()
	f.ForeachSetting(func(st http2.Setting) error {
		switch st.ID {
		case http2.SettingInitialWindowSize:
			delta := int64(st.Val) - hc.initWin
			hc.initWin = int64(st.Val)
			for _, s := range hc.streams {
				s.win += delta
			}
		case http2.SettingMaxFrameSize:
			hc.maxFrame = int64(st.Val)
		}
		return nil
	})
	hc.cond.Broadcast()
}

func (st *h2stream) end() {
	if !st.done {
		st.done = true
		close(st.gone)
	}
}

// shutdown ends every stream, closes the connection and waits for the
// stream goroutines.
func (hc *h2conn) shutdown() {
	hc.mu.Lock()
	hc.closed = true
	for _, st := range hc.streams {
		st.end()
	}
	hc.cond.Broadcast()
	hc.mu.Unlock()
	hc.c.Close()
	hc.wg.Wait()
}

func (hc *h2conn) write(fn func() error) error {
	hc.wmu.Lock()
	defer hc.wmu.Unlock()
	return fn()
}

func (hc *h2conn) startStream(f *http2.MetaHeadersFrame) {
	h := http.Header{}
	for _, hf := range f.RegularFields() {
		h.Add(hf.Name, hf.Value)
	}
	hc.mu.Lock()
	st := &h2stream{id: f.StreamID, win: hc.initWin, gone: make(chan struct{})}
	hc.streams[st.id] = st
	hc.mu.Unlock()
	r := hc.s.respond("HTTP/2.0", f.PseudoValue("method"), f.PseudoValue("path"), h)
	hc.wg.Add(1)
	go func() {
		defer hc.wg.Done()
		hc.serveStream(st, r)
		hc.mu.Lock()
		delete(hc.streams, st.id)
		hc.mu.Unlock()
	}()
}

func (hc *h2conn) serveStream(st *h2stream, r *response) {
	f := r.fault
	body := r.body
	limit := int64(len(body))
	if f.Kind != None {
		limit = min(max(f.At, 0), limit)
	}
	if !f.BeforeResponse {
		if hc.writeHeaders(st.id, r, limit == 0 && f.Kind == None) != nil {
			return
		}
		if limit > 0 {
			if !hc.sendData(st, r, body[:limit], f.Kind == None) {
				return
			}
		}
	} else if f.Kind == Truncate {
		// Before a response there is no stream to end cleanly: hang up.
		hc.raw.Close()
		return
	}
	switch f.Kind {
	case Reset:
		reset(hc.raw)
	case ResetStream:
		code := f.Code
		if code == http2.ErrCodeNo {
			code = http2.ErrCodeInternal
		}
		hc.write(func() error { return hc.fr.WriteRSTStream(st.id, code) })
	case GoAway:
		last := st.id
		if f.ExcludeStream {
			last = max(st.id, 2) - 2
		}
		hc.write(func() error {
			err := hc.fr.WriteGoAway(last, f.Code, []byte("faulttest"))
			hc.goneAway.Store(true)
			return err
		})
		hc.hangUp()
	case Truncate:
		hc.write(func() error { return hc.fr.WriteData(st.id, true, nil) })
	case Stall:
		hc.s.stall(f, st.gone)
		select {
		case <-st.gone: // the peer gave up: nothing left to say
		default:
			hc.write(func() error { return hc.fr.WriteRSTStream(st.id, http2.ErrCodeCancel) })
		}
	}
}

func (hc *h2conn) writeHeaders(id uint32, r *response, endStream bool) error {
	hc.wmu.Lock()
	defer hc.wmu.Unlock()
	hc.hbuf.Reset()
	hc.henc.WriteField(hpack.HeaderField{Name: ":status", Value: strconv.Itoa(r.status)})
	for k, vs := range r.header {
		for _, v := range vs {
			hc.henc.WriteField(hpack.HeaderField{Name: strings.ToLower(k), Value: v})
		}
	}
	return hc.fr.WriteHeaders(http2.HeadersFrameParam{
		StreamID: id, BlockFragment: hc.hbuf.Bytes(), EndStream: endStream, EndHeaders: true,
	})
}

// sendData writes data on st as the peer's flow-control windows allow,
// ending the stream after it when end is set. It reports whether all was
// written.
func (hc *h2conn) sendData(st *h2stream, r *response, data []byte, end bool) bool {
	for {
		hc.mu.Lock()
		for !hc.closed && !st.done && len(data) > 0 && (hc.connWin <= 0 || st.win <= 0) {
			hc.cond.Wait()
		}
		if hc.closed || st.done {
			hc.mu.Unlock()
			return false
		}
		n := min(int64(len(data)), hc.connWin, st.win, hc.maxFrame, chunk)
		hc.connWin -= n
		st.win -= n
		hc.mu.Unlock()

		last := end && n == int64(len(data))
		r.pace(n)
		// Count before writing: a client that has read the bytes must
		// never see a count lower than what it got.
		r.count(hc.s, n)
		err := hc.write(func() error { return hc.fr.WriteData(st.id, last, data[:n]) })
		if err != nil {
			r.count(hc.s, -n)
			return false
		}
		data = data[n:]
		if len(data) == 0 {
			return true
		}
	}
}
