package faulttest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"golang.org/x/net/http2"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// content returns n deterministic pseudo-random bytes.
func content(n int) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// mode is one way of talking to the server.
type mode struct {
	name  string
	tls   bool
	proto Proto
}

var modes = []mode{
	{"h1", false, HTTP1},
	{"h2c", false, HTTP2},
	{"h1tls", true, HTTP1},
	{"h2tls", true, HTTP2},
}

func start(t *testing.T, m mode, body []byte, script ...Fault) (*Server, *http.Client) {
	t.Helper()
	s, err := Start(Config{Content: body, TLS: m.tls, Script: script, StallLimit: 5 * time.Second})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s, s.Client(m.proto)
}

func get(ctx context.Context, c *http.Client, url string, hdr ...string) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, nil, err
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

func TestServeWhole(t *testing.T) {
	body := content(300 << 10)
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			s, c := start(t, m, body)
			resp, got, err := get(t.Context(), c, s.URL)
			require.NoError(t, err)
			assert.Equal(t, string(m.proto), resp.Proto)
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Equal(t, sha256.Sum256(body), sha256.Sum256(got))
			assert.Equal(t, s.ETag(), resp.Header.Get("ETag"))
			assert.Equal(t, "bytes", resp.Header.Get("Accept-Ranges"))
			assert.NotEmpty(t, resp.Header.Get("Last-Modified"))
			assert.Equal(t, int64(len(body)), resp.ContentLength)
			assert.Equal(t, int64(len(body)), s.BodyBytes())
			assert.Greater(t, s.WireBytes(), s.BodyBytes())
			reqs := s.Requests()
			require.Len(t, reqs, 1)
			assert.Equal(t, string(m.proto), reqs[0].Proto)
			assert.Equal(t, int64(len(body)), reqs[0].BodyBytes)
		})
	}
}

// TestCertPEM checks that the PEM a client would load from a file is the
// certificate the server presents, and that a plain server has none.
func TestCertPEM(t *testing.T) {
	plain, _ := start(t, mode{"h1", false, HTTP1}, content(10))
	assert.Nil(t, plain.CertPEM())

	s, _ := start(t, mode{"h2", true, HTTP2}, content(10))
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(s.CertPEM()))
	c, err := tls.Dial("tcp", strings.TrimSuffix(strings.TrimPrefix(s.URL, "https://"), "/file"), &tls.Config{RootCAs: pool})
	require.NoError(t, err, "the PEM alone must be enough to trust the server")
	require.NoError(t, c.Close())
}

func TestRanges(t *testing.T) {
	body := content(1000)
	s0, err := Start(Config{Content: body})
	require.NoError(t, err)
	etag := s0.ETag()
	lastMod := "Tue, 02 Jan 2024 03:04:05 GMT"
	s0.Close()
	tests := []struct {
		name      string
		hdr       []string
		fault     Kind
		status    int
		want      []byte
		wantRange string
	}{
		{"open", []string{"Range", "bytes=100-"}, None, 206, body[100:], "bytes 100-999/1000"},
		{"closed", []string{"Range", "bytes=10-19"}, None, 206, body[10:20], "bytes 10-19/1000"},
		{"suffix", []string{"Range", "bytes=-10"}, None, 206, body[990:], "bytes 990-999/1000"},
		{"end past size", []string{"Range", "bytes=990-5000"}, None, 206, body[990:], "bytes 990-999/1000"},
		{"last byte", []string{"Range", "bytes=999-"}, None, 206, body[999:], "bytes 999-999/1000"},
		{"unsatisfiable", []string{"Range", "bytes=1000-"}, None, 416, nil, "bytes */1000"},
		{"multiple ignored", []string{"Range", "bytes=1-2,5-6"}, None, 200, body, ""},
		{"garbage ignored", []string{"Range", "pages=1-2"}, None, 200, body, ""},
		{"if-range etag", []string{"Range", "bytes=500-", "If-Range", etag}, None, 206, body[500:], "bytes 500-999/1000"},
		{"if-range date", []string{"Range", "bytes=500-", "If-Range", lastMod}, None, 206, body[500:], "bytes 500-999/1000"},
		{"if-range stale etag", []string{"Range", "bytes=500-", "If-Range", `"other"`}, None, 200, body, ""},
		{"if-range weak", []string{"Range", "bytes=500-", "If-Range", "W/" + etag}, None, 200, body, ""},
		{"if-range stale date", []string{"Range", "bytes=500-", "If-Range", "Mon, 01 Jan 2024 00:00:00 GMT"}, None, 200, body, ""},
		{"ignore range", []string{"Range", "bytes=500-"}, IgnoreRange, 200, body, ""},
		{"wrong range", []string{"Range", "bytes=500-"}, WrongContentRange, 206, body[499:], "bytes 499-999/1000"},
		{"wrong range at 0", []string{"Range", "bytes=0-"}, WrongContentRange, 206, body[1:], "bytes 1-999/1000"},
		{"forced 416", nil, RangeNotSatisfiable, 416, nil, "bytes */1000"},
		{"changed etag", []string{"Range", "bytes=500-", "If-Range", etag}, ChangeETag, 200, body, ""},
		{"weak etag", []string{"Range", "bytes=500-", "If-Range", etag}, WeakETag, 200, body, ""},
		{"weak etag plain range", []string{"Range", "bytes=500-"}, WeakETag, 206, body[500:], "bytes 500-999/1000"},
		{"mislabelled range", []string{"Range", "bytes=500-"}, MislabelledRange, 206, body[500:], "bytes 500-749/1000"},
	}
	for _, m := range modes[:2] {
		for _, tt := range tests {
			t.Run(m.name+"/"+tt.name, func(t *testing.T) {
				s, c := start(t, m, body, Fault{Kind: tt.fault})
				resp, got, err := get(t.Context(), c, s.URL, tt.hdr...)
				require.NoError(t, err)
				assert.Equal(t, tt.status, resp.StatusCode)
				assert.Equal(t, tt.wantRange, resp.Header.Get("Content-Range"))
				if tt.want != nil {
					assert.True(t, bytes.Equal(tt.want, got), "body differs")
				}
			})
		}
	}
}

// TestMaxRange: a server that caps ranges sends less than asked, and
// says so in Content-Range; a request without Range is not capped.
func TestMaxRange(t *testing.T) {
	body := content(1000)
	tests := []struct {
		name      string
		rng       string
		status    int
		want      []byte
		wantRange string
	}{
		{"open", "bytes=100-", 206, body[100:400], "bytes 100-399/1000"},
		{"near the end", "bytes=800-", 206, body[800:], "bytes 800-999/1000"},
		{"closed within", "bytes=10-19", 206, body[10:20], "bytes 10-19/1000"},
		{"closed beyond", "bytes=0-499", 206, body[:300], "bytes 0-299/1000"},
		{"suffix", "bytes=-500", 206, body[500:800], "bytes 500-799/1000"},
		{"no range", "", 200, body, ""},
	}
	for _, m := range modes[:2] {
		for _, tt := range tests {
			t.Run(m.name+"/"+tt.name, func(t *testing.T) {
				s, err := Start(Config{Content: body, MaxRange: 300})
				require.NoError(t, err)
				defer s.Close()
				var hdr []string
				if tt.rng != "" {
					hdr = []string{"Range", tt.rng}
				}
				resp, got, err := get(t.Context(), s.Client(m.proto), s.URL, hdr...)
				require.NoError(t, err)
				assert.Equal(t, tt.status, resp.StatusCode)
				assert.Equal(t, tt.wantRange, resp.Header.Get("Content-Range"))
				assert.Equal(t, int64(len(tt.want)), resp.ContentLength)
				assert.True(t, bytes.Equal(tt.want, got), "body differs")
			})
		}
	}
}

func TestStatusFault(t *testing.T) {
	date := RetryAfterDate(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			s, c := start(t, m, content(100),
				Fault{Kind: Status, Status: 429, RetryAfter: RetryAfterSeconds(3 * time.Second)},
				Fault{Kind: Status, RetryAfter: date})
			resp, _, err := get(t.Context(), c, s.URL)
			require.NoError(t, err)
			assert.Equal(t, 429, resp.StatusCode)
			assert.Equal(t, "3", resp.Header.Get("Retry-After"))
			resp, _, err = get(t.Context(), c, s.URL)
			require.NoError(t, err)
			assert.Equal(t, 503, resp.StatusCode)
			assert.Equal(t, "Tue, 01 Jan 2030 00:00:00 GMT", resp.Header.Get("Retry-After"))
			resp, _, err = get(t.Context(), c, s.URL)
			require.NoError(t, err)
			assert.Equal(t, 200, resp.StatusCode)
			assert.Equal(t, 3, s.RequestCount())
		})
	}
}

// TestBodyFaults checks that each body fault strikes at its exact offset
// and what a plain client sees.
func TestBodyFaults(t *testing.T) {
	body := content(256 << 10)
	const at = 100_000
	for _, m := range modes {
		for _, k := range []Kind{Reset, ResetStream, GoAway, Truncate, Corrupt} {
			t.Run(m.name+"/"+string(k), func(t *testing.T) {
				s, c := start(t, m, body, Fault{Kind: k, At: at})
				_, got, err := get(t.Context(), c, s.URL)
				reqs := s.Requests()
				require.Len(t, reqs, 1)
				if k == Corrupt {
					require.NoError(t, err)
					require.Len(t, got, len(body))
					assert.Equal(t, body[at]^0xff, got[at])
					assert.Equal(t, body[:at], got[:at])
					assert.Equal(t, int64(len(body)), reqs[0].BodyBytes)
					return
				}
				require.Error(t, err)
				assert.Equal(t, int64(at), reqs[0].BodyBytes)
				assert.Equal(t, int64(at), s.BodyBytes())
				// A reset may discard bytes the client had not read yet;
				// the others deliver every byte written.
				if k != Reset {
					assert.Len(t, got, at)
				}
				assert.Equal(t, body[:len(got)], got)
				if k == Reset && m.proto == HTTP1 {
					assert.ErrorContains(t, err, "connection reset")
				}
				if k == ResetStream && m.proto == HTTP2 {
					var se http2.StreamError
					require.ErrorAs(t, err, &se)
					assert.Equal(t, http2.ErrCodeInternal, se.Code)
				}
				if k == GoAway && m.proto == HTTP2 {
					assert.ErrorContains(t, err, "GOAWAY")
				}
			})
		}
	}
}

func TestStall(t *testing.T) {
	body := content(64 << 10)
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			s, c := start(t, m, body, Fault{Kind: Stall, At: 1000})
			ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
			defer cancel()
			begin := time.Now()
			_, got, err := get(ctx, c, s.URL)
			require.Error(t, err)
			assert.True(t, errors.Is(err, context.DeadlineExceeded), "%v", err)
			assert.Len(t, got, 1000)
			assert.Less(t, time.Since(begin), 3*time.Second)
			// The connection is still good for another request on HTTP/2.
			_, got, err = get(t.Context(), c, s.URL)
			require.NoError(t, err)
			assert.Len(t, got, len(body))
		})
	}
}

func TestStallLimit(t *testing.T) {
	s, err := Start(Config{Content: content(10_000), Script: []Fault{{Kind: Stall, At: 10, Stall: 50 * time.Millisecond}}})
	require.NoError(t, err)
	defer s.Close()
	_, got, err := get(t.Context(), s.Client(HTTP1), s.URL)
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	assert.Len(t, got, 10)
}

func TestChangeContent(t *testing.T) {
	body := content(5000)
	s, c := start(t, modes[0], body, Fault{}, Fault{Kind: ChangeContent})
	etag := s.ETag()
	_, got, err := get(t.Context(), c, s.URL)
	require.NoError(t, err)
	assert.Equal(t, body, got)
	resp, got, err := get(t.Context(), c, s.URL, "Range", "bytes=100-", "If-Range", etag)
	require.NoError(t, err)
	assert.Equal(t, 200, resp.StatusCode)
	assert.NotEqual(t, etag, resp.Header.Get("ETag"))
	assert.Equal(t, s.Content(), got)
	assert.NotEqual(t, body, got)
	assert.Len(t, got, len(body))
}

// TestCloseStopsEverything closes the server with a stalled HTTP/2 stream
// and idle connections in flight; goleak in TestMain checks the rest.
func TestCloseStopsEverything(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			s, c := start(t, m, content(100_000), Fault{Kind: Stall, At: 10})
			errc := make(chan error, 1)
			go func() {
				_, _, err := get(context.Background(), c, s.URL)
				errc <- err
			}()
			require.Eventually(t, func() bool { r := s.Requests(); return len(r) == 1 && r[0].BodyBytes == 10 },
				5*time.Second, time.Millisecond)
			begin := time.Now()
			require.NoError(t, s.Close())
			assert.Error(t, <-errc)
			assert.Less(t, time.Since(begin), 2*time.Second)
		})
	}
}

func TestFile(t *testing.T) {
	path := t.TempDir() + "/blob"
	body := content(7777)
	require.NoError(t, writeFile(path, body))
	s, err := Start(Config{File: path})
	require.NoError(t, err)
	defer s.Close()
	_, got, err := get(t.Context(), s.Client(HTTP1), s.URL)
	require.NoError(t, err)
	assert.Equal(t, body, got)
	_, err = Start(Config{File: path + ".missing"})
	assert.Error(t, err)
}

func TestParseRange(t *testing.T) {
	tests := []struct {
		in              string
		size            int64
		start, end      int64
		ok, satisfiable bool
	}{
		{"bytes=0-", 10, 0, 9, true, true},
		{"bytes=3-5", 10, 3, 5, true, true},
		{"bytes=3-50", 10, 3, 9, true, true},
		{"bytes=-4", 10, 6, 9, true, true},
		{"bytes=-40", 10, 0, 9, true, true},
		{"bytes=-0", 10, 0, 0, true, false},
		{"bytes=10-", 10, 0, 0, true, false},
		{"bytes=0-", 0, 0, 0, true, false},
		{"bytes=5-3", 10, 0, 0, false, false},
		{"bytes=a-", 10, 0, 0, false, false},
		{"bytes=1-2,4-5", 10, 0, 0, false, false},
		{"items=1-2", 10, 0, 0, false, false},
		{"bytes=5", 10, 0, 0, false, false},
	}
	for _, tt := range tests {
		start, end, ok, sat := parseRange(tt.in, tt.size)
		assert.Equal(t, []any{tt.start, tt.end, tt.ok, tt.satisfiable}, []any{start, end, ok, sat}, tt.in)
	}
}

func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"bytes=0-", "bytes=3-5", "bytes=-4", "bytes=1-2,4-5", "bytes=10-", "bytes= 7-"} {
		f.Add(s, int64(10))
	}
	f.Fuzz(func(t *testing.T, v string, size int64) {
		if size < 0 {
			return
		}
		start, end, ok, sat := parseRange(v, size)
		if ok && sat && (start < 0 || end < start || end >= size) {
			t.Fatalf("parseRange(%q, %d) = %d-%d, outside the representation", v, size, start, end)
		}
		if ok && sat {
			// What we parsed must be what a Content-Range would name.
			if !strings.HasPrefix(v, "bytes=") {
				t.Fatalf("accepted %q", v)
			}
		}
	})
}

func writeFile(path string, b []byte) error { return os.WriteFile(path, b, 0o644) }

// TestBeforeResponse strikes each fault after the request arrived and
// before any byte of the response: the client gets no status, the record
// keeps the request (method, header) with status 0 and no body bytes.
func TestBeforeResponse(t *testing.T) {
	for _, m := range modes {
		for _, f := range []Fault{
			{Kind: Reset},
			{Kind: Truncate},
			{Kind: ResetStream, Code: http2.ErrCodeInternal},
			{Kind: GoAway, Code: http2.ErrCodeInternal},
			{Kind: Stall, Stall: 50 * time.Millisecond},
		} {
			t.Run(m.name+"/"+string(f.Kind), func(t *testing.T) {
				f.BeforeResponse, f.At = true, 10 // At is ignored
				s, c := start(t, m, content(1000), f)
				req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, s.URL, strings.NewReader("order=1"))
				require.NoError(t, err)
				req.Header.Set("Idempotency-Key", "k1")
				resp, err := c.Do(req)
				if err == nil {
					resp.Body.Close()
				}
				require.Error(t, err, "no response at all")
				reqs := s.Requests()
				require.NotEmpty(t, reqs)
				r := reqs[0]
				assert.Equal(t, http.MethodPost, r.Method)
				assert.Equal(t, "k1", r.Header.Get("Idempotency-Key"))
				assert.Zero(t, r.Status)
				assert.Zero(t, r.BodyBytes)
				assert.Zero(t, s.BodyBytes())
			})
		}
	}
}

// TestRefusedBeforeResponse checks the faults that say the request was
// not processed: net/http's HTTP/2 client sends the request again by
// itself, at once, on REFUSED_STREAM and on a GOAWAY that excludes it.
func TestRefusedBeforeResponse(t *testing.T) {
	for _, m := range modes {
		if m.proto != HTTP2 {
			continue
		}
		for _, f := range []Fault{
			{Kind: ResetStream, Code: http2.ErrCodeRefusedStream, BeforeResponse: true},
			{Kind: GoAway, ExcludeStream: true, BeforeResponse: true},
		} {
			t.Run(m.name+"/"+string(f.Kind), func(t *testing.T) {
				body := content(1000)
				s, c := start(t, m, body, f)
				resp, err := c.Post(s.URL, "text/plain", strings.NewReader(strings.Repeat("x", 100_000)))
				require.NoError(t, err)
				got, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				require.NoError(t, err)
				assert.Equal(t, body, got)
				reqs := s.Requests()
				require.Len(t, reqs, 2)
				assert.Zero(t, reqs[0].Status)
				assert.Equal(t, http.StatusOK, reqs[1].Status)
				assert.Equal(t, http.MethodPost, reqs[1].Method)
			})
		}
	}
}
