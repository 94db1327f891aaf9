package policy

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faultline-go/faultline/classify"
)

// aliasBomb returns a policy whose fan tests each alias a test whose
// error has fan layers, each an alias: decoding it naively builds fan²
// layers from a file of a few bytes per alias. With fan 5000 the file is
// about 70 KB and the expansion 25 million layers.
func aliasBomb(fan int) string {
	var b strings.Builder
	b.WriteString(`name: bomb
rules:
  - name: r
    when: "true"
    action: fail
tests:
  - &t
    name: t
    input:
      error:
        kind: unknown
        layers:
          - &l {type: x, message: m, via: root}
`)
	for range fan - 1 {
		b.WriteString("          - *l\n")
	}
	b.WriteString("    expect: {action: fail}\n")
	for range fan - 1 {
		b.WriteString("  - *t\n")
	}
	return b.String()
}

// requireOneError asserts that err is an ErrorList of exactly one problem
// at line:col whose message contains msg.
func requireOneError(t *testing.T, err error, line, col int, msg string) Error {
	t.Helper()
	require.Error(t, err)
	var list ErrorList
	require.ErrorAs(t, err, &list)
	require.Len(t, list, 1, "%v", list)
	e := list[0]
	assert.Equal(t, line, e.Line, "line")
	if col > 0 {
		assert.Equal(t, col, e.Col, "column")
	}
	assert.Contains(t, e.Msg, msg)
	return e
}

// TestAliasesRefused is issue 9 finding 6: the decoder followed YAML
// aliases with no budget. Aliases and merge keys are now refused where
// they are written.
func TestAliasesRefused(t *testing.T) {
	_, err := Parse("bomb.yaml", []byte(aliasBomb(300)))
	e := requireOneError(t, err, 14, 13, "YAML alias *l: a policy file may not use aliases")
	assert.Contains(t, e.Msg, "(598 aliases and merge keys in the file)")
	assert.Equal(t, "bomb.yaml", e.File)

	_, err = Parse("merge.yaml", []byte(`name: merge
limits: &l {max_attempts: 3}
backoff:
  <<: {initial: 1s}
rules:
  - {name: r, when: "true", action: fail}
`))
	requireOneError(t, err, 4, 3, "YAML merge key <<: a policy file may not use aliases or merge keys")

	// An anchor nobody refers to is harmless text.
	mustParse(t, `name: anchor
limits: &l {max_attempts: 3}
rules:
  - {name: r, when: "true", action: fail}
`)
}

// TestAliasBombEveryLoader: Parse, Load, LoadFS and Engine.Reload all
// refuse a full-size bomb at once (retrycheck's commands are tried in
// cmd/retrycheck).
func TestAliasBombEveryLoader(t *testing.T) {
	bomb := []byte(aliasBomb(5000))
	require.Greater(t, len(bomb), 60_000)
	dir := t.TempDir()
	path := filepath.Join(dir, "bomb.yaml")
	require.NoError(t, os.WriteFile(path, bomb, 0o644))

	_, err := Parse("bomb.yaml", bomb)
	requireOneError(t, err, 14, 13, "alias")
	_, err = Load(path)
	requireOneError(t, err, 14, 13, "alias")
	_, err = LoadFS(fstest.MapFS{"p/bomb.yaml": {Data: bomb}}, "p/bomb.yaml")
	requireOneError(t, err, 14, 13, "alias")

	good := filepath.Join(dir, "good.yaml")
	require.NoError(t, os.WriteFile(good, []byte("name: good\nrules:\n  - {name: r, when: \"true\", action: retry}\n"), 0o644))
	p, err := Load(good)
	require.NoError(t, err)
	e := NewEngine(p)
	require.NoError(t, os.WriteFile(good, bomb, 0o644))
	requireOneError(t, e.Reload(), 14, 13, "alias")
	assert.Same(t, p, e.Policy(), "the last good policy stays")
}

// TestFileSizeBound: a policy file of exactly maxFileSize bytes loads;
// one byte more, or an endless file, is refused without reading it all.
func TestFileSizeBound(t *testing.T) {
	src := "name: big\nrules:\n  - {name: r, when: \"true\", action: retry}\n"
	pad := func(n int) []byte {
		// A comment line fills the file up to n bytes.
		return []byte(src + "#" + strings.Repeat("x", n-len(src)-2) + "\n")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "p.yaml")

	require.NoError(t, os.WriteFile(path, pad(maxFileSize), 0o644))
	_, err := Load(path)
	require.NoError(t, err, "at the bound")
	_, err = Parse(path, pad(maxFileSize))
	require.NoError(t, err, "at the bound")
	_, err = LoadFS(os.DirFS(dir), "p.yaml")
	require.NoError(t, err, "at the bound")

	require.NoError(t, os.WriteFile(path, pad(maxFileSize+1), 0o644))
	_, err = Load(path)
	require.ErrorIs(t, err, ErrTooLarge)
	assert.ErrorContains(t, err, fmt.Sprintf("larger than a policy file may be (%d bytes)", maxFileSize))
	_, err = LoadFS(os.DirFS(dir), "p.yaml")
	require.ErrorIs(t, err, ErrTooLarge)
	_, err = Parse(path, pad(maxFileSize+1))
	requireOneError(t, err, 0, 0, "larger than a policy file may be")

	if _, err := os.Stat("/dev/zero"); err == nil {
		_, err = Load("/dev/zero")
		require.ErrorIs(t, err, ErrTooLarge)
	}
	_, err = Load(dir)
	assert.ErrorContains(t, err, "is a directory")
}

// TestDumpPathConfined is issue 9 finding 7: a test case's dump may only
// be read from the policy file's directory, whatever the path says.
func TestDumpPathConfined(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(dir, "secret.json")
	reset, err := os.ReadFile("testdata/dumps/reset.json")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(outside, reset, 0o644))
	pdir := filepath.Join(dir, "policy")
	require.NoError(t, os.MkdirAll(filepath.Join(pdir, "dumps"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(pdir, "dumps", "ok.json"), reset, 0o644))
	require.NoError(t, os.Symlink(outside, filepath.Join(pdir, "dumps", "link.json")))
	require.NoError(t, os.Symlink(filepath.Join(pdir, "dumps", "ok.json"), filepath.Join(pdir, "dumps", "inner.json")))

	load := func(dump string) (*Policy, error) {
		path := filepath.Join(pdir, "p.yaml")
		require.NoError(t, os.WriteFile(path, fmt.Appendf(nil, `name: p
rules:
  - {name: r, when: "true", action: retry}
tests:
  - name: case
    dump: %s
    expect: {action: retry}
`, dump), 0o644))
		return Load(path)
	}
	_, err = load("dumps/ok.json")
	require.NoError(t, err)
	_, err = load("./dumps/../dumps/ok.json")
	require.NoError(t, err)
	for _, bad := range []string{outside, "../secret.json", "dumps/../../secret.json", `dumps\..\..\secret.json`} {
		_, err = load(bad)
		requireOneError(t, err, 6, 11, "the path must be relative and inside the policy file's directory")
	}
	// A symbolic link is followed only while it stays inside.
	_, err = load("dumps/link.json")
	requireOneError(t, err, 6, 11, `test "case": `)
	assert.ErrorContains(t, err, "escapes")
	_, err = load("dumps/inner.json")
	require.Error(t, err, "an absolute link leaves the root even when it points back in")

	// The same from an fs.FS: "p/../x" would otherwise reach the FS root.
	fsys := fstest.MapFS{
		"secret.json":   {Data: reset},
		"p/policy.yaml": {Data: []byte("name: p\nrules:\n  - {name: r, when: \"true\", action: retry}\ntests:\n  - name: case\n    dump: ../secret.json\n    expect: {action: retry}\n")},
	}
	_, err = LoadFS(fsys, "p/policy.yaml")
	requireOneError(t, err, 6, 11, "inside the policy file's directory")
}

// TestDumpSizeBound: the dumps of one policy hold at most maxDumpTotal
// bytes; a dump of exactly that size is read, and another byte of dumps is
// refused.
func TestDumpSizeBound(t *testing.T) {
	t.Parallel() // 16 MiB of JSON: slow under the race detector
	dir := t.TempDir()
	reset, err := os.ReadFile("testdata/dumps/reset.json")
	require.NoError(t, err)
	i := strings.IndexByte(string(reset), '\n') + 1
	big := string(reset[:i]) + strings.Repeat(" ", maxDumpTotal-len(reset)) + string(reset[i:])
	require.Len(t, big, maxDumpTotal)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "big.json"), []byte(big), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "small.json"), reset, 0o644))
	path := filepath.Join(dir, "p.yaml")
	require.NoError(t, os.WriteFile(path, []byte(`name: p
rules:
  - {name: r, when: "true", action: retry}
tests:
  - {name: big, dump: big.json, expect: {action: retry}}
  - {name: small, dump: small.json, expect: {action: retry}}
`), 0o644))
	_, err = Load(path)
	e := requireOneError(t, err, 6, 25, `test "small": `)
	assert.Contains(t, e.Msg, fmt.Sprintf("may hold %d bytes in all", maxDumpTotal), "the big dump at the bound was read")

	require.NoError(t, os.WriteFile(filepath.Join(dir, "big.json"), []byte(big+" "), 0o644))
	_, err = Load(path)
	e = requireOneError(t, err, 5, 23, `test "big": `)
	assert.Contains(t, e.Msg, "larger than a test case's dump may be")
}

// rulesPolicy returns a policy of n rules with condition when, the i-th
// named r<i>.
func rulesPolicy(n int, when string, extra string) string {
	var b strings.Builder
	b.WriteString("name: n\n" + extra + "rules:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - name: r%d\n    when: >-\n      %s\n    action: retry\n", i, when)
	}
	return b.String()
}

// TestCountBounds: rules, variables and test cases, each at its bound and
// one over.
func TestCountBounds(t *testing.T) {
	mustParse(t, rulesPolicy(maxRules, "error.kind == 'x'", ""))
	_, err := Parse("n.yaml", []byte(rulesPolicy(maxRules+1, "error.kind == 'x'", "")))
	requireOneError(t, err, 3, 3, fmt.Sprintf("the policy has %d rules; the limit is %d", maxRules+1, maxRules))

	vars := func(n int) string {
		var b strings.Builder
		b.WriteString("variables:\n")
		for i := range n {
			fmt.Fprintf(&b, "  v%d: attempt.number > %d\n", i, i)
		}
		return b.String()
	}
	mustParse(t, rulesPolicy(1, "v0", vars(maxVariables)))
	_, err = Parse("n.yaml", []byte(rulesPolicy(1, "true", vars(maxVariables+1))))
	requireOneError(t, err, 3, 3, fmt.Sprintf("the policy has %d variables; the limit is %d", maxVariables+1, maxVariables))

	tests := func(n int) string {
		var b strings.Builder
		b.WriteString("tests:\n")
		for i := range n {
			fmt.Fprintf(&b, "  - {name: t%d, input: {error: {kind: dns}}, expect: {action: retry}}\n", i)
		}
		return b.String()
	}
	p := mustParse(t, rulesPolicy(1, "true", "")+tests(maxTests))
	assert.Len(t, p.Cases(), maxTests)
	_, err = Parse("n.yaml", []byte(rulesPolicy(1, "true", "")+tests(maxTests+1)))
	requireOneError(t, err, 8, 3, fmt.Sprintf("the policy has %d test cases; the limit is %d", maxTests+1, maxTests))
}

// TestExpressionBounds: an expression's length and nesting, each at the
// bound and one over; and 128 rules all nested to the bound still compose.
func TestExpressionBounds(t *testing.T) {
	long := func(n int) string {
		return "'" + strings.Repeat("a", n-len("'' == error.message")) + "' == error.message"
	}
	require.Len(t, long(maxExprLen), maxExprLen)
	mustParse(t, rulesPolicy(1, long(maxExprLen), ""))
	_, err := Parse("n.yaml", []byte(rulesPolicy(1, long(maxExprLen+1), "")))
	requireOneError(t, err, 5, 7, fmt.Sprintf("is %d characters long; the limit is %d", maxExprLen+1, maxExprLen))

	nested := func(depth int) string {
		return strings.Repeat("(", depth) + "attempt.number > 1" + strings.Repeat(")", depth)
	}
	// The deepest that parses, found by the parser itself.
	deepest := 0
	for d := 1; d <= maxNesting+1; d++ {
		if _, err := Parse("n.yaml", []byte(rulesPolicy(1, nested(d), ""))); err != nil {
			break
		}
		deepest = d
	}
	assert.GreaterOrEqual(t, deepest, maxNesting-3, "the bound is about maxNesting levels")
	_, err = Parse("n.yaml", []byte(rulesPolicy(1, nested(deepest+1), "")))
	requireOneError(t, err, 5, 0, fmt.Sprintf("expression nested more than %d levels deep", maxNesting))

	// Every rule at the bound, as many rules as allowed: they compose.
	p := mustParse(t, rulesPolicy(maxRules, nested(deepest), ""))
	d, err := p.Decide(context.Background(), Input{State: State{Attempt: 2}})
	require.NoError(t, err)
	assert.Equal(t, "r0", d.Rule)

	// Nested list literals cost most to check; at the bound they are
	// still quick (BenchmarkLoadWorst measures the worst policy).
	lists := strings.Repeat("[", deepest-1) + "1" + strings.Repeat("]", deepest-1) + " != []"
	mustParse(t, rulesPolicy(1, lists, ""))
}

// worstInput is an input at every cap the engine enforces: what the cost
// estimate assumes at most.
func worstInput() Input {
	s := strings.Repeat("z", capText)
	f := classify.Facts{Kind: classify.Unknown, Message: s, Labels: map[string]string{}}
	for i := range capLayers {
		f.Layers = append(f.Layers, classify.Layer{Type: s, Message: s, Via: s})
		_ = i
	}
	for i := range capLabels {
		f.Labels[fmt.Sprintf("%0*d", capText, i)] = s
	}
	st := State{Attempt: 1, Phase: PhaseBody}
	for range capHistory {
		st.History = append(st.History, s)
	}
	return Input{Error: f, State: st}
}

// TestComposedCost is issue 9 finding 10: each rule's cost was checked at
// load, but the runtime limit applies to all the conditions a decision
// evaluates, so 128 cheap-looking rules loaded and failed at run time.
// Now their sum is checked too: what loads runs, even on the input that
// costs most, by Decide and Explain alike.
func TestComposedCost(t *testing.T) {
	const when = "error.layers.exists(l, l.message.contains('needle'))"
	_, err := Parse("n.yaml", []byte(rulesPolicy(maxRules, when, "")))
	e := requireOneError(t, err, 3, 3, "the rules' conditions together are estimated to cost")
	assert.Contains(t, e.Msg, fmt.Sprintf("the limit for one decision is %d", maxCost))
	assert.Contains(t, e.Msg, `the costliest conditions: "r0" at line 3: `)

	// The most such rules that load, found by loading.
	most := 0
	for n := 1; n <= maxRules; n++ {
		if _, err := Parse("n.yaml", []byte(rulesPolicy(n, when, ""))); err != nil {
			break
		}
		most = n
	}
	require.Greater(t, most, 1)
	require.Less(t, most, maxRules)
	p := mustParse(t, rulesPolicy(most, when, ""))
	in := worstInput()
	d, err := p.Decide(context.Background(), in)
	require.NoError(t, err, "what loads runs")
	assert.Equal(t, Fail, d.Action, "no rule matched")
	d, err = p.Explain(context.Background(), in)
	require.NoError(t, err, "Explain holds the sum to the same limit")
	assert.Len(t, d.Trace, most)
}

// worstPolicy is the policy that takes longest to load that we know of:
// as many rules as allowed, each as long as allowed and holding the
// slowest construct to check (list literals nested to the bound), and as
// many variables as allowed.
func worstPolicy() string {
	lists := strings.Repeat("[", maxNesting-2) + "1" + strings.Repeat("]", maxNesting-2) + " != []"
	when := lists + " || error.message == '"
	when += strings.Repeat("a", maxExprLen-len(when)-1) + "'"
	var vars strings.Builder
	vars.WriteString("variables:\n")
	for i := range maxVariables {
		fmt.Fprintf(&vars, "  v%d: >-\n    %s\n", i, lists)
	}
	return rulesPolicy(maxRules, when, vars.String())
}

// BenchmarkLoadWorst measures the time bound of loading a policy: the
// worst policy within every bound. It is refused in the end (its
// conditions together cost too much), after every expression was checked.
func BenchmarkLoadWorst(b *testing.B) {
	src := []byte(worstPolicy())
	if len(src) > maxFileSize {
		b.Fatalf("%d bytes", len(src))
	}
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		if _, err := Parse("worst.yaml", src); err == nil {
			b.Fatal("loaded")
		}
	}
}

// endless is an endless JSON string value, counting what was read of it.
type endless struct{ n int64 }

func (e *endless) Read(p []byte) (int, error) {
	if e.n == 0 {
		n := copy(p, `{"schema":1,"source":"`)
		e.n += int64(n)
		return n, nil
	}
	for i := range p {
		p[i] = 'a'
	}
	e.n += int64(len(p))
	return len(p), nil
}

// TestReadDumpsBound: one dump of exactly maxDumpSize bytes is read, one
// byte more is refused, and an endless one is refused after reading a
// bounded amount (TestDumpSizeBound reads one at the bound).
func TestReadDumpsBound(t *testing.T) {
	t.Parallel() // 16 MiB of JSON: slow under the race detector
	raw, err := os.ReadFile("testdata/dumps/reset.json")
	require.NoError(t, err)
	reset := strings.TrimSpace(string(raw)) + "\n"
	i := strings.IndexByte(reset, '\n') + 1
	over := reset[:i] + strings.Repeat(" ", maxDumpSize+1-len(reset)+1) + reset[i:]
	err = ReadDumps(strings.NewReader(reset+over), func(Dump) error { return nil })
	var de *DumpError
	require.ErrorAs(t, err, &de)
	require.ErrorIs(t, err, ErrTooLarge)
	assert.Equal(t, 1+strings.Count(reset, "\n"), de.Line, "the second dump")
	assert.Equal(t, 1, de.Col)

	e := &endless{}
	err = ReadDumps(e, func(Dump) error { return nil })
	require.ErrorIs(t, err, ErrTooLarge)
	assert.Less(t, e.n, int64(3*maxDumpSize), "read a bounded amount")
}
