package httpx

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faultline-go/faultline/policy"
)

// testTransport is NewTransport trusting srv's certificate.
func testTransport(t *testing.T, srv *httptest.Server) *http.Client {
	tr := NewTransport()
	if srv.TLS != nil {
		tr.TLSClientConfig = srv.Client().Transport.(*http.Transport).TLSClientConfig
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// TestBoundResponseHeader: a header just under MaxResponseHeaderBytes is
// read; one over it fails the request, once, over HTTP/1.1 and HTTP/2.
func TestBoundResponseHeader(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		for _, tc := range []struct {
			size int
			ok   bool
		}{{MaxResponseHeaderBytes - 64<<10, true}, {MaxResponseHeaderBytes + 64<<10, false}} {
			name := map[bool]string{false: "h1", true: "h2"}[h2] + map[bool]string{true: "/under", false: "/over"}[tc.ok]
			t.Run(name, func(t *testing.T) {
				var requests int
				srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					requests++
					// Split over fields: HTTP/2 servers cap one field.
					for i := 0; i < tc.size/(8<<10); i++ {
						w.Header().Add("X-Filler", strings.Repeat("x", 8<<10))
					}
					w.Write([]byte("body"))
				}))
				srv.EnableHTTP2 = h2
				srv.Config.MaxHeaderBytes = 4 << 20
				if h2 {
					srv.StartTLS()
				} else {
					srv.Start()
				}
				defer srv.Close()
				var sl sleeps
				c := &Client{HTTP: testTransport(t, srv), Sleep: sl.sleep}
				var h hashConsumer
				_, err := c.Do(t.Context(), srv.URL, h.consume, nil)
				if tc.ok {
					require.NoError(t, err)
					assert.Equal(t, int64(4), h.n)
					return
				}
				require.Error(t, err)
				var fe *Error
				require.ErrorAs(t, err, &fe)
				assert.Equal(t, policy.Fail, fe.Decision.Action)
				assert.LessOrEqual(t, fe.Attempts, 5, "not retried without end")
			})
		}
	}
}

// TestBoundRedirects: a chain of ten requests (nine redirects) is
// followed; a tenth redirect fails the request with net/http's message,
// without a retry.
func TestBoundRedirects(t *testing.T) {
	for _, tc := range []struct {
		hops int
		ok   bool
	}{{9, true}, {10, false}} {
		var requests int
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			requests++
			if requests <= tc.hops {
				http.Redirect(w, r, "/next", http.StatusFound)
				return
			}
			w.Write([]byte("done"))
		}))
		c := &Client{HTTP: testTransport(t, srv)}
		var h hashConsumer
		_, err := c.Do(t.Context(), srv.URL, h.consume, nil)
		srv.Close()
		if tc.ok {
			require.NoError(t, err, "%d redirects", tc.hops)
			assert.Equal(t, tc.hops+1, requests)
			continue
		}
		require.Error(t, err)
		assert.Contains(t, err.Error(), "stopped after 10 redirects")
		assert.Equal(t, 10, requests, "one attempt: the policy does not retry a redirect loop")
	}
}

// TestBoundBodyWithoutLength: a body with no Content-Length is bounded by
// Options.Size as soon as it passes it, not when it ends (this one never
// would).
func TestBoundBodyWithoutLength(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(endless))
	defer srv.Close()
	defer srv.CloseClientConnections()
	var sl sleeps
	c := &Client{HTTP: srv.Client(), Sleep: sl.sleep}
	begin := time.Now()
	var h hashConsumer
	_, err := c.Do(t.Context(), srv.URL, h.consume, &Options{Size: 100})
	require.Error(t, err)
	assert.Less(t, time.Since(begin), 5*time.Second)
	var ce *ChecksumError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, int64(100), ce.WantSize)
	assert.Equal(t, int64(101), ce.GotSize, "stopped at the first byte too many")
}

// hugeError is a consumer's error whose chain is as large as chain.Walk
// keeps, in text JSON must escape six bytes a character.
func hugeError() error {
	msg := strings.Repeat("\x01", 4096)
	errs := make([]error, 300)
	for i := range errs {
		errs[i] = errors.New(msg)
	}
	return errors.Join(errs...)
}

// TestBoundDump: a dump stays under MaxDumpBytes however large the
// failure, and replaying it gives the facts the live decision saw.
func TestBoundDump(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("x")) }))
	defer srv.Close()
	dumps := t.TempDir()
	var live []policy.Input
	c := &Client{HTTP: srv.Client(), DumpDir: dumps, MaxAttempts: 1,
		OnDecision: func(e Event) { live = append(live, e.Input) }}
	_, err := c.Do(t.Context(), srv.URL+"/"+strings.Repeat("p", 10_000), func(ctx context.Context, r io.Reader) error {
		return hugeError()
	}, nil)
	require.Error(t, err)
	files, err := filepath.Glob(filepath.Join(dumps, "*.json"))
	require.NoError(t, err)
	require.Len(t, files, 1)
	data, err := os.ReadFile(files[0])
	require.NoError(t, err)
	assert.LessOrEqual(t, len(data), MaxDumpBytes)
	assert.Greater(t, len(data), MaxDumpBytes/4, "the budget is used, not thrown away")
	require.Len(t, live, 1)
	require.NoError(t, policy.ReadDumps(bytes.NewReader(data), func(d policy.Dump) error {
		assert.NotEmpty(t, d.Chain.Truncated)
		assert.Equal(t, live[0].Error, d.Input().Error, "the replay sees the live facts")
		assert.Equal(t, live[0].State, d.State)
		return nil
	}))
}

// TestBoundDumpLongTrail: a dump after many decisions with long reasons
// stays under MaxDumpBytes too: it records the last decisions only.
func TestBoundDumpLongTrail(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("x")) }))
	defer srv.Close()
	p, err := policy.Parse("long.yaml", []byte(`
name: long
limits: {max_attempts: 0}
rules:
  - name: again
    when: "true"
    action: retry
    delay: duration('0s')
    reason_expr: error.message + error.message + error.message + error.message
default: fail
`))
	require.NoError(t, err)
	dumps := t.TempDir()
	c := &Client{HTTP: srv.Client(), DumpDir: dumps, MaxAttempts: 60, Policy: p}
	_, err = c.Do(t.Context(), srv.URL, func(ctx context.Context, r io.Reader) error { return hugeError() }, nil)
	require.Error(t, err)
	files, err := filepath.Glob(filepath.Join(dumps, "*.json"))
	require.NoError(t, err)
	require.Len(t, files, 60)
	biggest := 0
	for _, f := range files {
		fi, err := os.Stat(f)
		require.NoError(t, err)
		biggest = max(biggest, int(fi.Size()))
	}
	assert.LessOrEqual(t, biggest, MaxDumpBytes)
	t.Logf("largest dump: %d bytes", biggest)
}
