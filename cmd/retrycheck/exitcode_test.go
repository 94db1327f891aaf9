package main

import (
	"archive/tar"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faultline-go/faultline/faulttest"
	"github.com/faultline-go/faultline/internal/archivetest"
)

// TestFetchExitCodes runs a fetch that ends in each class of outcome and
// checks the exit status, the class --json reports, and that the help
// documents both.
func TestFetchExitCodes(t *testing.T) {
	pol := fastPolicy(t)
	_, archive := fetchArchive(t)
	unsafe, err := archivetest.Bytes(archivetest.Gzip, []archivetest.Entry{
		{Name: "ok.txt", Type: tar.TypeReg, Mode: 0o644, Data: []byte("fine\n")},
		{Name: "../../escaped.txt", Type: tar.TypeReg, Mode: 0o644, Data: []byte("pwned\n")},
	})
	require.NoError(t, err)
	status := func(code, n int) []faulttest.Fault {
		f := make([]faulttest.Fault, n)
		for i := range f {
			f[i] = faulttest.Fault{Kind: faulttest.Status, Status: code}
		}
		return f
	}
	canceled, cancel := context.WithCancel(context.Background())
	cancel()

	tests := []struct {
		name    string
		ctx     context.Context
		content []byte
		script  []faulttest.Fault
		args    []string
		code    int
		class   string
		kind    string
	}{
		{name: "fetched", content: archive, code: exitOK, class: classOK},
		{name: "not found", content: archive, script: status(404, 1), code: exitFail, class: classFailed, kind: "http_status"},
		{name: "unsafe archive", content: unsafe, code: exitData, class: classData, kind: "unsafe_archive"},
		{name: "corrupt archive", content: archive[:len(archive)/2], args: []string{"--sha256", strings.Repeat("ab", 32)},
			code: exitData, class: classData},
		{name: "503 until the attempts ran out", content: archive, script: status(503, 5), code: exitTempFail, class: classTempFail, kind: "http_status"},
		{name: "interrupted", ctx: canceled, content: archive, code: exitInterrupted, class: classInterrupted},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := startFetchServer(t, faulttest.Config{Content: tc.content, Script: tc.script})
			dest := filepath.Join(t.TempDir(), "tree")
			args := append([]string{"fetch", "--json", "--policy", pol, "--progress", "none", "--to", dest}, tc.args...)
			ctx := tc.ctx
			if ctx == nil {
				ctx = t.Context()
			}
			var out, errOut strings.Builder
			code := run(ctx, append(args, s.URL), strings.NewReader(""), &out, &errOut)
			require.Equal(t, tc.code, code, "stdout:\n%s\nstderr:\n%s", out.String(), errOut.String())
			var sum fetchSummary
			require.NoError(t, json.Unmarshal([]byte(out.String()), &sum))
			assert.Equal(t, tc.code, sum.Exit)
			assert.Equal(t, tc.class, sum.Class)
			assert.Equal(t, tc.code == exitOK, sum.OK)
			if tc.kind != "" {
				assert.Equal(t, tc.kind, string(sum.Kind))
			}
			if !sum.OK {
				assert.NotEmpty(t, sum.Error)
			}
		})
	}

	t.Run("usage", func(t *testing.T) {
		r := runCLI(t, "", "fetch", "--json", "--to", filepath.Join(t.TempDir(), "x"), "--sha256", "nothex", "http://127.0.0.1:1/")
		assert.Equal(t, exitUsage, r.code)
		assert.Empty(t, r.stdout)
	})

	// Every code is documented in the help, with its class.
	help := commandHelp(fetchCommand())
	for _, ec := range exitCodes {
		assert.Regexp(t, fmt.Sprintf(`(?m)^\t%-4d %s\b`, ec.code, ec.class), help, "fetch --help documents exit %d", ec.code)
	}
}

// TestFetchJSONDecisions: --json lists every decision in order, with the
// final kind and rule, and no secret of the URL.
func TestFetchJSONDecisions(t *testing.T) {
	_, archive := fetchArchive(t)
	n := int64(len(archive))
	s := startFetchServer(t, faulttest.Config{Content: archive, Script: []faulttest.Fault{
		{Kind: faulttest.Reset, At: n / 4},
		{Kind: faulttest.Reset, At: n / 4},
		{Kind: faulttest.Status, Status: 404},
	}})
	url := strings.Replace(s.URL, "http://", "http://user:hunter2@", 1) + "?X-Amz-Signature=topsecret"
	r := runCLI(t, "", "fetch", "--json", "--policy", fastPolicy(t), "--progress", "none", "--to", filepath.Join(t.TempDir(), "tree"), url)
	require.Equal(t, exitFail, r.code, r.stderr)
	assert.NotContains(t, r.stdout, "hunter2")
	assert.NotContains(t, r.stdout, "topsecret")
	var sum fetchSummary
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &sum))
	assert.Equal(t, 3, sum.Attempts)
	assert.Equal(t, 2, sum.Resumes)
	require.Len(t, sum.Decisions, 3)
	for i, d := range sum.Decisions[:2] {
		assert.Equal(t, i+1, d.Attempt)
		assert.Equal(t, "resume", string(d.Action))
		assert.Equal(t, "resume-body", d.Rule)
		assert.Positive(t, d.Offset)
	}
	assert.Greater(t, sum.Decisions[1].Offset, sum.Decisions[0].Offset)
	last := sum.Decisions[2]
	assert.Equal(t, "fail", string(last.Action))
	assert.Equal(t, "http-client-error", last.Rule)
	assert.Equal(t, "http_status", string(last.Kind))
	assert.Equal(t, "http-client-error", sum.Rule)
	assert.Equal(t, "http_status", string(sum.Kind))
	assert.Equal(t, classFailed, sum.Class)
}
