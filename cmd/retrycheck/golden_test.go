package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// goldenCases run retrycheck from the repository root, as a user would,
// and compare everything it prints and its exit code with
// testdata/golden/NAME.golden. Regenerate with -update.
var goldenCases = []struct {
	name  string
	stdin string
	env   string // $FAULTLINE_POLICY
	args  []string
	code  int
}{
	{name: "help", args: []string{"help"}},
	{name: "unknown-command", args: []string{"frobnicate"}, code: exitUsage},
	{name: "decide-help", args: []string{"decide", "--help"}},
	{name: "explain-help", args: []string{"explain", "-h"}},
	{name: "test-help", args: []string{"help", "test"}},
	{name: "lint-help", args: []string{"lint", "--help"}},
	{name: "version-help", args: []string{"version", "--help"}},
	{name: "policy-help", args: []string{"policy", "--help"}},
	{name: "policy-list", args: []string{"policy", "list"}},
	{name: "policy-list-json", args: []string{"policy", "list", "--json"}},
	{name: "policy-show-unknown", args: []string{"policy", "show", "patient"}, code: exitUsage},
	{name: "policy-no-subcommand", args: []string{"policy"}, code: exitUsage},
	{name: "decide-policy-by-name", args: []string{"decide", "--policy", "interactive", "--attempt", "3", "testdata/corpus/dial-refused.txt"}},
	{name: "decide-policy-yaml-missing", args: []string{"decide", "--policy", "ci.yaml", "testdata/corpus/dial-refused.txt"}, code: exitUsage},
	{name: "test-delay-mismatch", args: []string{"test", "cmd/retrycheck/testdata/policies/delay-mismatch.yaml"}, code: exitFail},
	{name: "lint-by-name", args: []string{"lint", "default", "ci", "interactive"}},
	{name: "dash-version", args: []string{"--version"}},

	{name: "decide-corpus", args: []string{"decide", "--policy", "policies/default.yaml",
		"testdata/corpus/uv-14171-streamed-unpack.txt", "testdata/corpus/eof-full-length.txt",
		"testdata/corpus/http-429-retry-after.txt", "testdata/corpus/h2-refused-stream.txt",
		"testdata/corpus/canceled.txt", "cmd/retrycheck/testdata/inputs/reset-dump.json",
		"cmd/retrycheck/testdata/inputs/three.jsonl", "cmd/retrycheck/testdata/inputs/bare-chain.json"}},
	{name: "decide-corpus-json", args: []string{"decide", "--json", "--policy", "policies/default.yaml",
		"testdata/corpus/uv-14171-streamed-unpack.txt", "cmd/retrycheck/testdata/inputs/three.jsonl"}},
	{name: "decide-default-policy", args: []string{"decide", "testdata/corpus/dial-refused.txt"}},
	{name: "decide-env-policy", env: "cmd/retrycheck/testdata/policies/always-retry.yaml",
		args: []string{"decide", "testdata/corpus/dial-refused.txt"}},
	{name: "decide-stdin-what-if", stdin: "read tcp 10.0.0.1:5->10.0.0.2:443: read: connection reset by peer\n",
		args: []string{"decide", "--policy", "policies/default.yaml", "--bytes", "100", "--total", "900", "--resumable", "-"}},
	{name: "decide-attempt-override", args: []string{"decide", "--policy", "policies/default.yaml", "--attempt", "5",
		"cmd/retrycheck/testdata/inputs/reset-dump.json"}},
	{name: "decide-broken-inputs", args: []string{"decide", "--policy", "policies/default.yaml",
		"cmd/retrycheck/testdata/inputs/broken.jsonl", "cmd/retrycheck/testdata/inputs/broken-doc.json",
		"cmd/retrycheck/testdata/inputs/not-a-dump.json", "cmd/retrycheck/testdata/inputs/empty.txt",
		"cmd/retrycheck/testdata/inputs/bad-header.txt", "cmd/retrycheck/testdata/inputs/missing.json",
		"cmd/retrycheck/testdata"}, code: exitUsage},
	{name: "decide-no-inputs", args: []string{"decide"}, code: exitUsage},
	{name: "decide-bad-flag", args: []string{"decide", "--phase", "sideways", "-"}, code: exitUsage},
	{name: "decide-unknown-flag", args: []string{"decide", "--colour", "-"}, code: exitUsage},
	{name: "decide-broken-policy", args: []string{"decide", "--policy", "cmd/retrycheck/testdata/policies/broken.yaml", "-"}, code: exitUsage},

	{name: "explain-uv", args: []string{"explain", "--policy", "policies/default.yaml", "testdata/corpus/uv-14171-streamed-unpack.txt"}},
	{name: "explain-uv-json", args: []string{"explain", "--json", "--policy", "policies/default.yaml", "testdata/corpus/uv-14171-streamed-unpack.txt"}},
	{name: "explain-dump", args: []string{"explain", "--policy", "policies/default.yaml", "cmd/retrycheck/testdata/inputs/reset-dump.json"}},
	{name: "explain-jsonl", args: []string{"explain", "--policy", "policies/default.yaml", "cmd/retrycheck/testdata/inputs/three.jsonl"}},
	{name: "explain-trail", args: []string{"explain", "--policy", "default", "cmd/retrycheck/testdata/inputs/trail-dump.json"}},
	{name: "explain-trail-json", args: []string{"explain", "--json", "--policy", "default", "cmd/retrycheck/testdata/inputs/trail-dump.json"}},
	{name: "explain-two-inputs", args: []string{"explain", "--policy", "ci", "testdata/corpus/dial-refused.txt", "cmd/retrycheck/testdata/inputs/reset-dump.json"}},
	{name: "explain-missing-input", args: []string{"explain", "testdata/corpus/dial-refused.txt", "missing.json"}, code: exitUsage},

	{name: "test-passing", args: []string{"test", "-v", "cmd/retrycheck/testdata/policies/give-up.yaml", "--cases", "cmd/retrycheck/testdata/cases-give-up"}},
	{name: "test-failing", args: []string{"test", "cmd/retrycheck/testdata/policies/always-retry.yaml", "--cases", "cmd/retrycheck/testdata/cases"}, code: exitFail},
	{name: "test-failing-json", args: []string{"test", "--json", "cmd/retrycheck/testdata/policies/always-retry.yaml", "--cases", "cmd/retrycheck/testdata/cases"}, code: exitFail},
	{name: "test-broken-policy", args: []string{"test", "cmd/retrycheck/testdata/policies/broken.yaml"}, code: exitUsage},

	{name: "lint-ok", args: []string{"lint", "policies/default.yaml"}},
	{name: "lint-errors", args: []string{"lint", "policies/default.yaml", "cmd/retrycheck/testdata/policies/broken.yaml", "cmd/retrycheck/testdata/policies/missing.yaml"}, code: exitFail},
	{name: "lint-errors-json", args: []string{"lint", "--json", "cmd/retrycheck/testdata/policies/broken.yaml"}, code: exitFail},
	{name: "lint-nothing", args: []string{"lint"}, code: exitUsage},

	{name: "diff", args: []string{"diff", "cmd/retrycheck/testdata/diff/old.yaml", "cmd/retrycheck/testdata/diff/new.yaml",
		"--cases", "cmd/retrycheck/testdata/diff/failures"}, code: exitFail},
	{name: "diff-json", args: []string{"diff", "--json", "cmd/retrycheck/testdata/diff/old.yaml", "cmd/retrycheck/testdata/diff/new.yaml",
		"cmd/retrycheck/testdata/diff/failures/404-a.txt", "cmd/retrycheck/testdata/diff/failures/503.txt", "cmd/retrycheck/testdata/diff/failures/reset.txt"}, code: exitFail},
	{name: "diff-same", args: []string{"diff", "cmd/retrycheck/testdata/diff/old.yaml", "cmd/retrycheck/testdata/diff/reformatted.yaml",
		"--cases", "cmd/retrycheck/testdata/diff/failures"}},
	{name: "diff-help", args: []string{"diff", "--help"}},
	{name: "diff-one-policy", args: []string{"diff", "cmd/retrycheck/testdata/diff/old.yaml"}, code: exitUsage},
	{name: "diff-no-inputs", args: []string{"diff", "cmd/retrycheck/testdata/diff/old.yaml", "cmd/retrycheck/testdata/diff/new.yaml"}, code: exitUsage},
	{name: "diff-broken", args: []string{"diff", "cmd/retrycheck/testdata/diff/old.yaml", "cmd/retrycheck/testdata/policies/broken.yaml", "-"}, code: exitUsage},
	{name: "diff-unreadable-input", args: []string{"diff", "cmd/retrycheck/testdata/diff/old.yaml", "cmd/retrycheck/testdata/diff/new.yaml",
		"cmd/retrycheck/testdata/diff/failures/404-a.txt", "cmd/retrycheck/testdata/diff/nonesuch.txt"}, code: exitUsage},

	{name: "version", args: []string{"version"}},
	{name: "version-json", args: []string{"version", "--json"}},
	{name: "version-extra-arg", args: []string{"version", "now"}, code: exitUsage},
}

func TestGolden(t *testing.T) {
	dir, err := filepath.Abs("testdata/golden")
	require.NoError(t, err)
	t.Chdir("../..")
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(policyEnv, tc.env)
			r := runCLI(t, tc.stdin, tc.args...)
			assert.Equal(t, tc.code, r.code, "exit code\nstderr:\n%s", r.stderr)
			got := goldenText(tc.args, r)
			file := filepath.Join(dir, tc.name+".golden")
			if *update {
				require.NoError(t, os.WriteFile(file, []byte(got), 0o644))
			}
			want, err := os.ReadFile(file)
			require.NoError(t, err, "run with -update to create it")
			assert.Equal(t, string(want), got)
		})
	}
}

// goldenText is the golden form of a run: the command line, the exit code,
// then stdout and stderr. The Go version and platform are replaced, so the
// files do not change with the toolchain.
func goldenText(args []string, r result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "$ retrycheck %s\n", strings.Join(args, " "))
	fmt.Fprintf(&b, "exit %d\n", r.code)
	fmt.Fprintf(&b, "-- stdout --\n%s", r.stdout)
	fmt.Fprintf(&b, "-- stderr --\n%s", r.stderr)
	s := b.String()
	// Digests change with every edit of a shipped policy; identity
	// tests check them.
	s = digestRE.ReplaceAllString(s, "sha256:DIGEST")
	s = strings.ReplaceAll(s, runtime.Version(), "GOVERSION")
	s = strings.ReplaceAll(s, runtime.GOOS+"/"+runtime.GOARCH, "GOOS/GOARCH")
	s = strings.ReplaceAll(s, `"os":"`+runtime.GOOS+`","arch":"`+runtime.GOARCH+`"`, `"os":"GOOS","arch":"GOARCH"`)
	return s
}

var digestRE = regexp.MustCompile(`sha256:[0-9a-f]{64}|sha256:[0-9a-f]{12}\b`)

// TestExitCodes names every exit code's meaning with one run each, so a
// change in what a code means shows up here first.
func TestExitCodes(t *testing.T) {
	t.Chdir("../..")
	t.Setenv(policyEnv, "")
	assert.Equal(t, exitOK, runCLI(t, "unexpected EOF\n", "decide", "-").code, "a fail decision is still a decided input")
	assert.Equal(t, exitFail, runCLI(t, "", "lint", "cmd/retrycheck/testdata/policies/broken.yaml").code)
	assert.Equal(t, exitFail, runCLI(t, "", "test", "cmd/retrycheck/testdata/policies/always-retry.yaml").code)
	assert.Equal(t, exitUsage, runCLI(t, "{\"schema\":1,", "decide", "-").code)
	assert.Equal(t, exitUsage, runCLI(t, "", "decide", "no/such/file").code)
	assert.Equal(t, exitUsage, runCLI(t, "", "decide", "--attempt", "x", "-").code)
}
