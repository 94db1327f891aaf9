package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faultline-go/faultline/faulttest"
	"github.com/faultline-go/faultline/internal/archivetest"
)

// TestFetchKilledThenResumed kills a real retrycheck fetch with SIGKILL
// half-way and runs the same command again. The first run downloads on
// four connections: the one whose range holds the half is held there by
// the server, so the extractor waits at the half while the others fetch
// the rest ahead of it; each piece is spooled as it lands. The second run
// replays every spooled byte locally and asks the server only for the
// gaps. The tree is exact and the server sent the archive about once in
// all, across both processes.
func TestFetchKilledThenResumed(t *testing.T) {
	// Stored (uncompressed) deflate blocks: a 24 MiB archive that is
	// quick to make.
	entries := archivetest.Tree(7, 600, 24<<20)
	archive, err := archivetest.Bytes(archivetest.GzipStored, entries)
	require.NoError(t, err)
	size := int64(len(archive))
	half := size / 2
	var stalled atomic.Bool
	// Paced per response, as nginx's limit_rate paces (bench/realservers.sh
	// measures the same scenario there): an unpaced server fills the
	// socket buffers of the first response past the point where it
	// stops, megabytes on loopback that neither run uses.
	s := startFetchServer(t, faulttest.Config{Content: archive, StallLimit: time.Minute, Rate: 10 << 20,
		Choose: func(r faulttest.Request) faulttest.Fault {
			// The request whose bytes hold the half stalls there, once.
			first, last := int64(0), size-1
			if r.Range != "" {
				var err error
				if first, last, err = parseRange(r.Range, size); err != nil {
					return faulttest.Fault{}
				}
			}
			if first <= half && half <= last && (r.N == 1 || stalled.CompareAndSwap(false, true)) {
				return faulttest.Fault{Kind: faulttest.Stall, At: half - first}
			}
			return faulttest.Fault{}
		}})
	dir := t.TempDir()
	dest := filepath.Join(dir, "tree")
	spool := filepath.Join(dir, ".tree.faultline-spool")
	args := []string{"fetch", "--policy", fastPolicy(t), "--progress", "none", "--connections", "4", "--to", dest}

	// Run 1: no stall detection, so that it waits at the half until killed.
	p := startProcess(t, append(args, "--stall-timeout", "0", "--idle-timeout", "1m", s.URL)...)
	waitFor(t, 20*time.Second, "half the archive served", func() bool { return s.BodyBytes() >= half })
	// Every range but the one held at the half is complete, and what the
	// client received is synced (it stopped changing, at the half).
	last := int64(-1)
	waitFor(t, 20*time.Second, "the ranges served to be synced to the spool", func() bool {
		for _, r := range s.Requests() {
			if r.Range == "" || r.Fault.Kind == faulttest.Stall {
				continue
			}
			if first, end, err := parseRange(r.Range, size); err != nil || r.BodyBytes != end-first+1 {
				return false
			}
		}
		n, covered := spooled(spool)
		stable := covered == last
		last = covered
		time.Sleep(300 * time.Millisecond)
		return n == half && stable && covered > half
	})
	first := s.BodyBytes()
	_, covered := spooled(spool)
	require.NoError(t, p.cmd.Process.Kill())
	p.wait(t, 10*time.Second)
	assert.DirExists(t, spool)
	assert.NoDirExists(t, dest)
	before := len(s.Requests())

	// Run 2: the same command.
	q := startProcess(t, append(args, s.URL)...)
	require.Equal(t, exitOK, q.wait(t, 60*time.Second), "stderr:\n%s", q.stderr.String())
	archivetest.Compare(t, entries, dest)
	assertNoStaging(t, dir, "tree")

	reqs := s.Requests()[before:]
	require.NotEmpty(t, reqs)
	assert.Equal(t, "bytes="+strconv.FormatInt(half, 10)+"-", reqs[0].Range[:len("bytes=")+len(strconv.FormatInt(half, 10))+1],
		"the rerun starts at the half")
	for _, r := range reqs {
		assert.NotEmpty(t, r.Range, "only gaps are asked for")
		assert.Equal(t, s.ETag(), r.IfRange)
	}
	ratio := float64(s.BodyBytes()) / float64(size)
	assert.LessOrEqual(t, ratio, 1.05, "bytes the server sent across both runs / archive")
	assert.Contains(t, q.stdout.String(), "1 attempt, 1 resume, 0 restarts")
	assert.Contains(t, q.stdout.String(), "replayed "+formatBytes(covered)+" from the spool")
	t.Logf("archive %s; the killed run was sent %s and had spooled %s; the server sent %.3f× the archive across both runs; rerun requests %d; rerun stdout: %s",
		formatBytes(size), formatBytes(first), formatBytes(covered), ratio, len(reqs), q.stdout.String())
}

// parseRange parses a request's "bytes=first-last" or "bytes=first-".
func parseRange(v string, size int64) (first, last int64, err error) {
	a, b, ok := strings.Cut(strings.TrimPrefix(v, "bytes="), "-")
	if !ok {
		return 0, 0, fmt.Errorf("bad range %q", v)
	}
	if first, err = strconv.ParseInt(a, 10, 64); err != nil {
		return 0, 0, err
	}
	if b == "" {
		return first, size - 1, nil
	}
	last, err = strconv.ParseInt(b, 10, 64)
	return first, last, err
}

// spooled returns what the spool's sidecar describes: the length of its
// extent from the start, and the bytes of all its extents.
func spooled(spool string) (prefix, covered int64) {
	b, err := os.ReadFile(filepath.Join(spool, "sidecar.json"))
	if err != nil {
		return 0, 0
	}
	var side struct{ Extents []struct{ Start, End int64 } }
	if json.Unmarshal(b, &side) != nil {
		return 0, 0
	}
	for _, e := range side.Extents {
		if e.Start == 0 {
			prefix = e.End
		}
		covered += e.End - e.Start
	}
	return prefix, covered
}

// TestFetchBadSpool: a fetch interrupted half-way leaves a spool; spoiled
// in each way a disk or a person can spoil it, the next fetch says so on
// standard error, starts clean (a request without Range) and unpacks the
// exact tree.
func TestFetchBadSpool(t *testing.T) {
	entries, archive := fetchArchive(t)
	half := int64(len(archive)) / 2
	tests := []struct {
		name  string
		spoil func(t *testing.T, spool string)
		warn  string
	}{
		{"corrupt sidecar", func(t *testing.T, spool string) {
			require.NoError(t, os.WriteFile(filepath.Join(spool, "sidecar.json"), []byte("{\"version\": 1, \"url"), 0o600))
		}, "its sidecar is corrupt or truncated; starting clean"},
		{"truncated spool", func(t *testing.T, spool string) {
			require.NoError(t, os.Truncate(filepath.Join(spool, "data"), 10))
		}, "its data is truncated"},
		{"corrupt spool", func(t *testing.T, spool string) {
			f, err := os.OpenFile(filepath.Join(spool, "data"), os.O_RDWR, 0)
			require.NoError(t, err)
			_, err = f.WriteAt([]byte("XXXX"), 100)
			require.NoError(t, err)
			require.NoError(t, f.Close())
		}, "does not match its checksum"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := startFetchServer(t, faulttest.Config{Content: archive, StallLimit: time.Minute,
				Script: []faulttest.Fault{{Kind: faulttest.Stall, At: half}}})
			dir := t.TempDir()
			dest := filepath.Join(dir, "tree")
			spool := filepath.Join(dir, ".tree.faultline-spool")
			// One connection, so that the last request is the clean start
			// (with more, ranges fetched ahead may follow it).
			args := []string{"fetch", "--policy", fastPolicy(t), "--progress", "none", "--connections", "1", "--to", dest}
			p := startProcess(t, append(args, "--stall-timeout", "0", s.URL)...)
			waitFor(t, 20*time.Second, "half the archive served", func() bool { return s.BodyBytes() >= half })
			waitSpooled(t, spool, half)
			require.NoError(t, p.cmd.Process.Signal(os.Interrupt))
			p.wait(t, 10*time.Second)
			require.DirExists(t, spool)
			tc.spoil(t, spool)

			r := runCLI(t, "", append(args, s.URL)...)
			require.Equal(t, exitOK, r.code, r.stderr)
			assert.Contains(t, r.stderr, tc.warn)
			archivetest.Compare(t, entries, dest)
			assertNoStaging(t, dir, "tree")
			reqs := s.Requests()
			assert.Empty(t, reqs[len(reqs)-1].Range, "a clean start")
		})
	}
}

// waitSpooled waits until the spool's sidecar describes the first n
// bytes: the fetch received them and synced them.
func waitSpooled(t *testing.T, spool string, n int64) {
	t.Helper()
	waitFor(t, 10*time.Second, "the bytes to be synced to the spool", func() bool {
		got, _ := spooled(spool)
		return got == n
	})
}
