package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faultline-go/faultline/faulttest"
	"github.com/faultline-go/faultline/internal/archivetest"
	"github.com/faultline-go/faultline/policies"
)

// fetchArchive is the archive the fetch tests serve: small, but with
// every kind of entry the generator makes.
func fetchArchive(t testing.TB) ([]archivetest.Entry, []byte) {
	t.Helper()
	entries := archivetest.Tree(3, 150, 1<<20)
	data, err := archivetest.Bytes(archivetest.Gzip, entries)
	require.NoError(t, err)
	return entries, data
}

// fastPolicy writes the default policy with its backoff cut to
// milliseconds, so that tests exercise the same rules without waiting.
func fastPolicy(t testing.TB) string {
	t.Helper()
	src, err := policies.FS.ReadFile("default.yaml")
	require.NoError(t, err)
	s := string(src)
	for _, r := range [][2]string{{"initial: 250ms", "initial: 1ms"}, {"max: 30s", "max: 2ms"}} {
		require.Contains(t, s, r[0], "the default policy's backoff changed; update fastPolicy")
		s = strings.Replace(s, r[0], r[1], 1)
	}
	name := filepath.Join(t.TempDir(), "fast.yaml")
	require.NoError(t, os.WriteFile(name, []byte(s), 0o644))
	return name
}

func startFetchServer(t testing.TB, cfg faulttest.Config) *faulttest.Server {
	t.Helper()
	s, err := faulttest.Start(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

// serverCertPEM writes the certificate a TLS fault server presents as a
// PEM file, as a user would save it for --ca.
func serverCertPEM(t testing.TB, s *faulttest.Server) string {
	t.Helper()
	pem := s.CertPEM()
	require.NotEmpty(t, pem, "a TLS server")
	name := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(name, pem, 0o644))
	return name
}

// summaryRE matches the first line of a successful fetch's summary.
var summaryRE = regexp.MustCompile(`^fetched (\S+): (\S+ \S+) in \S+ \(\S+ \S+/s\); (\d+) attempts?, (\d+) resumes?, (\d+) restarts?; served \S+ \S+ \((\d+\.\d+)× the archive\)$`)

func TestFetch(t *testing.T) {
	entries, archive := fetchArchive(t)
	size := int64(len(archive))
	sum := sha256.Sum256(archive)
	pol := fastPolicy(t)
	tests := []struct {
		name      string
		tls, h2   bool
		script    []faulttest.Fault
		sha       bool
		attempts  int
		resumes   int
		restarts  int
		maxServed float64 // bytes the server wrote / archive size
		// decisions the policy made, one dump each; a restart because
		// the validator changed is no decision. -1 means attempts-1.
		decisions int
	}{
		{name: "h1 clean", attempts: 1, maxServed: 1},
		{name: "h1 resets", script: []faulttest.Fault{{Kind: faulttest.Reset, At: size / 4}, {Kind: faulttest.Reset, At: size / 4}},
			sha: true, attempts: 3, resumes: 2, maxServed: 1.05},
		{name: "h2c reset stream", h2: true, script: []faulttest.Fault{{Kind: faulttest.ResetStream, At: size / 2}},
			attempts: 2, resumes: 1, maxServed: 1.05},
		{name: "h2 tls reset", tls: true, h2: true, script: []faulttest.Fault{{Kind: faulttest.Reset, At: size / 3}},
			attempts: 2, resumes: 1, maxServed: 1.05},
		// The validator changed under the resume: bytes of two versions
		// are never spliced, so the unpack starts over.
		// The server writes the whole body of the abandoned response into
		// the socket buffers before the client drops it: 2.5 on the
		// server's count, 1.5 on the client's.
		{name: "h1 validator changed", script: []faulttest.Fault{{Kind: faulttest.Reset, At: size / 2}, {Kind: faulttest.ChangeETag}},
			attempts: 3, resumes: 1, restarts: 1, maxServed: 2.55, decisions: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := startFetchServer(t, faulttest.Config{Content: archive, TLS: tc.tls, Script: tc.script})
			dir := t.TempDir()
			dest := filepath.Join(dir, "tree")
			dumps := filepath.Join(dir, "dumps")
			args := []string{"fetch", "--policy", pol, "--to", dest, "--dump-dir", dumps, "--progress", "lines"}
			if tc.sha {
				args = append(args, "--sha256", hex.EncodeToString(sum[:]))
			}
			if tc.tls {
				args = append(args, "--ca", serverCertPEM(t, s))
			}
			if tc.h2 && !tc.tls {
				args = append(args, "--h2c")
			}
			r := runCLI(t, "", append(args, s.URL)...)
			require.Equal(t, exitOK, r.code, "stderr:\n%s", r.stderr)

			lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
			m := summaryRE.FindStringSubmatch(lines[0])
			require.NotNil(t, m, "summary line %q", lines[0])
			assert.Equal(t, s.URL, m[1])
			assert.Equal(t, formatBytes(size), m[2])
			assert.Equal(t, []string{strconv.Itoa(tc.attempts), strconv.Itoa(tc.resumes), strconv.Itoa(tc.restarts)}, m[3:6])
			assert.Contains(t, lines[1], "unpacked gzip into "+dest+": ")

			// The summary counts what the client read; the server, what it
			// wrote. They agree unless a response was abandoned unread.
			served := float64(s.BodyBytes()) / float64(size)
			assert.LessOrEqual(t, served, tc.maxServed)
			read, err := strconv.ParseFloat(m[6], 64)
			require.NoError(t, err)
			assert.GreaterOrEqual(t, read, 1.0)
			assert.LessOrEqual(t, read, served+0.001)
			if tc.restarts == 0 {
				assert.Equal(t, fmt.Sprintf("%.3f", served), m[6])
			}
			decisions := tc.decisions
			if decisions == 0 {
				decisions = tc.attempts - 1
			}

			archivetest.Compare(t, entries, dest)
			assertNoStaging(t, dir, "tree")

			// Every failure was dumped, once, and announced.
			files, err := filepath.Glob(filepath.Join(dumps, "fault-*.json"))
			require.NoError(t, err)
			assert.Len(t, files, decisions)
			if len(files) > 0 {
				assert.Contains(t, r.stdout, plural(len(files), "failure")+" recorded in "+dumps)
			}
			for _, req := range s.Requests() {
				if tc.h2 {
					assert.Equal(t, string(faulttest.HTTP2), req.Proto)
				} else {
					assert.Equal(t, string(faulttest.HTTP1), req.Proto)
				}
			}
			// Every decision was reported on stderr as it happened.
			assert.Equal(t, decisions, strings.Count(r.stderr, "fetch: attempt "), "stderr:\n%s", r.stderr)
		})
	}
}

// assertNoStaging checks that dir holds nothing but keep: no staging
// directory left behind, no partial tree.
func assertNoStaging(t testing.TB, dir string, keep ...string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range ents {
		if e.Name() == "dumps" || slices.Contains(keep, e.Name()) {
			continue
		}
		t.Errorf("%s: left in %s", e.Name(), dir)
	}
}

func TestFetchFailures(t *testing.T) {
	_, archive := fetchArchive(t)
	pol := fastPolicy(t)
	// Stored deflate blocks: a flipped byte is seen by the gzip CRC-32
	// only, at the very end; flipped twice, the archive is corrupt at the
	// source.
	stored, err := archivetest.Bytes(archivetest.GzipStored, archivetest.Tree(3, 40, 256<<10))
	require.NoError(t, err)
	corrupt := bytes.Clone(stored)
	corrupt[len(corrupt)/2] ^= 0xff
	garbage := bytes.Clone(archive)
	for i := len(garbage) / 3; i < len(garbage)/3+64; i++ {
		garbage[i] ^= 0x5a
	}
	wrong := sha256.Sum256([]byte("not the archive"))
	tests := []struct {
		name    string
		content []byte
		script  []faulttest.Fault
		args    []string
		rule    string
		kind    string
		dumps   int
		code    int
	}{
		// The flipped bytes happen to inflate into a bad tar header.
		{name: "corrupt deflate", content: garbage, rule: "corrupt", kind: "archive", dumps: 1, code: exitData},
		// A CRC-32 mismatch may be a bit flipped on the way: tried twice.
		{name: "gzip checksum", content: corrupt, rule: "checksum-again", kind: "checksum", dumps: 2, code: exitData},
		{name: "sha256 mismatch twice", content: archive, args: []string{"--sha256", hex.EncodeToString(wrong[:])},
			rule: "checksum-again", kind: "checksum", dumps: 2, code: exitData},
		{name: "not found", content: archive, script: []faulttest.Fault{{Kind: faulttest.Status, Status: 404}},
			rule: "http-client-error", kind: "http_status", dumps: 1, code: exitFail},
		// Five attempts in a row without progress end the fetch.
		{name: "503 past the progress limit", content: archive, script: []faulttest.Fault{
			{Kind: faulttest.Status, Status: 503}, {Kind: faulttest.Status, Status: 503}, {Kind: faulttest.Status, Status: 503},
			{Kind: faulttest.Status, Status: 503}, {Kind: faulttest.Status, Status: 503}},
			rule: "max_no_progress", kind: "http_status", dumps: 5, code: exitTempFail},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := startFetchServer(t, faulttest.Config{Content: tc.content, Script: tc.script})
			dir := t.TempDir()
			dest := filepath.Join(dir, "tree")
			dumps := filepath.Join(dir, "dumps")
			args := append([]string{"fetch", "--policy", pol, "--to", dest, "--dump-dir", dumps, "--progress", "none"}, tc.args...)
			r := runCLI(t, "", append(args, s.URL)...)
			require.Equal(t, tc.code, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			assert.Regexp(t, `^failed `+regexp.QuoteMeta(s.URL)+` after \S+: \d+ attempts?, \d+ resumes?, \d+ restarts?; `, r.stdout)
			assert.Regexp(t, `gave up by (rule|guard) "`+tc.rule+`" \(kind `+tc.kind+`\): `, r.stderr)
			assert.NoDirExists(t, dest)
			assertNoStaging(t, dir)
			files, err := filepath.Glob(filepath.Join(dumps, "fault-*.json"))
			require.NoError(t, err)
			assert.Len(t, files, tc.dumps)
			assert.Contains(t, r.stderr, plural(tc.dumps, "failure")+" recorded in "+dumps)
		})
	}
}

func TestFetchUsage(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		msg  string
	}{
		{"no url", []string{"fetch", "--to", dir + "/x"}, "want one URL, got 0"},
		{"two urls", []string{"fetch", "--to", dir + "/x", "http://a/", "http://b/"}, "want one URL, got 2"},
		{"not http", []string{"fetch", "--to", dir + "/x", "ftp://a/"}, "want http:// or https://"},
		{"no to", []string{"fetch", "http://127.0.0.1:1/"}, "--to DIR or --output FILE is required"},
		{"to and output", []string{"fetch", "--to", "a", "--output", "b", "http://127.0.0.1:1/"}, "--to and --output exclude each other"},
		{"short sha", []string{"fetch", "--to", dir + "/x", "--sha256", "abcd", "http://127.0.0.1:1/"}, "want 64 hexadecimal digits"},
		{"bad progress", []string{"fetch", "--to", dir + "/x", "--progress", "loud", "http://127.0.0.1:1/"}, "--progress \"loud\""},
		{"missing ca", []string{"fetch", "--to", dir + "/x", "--ca", dir + "/none.pem", "https://127.0.0.1:1/"}, "--ca"},
		{"demo and url", []string{"fetch", "--demo", "--to", dir + "/x", "http://127.0.0.1:1/"}, "--demo takes no URL"},
		{"bad policy", []string{"fetch", "--policy", dir + "/none.yaml", "--to", dir + "/x", "http://127.0.0.1:1/"}, "none.yaml"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, "", tc.args...)
			assert.Equal(t, exitUsage, r.code)
			assert.Contains(t, r.stderr, tc.msg)
			assert.Empty(t, r.stdout)
		})
	}
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, ents, "a usage error creates nothing")
}

// TestFetchDestination checks that an existing destination is refused
// before any request, and replaced whole with --replace.
func TestFetchDestination(t *testing.T) {
	entries, archive := fetchArchive(t)
	s := startFetchServer(t, faulttest.Config{Content: archive})
	dir := t.TempDir()
	dest := filepath.Join(dir, "tree")
	require.NoError(t, os.MkdirAll(filepath.Join(dest, "old"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dest, "old", "file"), []byte("old"), 0o644))

	r := runCLI(t, "", "fetch", "--progress", "none", "--to", dest, s.URL)
	assert.Equal(t, exitFail, r.code)
	assert.Contains(t, r.stderr, "exists; use --replace")
	assert.Zero(t, s.RequestCount(), "refused before downloading")
	assert.FileExists(t, filepath.Join(dest, "old", "file"))

	r = runCLI(t, "", "fetch", "--progress", "none", "--replace", "--to", dest, s.URL)
	require.Equal(t, exitOK, r.code, "stderr:\n%s", r.stderr)
	archivetest.Compare(t, entries, dest)
	assertNoStaging(t, dir, "tree")

	// A parent that does not exist yet is made.
	deep := filepath.Join(dir, "a", "b", "tree")
	r = runCLI(t, "", "fetch", "--progress", "none", "--to", deep, s.URL)
	require.Equal(t, exitOK, r.code, "stderr:\n%s", r.stderr)
	archivetest.Compare(t, entries, deep)
}

// TestFetchDumpsExplain fetches through failures and replays every dump
// with explain and decide: the decisions recorded live come out again.
func TestFetchDumpsExplain(t *testing.T) {
	_, archive := fetchArchive(t)
	size := int64(len(archive))
	s := startFetchServer(t, faulttest.Config{Content: archive, Script: []faulttest.Fault{
		{Kind: faulttest.Reset, At: size / 3}, {Kind: faulttest.Status, Status: 503}, {Kind: faulttest.Truncate, At: size / 3}}})
	pol := fastPolicy(t)
	dir := t.TempDir()
	dumps := filepath.Join(dir, "dumps")
	r := runCLI(t, "", "fetch", "--policy", pol, "--progress", "none", "--dump-dir", dumps, "--to", filepath.Join(dir, "tree"), s.URL)
	require.Equal(t, exitOK, r.code, "stderr:\n%s", r.stderr)

	files, err := filepath.Glob(filepath.Join(dumps, "fault-*.json"))
	require.NoError(t, err)
	require.Len(t, files, 3)
	slices.Sort(files) // the names start with the time
	wants := []struct{ kind, phase, action, rule string }{
		{"connection_reset", "body", "resume", "resume-body"},
		{"http_status", "headers", "retry", "http-retryable"},
		{"unexpected_eof", "body", "resume", "resume-body"},
	}
	for i, f := range files {
		r := runCLI(t, "", "explain", "--policy", pol, f)
		require.Equal(t, exitOK, r.code, "explain %s:\n%s", f, r.stderr)
		w := wants[i]
		assert.Regexp(t, `(?m)^  kind\s+`+w.kind+`$`, r.stdout, f)
		assert.Regexp(t, `(?m)^  phase\s+`+w.phase+`$`, r.stdout, f)
		assert.Regexp(t, `(?m)^  action\s+`+w.action+`$`, r.stdout, f)
		assert.Regexp(t, `(?m)^  rule\s+`+w.rule+`$`, r.stdout, f)
		assert.Contains(t, r.stdout, "(dump)")
		// The dump recorded the decision and the policy that made it:
		// the same policy, so nothing is said to differ.
		assert.Contains(t, r.stdout, "recorded  "+w.action+" by "+w.rule+" under default, sha256:", f)
		assert.NotContains(t, r.stdout, "a different policy", f)
	}
	r = runCLI(t, "", append([]string{"decide", "--json", "--policy", pol}, files...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, 3, strings.Count(r.stdout, "\n"), "one line per dump:\n%s", r.stdout)
}

func TestFetchJSON(t *testing.T) {
	_, archive := fetchArchive(t)
	size := int64(len(archive))
	pol := fastPolicy(t)
	s := startFetchServer(t, faulttest.Config{Content: archive, Script: []faulttest.Fault{{Kind: faulttest.Reset, At: size / 2}}})
	dir := t.TempDir()
	r := runCLI(t, "", "fetch", "--json", "--policy", pol, "--progress", "none", "--to", filepath.Join(dir, "ok"), s.URL)
	require.Equal(t, exitOK, r.code, r.stderr)
	var ok fetchSummary
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &ok))
	assert.True(t, ok.OK)
	assert.Equal(t, size, ok.Bytes)
	assert.Equal(t, s.BodyBytes(), ok.BytesServed)
	assert.Equal(t, 2, ok.Attempts)
	assert.Equal(t, 1, ok.Resumes)
	assert.Equal(t, "gzip", ok.Format)
	assert.Positive(t, ok.Files)
	assert.Nil(t, ok.Decision)

	bad := startFetchServer(t, faulttest.Config{Content: archive, Script: []faulttest.Fault{{Kind: faulttest.Status, Status: 403}}})
	r = runCLI(t, "", "fetch", "--json", "--policy", pol, "--progress", "none", "--to", filepath.Join(dir, "bad"), bad.URL)
	require.Equal(t, exitFail, r.code, r.stderr)
	var failed fetchSummary
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &failed))
	assert.False(t, failed.OK)
	require.NotNil(t, failed.Decision)
	assert.Equal(t, "http-client-error", failed.Decision.Rule)
	assert.Equal(t, "fail", string(failed.Decision.Action))
	assert.Equal(t, "http_status", string(failed.Kind))
	assert.Contains(t, failed.Error, "403")
}

// TestFetchCanceled interrupts a fetch whose server stalls: the fetch
// fails as canceled and leaves nothing behind.
func TestFetchCanceled(t *testing.T) {
	_, archive := fetchArchive(t)
	s := startFetchServer(t, faulttest.Config{Content: archive,
		Script: []faulttest.Fault{{Kind: faulttest.Stall, At: int64(len(archive)) / 2, Stall: 10 * time.Second}}})
	dir := t.TempDir()
	dest := filepath.Join(dir, "tree")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Cancel once the first half arrived, as Ctrl-C would.
	go func() {
		deadline := time.Now().Add(10 * time.Second)
		for s.BodyBytes() < int64(len(archive))/2 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
	}()
	var out, errOut bytes.Buffer
	code := run(ctx, []string{"fetch", "--progress", "none", "--to", dest, s.URL}, strings.NewReader(""), &out, &errOut)
	assert.Equal(t, exitInterrupted, code, errOut.String())
	assert.Regexp(t, `gave up by rule "caller-canceled" \(kind canceled\)`, errOut.String())
	assert.NoDirExists(t, dest)
	// No staging; the spool stays, for the next run to continue from.
	assertNoStaging(t, dir, ".tree.faultline-spool")
}

func TestFetchDemo(t *testing.T) {
	pol := fastPolicy(t)
	for _, h2c := range []bool{false, true} {
		t.Run(fmt.Sprintf("h2c=%v", h2c), func(t *testing.T) {
			dest := filepath.Join(t.TempDir(), "demo")
			args := []string{"fetch", "--demo", "--policy", pol, "--progress", "none", "--to", dest}
			if h2c {
				args = append(args, "--h2c")
			}
			r := runCLI(t, "", args...)
			require.Equal(t, exitOK, r.code, r.stderr)
			assert.Contains(t, r.stdout, "4 attempts, 3 resumes, 0 restarts")
			assert.Contains(t, r.stdout, "(1.000× the archive)")
			assert.Contains(t, r.stdout, "400 files, 8 dirs")
			assert.Contains(t, r.stderr, "demo: serving a generated archive")
			assert.Regexp(t, `demo: the server sent \S+ \S+ of body in 4 responses`, r.stderr)
			ents, err := os.ReadDir(filepath.Join(dest, "demo"))
			require.NoError(t, err)
			assert.Len(t, ents, 8)
		})
	}
}

// TestFetchStall: the server stalls mid-body with the connection open,
// for longer than the test. fetch declares the body stalled within
// seconds, says so, and resumes it on a new connection.
func TestFetchStall(t *testing.T) {
	entries, archive := fetchArchive(t)
	s := startFetchServer(t, faulttest.Config{Content: archive, StallLimit: 30 * time.Second,
		Script: []faulttest.Fault{{Kind: faulttest.Stall, At: int64(len(archive)) / 2}}})
	dir := t.TempDir()
	dest := filepath.Join(dir, "tree")
	begin := time.Now()
	r := runCLI(t, "", "fetch", "--policy", fastPolicy(t), "--progress", "none", "--to", dest, s.URL)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Less(t, time.Since(begin), 10*time.Second)
	assert.Regexp(t, `fetch: attempt 1: stall at \S+ \S+ \(phase body\): resume`, r.stderr)
	assert.Contains(t, r.stdout, "2 attempts, 1 resume, 0 restarts")
	archivetest.Compare(t, entries, dest)
}

// TestFetchToUnmakeableParent: a --to whose parent cannot be made (a file
// stands in its path) is refused before any request, and nothing is made.
func TestFetchToUnmakeableParent(t *testing.T) {
	_, archive := fetchArchive(t)
	s := startFetchServer(t, faulttest.Config{Content: archive})
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "file"), []byte("x"), 0o644))
	dest := filepath.Join(dir, "file", "sub", "tree")
	r := runCLI(t, "", "fetch", "--progress", "none", "--to", dest, s.URL)
	assert.Equal(t, exitUsage, r.code, "stderr:\n%s", r.stderr)
	assert.Contains(t, r.stderr, filepath.Join(dir, "file"))
	assert.Zero(t, s.RequestCount(), "refused before downloading")
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, ents, 1, "nothing was made")
}
