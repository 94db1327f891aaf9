package tarx_test

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/faultline-go/faultline/adapters/tarx"
	"github.com/faultline-go/faultline/internal/archivetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestHelperExtractFromStdin is not a test: TestCleanStale runs the test
// binary as a child that extracts from its stdin and kills it midway.
func TestHelperExtractFromStdin(t *testing.T) {
	dest := os.Getenv("TARX_HELPER_DEST")
	if dest == "" {
		t.Skip("helper process only")
	}
	_, err := tarx.Extract(context.Background(), os.Stdin, dest, tarx.Options{})
	t.Fatalf("Extract returned: %v", err) // the parent kills us before this
}

// killedExtract leaves a real stale staging directory in parent: a child
// process unpacks part of an archive into dest and is killed with SIGKILL.
// It returns the staging directory.
func killedExtract(t *testing.T, parent string) string {
	t.Helper()
	data := archive(t, archivetest.Tar, archivetest.Tree(6, 30, 256<<10))
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperExtractFromStdin$")
	cmd.Env = append(os.Environ(), "TARX_HELPER_DEST="+filepath.Join(parent, "dest"))
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	_, err = stdin.Write(data[:len(data)/2])
	require.NoError(t, err)
	// Wait, boundedly, until the child has unpacked a file.
	var staging string
	deadline := time.Now().Add(10 * time.Second)
	for staging == "" && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		matches, _ := filepath.Glob(filepath.Join(parent, ".dest.faultline-staging-*", "tree", "*", "*"))
		if len(matches) > 0 {
			staging = filepath.Dir(filepath.Dir(filepath.Dir(matches[0])))
		}
	}
	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	stdin.Close()
	require.NotEmpty(t, staging, "the child never staged a file")
	require.Contains(t, filepath.Base(staging), "-"+strconv.Itoa(cmd.Process.Pid)+"-")
	return staging
}

func TestCleanStale(t *testing.T) {
	l := newLayout(t)
	dead := killedExtract(t, l.parent)
	deadPid := strings.Split(filepath.Base(dead), "-")[2]
	marker, err := os.ReadFile(filepath.Join(dead, "faultline-staging"))
	require.NoError(t, err)

	// Look-alikes built from the dead one's marker: only those whose
	// marker matches and whose process is gone (or which are too old) go.
	mine := strconv.Itoa(os.Getpid())
	deadToken := filepath.Base(dead)[len(filepath.Base(dead))-16:]
	mk := func(name, pid, token string, withMarker bool, age time.Duration) string {
		dir := filepath.Join(l.parent, name)
		require.NoError(t, os.MkdirAll(filepath.Join(dir, "tree", "x"), 0o755))
		if withMarker {
			m := strings.Replace(strings.Replace(string(marker), deadPid, pid, 1), deadToken, token, 1)
			p := filepath.Join(dir, "faultline-staging")
			require.NoError(t, os.WriteFile(p, []byte(m), 0o600))
			old := time.Now().Add(-age)
			require.NoError(t, os.Chtimes(p, old, old))
		}
		return dir
	}
	liveFresh := mk(".dest.faultline-staging-"+mine+"-00000000000000a1", mine, "00000000000000a1", true, 0)
	liveOld := mk(".dest.faultline-staging-"+mine+"-00000000000000a2", mine, "00000000000000a2", true, 48*time.Hour)
	noMarker := mk(".dest.faultline-staging-"+deadPid+"-00000000000000a3", deadPid, "00000000000000a3", false, 0)
	wrongToken := mk(".dest.faultline-staging-"+deadPid+"-00000000000000a4", deadPid, "00000000000000a5", true, 0)
	unrelated := mk("dest.faultline-staging-"+deadPid+"-00000000000000a6", deadPid, "00000000000000a6", true, 0)
	// A symlink with a staging name, to a directory with a valid marker:
	// cleanup must not follow it.
	target := mk("target", deadPid, "00000000000000a7", true, 0)
	link := filepath.Join(l.parent, ".dest.faultline-staging-"+deadPid+"-00000000000000a7")
	require.NoError(t, os.Symlink(target, link))

	// The next Extract into the same parent cleans up.
	data := archive(t, archivetest.Tar, []archivetest.Entry{{Name: "f", Type: tar.TypeReg, Mode: 0o644, Data: []byte("x")}})
	st, err := tarx.Extract(context.Background(), bytes.NewReader(data), filepath.Join(l.parent, "other"), tarx.Options{})
	require.NoError(t, err)
	assert.Equal(t, 2, st.StaleRemoved)
	for _, gone := range []string{dead, liveOld} {
		assert.True(t, isNotExist(t, gone), "%s should be removed", gone)
	}
	for _, kept := range []string{liveFresh, noMarker, wrongToken, unrelated, target, link, filepath.Join(target, "tree", "x")} {
		assert.False(t, isNotExist(t, kept), "%s should be kept", kept)
	}
	assert.True(t, isNotExist(t, l.dest), "the killed extraction never reached dest")

	// Called directly with a short threshold, the fresh live one goes too.
	removed, err := tarx.CleanStale(l.parent, time.Nanosecond)
	require.NoError(t, err)
	assert.Equal(t, []string{liveFresh}, removed)
}

func TestStagingNameForLongDest(t *testing.T) {
	l := newLayout(t)
	dest := filepath.Join(l.parent, strings.Repeat("n", 250))
	data := archive(t, archivetest.Tar, []archivetest.Entry{{Name: "f", Type: tar.TypeReg, Mode: 0o644, Data: []byte("x")}})
	_, err := tarx.Extract(context.Background(), bytes.NewReader(data), dest, tarx.Options{})
	require.NoError(t, err)
	got, err := os.ReadFile(filepath.Join(dest, "f"))
	require.NoError(t, err)
	assert.Equal(t, "x", string(got))
}

func TestSync(t *testing.T) {
	// Sync changes durability, not content; this checks the path runs.
	tree := archivetest.Tree(7, 20, 64<<10)
	l := newLayout(t)
	_, err := extractBytes(t, l, archive(t, archivetest.Zstd, tree), tarx.Options{Sync: true})
	require.NoError(t, err)
	archivetest.Compare(t, tree, l.dest)
}
