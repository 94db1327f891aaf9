package policy

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faultline-go/faultline/classify"
)

func TestMadeProgress(t *testing.T) {
	tests := []struct {
		gained, missing int64
		want            bool
	}{
		{0, -1, false},
		{1, -1, false},               // a trickle
		{MinProgress - 1, -1, false}, // just under
		{MinProgress, -1, true},      // at the bound
		{MinProgress, 100, true},
		{10, 20, true},  // half of what was missing: the end of a small body
		{10, 21, false}, // under half
		{0, 0, false},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, MadeProgress(tc.gained, tc.missing), "%d of %d", tc.gained, tc.missing)
	}
}

// TestProgressVariables: rules see the progress facts as attempt.gained,
// .duration, .rate and .no_progress, limits.max_no_progress bounds the
// streak, and a state without facts counts every attempt.
func TestProgressVariables(t *testing.T) {
	p, err := Parse("progress.yaml", []byte(`
name: progress
limits: {max_attempts: 0, max_no_progress: 3}
rules:
  - name: moving
    when: attempt.gained >= 1048576 && attempt.rate > 1000.0 && attempt.duration < duration('10s') && attempt.no_progress == 0
    action: resume
  - name: stuck
    when: attempt.no_progress > 0
    action: retry
    reason_expr: "string(attempt.no_progress) + ' without progress'"
default: fail
`))
	require.NoError(t, err)
	in := func(st State) Input {
		st.Response.Resumable = true
		return Input{Error: classify.Facts{Kind: classify.ConnectionReset}, State: st}
	}
	d, err := p.Decide(t.Context(), in(State{Attempt: 40, Progress: &Progress{Gained: 2 << 20, Duration: time.Second, Rate: 2 << 20}}))
	require.NoError(t, err)
	assert.Equal(t, Resume, d.Action, "a moving download, however many attempts")
	assert.Equal(t, "moving", d.Rule)

	d, err = p.Decide(t.Context(), in(State{Attempt: 40, Progress: &Progress{Gained: 1, Duration: time.Second, Rate: 1, NoProgress: 2}}))
	require.NoError(t, err)
	assert.Equal(t, Retry, d.Action)
	assert.Equal(t, "2 without progress", d.Reason)

	d, err = p.Decide(t.Context(), in(State{Attempt: 40, Progress: &Progress{Duration: time.Second, NoProgress: 3}}))
	require.NoError(t, err)
	assert.Equal(t, Fail, d.Action)
	assert.Equal(t, GuardMaxNoProgress, d.Guard)

	// No facts (an old dump, pasted text): every attempt counts.
	d, err = p.Decide(t.Context(), in(State{Attempt: 2}))
	require.NoError(t, err)
	assert.Equal(t, Retry, d.Action)
	assert.Equal(t, "2 without progress", d.Reason)
	d, err = p.Decide(t.Context(), in(State{Attempt: 3}))
	require.NoError(t, err)
	assert.Equal(t, GuardMaxNoProgress, d.Guard)
}

// TestBackoffFollowsProgress: the backoff grows with the attempts in a
// row without progress, not with the attempt number.
func TestBackoffFollowsProgress(t *testing.T) {
	p, err := Parse("b.yaml", []byte(`
name: b
limits: {max_attempts: 0}
backoff: {initial: 1s, max: 1m, multiplier: 2, jitter: none}
rules:
  - name: r
    when: "true"
    action: retry
default: fail
`))
	require.NoError(t, err)
	for _, tc := range []struct {
		st   State
		want time.Duration
	}{
		{State{Attempt: 10, Progress: &Progress{Gained: 1 << 20}}, time.Second},
		{State{Attempt: 10, Progress: &Progress{NoProgress: 1}}, time.Second},
		{State{Attempt: 10, Progress: &Progress{NoProgress: 3}}, 4 * time.Second},
		{State{Attempt: 3}, 4 * time.Second}, // no facts: the attempt number
	} {
		d, err := p.Decide(t.Context(), Input{Error: classify.Facts{Kind: classify.ConnectionReset}, State: tc.st})
		require.NoError(t, err)
		assert.Equal(t, tc.want, d.Delay, "%+v", tc.st)
	}
}
