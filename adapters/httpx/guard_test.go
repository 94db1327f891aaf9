package httpx

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/http2"

	"github.com/faultline-go/faultline/classify"
	fs "github.com/faultline-go/faultline/faulttest"
	"github.com/faultline-go/faultline/policy"
)

func repeat(f fs.Fault, n int) []fs.Fault {
	s := make([]fs.Fault, n)
	for i := range s {
		s[i] = f
	}
	return s
}

// TestFinalError checks the message of the error an operation ends with
// and that it still wraps the last cause.
func TestFinalError(t *testing.T) {
	body := payload(100_000)
	s := startServer(t, modes[0], body, repeat(fs.Fault{Kind: fs.Reset, At: 10_000}, 5)...)
	var sl sleeps
	c := &Client{HTTP: s.Client(fs.HTTP1), Sleep: sl.sleep}
	var h hashConsumer
	res, err := c.Do(t.Context(), s.URL, h.consume, nil)
	require.Error(t, err)
	assert.Regexp(t, `^after 5 attempts \(4 resumes, 0 restarts\): .*connection reset by peer`, err.Error())
	assert.ErrorIs(t, err, syscall.ECONNRESET)
	var fe *Error
	require.ErrorAs(t, err, &fe)
	// Each attempt gained 10,000 bytes, less than policy.MinProgress:
	// five in a row without progress end the operation.
	assert.Equal(t, policy.GuardMaxNoProgress, fe.Decision.Guard)
	assert.Equal(t, 5, res.Attempts)
	assert.Equal(t, 4, res.Resumes)
	assert.Equal(t, 5, s.RequestCount())
	assert.Equal(t, 1, h.calls, "resumes are invisible to the consumer")
}

func TestAttemptLimitOnStatus(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			s := startServer(t, m, payload(100), repeat(fs.Fault{Kind: fs.Status, Status: 503}, 10)...)
			var sl sleeps
			c := &Client{HTTP: m.client(t, s), Sleep: sl.sleep}
			_, err := c.Open(t.Context(), s.URL, nil)
			require.Error(t, err)
			assert.Equal(t, "after 5 attempts (0 resumes, 0 restarts): GET "+s.URL+": 503 Service Unavailable", err.Error())
			var se *StatusError
			require.ErrorAs(t, err, &se)
			assert.Equal(t, 503, se.Status)
			assert.Equal(t, 5, s.RequestCount())
			assert.Len(t, sl.all(), 4)
		})
	}
}

// TestClientMaxAttempts: the client's own cap holds against a Decider
// that never gives up.
func TestClientMaxAttempts(t *testing.T) {
	s := startServer(t, modes[0], payload(100), repeat(fs.Fault{Kind: fs.Status, Status: 503}, 10)...)
	var sl sleeps
	c := &Client{HTTP: s.Client(fs.HTTP1), Sleep: sl.sleep, MaxAttempts: 3, Policy: always(policy.Retry)}
	_, err := c.Open(t.Context(), s.URL, nil)
	var fe *Error
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, guardMaxAttempts, fe.Decision.Guard)
	assert.Equal(t, 3, s.RequestCount())
}

// always is a Decider that always says the same, with a delay.
type alwaysDecider struct {
	action policy.Action
	delay  time.Duration
	calls  int
	ok     int
}

func always(a policy.Action) *alwaysDecider { return &alwaysDecider{action: a} }

func (d *alwaysDecider) Decide(ctx context.Context, in policy.Input) (policy.Decision, error) {
	d.calls++
	return policy.Decision{Action: d.action, Delay: d.delay, Rule: "always"}, nil
}

func (d *alwaysDecider) RecordSuccess() { d.ok++ }

func TestDeadlineDuringDelay(t *testing.T) {
	t.Run("retry-after past the deadline fails at once", func(t *testing.T) {
		s := startServer(t, modes[0], payload(100), fs.Fault{Kind: fs.Status, Status: 503, RetryAfter: "5"})
		c := &Client{HTTP: s.Client(fs.HTTP1)}
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		begin := time.Now()
		_, err := c.Open(ctx, s.URL, nil)
		require.Error(t, err)
		assert.Less(t, time.Since(begin), 500*time.Millisecond)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		var fe *Error
		require.ErrorAs(t, err, &fe)
		assert.Equal(t, policy.GuardDeadline, fe.Decision.Guard)
		var se *StatusError
		require.ErrorAs(t, err, &se)
		assert.Equal(t, 5*time.Second, se.RetryAfter)
	})
	t.Run("deadline reached while waiting", func(t *testing.T) {
		body := payload(50_000)
		s := startServer(t, modes[0], body, fs.Fault{Kind: fs.Reset, At: 1000})
		d := always(policy.Resume)
		d.delay = 10 * time.Second
		c := &Client{HTTP: s.Client(fs.HTTP1), Policy: d}
		// No deadline, so no guard can see it coming: cancel mid-wait.
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(100*time.Millisecond, cancel)
		begin := time.Now()
		_, err := c.Do(ctx, s.URL, func(ctx context.Context, r io.Reader) error {
			_, err := io.Copy(io.Discard, r)
			return err
		}, nil)
		require.Error(t, err)
		assert.Less(t, time.Since(begin), 2*time.Second)
		assert.ErrorIs(t, err, context.Canceled)
		assert.ErrorIs(t, err, syscall.ECONNRESET, "the last cause is kept")
		assert.Equal(t, 1, s.RequestCount())
	})
}

func TestBudgetExhausted(t *testing.T) {
	p, err := policy.Parse("budget.yaml", []byte(`
name: budget
budget: {max_tokens: 4, token_ratio: 1}
rules:
  - name: resume
    when: phase == 'body'
    action: resume
    delay: duration('0s')
default: fail
`))
	require.NoError(t, err)
	engine := policy.NewEngine(p)
	body := payload(80_000)
	s := startServer(t, modes[0], body, repeat(fs.Fault{Kind: fs.Reset, At: 5000}, 10)...)
	c := &Client{HTTP: s.Client(fs.HTTP1), Policy: engine}
	var h hashConsumer
	_, err = c.Do(t.Context(), s.URL, h.consume, nil)
	var fe *Error
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, policy.GuardBudget, fe.Decision.Guard)
	// Four tokens: the first failure leaves 3 (> 2, retry), the second
	// leaves 2 (not above half): stop.
	assert.Equal(t, 2, s.RequestCount())
}

func TestRecordSuccess(t *testing.T) {
	s := startServer(t, modes[0], payload(10_000), fs.Fault{Kind: fs.Reset, At: 10})
	d := always(policy.Resume)
	c := &Client{HTTP: s.Client(fs.HTTP1), Policy: d}
	var h hashConsumer
	_, err := c.Do(t.Context(), s.URL, h.consume, nil)
	require.NoError(t, err)
	assert.Equal(t, 1, d.calls)
	assert.Equal(t, 1, d.ok)

	b, err := c.Open(t.Context(), s.URL, nil)
	require.NoError(t, err)
	_, err = io.Copy(io.Discard, b)
	require.NoError(t, err)
	b.Close()
	assert.Equal(t, 2, d.ok)
}

// TestConsumerFailure: the consumer's own failure is classified with
// phase unpack (or commit) and a retry calls it again from the start.
func TestConsumerFailure(t *testing.T) {
	body := payload(20_000)
	s := startServer(t, modes[0], body)
	var phases []policy.Phase
	d := always(policy.Retry)
	c := &Client{HTTP: s.Client(fs.HTTP1), Policy: d, MaxAttempts: 3,
		OnDecision: func(e Event) { phases = append(phases, e.Input.State.Phase) }}
	calls := 0
	_, err := c.Do(t.Context(), s.URL, func(ctx context.Context, r io.Reader) error {
		calls++
		io.CopyN(io.Discard, r, 100)
		if calls == 1 {
			return errors.New("unpack: bad header")
		}
		if calls == 2 {
			return Commit(&os.PathError{Op: "rename", Path: "x", Err: syscall.ENOSPC})
		}
		return nil
	}, nil)
	require.NoError(t, err)
	assert.Equal(t, 3, calls)
	assert.Equal(t, []policy.Phase{policy.PhaseUnpack, policy.PhaseCommit}, phases)
	assert.Equal(t, 3, s.RequestCount())
}

// TestNotReplayableTransport: a request body that cannot be produced
// again (no GetBody) is never sent twice, whatever the policy says.
func TestNotReplayableTransport(t *testing.T) {
	s := startServer(t, modes[0], payload(100), fs.Fault{Kind: fs.Status, Status: 503})
	tr := &Transport{Base: s.Transport(fs.HTTP1), Client: &Client{Policy: always(policy.Retry)}}
	req, err := http.NewRequest(http.MethodPut, s.URL, io.MultiReader(strings.NewReader("x")))
	require.NoError(t, err)
	require.Nil(t, req.GetBody)
	resp, err := (&http.Client{Transport: tr}).Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 503, resp.StatusCode, "the last response is returned")
	assert.Equal(t, 1, s.RequestCount())
}

// TestTransportIdempotency sends a POST through the Transport under the
// default policy, over a real server that breaks it after it was received:
// a POST is sent again only if it carries an Idempotency-Key or the server
// said it did not process it, as "retrycheck decide --method POST"
// decides (cmd/retrycheck TestDecideIdempotency).
func TestTransportIdempotency(t *testing.T) {
	reset := fs.Fault{Kind: fs.Reset, BeforeResponse: true}
	tests := []struct {
		name     string
		h2only   bool
		fault    fs.Fault
		key      bool
		requests int    // the server's count
		status   int    // the response returned, 0 for an error
		rule     string // the rule of the decision in the error
	}{
		{"reset after it was written", false, reset, false, 1, 0, "not-idempotent"},
		{"reset, with an Idempotency-Key", false, reset, true, 2, 200, ""},
		{"503", false, fs.Fault{Kind: fs.Status, Status: 503}, false, 1, 503, ""},
		{"503, with an Idempotency-Key", false, fs.Fault{Kind: fs.Status, Status: 503}, true, 2, 200, ""},
		{"REFUSED_STREAM", true, fs.Fault{Kind: fs.ResetStream, Code: http2.ErrCodeRefusedStream, BeforeResponse: true}, false, 2, 200, ""},
		{"GOAWAY excluding it", true, fs.Fault{Kind: fs.GoAway, ExcludeStream: true, BeforeResponse: true}, false, 2, 200, ""},
		{"RST_STREAM INTERNAL_ERROR", true, fs.Fault{Kind: fs.ResetStream, Code: http2.ErrCodeInternal, BeforeResponse: true}, false, 1, 0, "not-idempotent"},
	}
	for _, m := range modes {
		for _, tt := range tests {
			if tt.h2only && m.proto != fs.HTTP2 {
				continue
			}
			t.Run(m.name+"/"+tt.name, func(t *testing.T) {
				body := payload(1000)
				s := startServer(t, m, body, tt.fault)
				var sl sleeps
				var decisions []policy.Decision
				tr := &Transport{Base: m.client(t, s).Transport, Client: &Client{Sleep: sl.sleep,
					OnDecision: func(e Event) { decisions = append(decisions, e.Decision) }}}
				req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, s.URL, strings.NewReader("order=42"))
				require.NoError(t, err)
				if tt.key {
					req.Header.Set("Idempotency-Key", "order-42")
				}
				resp, err := (&http.Client{Transport: tr}).Do(req)
				assert.Equal(t, tt.requests, s.RequestCount(), "requests the server received")
				for _, r := range s.Requests() {
					assert.Equal(t, http.MethodPost, r.Method)
				}
				if tt.status == 0 {
					require.Error(t, err)
					var he *Error
					require.ErrorAs(t, err, &he)
					assert.Equal(t, policy.Fail, he.Decision.Action)
					assert.Equal(t, tt.rule, he.Decision.Rule, "%s", he.Decision.Reason)
					return
				}
				require.NoError(t, err)
				got, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				require.NoError(t, err)
				assert.Equal(t, tt.status, resp.StatusCode)
				if tt.status == 200 {
					assert.Equal(t, body, got)
				}
				for _, d := range decisions {
					if d.Action != policy.Fail {
						assert.Contains(t, []string{"transport", "http-retryable", "h2-unprocessed"}, d.Rule)
					}
				}
			})
		}
	}
}

func TestTransportRetries(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			body := payload(1000)
			s := startServer(t, m, body, fs.Fault{Kind: fs.Status, Status: 502}, fs.Fault{Kind: fs.Status, Status: 429, RetryAfter: "1"})
			var sl sleeps
			tr := &Transport{Base: m.client(t, s).Transport, Client: &Client{Sleep: sl.sleep}}
			resp, err := (&http.Client{Transport: tr}).Get(s.URL)
			require.NoError(t, err)
			got, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.NoError(t, err)
			assert.Equal(t, body, got)
			assert.Equal(t, 3, s.RequestCount())
			d := sl.all()
			require.Len(t, d, 2)
			assert.GreaterOrEqual(t, d[1], time.Second)
		})
	}
}

// TestStackedLayers: a Client over a Transport over a Transport must make
// exactly the requests the Client alone would.
func TestStackedLayers(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			body := payload(100_000)
			s := startServer(t, m, body,
				fs.Fault{Kind: fs.Status, Status: 503},
				fs.Fault{Kind: fs.Reset, At: 30_000},
				fs.Fault{Kind: fs.Status, Status: 503})
			var sl sleeps
			var innerN, outerN, clientN int
			inner := &Transport{Base: m.client(t, s).Transport, Client: &Client{Sleep: sl.sleep, OnDecision: func(Event) { innerN++ }}}
			outer := &Transport{Base: inner, Client: &Client{Sleep: sl.sleep, OnDecision: func(Event) { outerN++ }}}
			c := &Client{HTTP: &http.Client{Transport: outer}, Sleep: sl.sleep, OnDecision: func(Event) { clientN++ }}
			var h hashConsumer
			res, err := c.Do(t.Context(), s.URL, h.consume, nil)
			require.NoError(t, err)
			assert.Equal(t, 4, s.RequestCount())
			assert.Equal(t, 4, res.Attempts)
			assert.Len(t, sl.all(), 3, "one decision per failure")
			assert.Equal(t, []int{3, 0, 0}, []int{clientN, outerN, innerN}, "only the outermost layer decides")
		})
	}
}

// TestDumpsReplay: every failure is dumped; each dump, read back and
// classified, gives the facts the live decision saw.
func TestDumpsReplay(t *testing.T) {
	dir := t.TempDir()
	body := payload(60_000)
	s := startServer(t, modes[1], body,
		fs.Fault{Kind: fs.Status, Status: 503, RetryAfter: "1"},
		fs.Fault{Kind: fs.ResetStream, At: 20_000},
		fs.Fault{Kind: fs.Reset, At: 1000})
	var sl sleeps
	var live []policy.Input
	var logs bytes.Buffer
	c := &Client{HTTP: s.Client(fs.HTTP2), Sleep: sl.sleep, DumpDir: dir,
		Logger:     slogTo(&logs),
		OnDecision: func(e Event) { live = append(live, e.Input) }}
	var h hashConsumer
	_, err := c.Do(t.Context(), s.URL, h.consume, nil)
	require.NoError(t, err)
	require.Len(t, live, 3)
	files, err := filepath.Glob(filepath.Join(dir, "*"))
	require.NoError(t, err)
	require.Len(t, files, 3)
	var replayed []policy.Input
	for _, f := range files {
		fh, err := os.Open(f)
		require.NoError(t, err)
		require.NoError(t, policy.ReadDumps(fh, func(d policy.Dump) error {
			replayed = append(replayed, d.Input())
			return nil
		}))
		fh.Close()
	}
	// Dump names sort by time; match by attempt to be safe.
	for _, want := range live {
		found := false
		for _, got := range replayed {
			if got.State.Attempt == want.State.Attempt {
				found = true
				assert.Equal(t, want.Error, got.Error, "facts after a JSON round trip")
				assert.Equal(t, want.State.Phase, got.State.Phase)
			}
		}
		assert.True(t, found, "no dump for attempt %d", want.State.Attempt)
	}
	kinds := []classify.Kind{live[0].Error.Kind, live[1].Error.Kind, live[2].Error.Kind}
	assert.Equal(t, []classify.Kind{classify.HTTPStatus, classify.H2Stream, classify.ConnectionReset}, kinds)
	assert.Contains(t, logs.String(), "rule=resume-body")
}

func TestZeroClient(t *testing.T) {
	body := payload(300_000)
	s := startServer(t, modes[0], body, fs.Fault{Kind: fs.Reset, At: 100_000})
	var c Client
	b, err := c.Open(t.Context(), s.URL, nil)
	require.NoError(t, err)
	defer b.Close()
	assert.Equal(t, int64(len(body)), b.Size())
	assert.Equal(t, s.ETag(), b.Header().Get("ETag"))
	got, err := io.ReadAll(b)
	require.NoError(t, err)
	assert.Equal(t, body, got)
	reqs := s.Requests()
	require.Len(t, reqs, 2)
	assert.Regexp(t, `^bytes=\d+-$`, reqs[1].Range)
	assert.Equal(t, s.ETag(), reqs[1].IfRange)
	_, err = b.Read(make([]byte, 1))
	assert.Equal(t, io.EOF, err)
}

// TestOpenRestart: without Do, a body that cannot continue reports
// ErrRestart.
func TestOpenRestart(t *testing.T) {
	body := payload(50_000)
	s := startServer(t, modes[0], body, fs.Fault{Kind: fs.Reset, At: 20_000}, fs.Fault{Kind: fs.ChangeContent})
	c := &Client{HTTP: s.Client(fs.HTTP1), Sleep: (&sleeps{}).sleep}
	b, err := c.Open(t.Context(), s.URL, nil)
	require.NoError(t, err)
	defer b.Close()
	_, err = io.ReadAll(b)
	require.ErrorIs(t, err, ErrRestart)
	var re *RestartError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, "the validator changed", re.Reason)
	_, again := b.Read(make([]byte, 1))
	assert.Equal(t, err, again, "the error sticks")
}
