package policy

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/faultline-go/faultline/classify"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const budgetPolicy = `name: budget
limits: {max_attempts: 0}
backoff: {initial: 1s, max: 1s, multiplier: 1, jitter: none}
budget: {max_tokens: 4, token_ratio: 0.5}
rules:
  - name: always
    when: true
    action: retry
`

// TestBudget follows gRPC retry throttling: failures take a token each,
// and with no more than half the tokens left, retries stop until
// successes refill the bucket.
func TestBudget(t *testing.T) {
	e := NewEngine(mustParse(t, budgetPolicy))
	in := Input{Error: classify.Facts{Kind: classify.Timeout}, State: State{Attempt: 1}}
	decide := func() Decision {
		d, err := e.Decide(context.Background(), in)
		require.NoError(t, err)
		return d
	}
	assert.Equal(t, Retry, decide().Action) // 3 left
	d := decide()                           // 2 left: half, throttled
	assert.Equal(t, Fail, d.Action)
	assert.Equal(t, GuardBudget, d.Guard)
	lvl, ok := e.BudgetLevel()
	require.True(t, ok)
	assert.Equal(t, 2.0, lvl)
	assert.Equal(t, Fail, decide().Action) // 1 left
	assert.Equal(t, Fail, decide().Action) // 0 left, and no lower
	lvl, _ = e.BudgetLevel()
	assert.Equal(t, 0.0, lvl)
	for range 6 {
		e.RecordSuccess()
	}
	lvl, _ = e.BudgetLevel()
	assert.Equal(t, 3.0, lvl)
	assert.Equal(t, Fail, decide().Action, "3 tokens, one taken: 2 is half") // 2 left
	for range 20 {
		e.RecordSuccess()
	}
	lvl, _ = e.BudgetLevel()
	assert.Equal(t, 4.0, lvl, "capped at max_tokens")
	assert.Equal(t, Retry, decide().Action)

	_, ok = NewEngine(mustParse(t, guardPolicy)).BudgetLevel()
	assert.False(t, ok)
}

func TestEngineJitterInjectable(t *testing.T) {
	p := mustParse(t, `name: j
backoff: {initial: 1s, max: 1m, multiplier: 2, jitter: full}
rules:
  - {name: r, when: "true", action: retry}
`)
	in := Input{State: State{Attempt: 3}}
	e1 := NewEngine(p, WithRand(rand.NewPCG(7, 7)))
	e2 := NewEngine(p, WithRand(rand.NewPCG(7, 7)))
	for range 20 {
		d1, err := e1.Decide(context.Background(), in)
		require.NoError(t, err)
		d2, err := e2.Decide(context.Background(), in)
		require.NoError(t, err)
		assert.Equal(t, d1, d2)
		assert.LessOrEqual(t, d1.Delay, 4*time.Second)
	}
	d, err := p.Decide(context.Background(), in)
	require.NoError(t, err)
	assert.Equal(t, 4*time.Second, d.Delay, "a policy alone does not jitter")
}

func writePolicy(t *testing.T, path, action string) {
	t.Helper()
	src := "name: reload\nrules:\n  - {name: r, when: \"true\", action: " + action + "}\n"
	tmp := path + ".tmp"
	require.NoError(t, os.WriteFile(tmp, []byte(src), 0o644))
	require.NoError(t, os.Rename(tmp, path))
}

func TestReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.yaml")
	writePolicy(t, path, "retry")
	p, err := Load(path)
	require.NoError(t, err)
	e := NewEngine(p)
	in := Input{State: State{Attempt: 1}}

	writePolicy(t, path, "fail")
	require.NoError(t, e.Reload())
	d, err := e.Decide(context.Background(), in)
	require.NoError(t, err)
	assert.Equal(t, Fail, d.Action)

	require.NoError(t, os.WriteFile(path, []byte("name: broken\nrules: []\n"), 0o644))
	err = e.Reload()
	var list ErrorList
	require.ErrorAs(t, err, &list)
	d, err = e.Decide(context.Background(), in)
	require.NoError(t, err)
	assert.Equal(t, Fail, d.Action, "the last good policy stays")
	assert.Equal(t, "reload", e.Policy().Name())

	require.ErrorIs(t, NewEngine(mustParse(t, budgetPolicy)).Reload(), ErrNoFile)
}

// TestConcurrentReload decides from many goroutines while the policy file
// flips between two versions and reloads; run with -race. Every decision
// must come whole from one version or the other.
func TestConcurrentReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.yaml")
	writePolicy(t, path, "retry")
	p, err := Load(path)
	require.NoError(t, err)
	e := NewEngine(p)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	var wg sync.WaitGroup
	counts := make([]map[Action]int, 4)
	for g := range counts {
		counts[g] = map[Action]int{}
		wg.Go(func() {
			in := Input{Error: classify.Facts{Kind: classify.Timeout}, State: State{Attempt: 1}}
			for i := 0; i < 2000 && ctx.Err() == nil; i++ {
				d, err := e.Decide(ctx, in)
				if err != nil {
					t.Error(err)
					return
				}
				if d.Rule != "r" {
					t.Errorf("decision from no known policy: %+v", d)
					return
				}
				counts[g][d.Action]++
			}
		})
	}
	for i := 0; i < 40 && ctx.Err() == nil; i++ {
		writePolicy(t, path, []string{"fail", "retry"}[i%2])
		require.NoError(t, e.Reload())
	}
	wg.Wait()
	total := 0
	for _, c := range counts {
		total += c[Retry] + c[Fail]
		assert.Zero(t, c[Resume])
	}
	assert.Positive(t, total)
}
