package httpx

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	fs "github.com/faultline-go/faultline/faulttest"
	"github.com/faultline-go/faultline/policy"
)

// TestProgressKeepsGoing: a server that resets every response after 80
// KiB, twelve times, as a middlebox that cuts every connection after N
// bytes does. Every attempt makes progress, so the default policy keeps
// resuming past the five attempts it used to allow, and the body arrives
// whole at 1.0× its size. Each decision saw the attempt's progress.
func TestProgressKeepsGoing(t *testing.T) {
	const cut = 80 << 10
	body := payload(13 * cut)
	for _, m := range modes[:2] {
		t.Run(m.name, func(t *testing.T) {
			s := startServer(t, m, body, repeat(fs.Fault{Kind: fs.Reset, At: cut}, 12)...)
			var sl sleeps
			var seen []policy.Progress
			c := &Client{HTTP: m.client(t, s), Sleep: sl.sleep,
				OnDecision: func(e Event) { seen = append(seen, *e.Input.State.Progress) }}
			var h hashConsumer
			res, err := c.Do(t.Context(), s.URL, h.consume, nil)
			require.NoError(t, err)
			assert.Equal(t, int64(len(body)), h.n)
			assert.Equal(t, 13, res.Attempts)
			assert.Equal(t, 12, res.Resumes)
			assert.Equal(t, int64(len(body)), res.BytesServed, "nothing fetched twice")
			require.Len(t, seen, 12)
			for i, p := range seen {
				// A reset may lose bytes in flight; most of each cut arrives.
				assert.Greater(t, p.Gained, int64(policy.MinProgress), "attempt %d", i+1)
				assert.Zero(t, p.NoProgress, "attempt %d", i+1)
				assert.Positive(t, p.Duration)
				assert.Positive(t, p.Rate)
			}
			// Progress resets the backoff: every wait is the first one's.
			for _, d := range sl.all() {
				assert.LessOrEqual(t, d, policy.Backoff{Initial: 250e6, Max: 30e9, Multiplier: 2}.Base(1))
			}
		})
	}
}

// TestProgressTrickle: a server that resets every response after a few
// bytes, as a middlebox that lets a trickle through per connection. No
// attempt makes progress, and the default policy gives up at the fifth,
// as fast as it did when it counted attempts.
func TestProgressTrickle(t *testing.T) {
	body := payload(1 << 20)
	for _, at := range []int64{1, 1000, policy.MinProgress - 1} {
		s := startServer(t, modes[0], body, repeat(fs.Fault{Kind: fs.Reset, At: at}, 20)...)
		var sl sleeps
		var streak []int
		c := &Client{HTTP: s.Client(fs.HTTP1), Sleep: sl.sleep,
			OnDecision: func(e Event) { streak = append(streak, e.Input.State.Progress.NoProgress) }}
		var h hashConsumer
		res, err := c.Do(t.Context(), s.URL, h.consume, nil)
		var fe *Error
		require.ErrorAs(t, err, &fe, "reset every %d bytes", at)
		assert.Equal(t, policy.GuardMaxNoProgress, fe.Decision.Guard)
		assert.Equal(t, 5, res.Attempts)
		assert.Equal(t, []int{1, 2, 3, 4, 5}, streak)
	}
}

// TestProgressRestartsGainNothing: a server that cannot resume and resets
// at the same offset every time. The first attempt gains; the restarts
// after it never pass its mark, so they gain nothing, and the operation
// ends after five of them.
func TestProgressRestartsGainNothing(t *testing.T) {
	body := payload(1 << 20)
	s, err := fs.Start(fs.Config{Content: body, WeakETag: true, Script: repeat(fs.Fault{Kind: fs.Reset, At: 256 << 10}, 20)})
	require.NoError(t, err)
	defer s.Close()
	var sl sleeps
	var seen []policy.Progress
	c := &Client{HTTP: s.Client(fs.HTTP1), Sleep: sl.sleep,
		OnDecision: func(e Event) { seen = append(seen, *e.Input.State.Progress) }}
	var h hashConsumer
	res, err := c.Do(t.Context(), s.URL, h.consume, nil)
	var fe *Error
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, policy.GuardMaxNoProgress, fe.Decision.Guard)
	assert.Equal(t, 6, res.Attempts)
	require.Len(t, seen, 6)
	assert.Greater(t, seen[0].Gained, int64(policy.MinProgress))
	for i, p := range seen[1:] {
		assert.Zero(t, p.Gained, "refetch %d", i+1)
		assert.Equal(t, i+1, p.NoProgress)
	}
}
