package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/http2"

	"github.com/faultline-go/faultline/chain"
	"github.com/faultline-go/faultline/policy"
)

// The corpus generator. "go test -run TestCorpus -update" writes
// testdata/corpus/live-*.json from the chains classify recorded from live
// failures (classify/testdata/live), and testdata/corpus/dump-*.json from
// real Go error values built here; each is wrapped as a dump with the state
// the operation would have had and the action a careful operator expects.
// Without -update, TestCorpus checks that the files are what the generator
// writes and that the default policy passes every case in the corpus.

const (
	corpusDir = "../../testdata/corpus"
	liveDir   = "../../classify/testdata/live"
	gapsDir   = "testdata/gaps"
)

// Byte counts for a download of a 1 MiB archive cut a quarter of the way.
const (
	archiveLen = 1 << 20
	cutAt      = archiveLen / 4
)

// A liveState is the state and expectation for one live recording.
type liveState struct {
	phase     policy.Phase
	proto     string // "HTTP/1.1", "HTTP/2.0" or "" (no HTTP)
	cut       bool   // the body stopped at cutAt; else nothing or everything arrived
	whole     bool   // the whole announced length arrived
	resumable bool
	caller    bool // the caller's context was done
	expect    policy.Expect
}

func want(a policy.Action, rule string) policy.Expect { return policy.Expect{Action: a, Rule: rule} }

// liveStates labels every live case by hand: what state the operation was
// in and what should happen. The labels are the operator's view, not the
// policy's output; a disagreement is a bug to fix in classify or the
// policy, and goes to testdata/gaps until it is fixed.
func liveStates() map[string]liveState {
	const h1, h2 = "HTTP/1.1", "HTTP/2.0"
	body := policy.PhaseBody
	return map[string]liveState{
		"h1-reset-midbody":         {phase: body, proto: h1, cut: true, resumable: true, expect: want(policy.Resume, "resume-body")},
		"h2-reset-midbody":         {phase: body, proto: h2, cut: true, resumable: true, expect: want(policy.Resume, "resume-body")},
		"h2x-reset-midbody":        {phase: body, proto: h2, cut: true, expect: want(policy.Retry, "restart-body")},
		"h2tls-reset-midbody":      {phase: body, proto: h2, cut: true, resumable: true, expect: want(policy.Resume, "resume-body")},
		"h1-abort-handler":         {phase: body, proto: h1, cut: true, expect: want(policy.Retry, "restart-body")},
		"h2-abort-handler":         {phase: body, proto: h2, cut: true, resumable: true, expect: want(policy.Resume, "resume-body")},
		"h2x-abort-handler":        {phase: body, proto: h2, cut: true, expect: want(policy.Retry, "restart-body")},
		"h1-short-body":            {phase: body, proto: h1, cut: true, expect: want(policy.Retry, "restart-body")},
		"h2-rst-refused-midbody":   {phase: body, proto: h2, cut: true, expect: want(policy.Retry, "")},
		"h2x-rst-internal-midbody": {phase: body, proto: h2, cut: true, resumable: true, expect: want(policy.Resume, "resume-body")},
		// LastStreamID is the client's stream: it was processed, and a
		// quarter of the body arrived, so resume rather than restart.
		"h2-goaway-midbody":          {phase: body, proto: h2, cut: true, resumable: true, expect: want(policy.Resume, "resume-body")},
		"h2x-goaway-reset-midbody":   {phase: body, proto: h2, cut: true, resumable: true, expect: want(policy.Resume, "resume-body")},
		"h2-goaway-unprocessed":      {phase: policy.PhaseHeaders, proto: h2, expect: want(policy.Retry, "h2-unprocessed")},
		"h2-connection-lost":         {phase: body, proto: h2, cut: true, resumable: true, expect: want(policy.Resume, "resume-body")},
		"h2x-connection-lost":        {phase: body, proto: h2, cut: true, expect: want(policy.Retry, "restart-body")},
		"h2x-protocol-error":         {phase: body, proto: h2, cut: true, expect: want(policy.Retry, "restart-body")},
		"h2-close-midbody":           {phase: body, proto: h2, cut: true, expect: want(policy.Retry, "restart-body")},
		"h2-short-body":              {phase: body, proto: h2, cut: true, resumable: true, expect: want(policy.Resume, "resume-body")},
		"h1-response-header-timeout": {phase: policy.PhaseHeaders, proto: h1, expect: want(policy.Retry, "transport")},
		"h2-response-header-timeout": {phase: policy.PhaseHeaders, proto: h2, expect: want(policy.Retry, "transport")},
		"h1-client-timeout-headers":  {phase: policy.PhaseHeaders, proto: h1, expect: want(policy.Retry, "transport")},
		"h2-client-timeout-body":     {phase: body, proto: h2, cut: true, resumable: true, expect: want(policy.Resume, "resume-body")},
		"h1-cancel-midbody":          {phase: body, proto: h1, cut: true, caller: true, expect: want(policy.Fail, "caller-canceled")},
		"h2-cancel-midbody":          {phase: body, proto: h2, cut: true, caller: true, expect: want(policy.Fail, "caller-canceled")},
		"h1-deadline-midbody":        {phase: body, proto: h1, cut: true, caller: true, expect: want(policy.Fail, "caller-canceled")},
		"h2x-deadline-midbody":       {phase: body, proto: h2, cut: true, caller: true, expect: want(policy.Fail, "caller-canceled")},
		"tcp-read-timeout":           {phase: body, cut: true, expect: want(policy.Retry, "restart-body")},
		"gzip-corrupt":               {phase: policy.PhaseUnpack, proto: h1, whole: true, expect: want(policy.Fail, "corrupt")},
		"gzip-checksum":              {phase: policy.PhaseUnpack, proto: h1, whole: true, expect: want(policy.Retry, "checksum-once")},
		"gzip-truncated":             {phase: policy.PhaseUnpack, proto: h1, whole: true, expect: want(policy.Fail, "eof-at-full-length")},
		"tar-invalid-header":         {phase: policy.PhaseUnpack, proto: h1, whole: true, expect: want(policy.Fail, "corrupt")},
		"h1-status-503":              {phase: policy.PhaseHeaders, proto: h1, expect: want(policy.Retry, "http-retryable")},
		"h2-status-429":              {phase: policy.PhaseHeaders, proto: h2, expect: want(policy.Retry, "http-retryable")},
		"refused":                    {phase: policy.PhaseConnect, expect: want(policy.Retry, "transport")},
		"tls-untrusted":              {phase: policy.PhaseConnect, expect: want(policy.Fail, "")},
		"tls-version":                {phase: policy.PhaseConnect, expect: want(policy.Fail, "")},
		// The name does not exist (NXDOMAIN): no retry creates it.
		"dns-not-found":   {phase: policy.PhaseConnect, expect: want(policy.Fail, "not-fixable")},
		"tcp-broken-pipe": {phase: policy.PhaseRequest, expect: want(policy.Retry, "transport")},
		"fs-enospc":       {phase: policy.PhaseUnpack, proto: h1, whole: true, expect: want(policy.Fail, "local-failure")},
		"fs-eacces-exec":  {phase: policy.PhaseCommit, proto: h1, whole: true, expect: want(policy.Fail, "local-failure")},
		"fs-eperm-link":   {phase: policy.PhaseUnpack, proto: h1, whole: true, expect: want(policy.Fail, "local-failure")},
		"fs-enoent":       {phase: policy.PhaseCommit, proto: h1, whole: true, expect: want(policy.Fail, "")},
		"multi-join":      {phase: body, proto: h1, cut: true, expect: want(policy.Retry, "restart-body")},
		"multi-hashicorp": {phase: body, proto: h1, cut: true, expect: want(policy.Retry, "restart-body")},
	}
}

// liveGaps are live cases whose right answer the default policy does not
// give yet, with the state that shows it. They are written to
// testdata/gaps, where TestKnownGaps keeps track of them.
func liveGaps() map[string]liveState {
	return map[string]liveState{}
}

func (ls liveState) state() policy.State {
	st := policy.State{Phase: ls.phase, Attempt: 1, TotalExpected: -1,
		Request: policy.Request{Method: "GET", Host: "127.0.0.1", Idempotent: true}, CallerDone: ls.caller}
	if ls.proto != "" {
		st.TotalExpected = archiveLen
		st.Response = policy.Response{Status: 200, Protocol: ls.proto}
	}
	switch {
	case ls.cut:
		st.BytesReceived = cutAt
	case ls.whole:
		st.BytesReceived = archiveLen
	}
	if ls.resumable {
		st.Response.AcceptRanges = true
		st.Response.Validator = `"a1b2c3"`
		st.Response.Resumable = true
	}
	return st
}

// handDumps are edge cases recorded from real Go error values built here,
// walked with chain.Walk as an adapter would.
func handDumps(t *testing.T) map[string]policy.Dump {
	get := func(err error) error {
		return &url.Error{Op: "Get", URL: "https://downloads.example/python.tar.gz", Err: err}
	}
	reset := &net.OpError{Op: "read", Net: "tcp",
		Addr: &net.TCPAddr{IP: net.IPv4(10, 0, 0, 2), Port: 443},
		Err:  &os.SyscallError{Syscall: "read", Err: syscall.ECONNRESET}}
	base := liveState{phase: policy.PhaseBody, proto: "HTTP/1.1", cut: true}
	resumable := base
	resumable.resumable = true
	unpack := liveState{phase: policy.PhaseUnpack, proto: "HTTP/1.1", whole: true}
	headers := liveState{phase: policy.PhaseHeaders, proto: "HTTP/2.0"}

	dump := func(err error, st policy.State, e policy.Expect) policy.Dump {
		return policy.Dump{Schema: schemaFor(st), Source: "cmd/retrycheck corpus generator",
			Chain: chain.Walk(err), State: st, Expect: &e}
	}
	with := func(st policy.State, f func(*policy.State)) policy.State { f(&st); return st }

	out := map[string]policy.Dump{
		"dump-enospc-staging-write.json": dump(
			fmt.Errorf("tarx: extract python/lib/libpython3.so: %w",
				&fs.PathError{Op: "write", Path: "/cache/.staging-1/python/lib/libpython3.so", Err: syscall.ENOSPC}),
			unpack.state(), want(policy.Fail, "local-failure")),
		"dump-tar-insecure-path.json": dump(
			fmt.Errorf("tarx: entry %q: %w", "../../etc/cron.d/x", tar.ErrInsecurePath),
			unpack.state(), want(policy.Fail, "local-failure")),
		"dump-gzip-checksum-second.json": dump(
			fmt.Errorf("tarx: %w", gzipChecksumError(t)),
			with(unpack.state(), func(s *policy.State) { s.Attempt, s.Restarts, s.History = 2, 1, []string{"checksum"} }),
			want(policy.Fail, "checksum-again")),
		"dump-caller-deadline.json": dump(get(context.DeadlineExceeded),
			with(headers.state(), func(s *policy.State) { s.CallerDone = true }), want(policy.Fail, "caller-canceled")),
		"dump-attempt-deadline.json": dump(get(context.DeadlineExceeded),
			with(headers.state(), func(s *policy.State) { s.Attempt = 2 }), want(policy.Retry, "transport")),
		"dump-h2-refused-stream.json": dump(get(http2.StreamError{StreamID: 3, Code: http2.ErrCodeRefusedStream}),
			headers.state(), want(policy.Retry, "h2-unprocessed")),
		//lint:ignore SA1019 deprecated, but x/net's Transport still returns it, so dumps hold it.
		"dump-h2-goaway-no-error.json": dump(get(http2.GoAwayError{LastStreamID: 1, ErrCode: http2.ErrCodeNo}),
			headers.state(), want(policy.Retry, "h2-unprocessed")),
		"dump-reset-resumable.json": dump(fmt.Errorf("tarx: read python/bin/python3.10: %w", reset),
			resumable.state(), want(policy.Resume, "resume-body")),
		// Recorded without progress facts, as before they existed: every
		// attempt counts as one without progress, and the fifth ends it.
		"dump-reset-fifth-attempt.json": dump(fmt.Errorf("tarx: read python/bin/python3.10: %w", reset),
			with(base.state(), func(s *policy.State) { s.Attempt, s.Restarts = 5, 4 }),
			policy.Expect{Action: policy.Fail, Guard: "max_no_progress"}),
		// The twelfth reset of a download that gains a quarter of the
		// archive each time: it keeps going.
		"dump-reset-moving-twelfth-attempt.json": dump(fmt.Errorf("tarx: read python/bin/python3.10: %w", reset),
			with(resumable.state(), func(s *policy.State) {
				s.Attempt, s.Resumes, s.TotalExpected, s.BytesReceived = 12, 11, 12*cutAt, 11*cutAt
				s.Progress = &policy.Progress{Gained: cutAt, Duration: time.Second, Rate: cutAt}
			}),
			want(policy.Resume, "resume-body")),
		"dump-eof-full-length.json": dump(fmt.Errorf("tarx: read python/bin/python3.10: %w", io.ErrUnexpectedEOF),
			unpack.state(), want(policy.Fail, "eof-at-full-length")),
		"dump-eof-short-resumable.json": dump(fmt.Errorf("tarx: read python/bin/python3.10: %w", io.ErrUnexpectedEOF),
			resumable.state(), want(policy.Resume, "resume-body")),
	}
	return out
}

// resetHistory is one operation's failures in order, as JSON Lines: the
// same reset on every attempt of a server that cannot resume, with the
// progress facts httpx records: the first attempt gains a quarter of the
// archive, every restart after it gains nothing (it never passes the
// first one's mark), and the fifth of those ends the operation.
func resetHistory() []policy.Dump {
	reset := &net.OpError{Op: "read", Net: "tcp",
		Addr: &net.TCPAddr{IP: net.IPv4(10, 0, 0, 2), Port: 443},
		Err:  &os.SyscallError{Syscall: "read", Err: syscall.ECONNRESET}}
	c := chain.Walk(reset)
	var out []policy.Dump
	for attempt := 1; attempt <= 6; attempt++ {
		st := liveState{phase: policy.PhaseBody, proto: "HTTP/2.0", cut: true}.state()
		st.Attempt, st.Restarts = attempt, attempt-1
		st.BytesRefetched = int64(attempt-1) * cutAt
		st.Progress = &policy.Progress{Duration: time.Second, NoProgress: attempt - 1}
		if attempt == 1 {
			st.Progress = &policy.Progress{Gained: cutAt, Duration: time.Second, Rate: cutAt}
		}
		for range attempt - 1 {
			st.History = append(st.History, "connection_reset")
		}
		e := want(policy.Retry, "restart-body")
		if attempt == 6 {
			e = policy.Expect{Action: policy.Fail, Guard: "max_no_progress"}
		}
		out = append(out, policy.Dump{Schema: schemaFor(st), Source: "cmd/retrycheck corpus generator",
			Chain: c, State: st, Expect: &e})
	}
	return out
}

// gzipChecksumError returns the error compress/gzip really reports for a
// stream whose CRC-32 does not match.
func gzipChecksumError(t *testing.T) error {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, err := zw.Write([]byte("python/bin/python3.10"))
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	b := buf.Bytes()
	b[len(b)-8] ^= 0xff // the CRC-32 in the trailer
	zr, err := gzip.NewReader(bytes.NewReader(b))
	require.NoError(t, err)
	_, err = io.Copy(io.Discard, zr)
	require.ErrorIs(t, err, gzip.ErrChecksum)
	return err
}

// generated returns every generated corpus file by path, and the gaps.
func generated(t *testing.T) map[string][]byte {
	files := map[string][]byte{}
	encode := func(d policy.Dump) []byte {
		data, err := json.MarshalIndent(d, "", "  ")
		require.NoError(t, err)
		return append(data, '\n')
	}
	wrapLive := func(dir, name string, ls liveState) {
		data, err := os.ReadFile(filepath.Join(liveDir, name+".json"))
		require.NoError(t, err)
		c, err := chain.Decode(data)
		require.NoError(t, err, name)
		e := ls.expect
		files[filepath.Join(dir, "live-"+name+".json")] = encode(policy.Dump{Schema: corpusSchema,
			Source: "classify/testdata/live/" + name + ".json (internal/livefault)",
			Chain:  c, State: ls.state(), Expect: &e})
	}
	states, gaps := liveStates(), liveGaps()
	recorded, err := filepath.Glob(filepath.Join(liveDir, "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, recorded, "no live recordings in %s", liveDir)
	for _, path := range recorded {
		name := strings.TrimSuffix(filepath.Base(path), ".json")
		ls, ok := states[name]
		require.True(t, ok, "live case %s has no state and expectation in liveStates", name)
		wrapLive(corpusDir, name, ls)
	}
	for name, ls := range gaps {
		wrapLive(gapsDir, name, ls)
	}
	for name, d := range handDumps(t) {
		files[filepath.Join(corpusDir, name)] = encode(d)
	}
	var lines bytes.Buffer
	for _, d := range resetHistory() {
		data, err := json.Marshal(d)
		require.NoError(t, err)
		lines.Write(append(data, '\n'))
	}
	files[filepath.Join(corpusDir, "dumps-reset-history.jsonl")] = lines.Bytes()
	return files
}

// isGenerated reports whether the generator owns a corpus file name.
func isGenerated(name string) bool {
	return strings.HasPrefix(name, "live-") || strings.HasPrefix(name, "dump-") || strings.HasPrefix(name, "dumps-")
}

// TestCorpus checks the generated corpus files (or rewrites them with
// -update) and runs the whole corpus against the default policy, as CI
// does with "retrycheck test policies/default.yaml --cases testdata/corpus".
func TestCorpus(t *testing.T) {
	files := generated(t)
	for _, dir := range []string{corpusDir, gapsDir} {
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		for _, e := range entries {
			path := filepath.Join(dir, e.Name())
			if _, ok := files[path]; ok || !isGenerated(e.Name()) {
				continue
			}
			if *update {
				require.NoError(t, os.Remove(path))
			} else {
				t.Errorf("%s is no longer generated; run go test -run TestCorpus -update", path)
			}
		}
	}
	for path, data := range files {
		if *update {
			require.NoError(t, os.WriteFile(path, data, 0o644))
			continue
		}
		got, err := os.ReadFile(path)
		if assert.NoError(t, err, "run go test -run TestCorpus -update") {
			assert.Equal(t, string(data), string(got), "%s is stale; run go test -run TestCorpus -update", path)
		}
	}

	r := runCLI(t, "", "test", "../../policies/default.yaml", "--cases", corpusDir)
	require.Equal(t, exitOK, r.code, "the default policy fails the corpus:\n%s%s", r.stdout, r.stderr)
	m := regexp.MustCompile(`(?m)^(\d+) passed, 0 failed\n\z`).FindStringSubmatch(r.stdout)
	require.NotNil(t, m, "closing line: %q", r.stdout)
	passed, _ := strconv.Atoi(m[1])
	assert.GreaterOrEqual(t, passed-len(defaultInline(t)), 40, "the corpus needs at least 40 cases")
}

// defaultInline is the default policy's inline cases.
func defaultInline(t *testing.T) []policy.Case {
	p, err := policy.Load("../../policies/default.yaml")
	require.NoError(t, err)
	return p.Cases()
}

// TestCorpusCoversEveryLiveCase: each live recording is in the corpus or
// in the gaps, never silently left out.
func TestCorpusCoversEveryLiveCase(t *testing.T) {
	recorded, err := filepath.Glob(filepath.Join(liveDir, "*.json"))
	require.NoError(t, err)
	states := liveStates()
	for _, path := range recorded {
		name := strings.TrimSuffix(filepath.Base(path), ".json")
		assert.Contains(t, states, name)
		assert.FileExists(t, filepath.Join(corpusDir, "live-"+name+".json"))
	}
	var names []string
	for name := range states {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		assert.FileExists(t, filepath.Join(liveDir, name+".json"), "liveStates labels a case classify no longer records")
	}
}

// TestKnownGaps keeps the cases the default policy (or classification)
// still gets wrong: each must still disagree with its expectation. When
// one starts to agree, the gap is closed and the case belongs in
// testdata/corpus, so this test fails to say so.
func TestKnownGaps(t *testing.T) {
	entries, err := os.ReadDir(gapsDir)
	require.NoError(t, err)
	require.NotEmpty(t, entries)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "README") {
			continue
		}
		path := filepath.Join(gapsDir, e.Name())
		t.Run(e.Name(), func(t *testing.T) {
			dir := t.TempDir()
			data, err := os.ReadFile(path)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(dir, e.Name()), data, 0o644))
			r := runCLI(t, "", "test", "../../policies/default.yaml", "--cases", dir)
			assert.Equal(t, exitFail, r.code, "%s now passes: the gap is closed; move it to testdata/corpus\n%s", path, r.stdout)
			assert.Contains(t, r.stdout, "FAIL  "+dir)
		})
	}
}

// corpusSchema is the dump schema of the generated corpus: it records no
// decisions, so the oldest schema holds it, and readers of any version
// read it.
const corpusSchema = 1

// schemaFor is the schema of a generated dump of state st: the oldest that
// holds it (progress facts came with schema 3).
func schemaFor(st policy.State) int {
	if st.Progress != nil {
		return 3
	}
	return corpusSchema
}
