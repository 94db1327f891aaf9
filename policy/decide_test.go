package policy_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faultline-go/faultline/classify"
	"github.com/faultline-go/faultline/policies"
	"github.com/faultline-go/faultline/policy"
)

// TestDecideConcurrent decides inputs of different kinds from several
// goroutines at once on one Policy, and expects each decision made alone:
// the per-decision state a Policy reuses and the field values it
// remembers must not leak from one decision into another.
func TestDecideConcurrent(t *testing.T) {
	p := policies.Default()
	ctx := context.Background()
	inputs := []policy.Input{
		{Error: classify.Facts{Kind: classify.ConnectionReset}, State: policy.State{
			Phase: policy.PhaseBody, Attempt: 1, TotalExpected: 100, Response: policy.Response{Resumable: true}}},
		{Error: classify.Facts{Kind: classify.DiskFull}, State: policy.State{Phase: policy.PhaseUnpack, Attempt: 1}},
		{Error: classify.Facts{Kind: classify.HTTPStatus, HTTP: classify.HTTP{Status: 404}},
			State: policy.State{Phase: policy.PhaseHeaders, Attempt: 1}},
		{Error: classify.Facts{Kind: classify.Checksum}, State: policy.State{
			Phase: policy.PhaseCommit, Attempt: 2, History: []string{"checksum"}}},
		{Error: classify.Facts{Kind: classify.Decode, Decode: classify.Codec{Format: "gzip"}},
			State: policy.State{Phase: policy.PhaseUnpack, Attempt: 1}},
	}
	want := make([]policy.Decision, len(inputs))
	for i, in := range inputs {
		d, err := p.Explain(ctx, in)
		require.NoError(t, err)
		want[i] = d
	}
	// Every input decides differently, or the test would prove little.
	seen := map[string]bool{}
	for _, d := range want {
		seen[d.Rule+d.Reason] = true
	}
	require.Len(t, seen, len(inputs))

	const goroutines, rounds = 4, 200
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Go(func() {
			for r := range rounds {
				i := (g + r) % len(inputs)
				d, err := p.Decide(ctx, inputs[i])
				if err != nil {
					errs <- err
					return
				}
				if d.Action != want[i].Action || d.Rule != want[i].Rule || d.Reason != want[i].Reason {
					t.Errorf("input %d: got %+v, want %+v", i, d, want[i])
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
}
