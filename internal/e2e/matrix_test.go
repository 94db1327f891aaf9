package e2e

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faultline-go/faultline/adapters/httpx"
	"github.com/faultline-go/faultline/adapters/tarx"
	"github.com/faultline-go/faultline/classify"
	fs "github.com/faultline-go/faultline/faulttest"
	"github.com/faultline-go/faultline/internal/archivetest"
)

// matrixCase is one fault of the fault server, struck in the middle of
// the archive, and what fetching through it must come to.
type matrixCase struct {
	name   string
	script func(size int64) []fs.Fault
	fx     func() (*fixture, error) // nil means bigTarGz
	weak   bool                     // the server sends only weak validators
	sha    bool                     // pass the archive's SHA-256
	// On success: the resumes, refetches and restarts the Result
	// reports, and the most bytes read off the wire, as a multiple of the
	// archive.
	resumes, refetches, restarts int
	maxServed                    float64
	// On failure: the kinds the last decision may have seen. The
	// destination must then be untouched.
	failKinds []classify.Kind
}

func at(k fs.Kind) func(int64) []fs.Fault {
	return func(size int64) []fs.Fault { return []fs.Fault{{Kind: k, At: size / 2}} }
}

func then(k, second fs.Kind) func(int64) []fs.Fault {
	return func(size int64) []fs.Fault { return []fs.Fault{{Kind: k, At: size / 2}, {Kind: second}} }
}

// A resumable server costs one ranged request and at most a few percent
// of extra bytes (what was in flight when the connection died). A server
// that cannot resume costs a re-read of the prefix (1.5×); a
// representation that changed costs a restart.
var matrix = []matrixCase{
	{name: "reset", script: at(fs.Reset), resumes: 1, maxServed: 1.05},
	{name: "reset_stream", script: at(fs.ResetStream), resumes: 1, maxServed: 1.05},
	{name: "goaway", script: at(fs.GoAway), resumes: 1, maxServed: 1.05},
	{name: "truncate", script: at(fs.Truncate), resumes: 1, maxServed: 1.05},
	{name: "stall", script: at(fs.Stall), resumes: 1, maxServed: 1.05},
	{name: "status_503", script: func(int64) []fs.Fault { return []fs.Fault{{Kind: fs.Status, Status: 503}} }, maxServed: 1},
	{name: "three_resets", script: func(size int64) []fs.Fault {
		return []fs.Fault{{Kind: fs.Reset, At: size / 4}, {Kind: fs.ResetStream, At: size / 4}, {Kind: fs.Reset, At: size / 4}}
	}, sha: true, resumes: 3, maxServed: 1.05},
	{name: "zstd_reset", fx: bigTarZst, script: at(fs.Reset), resumes: 1, maxServed: 1.05},
	// The server answers the resume with the whole body: the prefix is
	// read again, checked against what was delivered, and skipped.
	{name: "ignore_range", script: then(fs.Reset, fs.IgnoreRange), refetches: 1, maxServed: 1.55},
	// No validator to resume with: the prefix is refetched and checked.
	{name: "weak_etag", script: at(fs.Reset), weak: true, refetches: 1, maxServed: 1.55},
	// The representation changed, or the server answered a range wrongly:
	// never splice, unpack again from byte 0.
	{name: "change_etag", script: then(fs.Reset, fs.ChangeETag), resumes: 1, restarts: 1, maxServed: 1.55},
	{name: "wrong_content_range", script: then(fs.Reset, fs.WrongContentRange), resumes: 1, restarts: 1, maxServed: 1.55},
	{name: "range_not_satisfiable", script: then(fs.Reset, fs.RangeNotSatisfiable), resumes: 1, restarts: 1, maxServed: 1.55},
	// A bit flipped in transit inside stored blocks: only the gzip CRC-32
	// sees it, at the end; the policy downloads once more.
	{name: "corrupt_stored", fx: bigStored, script: at(fs.Corrupt), restarts: 1, maxServed: 2.05},
	// The same flip inside deflate data breaks the decoder at once; no
	// transport failure is beneath it, so it is taken for a corrupt
	// source and the fetch fails.
	{name: "corrupt_deflate", script: at(fs.Corrupt), failKinds: []classify.Kind{classify.Decode, classify.Archive, classify.Checksum}},
	// The new content is not an archive at all: the restart unpacks it and
	// fails on a corrupt source.
	{name: "change_content", script: then(fs.Reset, fs.ChangeContent), failKinds: []classify.Kind{classify.Decode, classify.Archive}},
}

// TestFaultMatrix fetches and unpacks a 2,000-file archive through every
// fault of the fault server, over HTTP/1.1 and HTTP/2, and compares the
// unpacked tree with the archive's entries file by file.
func TestFaultMatrix(t *testing.T) {
	for _, m := range []mode{h1, h2c} {
		for _, tc := range matrix {
			t.Run(m.name+"/"+tc.name, func(t *testing.T) {
				// Each case has its own server and directory; the stall
				// case spends most of its time waiting.
				t.Parallel()
				getFx := tc.fx
				if getFx == nil {
					getFx = bigTarGz
				}
				fx := load(t, getFx)
				s, err := fs.Start(fs.Config{Content: fx.data, TLS: m.tls, Script: tc.script(fx.size()), WeakETag: tc.weak})
				require.NoError(t, err)
				defer s.Close()
				var r run
				c := newClient(s.Client(m.proto), &r)
				var opts *httpx.Options
				if tc.sha {
					opts = &httpx.Options{SHA256: fx.sha256, Size: fx.size()}
				}
				dir := scratch(t)
				dest := filepath.Join(dir, "tree")
				fetch(context.Background(), c, &r, job{url: s.URL, dest: dest, opts: opts})

				for _, e := range r.events {
					t.Logf("decision: attempt %d %s at %d: %s (%s)", e.Attempt, e.Input.Error.Kind, e.Offset, e.Decision.Action, e.Decision.Rule)
				}
				assert.Empty(t, leftovers(t, dir, "tree"), "staging left behind")
				if tc.failKinds != nil {
					require.Error(t, r.err)
					require.NotEmpty(t, r.events)
					last := r.events[len(r.events)-1]
					assert.Contains(t, tc.failKinds, last.Input.Error.Kind)
					var he *httpx.Error
					require.ErrorAs(t, r.err, &he)
					var te *tarx.Error
					assert.ErrorAs(t, r.err, &te, "the unpacker's error is reachable")
					assert.NoDirExists(t, dest)
					return
				}
				require.NoError(t, r.err)
				archivetest.Compare(t, fx.entries, dest)
				assert.Equal(t, fx.size(), r.res.Bytes)
				resumes, refetches := tc.resumes, tc.refetches
				if tc.name == "goaway" && r.res.Refetches > 0 {
					// Over HTTP/2 a graceful GOAWAY may be retried
					// without Range (rule h2-unprocessed): a refetch.
					resumes, refetches = 0, 1
				}
				assert.Equal(t, resumes, r.res.Resumes, "resumes")
				assert.Equal(t, refetches, r.res.Refetches, "refetches")
				assert.Equal(t, tc.restarts, r.res.Restarts, "restarts")
				assert.Equal(t, tc.restarts+1, r.passes, "the unpack starts once, and again after each restart")
				served := float64(r.res.BytesServed) / float64(fx.size())
				assert.LessOrEqual(t, served, tc.maxServed, "bytes served / archive size")
				t.Logf("served %.3f× (client), %.3f× (server)", served, float64(s.BodyBytes())/float64(fx.size()))
			})
		}
	}
}
