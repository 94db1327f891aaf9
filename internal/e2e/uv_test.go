package e2e

import (
	"context"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faultline-go/faultline/adapters/tarx"
	"github.com/faultline-go/faultline/chain"
	"github.com/faultline-go/faultline/classify"
	fs "github.com/faultline-go/faultline/faulttest"
	"github.com/faultline-go/faultline/internal/archivetest"
	"github.com/faultline-go/faultline/policies"
	"github.com/faultline-go/faultline/policy"
)

// TestUV14171 replays astral-sh/uv#14171: a Python tar.gz streamed over
// HTTP/2 into the extractor, the connection reset in the middle. uv
// reported "failed to unpack python/bin/python3.10: error decoding
// response body: connection reset" and gave up.
func TestUV14171(t *testing.T) {
	fx := load(t, bigTarGz)

	// Without faultline's body, the reset surfaces through the
	// decompressor and the tar reader, as in uv. The walk still finds it,
	// the facts say the network cut the archive short, and the default
	// policy retries instead of calling the archive corrupt.
	t.Run("seen by the unpacker", func(t *testing.T) {
		s := start(t, h2tls, fx.data, fs.Fault{Kind: fs.Reset, At: fx.size() / 2})
		ctx := context.Background()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL, nil)
		require.NoError(t, err)
		resp, err := s.Client(h2tls.proto).Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, 2, resp.ProtoMajor)
		dir := scratch(t)
		_, err = tarx.Extract(ctx, resp.Body, filepath.Join(dir, "python"), tarx.Options{})
		require.Error(t, err)
		t.Logf("error: %v", err)
		assert.Empty(t, leftovers(t, dir), "nothing partial")

		facts := classify.Classify(chain.Walk(err))
		t.Logf("facts: kind %s caused_by_transport %v decode %+v", facts.Kind, facts.CausedByTransport, facts.Decode)
		switch facts.Kind {
		case classify.ConnectionReset, classify.H2Connection, classify.H2Stream:
			// The transport failure decides, not the decoder that
			// reported it, and the facts say the decoder failed because
			// of it.
			assert.True(t, facts.CausedByTransport, "the decoder's failure has a transport failure beneath it")
		case classify.UnexpectedEOF:
			// net/http's HTTP/2 client reports a connection reset on a
			// body as a bare unexpected EOF in some runs (when its read
			// loop closes the stream before the reset reaches the read):
			// the cause is lost before faultline sees the error. Short of
			// the announced length, it is still a truncation.
		default:
			t.Errorf("kind %s: want a transport failure or a truncation", facts.Kind)
		}
		assert.True(t, facts.Transient)
		assert.Equal(t, "gzip", facts.Decode.Format)
		assert.NotEmpty(t, facts.Decode.Entry, "the entry being unpacked is kept")

		st := policy.State{Phase: policy.PhaseUnpack, Attempt: 1, BytesReceived: fx.size() / 2, TotalExpected: fx.size(),
			Request: policy.Request{Method: "GET", Idempotent: true}}
		d, err := policies.Default().Decide(ctx, policy.Input{Error: facts, State: st})
		require.NoError(t, err)
		assert.Equal(t, policy.Retry, d.Action, "rule %s: %s", d.Rule, d.Reason)
	})

	// With faultline's body, the same reset is decided where it happens:
	// the body resumes with a ranged request, the unpacker never notices,
	// and the tree is exact.
	t.Run("resumed", func(t *testing.T) {
		s := start(t, h2tls, fx.data, fs.Fault{Kind: fs.Reset, At: fx.size() / 2})
		var r run
		c := newClient(s.Client(h2tls.proto), &r)
		dir := scratch(t)
		dest := filepath.Join(dir, "python")
		fetch(context.Background(), c, &r, job{url: s.URL, dest: dest})
		require.NoError(t, r.err)
		archivetest.Compare(t, fx.entries, dest)
		assert.Empty(t, leftovers(t, dir, "python"))

		require.Len(t, r.events, 1)
		e := r.events[0]
		t.Logf("decision: %s at %d: %s (%s)", e.Input.Error.Kind, e.Offset, e.Decision.Action, e.Decision.Rule)
		assert.Contains(t, []classify.Kind{classify.ConnectionReset, classify.H2Connection, classify.UnexpectedEOF}, e.Input.Error.Kind)
		assert.True(t, e.Input.Error.Transient)
		assert.Equal(t, policy.PhaseBody, e.Input.State.Phase)
		assert.Equal(t, "HTTP/2.0", e.Input.State.Response.Protocol)
		assert.True(t, e.Input.State.Response.Resumable)
		assert.Equal(t, policy.Resume, e.Decision.Action)
		assert.Equal(t, "resume-body", e.Decision.Rule)
		assert.Equal(t, 1, r.res.Resumes)
		assert.Equal(t, 0, r.res.Restarts)
		assert.Equal(t, 1, r.passes, "the unpacker never saw the reset")
		assert.LessOrEqual(t, float64(r.res.BytesServed), 1.05*float64(fx.size()))
		for i, req := range s.Requests() {
			assert.Equal(t, "HTTP/2.0", req.Proto, "request %d", i+1)
		}
	})
}
