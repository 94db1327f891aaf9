package tarx_test

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/faultline-go/faultline/adapters/tarx"
	"github.com/faultline-go/faultline/internal/archivetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const bigEntry = "python/lib/libpython3.so"

// incompressible returns n deterministic random bytes, so a compressed
// archive is about as long as its content and a cut at half its length
// falls inside the file.
func incompressible(n int) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{7})
	_, _ = r.Read(b)
	return b
}

func bigArchive(t *testing.T, f archivetest.Format) []byte {
	return archive(t, f, []archivetest.Entry{
		{Name: "python/lib", Type: tar.TypeDir, Mode: 0o755},
		{Name: "python/lib/small.py", Type: tar.TypeReg, Mode: 0o644, Data: []byte("print(1)\n")},
		{Name: bigEntry, Type: tar.TypeReg, Mode: 0o755, Data: incompressible(2 << 20)},
		{Name: "python/lib/after.py", Type: tar.TypeReg, Mode: 0o644, Data: []byte("print(2)\n")},
	})
}

// resetServer serves data[:cut] on a loopback TCP connection, waits until
// the client has read it all, then resets the connection (SO_LINGER 0 makes
// close send RST). It returns the client side.
func resetServer(t *testing.T, data []byte, cut int) (net.Conn, *signalReader) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	client, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	server, err := ln.Accept()
	require.NoError(t, err)
	require.NoError(t, ln.Close())
	sr := &signalReader{r: client, at: int64(cut), reached: make(chan struct{})}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer server.Close()
		if _, err := server.Write(data[:cut]); err != nil {
			return
		}
		select {
		case <-sr.reached:
		case <-time.After(10 * time.Second):
		}
		_ = server.(*net.TCPConn).SetLinger(0)
	}()
	t.Cleanup(func() {
		client.Close()
		wg.Wait()
	})
	return client, sr
}

// signalReader closes reached once at bytes have been read through it.
type signalReader struct {
	r       io.Reader
	at, n   int64
	reached chan struct{}
	once    sync.Once
}

func (s *signalReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.n += int64(n)
	if s.n >= s.at {
		s.once.Do(func() { close(s.reached) })
	}
	return n, err
}

func TestConnectionReset(t *testing.T) {
	for _, f := range archivetest.Formats() {
		t.Run(string(f), func(t *testing.T) {
			data := bigArchive(t, f)
			_, sr := resetServer(t, data, len(data)/2)
			l := newLayout(t)
			before := state(t, l.top)
			_, err := tarx.Extract(context.Background(), sr, l.dest, tarx.Options{})
			require.Error(t, err)
			// Through the tar reader and the decompressor, the reset is
			// still there to see.
			require.ErrorIs(t, err, syscall.ECONNRESET)
			var op *net.OpError
			require.ErrorAs(t, err, &op)
			assert.Equal(t, "read", op.Op)
			e := tarxError(t, err)
			assert.Equal(t, bigEntry, e.Entry)
			assert.True(t, strings.HasPrefix(err.Error(), "unpacking "+bigEntry+": "), "%v", err)
			assert.Equal(t, "archive", e.Kind, "the archive layer; the reset below it decides")
			wantFormat := string(f)
			assert.Equal(t, wantFormat, e.Format)
			assert.Positive(t, e.Offset)
			assert.Equal(t, before, state(t, l.top))
			noStaging(t, l.parent)
		})
	}
}

// blockingReader serves data, then blocks until ctx is done and fails with
// its error, as the body of an HTTP response to a request made with ctx
// does.
type blockingReader struct {
	ctx     context.Context
	data    []byte
	blocked chan struct{}
	once    sync.Once
}

func (b *blockingReader) Read(p []byte) (int, error) {
	if len(b.data) > 0 {
		n := copy(p, b.data)
		b.data = b.data[n:]
		return n, nil
	}
	b.once.Do(func() { close(b.blocked) })
	<-b.ctx.Done()
	return 0, b.ctx.Err()
}

func TestCancelWhileBlocked(t *testing.T) {
	for _, f := range archivetest.Formats() {
		t.Run(string(f), func(t *testing.T) {
			data := bigArchive(t, f)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			r := &blockingReader{ctx: ctx, data: data[:len(data)/2], blocked: make(chan struct{})}
			go func() {
				select {
				case <-r.blocked:
				case <-time.After(10 * time.Second):
				}
				cancel()
			}()
			l := newLayout(t)
			before := state(t, l.top)
			_, err := tarx.Extract(ctx, r, l.dest, tarx.Options{})
			require.ErrorIs(t, err, context.Canceled)
			assert.Equal(t, bigEntry, tarxError(t, err).Entry)
			assert.Equal(t, before, state(t, l.top))
			noStaging(t, l.parent)
		})
	}
}

// endlessFile is a tar stream of one entry declaring a huge size whose data
// never stops coming; it cancels ctx after cancelAt bytes and keeps
// delivering, so only Extract's own check can stop the copy.
type endlessFile struct {
	hdr      []byte
	n        int64
	cancelAt int64
	cancel   context.CancelFunc
}

func (e *endlessFile) Read(p []byte) (int, error) {
	if len(e.hdr) > 0 {
		n := copy(p, e.hdr)
		e.hdr = e.hdr[n:]
		return n, nil
	}
	if e.n > 1<<30 {
		return 0, errors.New("test reader: Extract did not stop")
	}
	clear(p)
	e.n += int64(len(p))
	if e.n >= e.cancelAt {
		e.cancel()
	}
	return len(p), nil
}

func TestCancelDuringLargeFile(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := &endlessFile{hdr: tarHeaderOnly(t, "huge.img", 4<<30), cancelAt: 8 << 20, cancel: cancel}
	l := newLayout(t)
	_, err := tarx.Extract(ctx, r, l.dest, tarx.Options{Limits: tarx.Limits{FileSize: -1, TotalSize: -1}})
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, "huge.img", tarxError(t, err).Entry)
	// Extract stops within a copy buffer or two of the cancellation.
	assert.Less(t, r.n, int64(8<<20)+2<<20, "read %d bytes after cancel", r.n-8<<20)
	assert.True(t, isNotExist(t, l.dest))
	noStaging(t, l.parent)
}

// tarHeaderOnly returns the header block of a regular file of size bytes.
func tarHeaderOnly(t *testing.T, name string, size int64) []byte {
	t.Helper()
	var buf strings.Builder
	tw := tar.NewWriter(&buf)
	require.NoError(t, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: size, ModTime: time.Unix(0, 0)}))
	// No Close: the data is the reader's to supply.
	return []byte(buf.String())
}
