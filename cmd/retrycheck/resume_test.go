package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faultline-go/faultline/faulttest"
	"github.com/faultline-go/faultline/internal/archivetest"
)

// TestFetchKilledThenResumed kills a real retrycheck fetch with SIGKILL
// half-way (the server holds the body there, so the half is exact) and
// runs the same command again: the second run replays the spooled half
// locally and asks the server only for the rest. The tree is exact and
// the server sent the archive once in all, across both processes.
func TestFetchKilledThenResumed(t *testing.T) {
	// Stored (uncompressed) deflate blocks: a 24 MiB archive that is
	// quick to make.
	entries := archivetest.Tree(7, 600, 24<<20)
	archive, err := archivetest.Bytes(archivetest.GzipStored, entries)
	require.NoError(t, err)
	size := int64(len(archive))
	half := size / 2
	s := startFetchServer(t, faulttest.Config{Content: archive, StallLimit: time.Minute,
		Script: []faulttest.Fault{{Kind: faulttest.Stall, At: half}}})
	dir := t.TempDir()
	dest := filepath.Join(dir, "tree")
	spool := filepath.Join(dir, ".tree.faultline-spool")
	// One connection: with more, ranges fetched ahead of the consumer
	// live only in the reorder window and die with the process (see the
	// README's "Parallel ranges"), and whether auto adds any before the
	// half depends on the machine's speed.
	args := []string{"fetch", "--policy", fastPolicy(t), "--progress", "none", "--connections", "1", "--to", dest}

	// Run 1: no stall detection, so that it waits at the half until killed.
	p := startProcess(t, append(args, "--stall-timeout", "0", "--idle-timeout", "1m", s.URL)...)
	waitFor(t, 20*time.Second, "half the archive served", func() bool { return s.BodyBytes() >= half })
	waitSpooled(t, spool, half)
	require.NoError(t, p.cmd.Process.Kill())
	p.wait(t, 10*time.Second)
	assert.DirExists(t, spool)
	assert.NoDirExists(t, dest)

	// Run 2: the same command.
	q := startProcess(t, append(args, s.URL)...)
	require.Equal(t, exitOK, q.wait(t, 60*time.Second), "stderr:\n%s", q.stderr.String())
	archivetest.Compare(t, entries, dest)
	assertNoStaging(t, dir, "tree")

	reqs := s.Requests()
	require.Len(t, reqs, 2)
	assert.Equal(t, "bytes="+strconv.FormatInt(half, 10)+"-", reqs[1].Range)
	assert.Equal(t, s.ETag(), reqs[1].IfRange)
	ratio := float64(s.BodyBytes()) / float64(size)
	assert.LessOrEqual(t, ratio, 1.05, "bytes the server sent across both runs / archive")
	assert.Contains(t, q.stdout.String(), "1 attempt, 1 resume, 0 restarts")
	assert.Contains(t, q.stdout.String(), "replayed "+formatBytes(half)+" from the spool")
	t.Logf("archive %s; the server sent %.3f× the archive across the killed run and the rerun; rerun stdout: %s",
		formatBytes(size), ratio, q.stdout.String())
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
			// (see TestFetchKilledThenResumed).
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

// waitSpooled waits until the spool's sidecar describes n bytes: the
// fetch received them and synced them.
func waitSpooled(t *testing.T, spool string, n int64) {
	t.Helper()
	waitFor(t, 10*time.Second, "the bytes to be synced to the spool", func() bool {
		b, err := os.ReadFile(filepath.Join(spool, "sidecar.json"))
		if err != nil {
			return false
		}
		var side struct{ Offset int64 }
		return json.Unmarshal(b, &side) == nil && side.Offset == n
	})
}
