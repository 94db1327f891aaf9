package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The corpus's breadth: the issue asks for at least this many cases from
// at least this many ecosystems.
const (
	minCorpusCases      = 300
	minCorpusEcosystems = 10
)

// ecosystems are the names a text case's "# ecosystem:" header may give.
// Dumps are Go's: they hold Go error values.
var ecosystems = []string{"go", "rust", "node", "python", "java", "dotnet", "curl", "git", "wget", "cloud", "grpc"}

// readmePath is the README whose corpus section holds the counts.
const readmePath = "../../README.md"

// The counts' place in the README, between these markers.
const (
	countsBegin = "<!-- corpus counts: written by go test ./cmd/retrycheck -run TestCorpusBreadth -update -->\n"
	countsEnd   = "<!-- end of corpus counts -->\n"
)

// A corpusCase is one case of the corpus, as the breadth test counts it.
type corpusCase struct {
	name, ecosystem, source, action string
}

// TestCorpusBreadth checks that the corpus has at least 300 cases from at
// least 10 ecosystems, that every text case says where it came from and
// which ecosystem's words it holds, and that no case passes only because
// nothing recognised it ("unknown" fails, and so does every case that
// expects fail). It logs the counts per ecosystem, per action and per
// source, which the README's corpus section shows (-update rewrites them).
func TestCorpusBreadth(t *testing.T) {
	r := runCLI(t, "", "test", "../../policies/default.yaml", "--cases", corpusDir, "--json", "-v")
	require.Equal(t, exitOK, r.code, "the default policy fails the corpus:\n%s%s", r.stdout, r.stderr)
	var cases []corpusCase
	headers := map[string]map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(r.stdout))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var line struct {
			Case   string
			Expect struct{ Action, Rule string }
			Got    struct{ Rule string }
		}
		require.NoError(t, json.Unmarshal(sc.Bytes(), &line))
		if !strings.HasPrefix(line.Case, corpusDir+"/") {
			continue // the policy's inline cases, and the closing counts
		}
		if line.Got.Rule == "unknown" {
			assert.Equal(t, "unknown", line.Expect.Rule, "%s passes only because nothing recognised it: say so with \"# rule: unknown\", or teach the recognisers its words", line.Case)
		}
		c := corpusCase{name: line.Case, action: line.Expect.Action, ecosystem: "go", source: "Go error values, recorded live or built (dumps)"}
		if path := line.Case; strings.HasSuffix(path, ".txt") {
			h, ok := headers[path]
			if !ok {
				h = textHeader(t, path)
				headers[path] = h
			}
			c.ecosystem, c.source = h["ecosystem"], sourceKind(h["source"])
			assert.Contains(t, ecosystems, c.ecosystem, "%s: \"# ecosystem:\" names none of %v", path, ecosystems)
			assert.NotEmpty(t, h["source"], "%s: no \"# source:\" line says where the text came from", path)
		}
		cases = append(cases, c)
	}
	require.NoError(t, sc.Err())

	table := corpusCounts(cases)
	t.Logf("corpus counts:\n%s", table)
	count := func(key func(corpusCase) string) map[string]int {
		m := map[string]int{}
		for _, c := range cases {
			m[key(c)]++
		}
		return m
	}
	assert.GreaterOrEqual(t, len(cases), minCorpusCases, "the corpus needs at least %d cases", minCorpusCases)
	assert.GreaterOrEqual(t, len(count(func(c corpusCase) string { return c.ecosystem })), minCorpusEcosystems,
		"the corpus needs cases from at least %d ecosystems", minCorpusEcosystems)

	readme, err := os.ReadFile(readmePath)
	require.NoError(t, err)
	before, rest, ok := strings.Cut(string(readme), countsBegin)
	require.True(t, ok, "the README has no corpus counts section (%q)", countsBegin)
	shown, after, ok := strings.Cut(rest, countsEnd)
	require.True(t, ok, "the README's corpus counts do not end (%q)", countsEnd)
	if *update {
		require.NoError(t, os.WriteFile(readmePath, []byte(before+countsBegin+table+countsEnd+after), 0o644))
		return
	}
	assert.Equal(t, table, shown, "the README's corpus counts are stale: go test ./cmd/retrycheck -run TestCorpusBreadth -update")
}

// textHeader reads the "# key: value" lines that start a text case.
func textHeader(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	h := map[string]string{}
	for line := range strings.Lines(string(data)) {
		rest, ok := strings.CutPrefix(line, "#")
		if !ok {
			break
		}
		if k, v, ok := strings.Cut(strings.TrimSpace(rest), ":"); ok && !strings.Contains(k, " ") {
			if _, seen := h[k]; !seen {
				h[k] = strings.TrimSpace(v)
			}
		}
	}
	return h
}

// sourceKind sorts a "# source:" line into where the text came from.
func sourceKind(source string) string {
	switch {
	case strings.HasPrefix(source, "recorded by internal/realclients"):
		return "recorded here from a real client"
	case strings.HasPrefix(source, "https://"):
		return "a public issue thread"
	case strings.HasPrefix(source, "hand-written"), strings.HasPrefix(source, "modelled on"):
		return "hand-written"
	}
	return "other"
}

// corpusCounts is the Markdown the README shows: cases per ecosystem and
// action, and per source.
func corpusCounts(cases []corpusCase) string {
	actions := []string{"retry", "resume", "fail"}
	per := map[string]map[string]int{}
	sources := map[string]int{}
	for _, c := range cases {
		if per[c.ecosystem] == nil {
			per[c.ecosystem] = map[string]int{}
		}
		per[c.ecosystem][c.action]++
		sources[c.source]++
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d cases from %d ecosystems.\n\n", len(cases), len(per))
	b.WriteString("| ecosystem | retry | resume | fail | all |\n|---|---:|---:|---:|---:|\n")
	totals := map[string]int{}
	for _, e := range ecosystems {
		m := per[e]
		if m == nil {
			continue
		}
		all := 0
		fmt.Fprintf(&b, "| %s |", e)
		for _, a := range actions {
			fmt.Fprintf(&b, " %d |", m[a])
			all += m[a]
			totals[a] += m[a]
		}
		fmt.Fprintf(&b, " %d |\n", all)
	}
	b.WriteString("| **all** |")
	for _, a := range actions {
		fmt.Fprintf(&b, " %d |", totals[a])
	}
	fmt.Fprintf(&b, " %d |\n\n", len(cases))
	b.WriteString("| where the text came from | cases |\n|---|---:|\n")
	for _, s := range slices.Sorted(maps.Keys(sources)) {
		fmt.Fprintf(&b, "| %s | %d |\n", s, sources[s])
	}
	return b.String()
}
