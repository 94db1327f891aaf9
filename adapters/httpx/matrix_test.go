package httpx

import (
	"crypto/sha256"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faultline-go/faultline/classify"
	fs "github.com/faultline-go/faultline/faulttest"
)

// position is where in the body a fault strikes.
type position struct {
	name string
	at   func(size int64) int64
}

var positions = []position{
	{"first", func(int64) int64 { return 0 }},
	{"middle", func(size int64) int64 { return size / 2 }},
	{"last", func(size int64) int64 { return size - 1 }},
}

// matrixCase is one fault, with what the operation must do about it.
// Counts are for a fault that strikes after at > 0 bytes; at the first
// byte nothing was delivered, so there is nothing to resume or restart.
type matrixCase struct {
	name   string
	script func(at int64) []fs.Fault
	weak   bool // the server sends only weak ETags
	sha    bool // pass the expected SHA-256
	idle   time.Duration
	// requests the server must see; resumes, refetches and restarts the
	// Result must report.
	requests, resumes, refetches, restarts int
	// refetch: the bytes read again on top of the file, as a multiple of
	// the bytes delivered before the fault (a prefix re-read or a
	// restart) or of the whole file (a restart after a full pass).
	refetchPrefix, refetchFile int64
	// h2EitherWay: over HTTP/2 the failure may surface as a GOAWAY (the
	// policy retries: a prefix refetch) or as a plain EOF (it resumes with
	// a range), depending on what the client had read when the connection
	// closed; the server's log tells which happened.
	h2EitherWay bool
	// abandons: the client drops the second response unread, so the
	// server may have written more than the client read.
	abandons bool
	// notFirst: the case needs bytes delivered before the fault.
	notFirst bool
}

func bodyFault(k fs.Kind) func(int64) []fs.Fault {
	return func(at int64) []fs.Fault { return []fs.Fault{{Kind: k, At: at}} }
}

func thenFault(k fs.Kind, second fs.Kind) func(int64) []fs.Fault {
	return func(at int64) []fs.Fault { return []fs.Fault{{Kind: k, At: at}, {Kind: second}} }
}

var matrix = []matrixCase{
	{name: "reset", script: bodyFault(fs.Reset), requests: 2, resumes: 1},
	{name: "reset_stream", script: bodyFault(fs.ResetStream), requests: 2, resumes: 1},
	// Over HTTP/2 the default policy retries after a graceful GOAWAY
	// (rule h2-unprocessed, which does not look at the phase): a retry
	// refetches from the start and checks the prefix.
	{name: "goaway", script: bodyFault(fs.GoAway), requests: 2, resumes: 1, h2EitherWay: true},
	{name: "truncate", script: bodyFault(fs.Truncate), requests: 2, resumes: 1},
	{name: "stall", script: bodyFault(fs.Stall), idle: 150 * time.Millisecond, requests: 2, resumes: 1},
	// The server answers the resume with the whole body: the delivered
	// prefix is read again, checked and skipped. A refetch, not a resume.
	{name: "ignore_range", script: thenFault(fs.Reset, fs.IgnoreRange), requests: 2, refetches: 1, refetchPrefix: 1},
	// No validator: a resume cannot be ranged, the policy retries, and
	// the refetched prefix is checked instead.
	{name: "weak_etag", script: bodyFault(fs.Reset), weak: true, requests: 2, refetches: 1, refetchPrefix: 1},
	// The representation changed: never splice, start over.
	{name: "change_etag", abandons: true, script: thenFault(fs.Reset, fs.ChangeETag), requests: 3, resumes: 1, restarts: 1, refetchPrefix: 1},
	{name: "change_content", abandons: true, script: thenFault(fs.Reset, fs.ChangeContent), requests: 3, resumes: 1, restarts: 1, refetchPrefix: 1},
	{name: "wrong_content_range", abandons: true, script: thenFault(fs.Reset, fs.WrongContentRange), requests: 3, resumes: 1, restarts: 1, refetchPrefix: 1},
	{name: "range_not_satisfiable", notFirst: true, script: thenFault(fs.Reset, fs.RangeNotSatisfiable), requests: 3, resumes: 1, restarts: 1, refetchPrefix: 1},
	// A flipped byte is caught by the checksum at the end; the policy
	// downloads once more from scratch.
	{name: "corrupt", script: bodyFault(fs.Corrupt), sha: true, requests: 2, restarts: 1, refetchFile: 1},
}

func TestFaultMatrix(t *testing.T) {
	body := payload(192 << 10)
	size := int64(len(body))
	want := sha256.Sum256(body)
	for _, m := range modes {
		for _, tc := range matrix {
			for _, pos := range positions {
				t.Run(m.name+"/"+tc.name+"/"+pos.name, func(t *testing.T) {
					at := pos.at(size)
					if at == 0 && tc.notFirst {
						t.Skip("a 416 to a request without Range is a failure; see TestFaultMatrixFailures")
					}
					s, err := fs.Start(fs.Config{Content: body, TLS: m.tls, Script: tc.script(at), WeakETag: tc.weak, StallLimit: 5 * time.Second})
					require.NoError(t, err)
					defer s.Close()
					var sl sleeps
					// The first decision says how many bytes were delivered
					// before the fault: a reset may lose some in flight,
					// and a client may drop what it buffered.
					delivered := int64(-1)
					first := func(e Event) {
						if delivered < 0 {
							delivered = e.Offset
						}
					}
					c := &Client{HTTP: m.client(t, s), Sleep: sl.sleep, IdleTimeout: tc.idle, OnDecision: first}
					var opts *Options
					if tc.sha {
						opts = &Options{SHA256: want[:], Size: size}
					}
					var h hashConsumer
					begin := time.Now()
					res, err := c.Do(t.Context(), s.URL, h.consume, opts)
					require.NoError(t, err)
					final := s.Content()
					assert.Equal(t, sha256.Sum256(final), h.sum, "delivered SHA-256")
					assert.Equal(t, size, h.n)
					assert.Equal(t, size, res.Bytes)

					requests, resumes, refetches, restarts := tc.requests, tc.resumes, tc.refetches, tc.restarts
					if m.proto == fs.HTTP2 && tc.h2EitherWay && s.Requests()[1].Range == "" {
						resumes, refetches = 0, 1 // retried without Range
					}
					if at == 0 && tc.name != "corrupt" {
						// Nothing was delivered: a plain retry, or a
						// first request that already sees the change.
						resumes, refetches, restarts = 0, 0, 0
						if restarts < tc.restarts {
							requests--
						}
					}
					assert.Equal(t, requests, s.RequestCount(), "requests: %+v", s.Requests())
					assert.Equal(t, requests, res.Attempts)
					assert.Equal(t, resumes, res.Resumes, "resumes")
					assert.Equal(t, refetches, res.Refetches, "refetches")
					assert.Equal(t, restarts, res.Restarts, "restarts")
					assert.Equal(t, restarts+1, h.calls, "consumer calls")

					// What the client read off the wire is exact; what the
					// server wrote may exceed it by what a reset
					// discarded in flight.
					refetchPrefix := tc.refetchPrefix
					if m.proto == fs.HTTP2 && tc.h2EitherWay && s.Requests()[1].Range == "" {
						refetchPrefix = 1
					}
					delivered = max(delivered, 0)
					if tc.refetchFile > 0 {
						delivered = 0 // the restart came after a full pass, counted below
					}
					wantServed := size + refetchPrefix*delivered + tc.refetchFile*size
					assert.Equal(t, wantServed, res.BytesServed, "bytes read off the wire")
					assert.GreaterOrEqual(t, s.BodyBytes(), res.BytesServed)
					slack := at // a reset may discard bytes in flight
					if tc.abandons && len(s.Requests()) > 1 {
						slack += s.Requests()[1].BodyBytes
					}
					assert.LessOrEqual(t, s.BodyBytes(), res.BytesServed+slack, "server bytes beyond what the client read")
					assert.Less(t, time.Since(begin), 5*time.Second)
				})
			}
		}
	}
}

// TestFaultMatrixFailures covers faults where failing is right, and
// checks that failing is quick and says why.
func TestFaultMatrixFailures(t *testing.T) {
	body := payload(64 << 10)
	other := sha256.Sum256([]byte("something else"))
	tests := []struct {
		name     string
		script   []fs.Fault
		opts     *Options
		kind     classify.Kind
		requests int
		check    func(t *testing.T, err error)
	}{
		{"not found", []fs.Fault{{Kind: fs.Status, Status: 404}}, nil, classify.HTTPStatus, 1, func(t *testing.T, err error) {
			var se *StatusError
			require.ErrorAs(t, err, &se)
			assert.Equal(t, http.StatusNotFound, se.Status)
		}},
		{"checksum twice", nil, &Options{SHA256: other[:]}, classify.Checksum, 2, func(t *testing.T, err error) {
			var ce *ChecksumError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, other[:], ce.WantSHA256)
		}},
		{"wrong size announced", nil, &Options{Size: 10}, classify.Checksum, 2, func(t *testing.T, err error) {
			var ce *ChecksumError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, int64(len(body)), ce.GotSize)
		}},
	}
	for _, m := range modes {
		for _, tt := range tests {
			t.Run(m.name+"/"+tt.name, func(t *testing.T) {
				s := startServer(t, m, body, tt.script...)
				var sl sleeps
				var kinds []classify.Kind
				c := &Client{HTTP: m.client(t, s), Sleep: sl.sleep,
					OnDecision: func(e Event) { kinds = append(kinds, e.Input.Error.Kind) }}
				var h hashConsumer
				begin := time.Now()
				_, err := c.Do(t.Context(), s.URL, h.consume, tt.opts)
				require.Error(t, err)
				var fe *Error
				require.ErrorAs(t, err, &fe)
				require.NotEmpty(t, kinds)
				assert.Equal(t, tt.kind, kinds[len(kinds)-1])
				assert.Equal(t, tt.requests, s.RequestCount())
				assert.Less(t, time.Since(begin), time.Second)
				tt.check(t, err)
			})
		}
	}
}

func TestStatusRetryAfter(t *testing.T) {
	now := time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC)
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			body := payload(10_000)
			s := startServer(t, m, body,
				fs.Fault{Kind: fs.Status, Status: 503, RetryAfter: "4"},
				fs.Fault{Kind: fs.Status, Status: 429, RetryAfter: fs.RetryAfterDate(now.Add(7 * time.Second))})
			var sl sleeps
			c := &Client{HTTP: m.client(t, s), Sleep: sl.sleep, Now: func() time.Time { return now }}
			var h hashConsumer
			res, err := c.Do(t.Context(), s.URL, h.consume, nil)
			require.NoError(t, err)
			assert.Equal(t, sha256.Sum256(body), h.sum)
			assert.Equal(t, 3, res.Attempts)
			d := sl.all()
			require.Len(t, d, 2)
			assert.GreaterOrEqual(t, d[0], 4*time.Second)
			assert.GreaterOrEqual(t, d[1], 7*time.Second)
		})
	}
}
