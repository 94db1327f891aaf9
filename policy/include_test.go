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

// writeFiles writes files (slash paths relative to dir) and returns dir.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	return dir
}

const sharedVars = `# Variables every deployment shares.
include: [more.yaml]
variables:
  transport: error.kind in ['connection_reset', 'timeout']
rules:
  - name: caller-gone
    when: caller_done
    action: fail
tests:
  - name: shared case
    dump: dumps/reset.json
    expect: {action: retry, rule: transport}
`

const moreVars = `variables:
  resumable: response.resumable && phase == 'body'
`

const topPolicy = `name: top
version: "2026.12"
include:
  - shared/vars.yaml
rules:
  - name: resume
    when: transport && resumable
    action: resume
  - name: transport
    when: transport
    action: retry
`

// TestInclude: included variables, rules and cases come before the
// including file's own, every file is named, and a dump named by an
// included case is read beside that file.
func TestInclude(t *testing.T) {
	reset, err := os.ReadFile("testdata/dumps/reset.json")
	require.NoError(t, err)
	dir := writeFiles(t, map[string]string{
		"top.yaml":                topPolicy,
		"shared/vars.yaml":        sharedVars,
		"shared/more.yaml":        moreVars,
		"shared/dumps/reset.json": string(reset),
	})
	p, err := Load(filepath.Join(dir, "top.yaml"))
	require.NoError(t, err)
	assert.Equal(t, []string{"caller-gone", "resume", "transport"}, p.Rules())
	assert.Equal(t, []string{filepath.Join(dir, "top.yaml"), filepath.Join(dir, "shared/vars.yaml"), filepath.Join(dir, "shared/more.yaml")}, p.Files())
	require.Len(t, p.Cases(), 1)
	assert.Equal(t, filepath.Join(dir, "shared/vars.yaml"), p.Cases()[0].File)
	for _, r := range p.RunCases(context.Background()) {
		assert.True(t, r.Passed(), "%s: %v %s", r.Case.Name, r.Err, r.Diff)
	}
	d, err := p.Decide(context.Background(), Input{Error: classify.Facts{Kind: classify.Timeout},
		State: State{Attempt: 1, Phase: PhaseBody, Response: Response{Resumable: true}}})
	require.NoError(t, err)
	assert.Equal(t, "resume", d.Rule)
	assert.Equal(t, ID{Name: "top", Version: "2026.12", Digest: p.ID().Digest}, d.Policy)

	// The same from an fs.FS.
	fsys := fstest.MapFS{
		"p/top.yaml":                {Data: []byte(topPolicy)},
		"p/shared/vars.yaml":        {Data: []byte(sharedVars)},
		"p/shared/more.yaml":        {Data: []byte(moreVars)},
		"p/shared/dumps/reset.json": {Data: reset},
	}
	q, err := LoadFS(fsys, "p/top.yaml")
	require.NoError(t, err)
	assert.Equal(t, p.ID(), q.ID())
	assert.Equal(t, []string{"p/top.yaml", "p/shared/vars.yaml", "p/shared/more.yaml"}, q.Files())
}

// TestIncludePositions: a problem in an included file is reported at its
// file, line and column.
func TestIncludePositions(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"top.yaml": topPolicy,
		"shared/vars.yaml": strings.Replace(sharedVars, "when: caller_done",
			"when: >\n      caller_done && error.kindd == 'x'", 1),
		"shared/more.yaml":        "variables:\n  resumable: response.resumabel\n",
		"shared/dumps/reset.json": `{"schema":1,"chain":{"schema":1,"layers":[{"message":"x","via":"root","parent":-1}]},"state":{"attempt":1}}`,
	})
	_, err := Load(filepath.Join(dir, "top.yaml"))
	var list ErrorList
	require.ErrorAs(t, err, &list)
	var got []string
	for _, e := range list {
		got = append(got, strings.TrimPrefix(e.Error(), dir+string(filepath.Separator)))
	}
	assert.Equal(t, []string{
		`shared/more.yaml:2:22: variable "resumable": undefined field 'resumabel'`,
		`shared/vars.yaml:8:27: rule "caller-gone": when: undefined field 'kindd'`,
	}, got)
}

// TestIncludeRefused: cycles, a file included twice, depth, count,
// paths outside the directory and keys only the loaded file may set.
func TestIncludeRefused(t *testing.T) {
	rule := "rules:\n  - {name: r, when: \"true\", action: fail}\n"
	tests := []struct {
		name  string
		files map[string]string
		want  string // "file:line:col: message", file relative to the directory
	}{
		{"cycle", map[string]string{
			"top.yaml":   "name: t\ninclude: [a.yaml]\n" + rule,
			"a.yaml":     "include: [lib/b.yaml]\n",
			"lib/b.yaml": "include:\n  - ../a.yaml\n",
		}, "lib/b.yaml:2:5: include ../a.yaml: a cycle: a.yaml → lib/b.yaml → a.yaml"},
		{"self", map[string]string{
			"top.yaml": "name: t\ninclude: [top.yaml]\n" + rule,
		}, "top.yaml:2:11: include top.yaml: a cycle: top.yaml → top.yaml"},
		{"twice", map[string]string{
			"top.yaml": "name: t\ninclude: [a.yaml, b.yaml]\n" + rule,
			"a.yaml":   "include: [c.yaml]\n",
			"b.yaml":   "include: [c.yaml]\n",
			"c.yaml":   "variables: {x: 'true'}\n",
		}, "b.yaml:1:11: include c.yaml: already included at a.yaml:1"},
		{"outside", map[string]string{
			"top.yaml": "name: t\ninclude: [../x.yaml]\n" + rule,
		}, "top.yaml:2:11: include ../x.yaml: the path must be relative and inside the policy file's directory"},
		{"absolute", map[string]string{
			"top.yaml": "name: t\ninclude: [/etc/passwd]\n" + rule,
		}, "top.yaml:2:11: include /etc/passwd: the path must be relative and inside the policy file's directory"},
		{"only top", map[string]string{
			"top.yaml": "name: t\ninclude: [a.yaml]\n" + rule,
			"a.yaml":   "name: other\nlimits: {max_attempts: 99}\n",
		}, "a.yaml:1:1: name: only the policy file loaded may set it, not a file it includes\n" +
			"a.yaml:2:1: limits: only the policy file loaded may set it, not a file it includes"},
		{"missing", map[string]string{
			"top.yaml": "name: t\ninclude: [nope.yaml]\n" + rule,
		}, "top.yaml:2:11: include nope.yaml: openat nope.yaml: no such file or directory"},
		{"broken", map[string]string{
			"top.yaml": "name: t\ninclude: [a.yaml]\n" + rule,
			"a.yaml":   "variables: [\n",
		}, "a.yaml:1:1: did not find expected node content"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeFiles(t, tt.files)
			_, err := Load(filepath.Join(dir, "top.yaml"))
			var list ErrorList
			require.ErrorAs(t, err, &list)
			var got []string
			for _, e := range list {
				s := strings.ReplaceAll(e.Error(), dir+string(filepath.Separator), "")
				got = append(got, strings.ReplaceAll(s, dir, "DIR"))
			}
			assert.Equal(t, tt.want, strings.Join(got, "\n"))
		})
	}
}

// TestIncludeBounds: includes nest at most maxIncludeDepth deep, a policy
// includes at most maxIncludes files, and all of them together hold at
// most maxFileSize bytes; each at the bound and one over.
func TestIncludeBounds(t *testing.T) {
	rule := "rules:\n  - {name: r, when: \"true\", action: fail}\n"
	chain := func(depth int) map[string]string {
		files := map[string]string{"top.yaml": "name: t\ninclude: [f1.yaml]\n" + rule}
		for i := 1; i <= depth; i++ {
			files[fmt.Sprintf("f%d.yaml", i)] = fmt.Sprintf("include: [f%d.yaml]\n", i+1)
		}
		files[fmt.Sprintf("f%d.yaml", depth)] = "variables: {x: 'true'}\n"
		return files
	}
	_, err := Load(filepath.Join(writeFiles(t, chain(maxIncludeDepth)), "top.yaml"))
	require.NoError(t, err, "at the bound")
	dir := writeFiles(t, chain(maxIncludeDepth+1))
	_, err = Load(filepath.Join(dir, "top.yaml"))
	requireOneError(t, err, 1, 11, fmt.Sprintf("includes nest deeper than %d files", maxIncludeDepth))

	many := func(n int) map[string]string {
		files := map[string]string{}
		var inc []string
		for i := range n {
			name := fmt.Sprintf("v%d.yaml", i)
			inc = append(inc, name)
			files[name] = fmt.Sprintf("variables: {v%d: 'true'}\n", i)
		}
		files["top.yaml"] = "name: t\ninclude: [" + strings.Join(inc, ", ") + "]\n" + rule
		return files
	}
	_, err = Load(filepath.Join(writeFiles(t, many(maxIncludes)), "top.yaml"))
	require.NoError(t, err, "at the bound")
	_, err = Load(filepath.Join(writeFiles(t, many(maxIncludes+1)), "top.yaml"))
	requireOneError(t, err, 2, 0, fmt.Sprintf("a policy may include at most %d files", maxIncludes))

	sized := func(total int) map[string]string {
		top := "name: t\ninclude: [a.yaml]\n" + rule
		a := "variables: {x: 'true'}\n"
		pad := total - len(top) - len(a) - 2
		return map[string]string{"top.yaml": top + "#" + strings.Repeat("x", pad) + "\n", "a.yaml": a}
	}
	_, err = Load(filepath.Join(writeFiles(t, sized(maxFileSize)), "top.yaml"))
	require.NoError(t, err, "at the bound")
	_, err = Load(filepath.Join(writeFiles(t, sized(maxFileSize+1)), "top.yaml"))
	e := requireOneError(t, err, 2, 11, "include a.yaml: policy: read a.yaml: larger than a policy file with what it includes may be")
	assert.Contains(t, e.Msg, "(22 bytes)", "what was left of the bound")
}

// TestDigest: the digest follows what decides, not how it is written.
func TestDigest(t *testing.T) {
	base := mustParse(t, topPolicyFlat)
	same := func(src string) {
		t.Helper()
		assert.Equal(t, base.ID().Digest, mustParse(t, src).ID().Digest, "%s", src)
	}
	differs := func(src string) {
		t.Helper()
		assert.NotEqual(t, base.ID().Digest, mustParse(t, src).ID().Digest, "%s", src)
	}
	assert.Regexp(t, `^sha256:[0-9a-f]{64}$`, base.ID().Digest)
	assert.Equal(t, base.ID().Digest[7:19], base.ID().Short())
	same("# a comment\n" + topPolicyFlat)
	same(strings.Replace(topPolicyFlat, "when: transport && resumable", "when: >\n      transport  &&\n      resumable // and a CEL comment", 1))
	same(strings.Replace(topPolicyFlat, "name: top", "name: top\ndescription: now described", 1))
	same(topPolicyFlat + "tests:\n  - {name: c, input: {error: {kind: dns}}, expect: {action: fail}}\n")
	v := mustParse(t, strings.Replace(topPolicyFlat, "version: \"2026.12\"", "version: \"2027.01\"", 1))
	assert.Equal(t, base.ID().Digest, v.ID().Digest, "the version is beside the digest")
	assert.NotEqual(t, base.ID(), v.ID())
	differs(strings.Replace(topPolicyFlat, "action: resume", "action: retry", 1))
	differs(strings.Replace(topPolicyFlat, "'timeout'", "'dns'", 1))
	differs(topPolicyFlat + "limits: {max_attempts: 9}\n")
	differs(topPolicyFlat + "default: retry\n")
	macro := func(m string) string {
		return strings.Replace(topPolicyFlat, "when: caller_done", "when: history."+m, 1)
	}
	a, b := mustParse(t, macro("exists(h, h == 'dns')")), mustParse(t, macro("exists(k,  k == 'dns')"))
	assert.NotEqual(t, a.ID().Digest, b.ID().Digest, "a renamed variable is another expression")
	assert.Equal(t, a.ID().Digest, mustParse(t, macro("exists(h,h=='dns')")).ID().Digest, "macros print back")

	// Split into includes, the same policy has the same digest.
	dir := writeFiles(t, map[string]string{
		"top.yaml":         topPolicy,
		"shared/vars.yaml": strings.Replace(sharedVars, "tests:", "tests: []\nx:", 1)[:strings.Index(sharedVars, "tests:")],
		"shared/more.yaml": moreVars,
	})
	p, err := Load(filepath.Join(dir, "top.yaml"))
	require.NoError(t, err)
	assert.Equal(t, base.ID(), p.ID())
}

// topPolicyFlat is topPolicy with its includes written out.
const topPolicyFlat = `name: top
version: "2026.12"
variables:
  resumable: response.resumable && phase == 'body'
  transport: error.kind in ['connection_reset', 'timeout']
rules:
  - name: caller-gone
    when: caller_done
    action: fail
  - name: resume
    when: transport && resumable
    action: resume
  - name: transport
    when: transport
    action: retry
`
