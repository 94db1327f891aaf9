package httpx

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	fs "github.com/faultline-go/faultline/faulttest"
)

type ctxKey struct{}

// recordingRT records the context value of every request it passes on.
type recordingRT struct {
	base http.RoundTripper
	mu   sync.Mutex
	seen []any
}

func (r *recordingRT) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.seen = append(r.seen, req.Context().Value(ctxKey{}))
	r.mu.Unlock()
	return r.base.RoundTrip(req)
}

// observer records the calls of its hooks.
type observer struct {
	ops    []Operation
	calls  []string
	result Result
	err    error
}

func (ob *observer) observe(ctx context.Context, op Operation) (context.Context, *Hooks) {
	ob.ops = append(ob.ops, op)
	rec := func(name string) func(Event) { return func(Event) { ob.calls = append(ob.calls, name) } }
	return context.WithValue(ctx, ctxKey{}, "observed"), &Hooks{
		OnAttempt: rec("attempt"), OnDecision: rec("decision"), OnResume: rec("resume"), OnRestart: rec("restart"),
		OnEnd: func(res Result, err error) {
			ob.calls = append(ob.calls, "end")
			ob.result, ob.err = res, err
		},
	}
}

// TestObserve: Observe sees each operation once, its context carries the
// requests, and its hooks follow the operation to its end.
func TestObserve(t *testing.T) {
	body := payload(100_000)
	script := []fs.Fault{{Kind: fs.Reset, At: 30_000}, {Kind: fs.Reset, At: 30_000}, {Kind: fs.Status, Status: 404}}

	t.Run("Do", func(t *testing.T) {
		s := startServer(t, modes[0], body, script...)
		rt := &recordingRT{base: s.Transport(fs.HTTP1)}
		var ob observer
		var sl sleeps
		c := &Client{HTTP: &http.Client{Transport: rt}, Observe: ob.observe, Sleep: sl.sleep}
		var h hashConsumer
		res, err := c.Do(t.Context(), s.URL+"?X-Amz-Signature=secret", h.consume, nil)
		require.Error(t, err)
		require.Len(t, ob.ops, 1)
		assert.Equal(t, http.MethodGet, ob.ops[0].Method)
		assert.NotContains(t, ob.ops[0].URL, "secret")
		assert.Equal(t, []string{"attempt", "decision", "resume", "attempt", "decision", "resume", "attempt", "decision", "end"}, ob.calls)
		assert.Equal(t, err, ob.err)
		assert.Equal(t, res, ob.result)
		assert.Equal(t, []any{"observed", "observed", "observed"}, rt.seen, "the requests run under the observer's context")
	})

	t.Run("Open", func(t *testing.T) {
		s := startServer(t, modes[0], body, script[:1]...)
		var ob observer
		var sl sleeps
		c := &Client{HTTP: s.Client(fs.HTTP1), Observe: ob.observe, Sleep: sl.sleep}
		b, err := c.Open(t.Context(), s.URL, nil)
		require.NoError(t, err)
		got, err := io.ReadAll(b)
		require.NoError(t, err)
		assert.Equal(t, body, got)
		assert.NotContains(t, ob.calls, "end", "the operation lasts as long as its body")
		require.NoError(t, b.Close())
		require.NoError(t, b.Close())
		assert.Equal(t, []string{"attempt", "decision", "resume", "attempt", "end"}, ob.calls)
		assert.NoError(t, ob.err)
		assert.Equal(t, int64(len(body)), ob.result.Bytes)
		assert.Equal(t, 1, ob.result.Resumes)
	})

	t.Run("Transport", func(t *testing.T) {
		s := startServer(t, modes[0], body, fs.Fault{Kind: fs.Status, Status: 503}, fs.Fault{Kind: fs.Status, Status: 404})
		var ob observer
		var sl sleeps
		tr := &Transport{Base: s.Transport(fs.HTTP1), Client: &Client{Observe: ob.observe, Sleep: sl.sleep}}
		resp, err := (&http.Client{Transport: tr}).Get(s.URL)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, 404, resp.StatusCode)
		assert.Equal(t, []string{"attempt", "decision", "attempt", "decision", "end"}, ob.calls)
		var he *Error
		require.ErrorAs(t, ob.err, &he, "the observer learns the policy gave up")
		assert.Equal(t, "http-client-error", he.Decision.Rule)
		assert.Equal(t, 2, ob.result.Attempts)
		assert.True(t, strings.HasPrefix(ob.ops[0].URL, "http://127.0.0.1:"))
	})
}
