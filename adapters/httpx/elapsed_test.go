package httpx

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faultline-go/faultline/policy"
)

// endless serves a body that never ends: a byte every few milliseconds,
// so no idle timeout ever fires. (An archive followed by endless empty
// gzip members looks like this to the HTTP layer.)
func endless(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/octet-stream")
	rc := http.NewResponseController(w)
	for {
		if _, err := w.Write([]byte{0}); err != nil {
			return
		}
		rc.Flush()
		select {
		case <-r.Context().Done():
			return
		case <-time.After(2 * time.Millisecond):
		}
	}
}

func elapsedPolicy(t *testing.T, maxElapsed string) *policy.Policy {
	t.Helper()
	p, err := policy.Parse("elapsed.yaml", []byte(`
name: elapsed
limits: {max_elapsed: `+maxElapsed+`}
rules:
  - name: retry-all
    when: "true"
    action: retry
    delay: duration('0s')
default: fail
`))
	require.NoError(t, err)
	return p
}

// TestMaxElapsedBoundsStreaming: the policy's max_elapsed ends an
// operation whose body keeps flowing, with an *ElapsedError decided by
// guard max_elapsed; before, the limit was only checked when a failure
// was decided, and the body was read forever.
func TestMaxElapsedBoundsStreaming(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		name := "h1"
		if h2 {
			name = "h2"
		}
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewUnstartedServer(http.HandlerFunc(endless))
			srv.EnableHTTP2 = h2
			if h2 {
				srv.StartTLS()
			} else {
				srv.Start()
			}
			defer srv.Close()
			for _, decider := range []policy.Decider{elapsedPolicy(t, "300ms"), policy.NewEngine(elapsedPolicy(t, "300ms"))} {
				c := &Client{HTTP: srv.Client(), OnDecision: func(e Event) { t.Logf("decision: %s %s: %v", e.Input.Error.Kind, e.Decision.Action, e.Err) }}
				c.Policy = decider
				begin := time.Now()
				var n int64
				res, err := c.Do(t.Context(), srv.URL, func(ctx context.Context, r io.Reader) error {
					var err error
					n, err = io.Copy(io.Discard, r)
					return err
				}, nil)
				took := time.Since(begin)
				require.Error(t, err)
				assert.Less(t, took, 5*time.Second, "bounded by max_elapsed, not by the test")
				assert.GreaterOrEqual(t, took, 300*time.Millisecond)
				var ee *ElapsedError
				require.ErrorAs(t, err, &ee)
				assert.Equal(t, 300*time.Millisecond, ee.Limit)
				assert.ErrorIs(t, err, context.DeadlineExceeded)
				var fe *Error
				require.ErrorAs(t, err, &fe)
				assert.Equal(t, policy.GuardMaxElapsed, fe.Decision.Guard)
				assert.Equal(t, 1, res.Attempts, "no retry past the limit")
				assert.Positive(t, n, "bytes flowed until the limit")
				// The next round starts on new connections.
				srv.CloseClientConnections()
				srv.Client().CloseIdleConnections()
			}
		})
	}
}

// TestMaxElapsedOpen: a Body of Client.Open is bounded the same way, and
// its Close releases the operation's timer.
func TestMaxElapsedOpen(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(endless))
	defer srv.Close()
	c := &Client{HTTP: srv.Client(), Policy: elapsedPolicy(t, "200ms")}
	b, err := c.Open(t.Context(), srv.URL, nil)
	require.NoError(t, err)
	defer b.Close()
	_, err = io.Copy(io.Discard, b)
	var ee *ElapsedError
	require.ErrorAs(t, err, &ee)
	srv.CloseClientConnections()
}

// TestCallerDeadlineBoundsStreaming: the caller's own deadline ends an
// endless body too, as caller_done.
func TestCallerDeadlineBoundsStreaming(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(endless))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	c := &Client{HTTP: srv.Client(), Policy: elapsedPolicy(t, "1h")}
	begin := time.Now()
	_, err := c.Do(ctx, srv.URL, func(ctx context.Context, r io.Reader) error {
		_, err := io.Copy(io.Discard, r)
		return err
	}, nil)
	require.Error(t, err)
	assert.Less(t, time.Since(begin), 5*time.Second)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	var ee *ElapsedError
	assert.False(t, errors.As(err, &ee), "the caller's deadline is not max_elapsed")
	var fe *Error
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, policy.GuardCallerDone, fe.Decision.Guard)
	srv.CloseClientConnections()
}

// signalLike is a cancellation cause that says it is context.Canceled
// only through its Is method, as os/signal's is.
type signalLike string

func (s signalLike) Error() string        { return string(s) }
func (s signalLike) Is(target error) bool { return target == context.Canceled }

// TestCanceledWithCause: a caller's context ended with a cause (a signal
// through signal.NotifyContext) is classified as canceled, though net/http
// reports only the cause, whose kinship with context.Canceled is a method
// a recorded chain cannot call.
func TestCanceledWithCause(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(endless))
	defer srv.Close()
	defer srv.CloseClientConnections()
	ctx, cancel := context.WithCancelCause(t.Context())
	var kinds []string
	c := &Client{HTTP: srv.Client(), OnDecision: func(e Event) { kinds = append(kinds, string(e.Input.Error.Kind)) }}
	_, err := c.Do(ctx, srv.URL, func(ctx context.Context, r io.Reader) error {
		buf := make([]byte, 100)
		if _, err := io.ReadFull(r, buf); err != nil {
			return err
		}
		cancel(signalLike("terminated signal received"))
		_, err := io.Copy(io.Discard, r)
		return err
	}, nil)
	require.Error(t, err)
	assert.Equal(t, []string{"canceled"}, kinds)
}
