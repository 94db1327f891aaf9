package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faultline-go/faultline/classify"
	"github.com/faultline-go/faultline/policy"
)

// TestDiffShippedPolicies: the fail-fast policy against the default over
// the corpus changes decisions, reported in groups, and exits 1; a policy
// against itself, by name or by file, exits 0.
func TestDiffShippedPolicies(t *testing.T) {
	t.Chdir("../..")
	r := runCLI(t, "", "diff", "policies/default.yaml", "policies/interactive.yaml", "--cases", "testdata/corpus")
	require.Equal(t, exitFail, r.code, r.stderr)
	assert.Empty(t, r.stderr)
	assert.Regexp(t, `(?m)^retry → fail: \d+ failures?, kind [a-z_]+`, r.stdout)
	m := regexp.MustCompile(`(?m)^(\d+) failures decided: (\d+) changed in (\d+) groups?, (\d+) unchanged$`).FindStringSubmatch(r.stdout)
	require.NotNil(t, m, r.stdout)
	decided, _ := strconv.Atoi(m[1])
	changed, _ := strconv.Atoi(m[2])
	groups, _ := strconv.Atoi(m[3])
	assert.Greater(t, changed, 0)
	assert.Equal(t, groups, strings.Count(r.stdout, "\n  rule "), "one block per group")
	assert.Equal(t, decided-changed, mustAtoi(t, m[4]))

	for _, pair := range [][2]string{{"policies/default.yaml", "policies/default.yaml"}, {"default", "policies/default.yaml"}} {
		r = runCLI(t, "", "diff", pair[0], pair[1], "--cases", "testdata/corpus")
		assert.Equal(t, exitOK, r.code, r.stderr)
		assert.Regexp(t, `(?m)^\d+ failures decided: 0 changed, \d+ unchanged$`, r.stdout)
	}
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	require.NoError(t, err)
	return n
}

// TestDiffJSONGroups checks the JSON report field by field: one group per
// kind of change, with its counts, kinds, statuses and inputs.
func TestDiffJSONGroups(t *testing.T) {
	dir := "testdata/diff"
	r := runCLI(t, "", "diff", "--json", dir+"/old.yaml", dir+"/new.yaml", "--cases", dir+"/failures")
	require.Equal(t, exitFail, r.code, r.stderr)
	var rep diffReport
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rep))
	assert.Equal(t, 6, rep.Decided)
	assert.Equal(t, 5, rep.Changed)
	assert.Equal(t, 1, rep.Unchanged)
	assert.Equal(t, "1", rep.Old.Policy.Version)
	assert.Equal(t, "2", rep.New.Policy.Version)
	require.Len(t, rep.Groups, 2)
	g := rep.Groups[0]
	assert.Equal(t, outcomeJS{Action: policy.Retry, Rule: "client-error", DelayMin: "0s", DelayMax: "2s"}, g.From)
	assert.Equal(t, outcomeJS{Action: policy.Fail}, g.To)
	assert.Equal(t, 3, g.Count)
	assert.Equal(t, map[string]int{"http_status": 3}, g.Kinds)
	assert.Equal(t, map[string]int{"404": 2, "403": 1}, g.Statuses)
	assert.Len(t, g.Inputs, 3)
	g = rep.Groups[1]
	assert.Equal(t, "0s", g.To.DelayMin)
	assert.Equal(t, "300ms", g.To.DelayMax, "the new delay expression")
	assert.Equal(t, map[string]int{"connection_refused": 1, "connection_reset": 1}, g.Kinds)
}

// TestDiffEvaluationError: a policy that cannot evaluate an input is an
// error (exit 2), and the decision it falls back to is compared.
func TestDiffEvaluationError(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("name: bad\nrules:\n  - {name: tier, when: \"error.labels['tier'] == 'gold'\", action: retry}\n"), 0o644))
	r := runCLI(t, "", "diff", "testdata/diff/old.yaml", bad, "testdata/diff/failures/reset.txt")
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, `testdata/diff/failures/reset.txt: the new policy: policy "bad": rule "tier": when: no such key: tier`)
	assert.Contains(t, r.stdout, "retry → fail: 1 failure")
	assert.Contains(t, r.stdout, "guard   - → error")
	assert.Contains(t, r.stdout, "; 1 error\n")
}

// TestDiffStreams: JSON Lines on standard input, many more failures than
// the report holds names for; every one is decided and counted.
func TestDiffStreams(t *testing.T) {
	const n = 20_000
	line := `{"schema":1,"chain":{"schema":1,"layers":[{"message":"unexpected status code %d Not Found","via":"root","parent":-1,"attrs":{"http_status":%d}}]},"state":{"phase":"headers","attempt":1,"total_expected":-1}}`
	var b strings.Builder
	for i := range n {
		status := 404
		if i%4 == 0 {
			status = 503
		}
		fmt.Fprintf(&b, line+"\n", status, status)
	}
	r := runCLI(t, b.String(), "diff", "--json", "testdata/diff/old.yaml", "testdata/diff/new.yaml", "-")
	require.Equal(t, exitFail, r.code, r.stderr)
	var rep diffReport
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rep))
	assert.Equal(t, n, rep.Decided)
	assert.Equal(t, n*3/4, rep.Changed)
	require.Len(t, rep.Groups, 1)
	assert.Len(t, rep.Groups[0].Inputs, maxExamples)
	assert.Equal(t, n*3/4-maxExamples, rep.Groups[0].MoreInputs)
	assert.Equal(t, "stdin:2", rep.Groups[0].Inputs[0], "inputs in order")
}

// TestDiffReportBounds: the report holds at most maxGroups groups (the
// rest counted together), maxExamples names and maxTally kinds a group,
// whatever the input.
func TestDiffReportBounds(t *testing.T) {
	df := &differ{cli: &cli{stderr: &strings.Builder{}}, groups: map[changeKey]*changeGroup{}}
	retry := outcome{Action: policy.Retry, DelayMax: 1}
	for i := range maxGroups + 5 {
		for j := range 2 {
			to := outcome{Action: policy.Fail, Rule: fmt.Sprintf("r%d", i)}
			df.add(fmt.Sprintf("in%d-%d", i, j), &compared{old: retry, new: to, kind: classify.Kind(fmt.Sprint("k", j))})
		}
	}
	assert.Len(t, df.groups, maxGroups)
	require.NotNil(t, df.overflow)
	assert.Equal(t, 10, df.overflow.count, "the changes past the bound, counted together")
	assert.Equal(t, 2*(maxGroups+5), df.changed)

	one := &differ{cli: df.cli, groups: map[changeKey]*changeGroup{}}
	for i := range 100 {
		one.add(fmt.Sprint("in", i), &compared{old: retry, new: outcome{Action: policy.Fail}, kind: classify.Kind(fmt.Sprint("kind", i)), status: 400 + i})
	}
	g := one.sortedGroups()[0]
	assert.Equal(t, 100, g.count)
	assert.Len(t, g.inputs, maxExamples)
	assert.Equal(t, 100-maxExamples, g.moreInputs)
	assert.Len(t, g.kinds, maxTally+1, "maxTally kinds and other")
	assert.Equal(t, 100-maxTally, g.kinds["other"])
	assert.Equal(t, 100-maxTally, g.statuses[otherStatus])
	assert.Contains(t, g.title(), "kind other (68), ")
}
