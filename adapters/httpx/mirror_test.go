package httpx

import (
	"crypto/sha256"
	"encoding/json"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	fs "github.com/faultline-go/faultline/faulttest"
	"github.com/faultline-go/faultline/policy"
)

// startMirror starts a fault server for a mirror test; choose may be nil.
func startMirror(t *testing.T, body []byte, choose func(fs.Request) fs.Fault) *fs.Server {
	t.Helper()
	s, err := fs.Start(fs.Config{Content: body, Choose: choose})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

// everyRequest returns a Choose function that gives every request f.
func everyRequest(f fs.Fault) func(fs.Request) fs.Fault {
	return func(fs.Request) fs.Fault { return f }
}

// ranged returns a Choose function that gives every range request f.
func ranged(f fs.Fault) func(fs.Request) fs.Fault {
	return func(r fs.Request) fs.Fault {
		if r.Range != "" && r.Range != parFirst {
			return f
		}
		return fs.Fault{}
	}
}

// TestMirrorMovesOn: the URL given fails in a way another host may not;
// the download moves to a mirror and is exact. The policy sees which
// mirror failed and how many are left (source), in its dumps too.
func TestMirrorMovesOn(t *testing.T) {
	body := payload(1 << 20)
	refused := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := l.Addr().String()
		l.Close()
		return "http://" + addr + "/f"
	}
	for _, tc := range []struct {
		name    string
		primary func(t *testing.T) string
		kind    string
	}{
		{"404", func(t *testing.T) string {
			return startMirror(t, body, everyRequest(fs.Fault{Kind: fs.Status, Status: 404})).URL + "/f"
		}, "http_status"},
		{"503", func(t *testing.T) string {
			return startMirror(t, body, everyRequest(fs.Fault{Kind: fs.Status, Status: 503})).URL + "/f"
		}, "http_status"},
		{"refused", func(*testing.T) string { return refused() }, "connection_refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			primary := tc.primary(t)
			good := startMirror(t, body, nil)
			dumps := t.TempDir()
			var sl sleeps
			c := &Client{HTTP: good.Client(fs.HTTP1), Sleep: sl.sleep, DumpDir: dumps}
			var h hashConsumer
			res, err := c.Do(t.Context(), primary, h.consume, &Options{Mirrors: []string{good.URL + "/f"}})
			require.NoError(t, err)
			assert.Equal(t, sha256.Sum256(body), h.sum)
			assert.Equal(t, 1, good.RequestCount())
			require.Len(t, res.Trail, 1)
			assert.Equal(t, "next-mirror", res.Trail[0].Rule)
			assert.Zero(t, res.Trail[0].Delay, "at once")
			assert.Empty(t, sl.all(), "no wait")
			require.Len(t, res.Mirrors, 2)
			assert.Equal(t, int64(len(body)), res.Mirrors[1].Bytes)
			assert.Zero(t, res.Mirrors[0].Bytes)
			assert.True(t, res.Mirrors[0].Dropped || res.Mirrors[0].Resting, "the failed mirror is out of use")
			assert.Equal(t, tc.name == "404", res.Mirrors[0].Dropped, "a 404 will not go away; the others may")

			files, err := filepath.Glob(filepath.Join(dumps, "*.json"))
			require.NoError(t, err)
			require.Len(t, files, 1)
			data, err := os.ReadFile(files[0])
			require.NoError(t, err)
			var d policy.Dump
			require.NoError(t, json.Unmarshal(data, &d))
			u, err := url.Parse(primary)
			require.NoError(t, err)
			assert.Equal(t, policy.Source{Mirror: 0, Host: u.Host, Mirrors: 2, MirrorsLeft: 1, Failures: 1},
				d.State.Source, "the dump says which mirror failed")
		})
	}
}

// TestMirrorLastOneFails: a 404 when no mirror is left is what it always
// was: the download fails, by the rule for client errors.
func TestMirrorLastOneFails(t *testing.T) {
	body := payload(64 << 10)
	a := startMirror(t, body, everyRequest(fs.Fault{Kind: fs.Status, Status: 404}))
	b := startMirror(t, body, everyRequest(fs.Fault{Kind: fs.Status, Status: 404}))
	var sl sleeps
	c := &Client{HTTP: a.Client(fs.HTTP1), Sleep: sl.sleep}
	var h hashConsumer
	res, err := c.Do(t.Context(), a.URL+"/f", h.consume, &Options{Mirrors: []string{b.URL + "/f"}})
	var he *Error
	require.ErrorAs(t, err, &he)
	assert.Equal(t, "http-client-error", he.Decision.Rule)
	assert.Equal(t, 1, a.RequestCount())
	assert.Equal(t, 1, b.RequestCount())
	assert.Len(t, res.Trail, 2)
}

// TestMirrorRangesSpread: with a checksum to prove them, ranges come from
// every mirror; without one, from the URL given only.
func TestMirrorRangesSpread(t *testing.T) {
	body := payload(parSize)
	sum := sha256.Sum256(body)
	for _, withSum := range []bool{true, false} {
		t.Run(map[bool]string{true: "sha256", false: "no checksum"}[withSum], func(t *testing.T) {
			a := startMirror(t, body, nil)
			b := startMirror(t, body, nil)
			c := &Client{HTTP: a.Client(fs.HTTP1)}
			opts := parOpts
			opts.Mirrors = []string{b.URL + "/f"}
			if withSum {
				opts.SHA256 = sum[:]
			}
			var h hashConsumer
			res, err := c.Do(t.Context(), a.URL+"/f", h.consume, &opts)
			require.NoError(t, err)
			assert.Equal(t, sum, h.sum)
			require.Len(t, res.Mirrors, 2)
			assert.Equal(t, int64(parSize), res.Mirrors[0].Bytes+res.Mirrors[1].Bytes, "every byte counted once")
			if withSum {
				assert.Positive(t, b.RequestCount(), "the mirror served ranges too")
				assert.Positive(t, res.Mirrors[1].Bytes)
			} else {
				assert.Zero(t, b.RequestCount(), "no splicing without a checksum")
			}
		})
	}
}

// TestMirrorDifferentBytesCaught: a mirror serves other bytes of the same
// length (one flipped in every MiB, so any range of it is wrong). Spliced
// in, they fail the SHA-256; the download restarts from the URL given
// alone and is exact.
func TestMirrorDifferentBytesCaught(t *testing.T) {
	body := payload(parSize)
	other := append([]byte(nil), body...)
	for i := 100; i < parSize; i += parChunk {
		other[i] ^= 0xff
	}
	sum := sha256.Sum256(body)
	a := startMirror(t, body, nil)
	b := startMirror(t, other, nil)
	var sl sleeps
	c := &Client{HTTP: a.Client(fs.HTTP1), Sleep: sl.sleep}
	opts := parOpts
	opts.Mirrors = []string{b.URL + "/f"}
	opts.SHA256 = sum[:]
	var h hashConsumer
	res, err := c.Do(t.Context(), a.URL+"/f", h.consume, &opts)
	require.NoError(t, err)
	assert.Equal(t, sum, h.sum, "exact")
	assert.Positive(t, b.RequestCount(), "the bad mirror served ranges")
	require.Equal(t, 1, res.Restarts, "the hash caught the splice")
	require.NotEmpty(t, res.Trail)
	assert.Equal(t, "checksum-once", res.Trail[len(res.Trail)-1].Rule)
	assert.Equal(t, 2, h.calls, "the consumer started over")
}

// TestMirrorNoSpliceMovesRestart: without a checksum, a range whose mirror
// fails for good (404) moves the whole download to the next mirror, from
// the start: bytes of two mirrors are never joined.
func TestMirrorNoSpliceMovesRestart(t *testing.T) {
	body := payload(parSize)
	a := startMirror(t, body, ranged(fs.Fault{Kind: fs.Status, Status: 404}))
	b := startMirror(t, body, nil)
	var sl sleeps
	c := &Client{HTTP: a.Client(fs.HTTP1), Sleep: sl.sleep}
	opts := parOpts
	opts.Mirrors = []string{b.URL + "/f"}
	var h hashConsumer
	res, err := c.Do(t.Context(), a.URL+"/f", h.consume, &opts)
	require.NoError(t, err)
	assert.Equal(t, sha256.Sum256(body), h.sum)
	assert.Equal(t, 1, res.Restarts, "moved, and started over")
	assert.Equal(t, 2, h.calls)
	require.Len(t, res.Mirrors, 2)
	assert.Equal(t, int64(parSize), res.Mirrors[1].Bytes, "the second pass came from the mirror, all of it")
	assert.True(t, res.Mirrors[0].Dropped)
	reqs := b.Requests()
	require.NotEmpty(t, reqs)
	assert.Equal(t, parFirst, reqs[0].Range, "the mirror's first request is for the first bytes")
}
