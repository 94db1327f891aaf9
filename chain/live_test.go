//lint:file-ignore SA1019 x/net's own HTTP/2 transport (deprecated from Go 1.27's wrapping) is one of the client stacks whose errors the walker must read.

package chain_test

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/faultline-go/faultline/chain"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// These tests provoke each fault for real on 127.0.0.1 and walk the error
// the caller received, so the unwrappers are checked against the types
// and texts the clients produce today, not against hand-built values.

// h2Fault is what the raw HTTP/2 server does after sending the response
// headers and the first 10 bytes of a 100-byte body.
type h2Fault string

const (
	faultRST      h2Fault = "rst"             // RST_STREAM(INTERNAL_ERROR)
	faultGoAway   h2Fault = "goaway"          // GOAWAY(last=stream, NO_ERROR), then close
	faultExclude  h2Fault = "goaway-excluded" // GOAWAY(last=0, INTERNAL_ERROR): the stream is not processed
	faultProtocol h2Fault = "protocol"        // a DATA frame on stream 0
)

// h2Server is an HTTP/2 server written against the framer, so it can
// misbehave in ways net/http's server never would.
type h2Server struct {
	ln    net.Listener
	fault h2Fault
	wg    sync.WaitGroup
}

func startH2(t *testing.T, fault h2Fault) *h2Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &h2Server{ln: ln, fault: fault}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.serve(conn)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		s.wg.Wait()
	})
	return s
}

func (s *h2Server) url() string { return "http://" + s.ln.Addr().String() + "/file" }

func (s *h2Server) serve(conn net.Conn) {
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	preface := make([]byte, len(http2.ClientPreface))
	if _, err := io.ReadFull(conn, preface); err != nil {
		return
	}
	fr := http2.NewFramer(conn, conn)
	fr.AllowIllegalWrites = true
	if fr.WriteSettings() != nil {
		return
	}
	var stream uint32
	for stream == 0 {
		f, err := fr.ReadFrame()
		if err != nil {
			return
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				_ = fr.WriteSettingsAck()
			}
		case *http2.HeadersFrame:
			stream = f.StreamID
		}
	}
	var hdr bytes.Buffer
	enc := hpack.NewEncoder(&hdr)
	_ = enc.WriteField(hpack.HeaderField{Name: ":status", Value: "200"})
	_ = enc.WriteField(hpack.HeaderField{Name: "content-length", Value: "100"})
	_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: stream, BlockFragment: hdr.Bytes(), EndHeaders: true})
	_ = fr.WriteData(stream, false, make([]byte, 10))
	switch s.fault {
	case faultRST:
		_ = fr.WriteRSTStream(stream, http2.ErrCodeInternal)
	case faultGoAway:
		_ = fr.WriteGoAway(stream, http2.ErrCodeNo, nil)
		return
	case faultExclude:
		_ = fr.WriteGoAway(0, http2.ErrCodeInternal, []byte("bye"))
	case faultProtocol:
		_ = fr.WriteData(0, false, []byte("x"))
	}
	// Wait for the client to hang up, within the deadline set above.
	for {
		if _, err := fr.ReadFrame(); err != nil {
			return
		}
	}
}

// h2Clients are the two HTTP/2 client stacks a Go program meets: net/http's
// bundled copy and x/net's transport, both over cleartext HTTP/2.
func h2Clients() map[string]func() (*http.Client, func()) {
	return map[string]func() (*http.Client, func()){
		"net/http": func() (*http.Client, func()) {
			var p http.Protocols
			p.SetUnencryptedHTTP2(true)
			tr := &http.Transport{Protocols: &p}
			return &http.Client{Transport: tr}, tr.CloseIdleConnections
		},
		"x/net": func() (*http.Client, func()) {
			tr := &http2.Transport{
				AllowHTTP: true,
				DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
					var d net.Dialer
					return d.DialContext(ctx, network, addr)
				},
			}
			return &http.Client{Transport: tr}, tr.CloseIdleConnections
		},
	}
}

// bodyError fetches url and returns the error reading the body ended with,
// wrapped the way an extractor would wrap it.
func bodyError(t *testing.T, client *http.Client, url string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	require.NoError(t, err)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	require.Error(t, err, "the body must fail")
	return fmt.Errorf("unpack: %w", err)
}

// layerWith returns the first layer for which ok holds.
func layerWith(c chain.Chain, ok func(chain.Layer) bool) (chain.Layer, bool) {
	for _, l := range c.Layers {
		if ok(l) {
			return l, true
		}
	}
	return chain.Layer{}, false
}

func TestLiveHTTP2(t *testing.T) {
	typeNames := map[string]map[string]string{
		"net/http": {"stream": "net/http.http2StreamError", "goaway": "net/http.http2GoAwayError", "conn": "net/http.http2ConnectionError"},
		"x/net":    {"stream": "golang.org/x/net/http2.StreamError", "goaway": "golang.org/x/net/http2.GoAwayError", "conn": "golang.org/x/net/http2.ConnectionError"},
	}
	for name, newClient := range h2Clients() {
		t.Run(name, func(t *testing.T) {
			t.Run("RST_STREAM", func(t *testing.T) {
				client, done := newClient()
				defer done()
				c := chain.Walk(bodyError(t, client, startH2(t, faultRST).url()))
				l, ok := layerWith(c, func(l chain.Layer) bool { return l.Attrs.Kind == "h2_stream" })
				require.True(t, ok, "no stream error in %+v", c.Layers)
				assert.Equal(t, typeNames[name]["stream"], l.Type)
				assert.Equal(t, chain.Attrs{H2StreamID: 1, H2Code: "INTERNAL_ERROR", H2Remote: true, Kind: "h2_stream"}, l.Attrs)
			})
			t.Run("GOAWAY then close", func(t *testing.T) {
				client, done := newClient()
				defer done()
				c := chain.Walk(bodyError(t, client, startH2(t, faultGoAway).url()))
				l, ok := layerWith(c, func(l chain.Layer) bool { return l.Attrs.Kind == "h2_goaway" })
				require.True(t, ok, "no GOAWAY in %+v", c.Layers)
				assert.Equal(t, typeNames[name]["goaway"], l.Type)
				assert.Equal(t, chain.Attrs{H2LastStreamID: 1, H2Code: "NO_ERROR", H2Remote: true, H2GoAway: true, Kind: "h2_goaway"}, l.Attrs)
			})
			t.Run("GOAWAY excluding the stream", func(t *testing.T) {
				client, done := newClient()
				defer done()
				c := chain.Walk(bodyError(t, client, startH2(t, faultExclude).url()))
				l, ok := layerWith(c, func(l chain.Layer) bool { return l.Attrs.Kind == "h2_goaway" })
				require.True(t, ok, "no GOAWAY in %+v", c.Layers)
				// Only text carries it: an *errors.errorString, read by the
				// text fallback onto the leaf itself.
				assert.Equal(t, "*errors.errorString", l.Type)
				assert.Equal(t, "INTERNAL_ERROR", l.Attrs.H2Code)
				assert.True(t, l.Attrs.H2Remote)
				assert.True(t, l.Attrs.H2Unprocessed, "the GOAWAY excluded the stream")
			})
			t.Run("protocol error", func(t *testing.T) {
				client, done := newClient()
				defer done()
				c := chain.Walk(bodyError(t, client, startH2(t, faultProtocol).url()))
				l, ok := layerWith(c, func(l chain.Layer) bool { return l.Attrs.H2Code == "PROTOCOL_ERROR" })
				require.True(t, ok, "no PROTOCOL_ERROR in %+v", c.Layers)
				assert.Equal(t, typeNames[name]["conn"], l.Type)
				assert.Equal(t, "h2_connection", l.Attrs.Kind)
			})
		})
	}
}

// An HTTP/1.1 server that resets the connection mid-body: the full
// *net.OpError → *os.SyscallError → syscall.Errno chain survives.
func TestLiveHTTP1Reset(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		r := bufio.NewReader(conn)
		for {
			line, err := r.ReadString('\n')
			if err != nil || line == "\r\n" {
				break
			}
		}
		_, _ = io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789")
		time.Sleep(20 * time.Millisecond)
		_ = conn.(*net.TCPConn).SetLinger(0) // close with RST
		conn.Close()
	}()
	defer func() {
		ln.Close()
		wg.Wait()
	}()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c := chain.Walk(bodyError(t, &http.Client{Transport: tr}, "http://"+ln.Addr().String()+"/"))
	errno, ok := layerWith(c, func(l chain.Layer) bool { return l.Type == "syscall.Errno" })
	require.True(t, ok, "no errno in %+v", c.Layers)
	assert.Equal(t, "ECONNRESET", errno.Attrs.ErrnoName)
	op, ok := layerWith(c, func(l chain.Layer) bool { return l.Type == "*net.OpError" })
	require.True(t, ok)
	assert.Equal(t, "read", op.Attrs.Op)
	assert.Equal(t, ln.Addr().String(), op.Attrs.Addr)
	assert.NotEmpty(t, op.Attrs.Source)
}

func TestLiveDialRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	_, err = (&http.Client{Transport: tr}).Get("http://" + addr + "/x")
	require.Error(t, err)
	c := chain.Walk(err)
	want := []string{"*net/url.Error", "*net.OpError", "*os.SyscallError", "syscall.Errno"}
	got := make([]string, len(c.Layers))
	for i, l := range c.Layers {
		got[i] = l.Type
	}
	assert.Equal(t, want, got)
	assert.Equal(t, chain.Attrs{Op: "Get", Addr: "http://" + addr + "/x"}, c.Layers[0].Attrs)
	assert.Equal(t, chain.Attrs{Op: "dial", Net: "tcp", Addr: addr}, c.Layers[1].Attrs)
	assert.Equal(t, "connect", c.Layers[2].Attrs.Op)
	assert.Equal(t, "ECONNREFUSED", c.Layers[3].Attrs.ErrnoName)
	assert.Equal(t, "dial tcp "+addr, c.Layers[1].Own)
}

func TestLiveUnknownAuthority(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake failure is the point
	srv.StartTLS()
	defer srv.Close()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	_, err := (&http.Client{Transport: tr}).Get(srv.URL)
	require.Error(t, err)
	c := chain.Walk(err)
	types := map[string]chain.Attrs{}
	for _, l := range c.Layers {
		types[l.Type] = l.Attrs
	}
	assert.Equal(t, "certificate", types["*crypto/tls.CertificateVerificationError"].Kind)
	assert.Equal(t, "certificate", types["crypto/x509.UnknownAuthorityError"].Kind)
	assert.Len(t, c.Layers, 3, "the authority error's hint is not followed")
}

func TestLiveDeadline(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	require.NoError(t, err)
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	_, err = (&http.Client{Transport: tr}).Do(req)
	require.Error(t, err)
	c := chain.Walk(err)
	l, ok := layerWith(c, func(l chain.Layer) bool { return l.Attrs.Kind == "deadline" })
	require.True(t, ok, "%+v", c.Layers)
	assert.True(t, l.Attrs.Timeout)
	assert.True(t, c.Layers[0].Attrs.Timeout, "url.Error reports the timeout too")
}

// tarGz builds a small .tar.gz with one incompressible-enough file.
func tarGz(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	body := []byte(strings.Repeat("faultline sees every layer. ", 400))
	require.NoError(t, tw.WriteHeader(&tar.Header{Name: "a.txt", Mode: 0o644, Size: int64(len(body))}))
	_, err := tw.Write(body)
	require.NoError(t, err)
	require.NoError(t, tw.Close())
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

// extract reads a .tar.gz to the end, draining gzip after tar's
// end-of-archive so the CRC is checked.
func extract(data []byte) error {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("open archive: %w", err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("read header: %w", err)
		}
		if _, err := io.Copy(io.Discard, tr); err != nil {
			return fmt.Errorf("unpack %s: %w", h.Name, err)
		}
	}
	if _, err := io.Copy(io.Discard, zr); err != nil {
		return fmt.Errorf("drain: %w", err)
	}
	return nil
}

func TestLiveCodec(t *testing.T) {
	good := tarGz(t)
	require.NoError(t, extract(good))

	t.Run("truncated", func(t *testing.T) {
		for cut := 20; cut < len(good)-8; cut += 7 {
			err := extract(good[:cut])
			require.Error(t, err, "cut at %d", cut)
			c := chain.Walk(err)
			_, ok := layerWith(c, func(l chain.Layer) bool { return l.Attrs.Kind == "unexpected_eof" })
			assert.True(t, ok, "cut at %d: %v", cut, err)
		}
	})
	t.Run("corrupt deflate", func(t *testing.T) {
		bad := bytes.Clone(good)
		for i := 12; i < 40; i++ {
			bad[i] ^= 0xff
		}
		c := chain.Walk(extract(bad))
		l, ok := layerWith(c, func(l chain.Layer) bool { return l.Attrs.Format != "" })
		require.True(t, ok, "%+v", c.Layers)
		assert.Contains(t, []string{"flate", "gzip"}, l.Attrs.Format)
		if l.Attrs.Format == "flate" {
			assert.Equal(t, "compress/flate.CorruptInputError", l.Type)
			assert.Positive(t, l.Attrs.Offset)
		}
	})
	t.Run("bad checksum", func(t *testing.T) {
		bad := bytes.Clone(good)
		bad[len(bad)-8] ^= 1 // CRC-32 in the trailer
		c := chain.Walk(extract(bad))
		l, ok := layerWith(c, func(l chain.Layer) bool { return l.Attrs.Kind == "checksum" })
		require.True(t, ok, "%+v", c.Layers)
		assert.Equal(t, "gzip", l.Attrs.Format)
	})
	t.Run("not a tar", func(t *testing.T) {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, _ = zw.Write(bytes.Repeat([]byte("x"), 1024))
		require.NoError(t, zw.Close())
		c := chain.Walk(extract(buf.Bytes()))
		require.Len(t, c.Layers, 2)
		assert.Equal(t, chain.Attrs{Format: "tar", Kind: "archive"}, c.Layers[1].Attrs)
	})
}

// The walk of a live error and of its own text agree on the facts that
// matter, for the plain-text case of the seed failure.
func TestLiveTextAgrees(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	_, err = net.Dial("tcp", addr)
	require.Error(t, err)
	live := chain.Walk(fmt.Errorf("fetch: %w", err))
	text := chain.FromText(live.Layers[0].Message)
	require.Equal(t, len(live.Layers), len(text.Layers), "%+v", text.Layers)
	for i := range live.Layers {
		assert.Equal(t, live.Layers[i].Own, text.Layers[i].Own, "layer %d", i)
		assert.Equal(t, live.Layers[i].Message, text.Layers[i].Message, "layer %d", i)
	}
	last := len(live.Layers) - 1
	assert.Equal(t, live.Layers[last].Attrs.ErrnoName, text.Layers[last].Attrs.ErrnoName)
	assert.Equal(t, live.Layers[1].Attrs.Addr, text.Layers[1].Attrs.Addr)
}

// A program that cannot be started reads the same from its text as from
// the live error: os.StartProcess's *fs.PathError ("fork/exec path") over
// the errno, and exec.LookPath's *exec.Error over exec.ErrNotFound.
func TestLiveExecTextAgrees(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skip("needs a file without the execute bit to be refused")
	}
	dir := t.TempDir()
	// No x bit: execve refuses it with EACCES, even for root.
	notExecutable := filepath.Join(dir, "unpack")
	require.NoError(t, os.WriteFile(notExecutable, []byte("#!/bin/sh\nexit 0\n"), 0o644))
	// A PATH holding only an empty directory: no lookup can succeed.
	t.Setenv("PATH", t.TempDir())

	tests := []struct {
		name   string
		cmd    *exec.Cmd
		errno  string // of the last layer
		rootOp string
	}{
		{"fork-exec", exec.Command(notExecutable), "EACCES", "fork/exec"},
		{"fork-exec-missing", exec.Command(filepath.Join(dir, "absent")), "ENOENT", "fork/exec"},
		{"not-in-path", exec.Command("faultline-no-such-tool"), "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cmd.Run()
			require.Error(t, err)
			live := chain.Walk(err)
			text := chain.FromText(err.Error())
			require.Len(t, text.Layers, len(live.Layers), "text layers %+v", text.Layers)
			require.Len(t, live.Layers, 2, "live layers %+v", live.Layers)
			for i := range live.Layers {
				assert.Equal(t, live.Layers[i].Own, text.Layers[i].Own, "layer %d own", i)
				assert.Equal(t, live.Layers[i].Message, text.Layers[i].Message, "layer %d message", i)
				assert.Equal(t, live.Layers[i].Attrs, text.Layers[i].Attrs, "layer %d attrs", i)
			}
			assert.Equal(t, tt.rootOp, text.Layers[0].Attrs.Op)
			if tt.rootOp != "" {
				assert.Equal(t, tt.cmd.Path, text.Layers[0].Attrs.Addr)
			}
			assert.Equal(t, tt.errno, text.Layers[1].Attrs.ErrnoName)
		})
	}
}
