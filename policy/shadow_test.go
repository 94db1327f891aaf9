package policy_test

import (
	"bytes"
	"context"
	"log/slog"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faultline-go/faultline/classify"
	"github.com/faultline-go/faultline/policies"
	"github.com/faultline-go/faultline/policy"
)

// candidate is a policy that gives up on an interrupted body, where the
// default policy resumes it.
const candidate = `name: strict
version: "2"
rules:
  - name: give-up-body
    when: phase == 'body'
    action: fail
  - name: transport
    when: error.transient
    action: retry
`

func resetMidBody() policy.Input {
	return policy.Input{
		Error: classify.Facts{Kind: classify.ConnectionReset, Transient: true, Errno: "ECONNRESET"},
		State: policy.State{Phase: policy.PhaseBody, Attempt: 1, BytesReceived: 1 << 20, TotalExpected: 4 << 20,
			Request:  policy.Request{Method: "GET", Idempotent: true},
			Response: policy.Response{Status: 200, AcceptRanges: true, Validator: `"v1"`, Resumable: true}},
	}
}

func mustParseExt(t testing.TB, src string) *policy.Policy {
	t.Helper()
	p, err := policy.Parse("candidate.yaml", []byte(src))
	require.NoError(t, err)
	return p
}

// TestShadowDisagreement: on a known case the candidate disagrees; both
// decisions reach the hook and the log, and the active one is returned.
func TestShadowDisagreement(t *testing.T) {
	var log bytes.Buffer
	var got []policy.Disagreement
	s := &policy.Shadow{
		Active:     policy.NewEngine(policies.Default(), policy.WithRand(rand.NewPCG(1, 2))),
		Candidate:  mustParseExt(t, candidate),
		OnDisagree: func(_ context.Context, d policy.Disagreement) { got = append(got, d) },
		Logger:     slog.New(slog.NewTextHandler(&log, nil)),
	}
	in := resetMidBody()
	d, err := s.Decide(context.Background(), in)
	require.NoError(t, err)
	assert.Equal(t, policy.Resume, d.Action, "the active policy decides")
	assert.Equal(t, "resume-body", d.Rule)

	require.Len(t, got, 1)
	dis := got[0]
	assert.Equal(t, d, dis.Active)
	assert.Equal(t, policy.Fail, dis.Candidate.Action)
	assert.Equal(t, "give-up-body", dis.Candidate.Rule)
	assert.Equal(t, "strict", dis.Candidate.Policy.Name)
	assert.Equal(t, "2", dis.Candidate.Policy.Version)
	assert.Equal(t, "default", dis.Active.Policy.Name)
	assert.NoError(t, dis.CandidateErr)
	assert.Equal(t, in, dis.Input)

	line := log.String()
	assert.Contains(t, line, "policy: the candidate policy disagrees")
	assert.Contains(t, line, "active.action=resume active.rule=resume-body")
	assert.Contains(t, line, "candidate.action=fail candidate.rule=give-up-body")
	assert.Contains(t, line, "kind=connection_reset")
	ev, dg := s.Stats()
	assert.Equal(t, [2]uint64{1, 1}, [2]uint64{ev, dg})
}

// TestShadowAgreement: a candidate with the same rules never disagrees,
// delays included, however the active engine's jitter falls.
func TestShadowAgreement(t *testing.T) {
	src, err := policies.FS.ReadFile("default.yaml")
	require.NoError(t, err)
	s := &policy.Shadow{
		Active:    policy.NewEngine(policies.Default()),
		Candidate: mustParseExt(t, "# a copy\n"+string(src)),
		OnDisagree: func(_ context.Context, d policy.Disagreement) {
			t.Errorf("disagreement: %+v", d)
		},
	}
	for attempt := 1; attempt <= 4; attempt++ {
		for _, in := range []policy.Input{resetMidBody(), {Error: classify.Facts{Kind: classify.Timeout, Transient: true}, State: policy.State{Phase: policy.PhaseConnect, Attempt: attempt}}} {
			in.State.Attempt = attempt
			_, err := s.Decide(context.Background(), in)
			require.NoError(t, err)
		}
	}
	ev, dg := s.Stats()
	assert.Equal(t, uint64(8), ev)
	assert.Zero(t, dg)
}

// TestShadowDelay: a candidate that differs only in its delay disagrees.
func TestShadowDelay(t *testing.T) {
	active := mustParseExt(t, "name: a\nrules:\n  - {name: t, when: 'true', action: retry}\n")
	cand := mustParseExt(t, "name: b\nrules:\n  - {name: t, when: 'true', action: retry, delay: \"backoff + duration('1s')\"}\n")
	var got []policy.Disagreement
	s := &policy.Shadow{Active: policy.NewEngine(active), Candidate: cand,
		OnDisagree: func(_ context.Context, d policy.Disagreement) { got = append(got, d) }}
	d, err := s.Decide(context.Background(), policy.Input{State: policy.State{Attempt: 1}})
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, d.Delay+time.Second, got[0].Candidate.Delay, "the candidate saw the same jittered backoff")
}

// TestShadowSampling: with Every 3 the candidate evaluates the 1st, 4th
// and 7th of 7 decisions.
func TestShadowSampling(t *testing.T) {
	var seen []int
	s := &policy.Shadow{Active: policy.NewEngine(policies.Default()), Candidate: mustParseExt(t, candidate), Every: 3,
		OnDisagree: func(_ context.Context, d policy.Disagreement) { seen = append(seen, d.Input.State.Attempt) }}
	for i := 1; i <= 7; i++ {
		in := resetMidBody()
		in.State.Attempt = i
		in.State.Resumes = 0
		_, err := s.Decide(context.Background(), in)
		require.NoError(t, err)
	}
	assert.Equal(t, []int{1, 4, 7}, seen)
	ev, _ := s.Stats()
	assert.Equal(t, uint64(3), ev)
}

// TestShadowCandidateError: a candidate that cannot evaluate is reported,
// and the active decision stands.
func TestShadowCandidateError(t *testing.T) {
	cand := mustParseExt(t, "name: broken\nrules:\n  - {name: tier, when: \"error.labels['tier'] == 'x'\", action: retry}\n")
	var got []policy.Disagreement
	var log bytes.Buffer
	s := &policy.Shadow{Active: policy.NewEngine(policies.Default()), Candidate: cand,
		Logger:     slog.New(slog.NewTextHandler(&log, nil)),
		OnDisagree: func(_ context.Context, d policy.Disagreement) { got = append(got, d) }}
	d, err := s.Decide(context.Background(), resetMidBody())
	require.NoError(t, err)
	assert.Equal(t, policy.Resume, d.Action)
	require.Len(t, got, 1)
	var ee *policy.EvalError
	require.ErrorAs(t, got[0].CandidateErr, &ee)
	assert.Equal(t, policy.GuardError, got[0].Candidate.Guard)
	assert.Contains(t, log.String(), `candidate_err="policy \"broken\": rule \"tier\": when: no such key: tier"`)
}

// TestShadowBudget: when the engine's budget stops the active decision,
// the candidate is held to it too, and they agree.
func TestShadowBudget(t *testing.T) {
	p := mustParseExt(t, "name: b\nlimits: {max_attempts: 0}\nbudget: {max_tokens: 2, token_ratio: 0.5}\nrules:\n  - {name: t, when: 'true', action: retry}\n")
	s := &policy.Shadow{Active: policy.NewEngine(p), Candidate: mustParseExt(t, "name: c\nrules:\n  - {name: t, when: 'true', action: retry}\n"),
		OnDisagree: func(_ context.Context, d policy.Disagreement) { t.Errorf("disagreement: %+v", d) }}
	in := policy.Input{State: policy.State{Attempt: 1}}
	d, err := s.Decide(context.Background(), in) // 1 token left: half, throttled
	require.NoError(t, err)
	assert.Equal(t, policy.GuardBudget, d.Guard)
}

// TestShadowConcurrent: a Shadow is safe for concurrent use (run with
// -race), and counts every sampled decision once.
func TestShadowConcurrent(t *testing.T) {
	var mu sync.Mutex
	n := 0
	s := &policy.Shadow{Active: policy.NewEngine(policies.Default()), Candidate: mustParseExt(t, candidate), Every: 2,
		OnDisagree: func(context.Context, policy.Disagreement) { mu.Lock(); n++; mu.Unlock() }}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				if _, err := s.Decide(context.Background(), resetMidBody()); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	ev, dg := s.Stats()
	assert.Equal(t, uint64(200), ev)
	assert.Equal(t, uint64(200), dg)
	assert.Equal(t, 200, n)
}
