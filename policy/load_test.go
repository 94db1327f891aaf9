package policy

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "update golden files")

// TestBadPolicies loads every testdata/bad/*.yaml and compares the errors,
// each with its source line and a caret under the column, with the
// .golden file beside it.
func TestBadPolicies(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			src, err := os.ReadFile(file)
			require.NoError(t, err)
			p, err := Parse(filepath.ToSlash(file), src)
			require.Error(t, err)
			assert.Nil(t, p)
			var list ErrorList
			require.ErrorAs(t, err, &list)
			got := withCarets(list, src)
			golden := strings.TrimSuffix(file, ".yaml") + ".golden"
			if *update {
				require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "run go test -update to create it")
			assert.Equal(t, string(want), got)
		})
	}
}

// withCarets prints each error, then its source line and a caret.
func withCarets(list ErrorList, src []byte) string {
	lines := strings.Split(string(src), "\n")
	var b strings.Builder
	for _, e := range list {
		fmt.Fprintln(&b, e.Error())
		if e.Line < 1 || e.Line > len(lines) {
			continue
		}
		line := lines[e.Line-1]
		fmt.Fprintf(&b, "\t%s\n", line)
		pad := []rune(line)[:max(min(e.Col-1, len([]rune(line))), 0)]
		for i, r := range pad {
			if r != '\t' {
				pad[i] = ' '
			}
		}
		fmt.Fprintf(&b, "\t%s^\n", string(pad))
	}
	return b.String()
}

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		err  Error
		want string
	}{
		{Error{File: "p.yaml", Line: 3, Col: 7, Rule: "resume-body", Msg: "undefined field 'statuss'"},
			`p.yaml:3:7: rule "resume-body": undefined field 'statuss'`},
		{Error{File: "p.yaml", Line: 3, Msg: "bad"}, "p.yaml:3: bad"},
		{Error{Msg: "bad"}, "bad"},
		{Error{File: "p.yaml", Msg: "bad"}, "p.yaml: bad"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.err.Error())
	}
	list := ErrorList{{File: "b", Line: 1, Msg: "x"}, {File: "a", Line: 9, Msg: "y"}, {File: "a", Line: 2, Col: 5, Msg: "z"}}
	list.Sort()
	assert.Equal(t, "a:2:5: z (and 2 more errors)", list.Error())
	assert.NoError(t, ErrorList(nil).Err())
	var target ErrorList
	assert.True(t, errors.As(list.Err(), &target))
}

// TestAllErrorsReported checks that one file with many problems reports
// each, sorted, rather than stopping at the first.
func TestAllErrorsReported(t *testing.T) {
	src, err := os.ReadFile("testdata/bad/block_scalars.yaml")
	require.NoError(t, err)
	_, err = Parse("block_scalars.yaml", src)
	var list ErrorList
	require.ErrorAs(t, err, &list)
	assert.GreaterOrEqual(t, len(list), 7)
	for i := 1; i < len(list); i++ {
		a, b := list[i-1], list[i]
		assert.True(t, a.Line < b.Line || a.Line == b.Line && a.Col <= b.Col, "sorted: %v before %v", a, b)
	}
}

func TestLoad(t *testing.T) {
	p, err := Load("testdata/example.yaml")
	require.NoError(t, err)
	assert.Equal(t, "example", p.Name())
	assert.Equal(t, "testdata/example.yaml", p.File())
	assert.Equal(t, []string{"resume-body", "transport"}, p.Rules())
	assert.Equal(t, Fail, p.Default())
	cases := p.Cases()
	require.Len(t, cases, 2)
	assert.Equal(t, "dumps/reset.json", cases[1].Dump)
	for _, r := range p.RunCases(t.Context()) {
		assert.True(t, r.Passed(), "case %q: %v %s", r.Case.Name, r.Err, r.Diff)
	}

	_, err = Load("testdata/nonesuch.yaml")
	require.ErrorIs(t, err, os.ErrNotExist)
}

// TestLoadFS reads a policy and its dump from an fs.FS.
func TestLoadFS(t *testing.T) {
	p, err := LoadFS(os.DirFS("testdata"), "example.yaml")
	require.NoError(t, err)
	require.Len(t, p.Cases(), 2)
	assert.Equal(t, Retry, p.Cases()[1].Expect.Action)
}

func TestRunCasesReportsFailures(t *testing.T) {
	p, err := Parse("t.yaml", []byte(`name: t
rules:
  - name: never
    when: false
    action: retry
  - name: always
    when: true
    action: fail
tests:
  - name: wrong expectation
    input: {error: {kind: dns}, state: {attempt: 1}}
    expect: {action: retry, rule: never}
`))
	require.NoError(t, err)
	results := p.RunCases(t.Context())
	require.Len(t, results, 1)
	assert.False(t, results[0].Passed())
	assert.Equal(t, `action fail, want retry; rule "always", want "never"`, results[0].Diff)
	require.Len(t, results[0].Decision.Trace, 2)
	assert.Equal(t, []string{"never"}, p.Unfired(results))
}

// TestCaseDelay: a test case can assert the delay, exactly, a zero delay
// included; cases are decided without jitter.
func TestCaseDelay(t *testing.T) {
	p, err := Parse("t.yaml", []byte(`name: t
backoff: {initial: 200ms, max: 10s, multiplier: 2, jitter: full}
rules:
  - name: later
    when: error.kind == 'http_status'
    action: retry
    delay: max(backoff, error.http.retry_after)
  - name: now
    when: error.kind == 'h2_stream'
    action: retry
    delay: duration('0s')
tests:
  - name: third attempt
    input: {error: {kind: connection_reset}, state: {attempt: 3}}
    expect: {action: fail}
  - name: retry-after wins
    input: {error: {kind: http_status, http: {status: 503, retry_after: 2s}}, state: {attempt: 1}}
    expect: {action: retry, delay: 2s}
  - name: backoff of the third attempt
    input: {error: {kind: http_status, http: {status: 503}}, state: {attempt: 3}}
    expect: {action: retry, delay: 800ms}
  - name: at once
    input: {error: {kind: h2_stream}, state: {attempt: 1}}
    expect: {action: retry, delay: 0s}
  - name: wrong delay
    input: {error: {kind: http_status, http: {status: 503}}, state: {attempt: 1}}
    expect: {action: retry, delay: 1s}
`))
	require.NoError(t, err)
	results := p.RunCases(t.Context())
	require.Len(t, results, 5)
	for _, r := range results[:4] {
		assert.True(t, r.Passed(), "%s: %s", r.Case.Name, r.Diff)
	}
	assert.False(t, results[4].Passed())
	assert.Equal(t, "delay 200ms, want 1s", results[4].Diff)

	_, err = Parse("t.yaml", []byte(`name: t
rules: [{name: r, when: true, action: retry}]
tests:
  - name: bad
    input: {error: {kind: dns}, state: {attempt: 1}}
    expect: {action: retry, delay: soon}
`))
	var list ErrorList
	require.ErrorAs(t, err, &list)
	assert.Contains(t, list[0].Error(), `t.yaml:6:36: invalid duration "soon"`)
}
