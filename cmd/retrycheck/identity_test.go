package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faultline-go/faultline/chain"
	"github.com/faultline-go/faultline/classify"
	"github.com/faultline-go/faultline/policy"
)

// revision1 retries a reset; revision2, the edit made since, fails it.
const revision1 = `name: mirror
version: "1"
rules:
  - name: transport
    when: error.kind == 'connection_reset'
    action: retry
`

// recordDump decides a reset with the policy in src, as a live client
// would, and writes the dump with the decision, returning its path.
func recordDump(t *testing.T, dir, src string) (string, policy.Decision) {
	t.Helper()
	p, err := policy.Parse("mirror.yaml", []byte(src))
	require.NoError(t, err)
	c := chain.Walk(syscall.ECONNRESET)
	st := policy.State{Phase: policy.PhaseBody, Attempt: 1, TotalExpected: -1}
	d, err := policy.NewEngine(p).Decide(context.Background(), policy.Input{Error: classify.Classify(c), State: st})
	require.NoError(t, err)
	path, err := policy.WriteDump(dir, policy.Dump{Source: "test", Chain: c, State: st, Decision: &d})
	require.NoError(t, err)
	return path, d
}

// TestExplainAnotherRevision: a dump recorded under one revision of a
// policy, explained under another, says so and shows both decisions;
// explained under the same revision, it does not.
func TestExplainAnotherRevision(t *testing.T) {
	dir := t.TempDir()
	dump, recorded := recordDump(t, dir, revision1)
	require.Equal(t, policy.Retry, recorded.Action)
	require.Equal(t, "1", recorded.Policy.Version)

	rev2 := filepath.Join(dir, "mirror.yaml")
	require.NoError(t, os.WriteFile(rev2, []byte(strings.NewReplacer(`version: "1"`, `version: "2"`, "action: retry", "action: fail").Replace(revision1)), 0o644))
	r := runCLI(t, "", "explain", "--policy", rev2, dump)
	require.Equal(t, exitOK, r.code, r.stderr)
	p2, err := policy.Load(rev2)
	require.NoError(t, err)
	assert.Contains(t, r.stdout, "policy  mirror ("+rev2+"), version 2, sha256:"+p2.ID().Short()+"\n")
	assert.Contains(t, r.stdout, "recorded  retry by transport under mirror, version 1, sha256:"+recorded.Policy.Short()+"\n")
	assert.Contains(t, r.stdout, "a different policy from the one replaying it")
	assert.Regexp(t, `(?m)^  action +fail$`, r.stdout)
	assert.Regexp(t, `(?m)^  recorded +retry by transport$`, r.stdout)

	r = runCLI(t, "", "explain", "--json", "--policy", rev2, dump)
	require.Equal(t, exitOK, r.code, r.stderr)
	var e explanation
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &e))
	assert.True(t, e.PolicyChanged)
	require.NotNil(t, e.Recorded)
	assert.Equal(t, recorded.Policy, e.Recorded.Policy)
	assert.Equal(t, p2.ID(), e.Decision.Policy)

	// Under the revision that decided, nothing is said to differ.
	rev1 := filepath.Join(dir, "rev1.yaml")
	require.NoError(t, os.WriteFile(rev1, []byte("# reformatted, same rules\n"+revision1), 0o644))
	r = runCLI(t, "", "explain", "--policy", rev1, dump)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "recorded  retry by transport under mirror, version 1")
	assert.NotContains(t, r.stdout, "a different policy")
	assert.NotRegexp(t, `(?m)^  recorded`, r.stdout)
}

// TestIdentityInJSON: decide, test and lint name the policy that decided
// in their JSON.
func TestIdentityInJSON(t *testing.T) {
	dir := t.TempDir()
	pol := filepath.Join(dir, "mirror.yaml")
	require.NoError(t, os.WriteFile(pol, []byte(revision1+"tests:\n  - {name: reset, input: {error: {kind: connection_reset}}, expect: {action: fail}}\n"), 0o644))
	p, err := policy.Load(pol)
	require.NoError(t, err)
	id := p.ID()

	r := runCLI(t, "read: connection reset by peer\n", "decide", "--json", "--policy", pol, "-")
	var line decideLine
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &line))
	assert.Equal(t, "mirror", line.Policy)
	assert.Equal(t, "1", line.PolicyVersion)
	assert.Equal(t, id.Digest, line.PolicyDigest)

	r = runCLI(t, "", "test", "--json", pol)
	var o caseOutcome
	require.NoError(t, json.Unmarshal([]byte(strings.SplitN(r.stdout, "\n", 2)[0]), &o))
	assert.Equal(t, id, o.Got.Policy)

	r = runCLI(t, "", "lint", "--json", pol)
	var ok struct{ Policy policy.ID }
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &ok))
	assert.Equal(t, id, ok.Policy)
}
