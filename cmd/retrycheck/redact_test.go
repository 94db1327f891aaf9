package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faultline-go/faultline/faulttest"
)

// fetchSecrets are what withSecrets puts into a URL; none may leave.
var fetchSecrets = []string{"alice", "hunter2", "SIGSECRET", "CREDSECRET"}

func withSecrets(u string) string {
	return strings.Replace(u, "://", "://alice:hunter2@", 1) + "?X-Amz-Credential=CREDSECRET&X-Amz-Signature=SIGSECRET&X-Amz-Date=20250101"
}

func assertNoFetchSecret(t *testing.T, where, s string) {
	t.Helper()
	for _, sec := range fetchSecrets {
		assert.NotContains(t, s, sec, "%s leaks %q:\n%s", where, sec, s)
	}
}

// TestFetchRedactsSecrets fetches URLs with a password and a signed
// query, through a failure that ends the fetch and one it survives, and
// checks every place a URL could appear: the summary (text and JSON), the
// error and decision on stderr, the progress lines, the dumps, and
// explain and decide over those dumps. The policy quotes error.message in
// its reasons, as a policy may.
func TestFetchRedactsSecrets(t *testing.T) {
	_, archive := fetchArchive(t)
	size := int64(len(archive))
	src, err := os.ReadFile(fastPolicy(t))
	require.NoError(t, err)
	pol := strings.Replace(string(src), "reason_expr: \"'HTTP ' + string(error.http.status) + ': the request is wrong'\"",
		"reason_expr: \"'HTTP ' + string(error.http.status) + ': ' + error.message\"", 1)
	require.NotEqual(t, string(src), pol, "the default policy's http-client-error rule changed")
	polFile := filepath.Join(t.TempDir(), "quoting.yaml")
	require.NoError(t, os.WriteFile(polFile, []byte(pol), 0o644))

	for _, tc := range []struct {
		name   string
		script []faulttest.Fault
		json   bool
		code   int
	}{
		{name: "fails", script: []faulttest.Fault{{Kind: faulttest.Reset, At: size / 3}, {Kind: faulttest.Status, Status: 403}}, code: exitFail},
		{name: "fails json", script: []faulttest.Fault{{Kind: faulttest.Status, Status: 404}}, json: true, code: exitFail},
		{name: "succeeds", script: []faulttest.Fault{{Kind: faulttest.Reset, At: size / 3}}, code: exitOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startFetchServer(t, faulttest.Config{Content: archive, Script: tc.script, StallLimit: time.Second})
			dir := t.TempDir()
			dumps := filepath.Join(dir, "dumps")
			args := []string{"fetch", "--policy", polFile, "--progress", "lines", "--dump-dir", dumps, "--to", filepath.Join(dir, "tree")}
			if tc.json {
				args = append(args, "--json")
			}
			r := runCLI(t, "", append(args, withSecrets(s.URL))...)
			require.Equal(t, tc.code, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			assertNoFetchSecret(t, "stdout", r.stdout)
			assertNoFetchSecret(t, "stderr", r.stderr)
			assert.Contains(t, r.stdout, "REDACTED@", "the summary names the URL, masked")
			assert.Contains(t, r.stdout, "X-Amz-Date=20250101", "what is not secret stays")
			if tc.code == exitFail {
				assert.Contains(t, r.stderr, "REDACTED", "the error names the URL, masked")
			}
			files, err := filepath.Glob(filepath.Join(dumps, "fault-*.json"))
			require.NoError(t, err)
			require.NotEmpty(t, files)
			for _, f := range files {
				data, err := os.ReadFile(f)
				require.NoError(t, err)
				assertNoFetchSecret(t, "dump", string(data))
				e := runCLI(t, "", "explain", "--policy", polFile, f)
				require.Equal(t, exitOK, e.code, e.stderr)
				assertNoFetchSecret(t, "explain", e.stdout+e.stderr)
				d := runCLI(t, "", "decide", "--json", "--policy", polFile, f)
				require.Equal(t, exitOK, d.code, d.stderr)
				assertNoFetchSecret(t, "decide", d.stdout+d.stderr)
			}
		})
	}
}

// TestProgressRedacts: an event line never prints a secret, whatever it
// quotes.
func TestProgressRedacts(t *testing.T) {
	var buf bytes.Buffer
	p := newProgress(&buf, progressLines, 80, time.Now)
	p.event("restarting from byte 0: %s", `Get "https://alice:hunter2@h/f?X-Amz-Signature=SIGSECRET": EOF`)
	assertNoFetchSecret(t, "event", buf.String())
	assert.Contains(t, buf.String(), "https://REDACTED@h/f?X-Amz-Signature=REDACTED")
}
