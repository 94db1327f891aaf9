//lint:file-ignore SA1019 x/net's HTTP/2 client is deprecated but still used; its error types are tested on purpose.

package httpx

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"golang.org/x/net/http2"

	"github.com/faultline-go/faultline/faulttest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	// The zero Client's shared HTTP client keeps idle connections to
	// servers that are gone; they are not leaks of the tests.
	defaultHTTP().CloseIdleConnections()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

// payload returns n deterministic pseudo-random bytes.
func payload(n int) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(7, uint64(n)))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// mode is a protocol a test runs over.
type mode struct {
	name  string
	tls   bool
	proto faulttest.Proto
	xnet  bool // golang.org/x/net/http2's Transport instead of net/http's
}

var modes = []mode{
	{"h1", false, faulttest.HTTP1, false},
	{"h2c", false, faulttest.HTTP2, false},
	{"h2tls", true, faulttest.HTTP2, false},
	{"h2x", true, faulttest.HTTP2, true},
}

// client returns an HTTP client speaking m to s.
func (m mode) client(t testing.TB, s *faulttest.Server) *http.Client {
	if !m.xnet {
		return s.Client(m.proto)
	}
	tr := &http2.Transport{TLSClientConfig: s.TLSConfig()}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

func startServer(t testing.TB, m mode, body []byte, script ...faulttest.Fault) *faulttest.Server {
	t.Helper()
	s, err := faulttest.Start(faulttest.Config{Content: body, TLS: m.tls, Script: script, StallLimit: 5 * time.Second})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

// sleeps records the delays a Client was told to wait, without waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

// hashConsumer hashes what it reads; each call starts afresh, as a
// restart requires.
type hashConsumer struct {
	calls int
	sum   [32]byte
	n     int64
}

func (h *hashConsumer) consume(ctx context.Context, r io.Reader) error {
	h.calls++
	d := sha256.New()
	n, err := io.Copy(d, r)
	h.n = n
	copy(h.sum[:], d.Sum(nil))
	return err
}
