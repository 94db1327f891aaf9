package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faultline-go/faultline/chain"
	"github.com/faultline-go/faultline/classify"
	"github.com/faultline-go/faultline/policy"
)

// bigDump writes, as fetch --dump-dir does, an indented dump of a failure
// whose archive entry names are long enough to make the file larger than
// the 64 KiB a bufio.Reader holds, and returns its path and the number of
// layers it records.
func bigDump(t *testing.T) (string, int) {
	t.Helper()
	err := error(syscall.ECONNRESET)
	for i := range 24 {
		name := fmt.Sprintf("python/lib/%02d/%s.so", i, strings.Repeat("x", 3000))
		err = fmt.Errorf("failed to unpack %s: %w", name, err)
	}
	c := chain.Walk(err)
	path, werr := policy.WriteDump(t.TempDir(), policy.Dump{Source: "test", Chain: c,
		State: policy.State{Phase: policy.PhaseBody, Attempt: 1, TotalExpected: -1}})
	require.NoError(t, werr)
	st, serr := os.Stat(path)
	require.NoError(t, serr)
	require.Greater(t, st.Size(), int64(64<<10), "the dump must be larger than the reader's buffer")
	return path, len(c.Layers)
}

// TestLargeIndentedDump is issue 9 finding 5: a multi-line dump larger
// than the reader's buffer was read with its first line overwritten.
func TestLargeIndentedDump(t *testing.T) {
	t.Setenv(policyEnv, "")
	path, layers := bigDump(t)

	r := runCLI(t, "", "decide", "--json", path)
	require.Equal(t, exitOK, r.code, "stderr:\n%s", r.stderr)
	var line decideLine
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &line))
	assert.Equal(t, formDump, line.Form)
	assert.Equal(t, "connection_reset", string(line.Facts.Kind))

	r = runCLI(t, "", "explain", "--json", path)
	require.Equal(t, exitOK, r.code, "stderr:\n%s", r.stderr)
	var e explanation
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &e))
	assert.Len(t, e.Chain.Layers, layers)
}

// TestLargeText: pasted text larger than the reader's buffer keeps its
// first line.
func TestLargeText(t *testing.T) {
	first := "failed to install cpython: connection reset by peer"
	text := first + "\n" + strings.Repeat("context line that says nothing more\n", 3000)
	fs, errs := readAll(t, "big.txt", text)
	require.Empty(t, errs)
	require.Len(t, fs, 1)
	assert.Equal(t, first, fs[0].dump.Chain.Layers[0].Message[:len(first)])
}

// TestLongLogInput: a text over the text bound is a log, read through
// with its header and the tail where its error is; the lines in between
// are dropped, whatever their size.
func TestLongLogInput(t *testing.T) {
	small := inputBounds{line: 4 << 10, document: 8 << 10, text: 2 << 10}
	var b strings.Builder
	b.WriteString("# expect: retry\n# flags: --phase body\n")
	for b.Len() < 40<<10 {
		b.WriteString("2024-05-01T10:00:00Z INFO compiling, nothing wrong here\n")
	}
	b.WriteString("2024-05-01T10:00:09Z ERROR fetch: read tcp 10.0.0.1:5->10.0.0.2:443: read: connection reset by peer\n")
	b.WriteString("2024-05-01T10:00:09Z INFO cleaning up\n")
	var fs []*failure
	var errs []error
	rd := &reader{bounds: small, onError: func(err error) { errs = append(errs, err) }}
	require.NoError(t, rd.read("ci.log", strings.NewReader(b.String()), func(f *failure) error {
		fs = append(fs, f)
		return nil
	}))
	require.Empty(t, errs)
	require.Len(t, fs, 1)
	assert.Equal(t, formText, fs[0].form)
	require.NotNil(t, fs[0].expect, "the header at the start of a log is read")
	assert.Equal(t, policy.Phase("body"), fs[0].dump.State.Phase)
	assert.Equal(t, "ECONNRESET", classify.Classify(fs[0].dump.Chain).Errno)
}

// padTo returns doc grown to exactly n bytes by spaces inserted after its
// first line break, or its first byte when it is one line (inside the JSON
// object, where they mean nothing).
func padTo(t *testing.T, doc string, n int) string {
	t.Helper()
	require.LessOrEqual(t, len(doc), n)
	i := strings.IndexByte(doc, '\n') + 1
	if i == 0 {
		i = 1
	}
	return doc[:i] + strings.Repeat(" ", n-len(doc)) + doc[i:]
}

// boundCase is one form of input and its bound: input(n) is an input of
// exactly n bytes, or with a record of exactly n bytes.
type boundCase struct {
	name    string
	input   func(n int) string
	bound   func(inputBounds) int
	form    string
	tooLong string
	// records is how many failures are read when the record over the
	// bound is refused: lines of JSON Lines go on after a long one.
	records int
}

func boundCases(t *testing.T) []boundCase {
	dump, err := os.ReadFile("testdata/inputs/reset-dump.json")
	require.NoError(t, err)
	line := `{"schema":1,"chain":{"schema":1,"layers":[{"type":"syscall.Errno","message":"connection refused","via":"root","parent":-1,"attrs":{"errno":111,"errno_name":"ECONNREFUSED"}}]},"state":{"phase":"connect","attempt":1,"total_expected":-1}}`
	text := "read tcp 10.0.0.1:5->10.0.0.2:443: read: connection reset by peer\n"
	doc := func(b inputBounds) int { return b.document }
	ln := func(b inputBounds) int { return b.line }
	return []boundCase{
		{"document", func(n int) string { return padTo(t, string(dump), n) }, doc, formDump, "JSON document larger than", 0},
		{"document-after-blank-lines", func(n int) string { return "\n \n" + padTo(t, string(dump), n-3) }, doc, formDump, "JSON document larger than", 0},
		{"json-line", func(n int) string { return padTo(t, line, n) + "\n" + line + "\n" }, ln, formDump, "line longer than the limit", 1},
		{"json-line-crlf", func(n int) string { return line + "\r\n" + padTo(t, line, n) + "\r\n" + line + "\r\n" }, ln, formDump, "line longer than the limit", 2},
		{"json-line-last", func(n int) string { return line + "\n" + padTo(t, line, n) }, ln, formDump, "line longer than the limit", 1},
		{"log", func(n int) string { return text + strings.Repeat("-", n-len(text)) }, func(b inputBounds) int { return b.log }, formText, "log larger than", 0},
	}
}

// checkBound reads tc's input at the bound, which must be read whole,
// and one byte over, which must be refused with an error naming it.
func checkBound(t *testing.T, tc boundCase, b inputBounds, workers int) {
	n := tc.bound(b.orDefault())
	read := func(in string) ([]*failure, []error) {
		var fs []*failure
		var errs []error
		rd := &reader{bounds: b, workers: workers, onError: func(err error) { errs = append(errs, err) }}
		if workers > 1 {
			rd.work = func(*failure) {}
		}
		require.NoError(t, rd.read("in", strings.NewReader(in), func(f *failure) error {
			fs = append(fs, f)
			return nil
		}))
		return fs, errs
	}
	fs, errs := read(tc.input(n))
	require.Empty(t, errs, "at the bound")
	require.NotEmpty(t, fs)
	for _, f := range fs {
		assert.Equal(t, tc.form, f.form)
	}
	fs, errs = read(tc.input(n + 1))
	require.Len(t, errs, 1, "one byte over the bound")
	assert.ErrorContains(t, errs[0], tc.tooLong)
	assert.ErrorContains(t, errs[0], fmt.Sprint(n))
	assert.Len(t, fs, tc.records, "records read besides the refused one")
}

// TestInputBounds reads each form of input at its documented bound and
// one byte over it. Reading 16 MiB of JSON is slow under the race
// detector: the cases run in parallel.
func TestInputBounds(t *testing.T) {
	t.Parallel()
	for _, tc := range boundCases(t) {
		switch tc.name {
		case "document", "json-line", "log":
		default:
			continue // the edges are tried on small bounds below
		}
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			checkBound(t, tc, inputBounds{}, 1)
		})
	}
}

// TestInputBoundEdges tries every form's edges (line breaks, blank lines,
// the last line, the parallel reader) on small bounds.
func TestInputBoundEdges(t *testing.T) {
	small := inputBounds{line: 4 << 10, document: 8 << 10, text: 2 << 10}
	for _, workers := range []int{1, 3} {
		for _, tc := range boundCases(t) {
			t.Run(fmt.Sprintf("%s/workers=%d", tc.name, workers), func(t *testing.T) { checkBound(t, tc, small, workers) })
		}
	}
}

// TestByteBudget: acquire waits for room, lets one oversized item through
// alone, and gives up once closed.
func TestByteBudget(t *testing.T) {
	b := newByteBudget(10)
	require.True(t, b.acquire(25), "an item larger than the budget goes through alone")
	got := make(chan bool)
	go func() { got <- b.acquire(1) }()
	select {
	case <-got:
		t.Fatal("acquire did not wait for room")
	case <-time.After(50 * time.Millisecond):
	}
	b.release(25)
	require.True(t, <-got)
	require.True(t, b.acquire(9))
	go func() { got <- b.acquire(1) }()
	b.close()
	assert.False(t, <-got, "a closed budget refuses")
}

// aliasBomb is a policy of a few dozen kilobytes whose aliases, followed,
// expand into 25 million layers (issue 9 finding 6).
func aliasBomb() string {
	var b strings.Builder
	b.WriteString("name: bomb\nrules:\n  - {name: r, when: \"true\", action: fail}\ntests:\n" +
		"  - &t\n    name: t\n    input:\n      error:\n        layers:\n          - &l {type: x, message: m, via: root}\n")
	for range 4999 {
		b.WriteString("          - *l\n")
	}
	b.WriteString("    expect: {action: fail}\n")
	for range 4999 {
		b.WriteString("  - *t\n")
	}
	return b.String()
}

// TestHostilePolicyEveryCommand: every command that loads a policy
// refuses an alias bomb, an oversized file and an endless one at once,
// with the position or the bound (issue 9 findings 6 and 7).
func TestHostilePolicyEveryCommand(t *testing.T) {
	t.Setenv(policyEnv, "")
	dir := t.TempDir()
	bomb := filepath.Join(dir, "bomb.yaml")
	require.NoError(t, os.WriteFile(bomb, []byte(aliasBomb()), 0o644))
	big := filepath.Join(dir, "big.yaml")
	require.NoError(t, os.WriteFile(big, []byte("name: big\n#"+strings.Repeat("x", 1<<20)+"\n"), 0o644))
	input := filepath.Join(dir, "in.txt")
	require.NoError(t, os.WriteFile(input, []byte("read: connection reset by peer\n"), 0o644))

	files := map[string]string{
		bomb: bomb + ":11:13: YAML alias *l: a policy file may not use aliases",
		big:  "larger than a policy file may be (1048576 bytes)",
	}
	if _, err := os.Stat("/dev/zero"); err == nil {
		files["/dev/zero"] = "policy: read /dev/zero: larger than a policy file may be (1048576 bytes)"
	}
	for file, want := range files {
		for _, args := range [][]string{
			{"lint", file},
			{"test", file},
			{"decide", "--policy", file, input},
			{"explain", "--policy", file, input},
			{"fetch", "--policy", file, "--to", filepath.Join(dir, "dest"), "http://127.0.0.1:1/never.tar.gz"},
		} {
			t.Run(filepath.Base(file)+"/"+args[0], func(t *testing.T) {
				r := runCLI(t, "", args...)
				wantCode := exitUsage
				if args[0] == "lint" {
					wantCode = exitFail
				}
				assert.Equal(t, wantCode, r.code)
				assert.Contains(t, r.stdout+r.stderr, want)
				assert.NoDirExists(t, filepath.Join(dir, "dest"), "nothing fetched")
			})
		}
	}
	t.Run("env", func(t *testing.T) {
		t.Setenv(policyEnv, bomb)
		r := runCLI(t, "", "decide", input)
		assert.Equal(t, exitUsage, r.code)
		assert.Contains(t, r.stderr, files[bomb])
	})
}

// TestDumpOutsidePolicyDir: retrycheck test refuses a policy whose case
// names a dump outside its directory, at the dump's position.
func TestDumpOutsidePolicyDir(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret.json")
	require.NoError(t, os.WriteFile(secret, []byte(`{"schema":1}`), 0o600))
	pdir := filepath.Join(dir, "p")
	require.NoError(t, os.Mkdir(pdir, 0o755))
	for _, dump := range []string{"../secret.json", secret} {
		pol := filepath.Join(pdir, "p.yaml")
		require.NoError(t, os.WriteFile(pol, fmt.Appendf(nil, "name: p\nrules:\n  - {name: r, when: \"true\", action: fail}\ntests:\n  - name: peek\n    dump: %s\n    expect: {action: fail}\n", dump), 0o644))
		r := runCLI(t, "", "test", pol)
		assert.Equal(t, exitUsage, r.code)
		assert.Contains(t, r.stderr, pol+`:6:11: test "peek": dump `+dump+": the path must be relative and inside the policy file's directory")
	}
}

// A policy whose recognisers look catastrophic — nested and overlapping
// repetitions that backtrack exponentially in other engines — reading a
// long pasted log whose every byte feeds them, from the command line: the
// decision comes (the recognisers' work is counted and bounded, the text
// cut), and the words of the log still decide.
func TestHostileRecognisersDecide(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("name: hostile\nrecognisers:\n")
	for i := range 100 {
		fmt.Fprintf(&b, "  - name: r%d\n    match: '(a+)+$b|(a|aa)*c$|(.*a){12}z|(?i)(a*)*timeout'\n    kind: timeout\n", i)
	}
	b.WriteString("rules:\n  - {name: resets, when: \"error.kind == 'connection_reset'\", action: retry}\ndefault: fail\n")
	pol := filepath.Join(dir, "hostile.yaml")
	require.NoError(t, os.WriteFile(pol, []byte(b.String()), 0o644))
	// Every line is an error line, so the log's error block is the last
	// 512 of them, each read by every recogniser: each line holds the
	// words every alternative needs, and none matches.
	line := "ERROR z b c " + strings.Repeat("a", 1000) + "\n"
	text := strings.Repeat(line, 8<<10) + "ERROR read tcp 10.0.0.1:5->10.0.0.2:443: read: connection reset by peer\n"
	input := filepath.Join(dir, "log.txt")
	require.NoError(t, os.WriteFile(input, []byte(text), 0o644))

	start := time.Now()
	r := runCLI(t, "", "decide", "--json", "--policy", pol, input)
	took := time.Since(start)
	require.Equal(t, exitOK, r.code, r.stderr)
	var got struct{ Action, Rule string }
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &got), r.stdout)
	assert.Equal(t, "retry", got.Action)
	assert.Equal(t, "resets", got.Rule)
	// A guard against a hang only: the bound is the work, which chain's
	// TestPatternsHostile counts.
	assert.Less(t, took, time.Minute)
}
