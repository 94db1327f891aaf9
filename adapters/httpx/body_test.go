package httpx

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	fs "github.com/faultline-go/faultline/faulttest"
)

// TestBodyReader runs testing/iotest's reader checks (reads of every
// size, EOF that sticks) on a body that resumes twice, read through
// each of its paths: small reads served from the buffer, large ones
// straight from the response, and WriteTo.
func TestBodyReader(t *testing.T) {
	body := payload(3*bufSize + 12_345)
	for _, m := range modes[:3] {
		for _, wrap := range []struct {
			name string
			r    func(io.Reader) io.Reader
		}{
			{"direct", func(r io.Reader) io.Reader { return r }},
			{"onebyte", iotest.OneByteReader},
			{"half", iotest.HalfReader},
			{"reads1000", func(r io.Reader) io.Reader { return readerOf(r, 1000) }},
		} {
			t.Run(m.name+"/"+wrap.name, func(t *testing.T) {
				s := startServer(t, m, body, fs.Fault{Kind: fs.Reset, At: bufSize + 5}, fs.Fault{Kind: fs.Reset, At: bufSize / 3})
				c := &Client{HTTP: m.client(t, s), Sleep: (&sleeps{}).sleep}
				b, err := c.Open(t.Context(), s.URL, nil)
				require.NoError(t, err)
				defer b.Close()
				require.NoError(t, iotest.TestReader(wrap.r(b), body))
				assert.Equal(t, 3, s.RequestCount())
			})
		}
	}
}

// failingWriter takes n bytes, then fails.
type failingWriter struct {
	buf bytes.Buffer
	n   int
}

var errWriter = errors.New("writer failed")

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		w.buf.Write(p[:w.n])
		m := w.n
		w.n = 0
		return m, errWriter
	}
	w.n -= len(p)
	return w.buf.Write(p)
}

// TestWriteToKeepsUnwritten: bytes a writer did not take stay in the
// body for the next read, so nothing is lost or repeated.
func TestWriteToKeepsUnwritten(t *testing.T) {
	body := payload(5 * bufSize)
	s := startServer(t, modes[0], body, fs.Fault{Kind: fs.Reset, At: 2*bufSize + 99})
	c := &Client{HTTP: s.Client(fs.HTTP1), Sleep: (&sleeps{}).sleep}
	b, err := c.Open(t.Context(), s.URL, nil)
	require.NoError(t, err)
	defer b.Close()

	w := &failingWriter{n: bufSize + 1000}
	n, err := b.WriteTo(w)
	require.ErrorIs(t, err, errWriter)
	assert.Equal(t, int64(bufSize+1000), n)
	small := make([]byte, 10)
	m, err := io.ReadFull(b, small)
	require.NoError(t, err)
	w.buf.Write(small[:m])
	var rest bytes.Buffer
	_, err = io.Copy(&rest, b) // WriteTo again, from the buffer first
	require.NoError(t, err)
	w.buf.Write(rest.Bytes())
	assert.True(t, bytes.Equal(body, w.buf.Bytes()), "the bytes differ")
	assert.Equal(t, 2, s.RequestCount())

	n, err = b.WriteTo(io.Discard)
	assert.NoError(t, err, "WriteTo at EOF")
	assert.Zero(t, n)
	require.NoError(t, b.Close())
	// A body read to the end stays at the end, closed or not.
	_, err = b.Read(small)
	assert.Equal(t, io.EOF, err)
}

// TestCloseDropsBuffered: after Close, bytes still buffered are not
// returned.
func TestCloseDropsBuffered(t *testing.T) {
	body := payload(bufSize)
	s := startServer(t, modes[0], body)
	c := &Client{HTTP: s.Client(fs.HTTP1)}
	b, err := c.Open(t.Context(), s.URL, nil)
	require.NoError(t, err)
	p := make([]byte, 100)
	_, err = io.ReadFull(b, p)
	require.NoError(t, err)
	assert.Equal(t, body[:100], p)
	require.NoError(t, b.Close())
	n, err := b.Read(p)
	assert.Zero(t, n)
	assert.ErrorIs(t, err, http.ErrBodyReadAfterClose)
	w, err := b.WriteTo(io.Discard)
	assert.Zero(t, w)
	assert.ErrorIs(t, err, http.ErrBodyReadAfterClose)
}

// TestCloseDropsBufferedAtEOF: bytes buffered but not delivered are
// dropped at Close even when the buffer holds the body's end, and the body
// then says it is closed, not that it ended (it said EOF when the fill had
// seen the end, which made TestCloseDropsBuffered flaky).
func TestCloseDropsBufferedAtEOF(t *testing.T) {
	body := payload(1000)
	s := startServer(t, modes[0], body)
	c := &Client{HTTP: s.Client(fs.HTTP1)}
	b, err := c.Open(t.Context(), s.URL, nil)
	require.NoError(t, err)
	p := make([]byte, 100)
	_, err = io.ReadFull(b, p)
	require.NoError(t, err)
	require.True(t, b.eof, "the short body was read whole into the buffer, its end seen")
	require.NoError(t, b.Close())
	_, err = b.Read(p)
	assert.ErrorIs(t, err, http.ErrBodyReadAfterClose)
	_, err = b.WriteTo(io.Discard)
	assert.ErrorIs(t, err, http.ErrBodyReadAfterClose)
}
