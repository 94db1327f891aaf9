package httpx

import (
	"context"
	"crypto/sha256"
	"io"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	fs "github.com/faultline-go/faultline/faulttest"
)

// TestShortRanges: a 206 that ends, complete, before the end of the file
// (a server capping range sizes) is followed by a request for the next
// range, not by a restart and not by a decision; a 206 cut short of its
// own Content-Length is resumed like any other broken body.
func TestShortRanges(t *testing.T) {
	const size = 200_000
	body := payload(size)
	tests := []struct {
		name     string
		maxRange int64
		script   []fs.Fault
		// resumes the policy made; continuations after complete short
		// 206s.
		resumes, continuations int
		readSize               int // 0: io.Copy
	}{
		// 10_000 delivered, then 190_000 in ranges of 50_000: 4 requests,
		// the first a resume.
		{name: "capped", maxRange: 50_000, script: []fs.Fault{{Kind: fs.Reset, At: 10_000}}, resumes: 1, continuations: 3},
		{name: "capped/read4k", maxRange: 50_000, script: []fs.Fault{{Kind: fs.Reset, At: 10_000}}, resumes: 1, continuations: 3, readSize: 4 << 10},
		{name: "capped/read1", maxRange: 70_000, script: []fs.Fault{{Kind: fs.Reset, At: 150_000}}, resumes: 1, continuations: 0, readSize: 1},
		// A cap that divides the rest exactly: no request past the end.
		{name: "capped exactly", maxRange: 95_000, script: []fs.Fault{{Kind: fs.Reset, At: 10_000}}, resumes: 1, continuations: 1},
		{name: "capped tiny", maxRange: 1_000, script: []fs.Fault{{Kind: fs.Reset, At: 190_000}}, resumes: 1, continuations: 9},
		// The second range breaks after 20_000 of its 50_000 bytes: resume
		// from there, then continue in ranges.
		{name: "capped then reset", maxRange: 50_000, script: []fs.Fault{
			{Kind: fs.Reset, At: 10_000}, {}, {Kind: fs.Reset, At: 20_000},
		}, resumes: 2, continuations: 3},
		// A 206 whose body ends before its Content-Length: a resume.
		{name: "truncated 206", script: []fs.Fault{
			{Kind: fs.Reset, At: 10_000}, {Kind: fs.Truncate, At: 30_000},
		}, resumes: 2},
		{name: "truncated capped 206", maxRange: 60_000, script: []fs.Fault{
			{Kind: fs.Reset, At: 10_000}, {Kind: fs.Truncate, At: 30_000},
		}, resumes: 2, continuations: 2},
	}
	for _, m := range modes {
		for _, tt := range tests {
			t.Run(m.name+"/"+tt.name, func(t *testing.T) {
				s, err := fs.Start(fs.Config{Content: body, TLS: m.tls, Script: tt.script, MaxRange: tt.maxRange, StallLimit: 5 * time.Second})
				require.NoError(t, err)
				defer s.Close()
				var sl sleeps
				decisions, attempts := 0, 0
				c := &Client{HTTP: m.client(t, s), Sleep: sl.sleep,
					OnDecision: func(Event) { decisions++ },
					OnAttempt:  func(Event) { attempts++ },
				}
				var got []byte
				res, err := c.Do(t.Context(), s.URL, func(ctx context.Context, r io.Reader) error {
					var err error
					if tt.readSize == 0 {
						got, err = io.ReadAll(r)
					} else {
						got, err = io.ReadAll(io.LimitReader(readerOf(r, tt.readSize), size+1))
					}
					return err
				}, nil)
				require.NoError(t, err)
				assert.Equal(t, sha256.Sum256(body), sha256.Sum256(got), "delivered bytes")
				assert.Equal(t, int64(size), res.Bytes)
				assert.Equal(t, tt.resumes, res.Resumes, "resumes")
				assert.Equal(t, 0, res.Restarts, "restarts")
				assert.Equal(t, tt.continuations, res.Continuations, "continuations")
				assert.Equal(t, tt.resumes, decisions, "only failures are decided")
				assert.Equal(t, 1+tt.resumes, res.Attempts)
				assert.Equal(t, res.Attempts, attempts, "OnAttempt calls")

				reqs := s.Requests()
				require.Len(t, reqs, res.Attempts+res.Continuations, "requests: %+v", reqs)
				// Every range asked for starts where the bytes received
				// end, and carries the validator.
				next := reqs[0].BodyBytes
				for _, r := range reqs[1:] {
					assert.Equal(t, "bytes="+strconv.FormatInt(next, 10)+"-", r.Range)
					assert.Equal(t, s.ETag(), r.IfRange)
					assert.Equal(t, 206, r.Status)
					next += r.BodyBytes
				}
				assert.Equal(t, int64(size), next, "the server sent each byte once")
				assert.Equal(t, int64(size), res.BytesServed)
			})
		}
	}
}

// readerOf hides everything but Read, reading at most n bytes at a time.
func readerOf(r io.Reader, n int) io.Reader { return &smallReads{r, n} }

type smallReads struct {
	r io.Reader
	n int
}

func (s *smallReads) Read(p []byte) (int, error) { return s.r.Read(p[:min(len(p), s.n)]) }

// TestMalformedRange: a 206 whose Content-Range does not match its
// Content-Length cannot be spliced; the download restarts.
func TestMalformedRange(t *testing.T) {
	const size = 100_000
	body := payload(size)
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			s := startServer(t, m, body, fs.Fault{Kind: fs.Reset, At: 40_000}, fs.Fault{Kind: fs.MislabelledRange})
			var reasons []string
			c := &Client{HTTP: m.client(t, s), Sleep: (&sleeps{}).sleep,
				OnRestart: func(e Event) { reasons = append(reasons, e.Reason) }}
			var h hashConsumer
			res, err := c.Do(t.Context(), s.URL, h.consume, nil)
			require.NoError(t, err)
			assert.Equal(t, sha256.Sum256(body), h.sum)
			assert.Equal(t, 1, res.Restarts)
			assert.Equal(t, 0, res.Continuations)
			require.Len(t, reasons, 1)
			assert.Contains(t, reasons[0], "does not match Content-Length")
			assert.Equal(t, 3, s.RequestCount())
		})
	}
}
