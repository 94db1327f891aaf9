//go:build linux

package tarx_test

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/faultline-go/faultline/adapters/tarx"
	"github.com/faultline-go/faultline/internal/archivetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The tests here run the test binary again as a child process, to unpack
// under conditions the test process itself should not take on: another
// user, a lower open-file limit. The child's half is a Test function that
// does nothing unless its environment variable names a directory.

const (
	envReadOnly = "TARX_HELPER_READONLY_ROOT"
	envDeep     = "TARX_HELPER_DEEP_TREE"
	nobody      = 65534
)

// runHelper runs the test named test in a child process with env set,
// and returns its combined output.
func runHelper(t *testing.T, binary, test string, env []string, cred *syscall.Credential) {
	t.Helper()
	cmd := exec.Command(binary, "-test.run=^"+test+"$", "-test.v")
	cmd.Env = append(os.Environ(), env...)
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	out, err := cmd.CombinedOutput()
	t.Logf("child:\n%s", out)
	require.NoError(t, err)
	require.Contains(t, string(out), "--- PASS: "+test)
}

// TestReadOnlyRootUnprivileged is issue 9's finding 11, as a user without
// root's privileges: an archive whose "./" is 0555 failed at the rename
// with "permission denied" (moving a directory to another parent rewrites
// its "..", which takes write permission on it). Run as root, it runs the
// test binary as the user nobody.
func TestReadOnlyRootUnprivileged(t *testing.T) {
	if os.Geteuid() != 0 {
		readOnlyRootTwice(t, t.TempDir())
		return
	}
	// A directory nobody can reach, holding a copy of the test binary
	// (the build directory is private to root).
	top, err := os.MkdirTemp("", "tarx-nobody-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(top) })
	require.NoError(t, os.Chmod(top, 0o755))
	binary := filepath.Join(top, "tarx.test")
	copyFile(t, os.Args[0], binary, 0o755)
	work := filepath.Join(top, "work")
	require.NoError(t, os.Mkdir(work, 0o755))
	require.NoError(t, os.Chown(work, nobody, nobody))
	runHelper(t, binary, "TestHelperReadOnlyRoot", []string{envReadOnly + "=" + work}, &syscall.Credential{Uid: nobody, Gid: nobody})
	fi, err := os.Stat(filepath.Join(work, "parent", "dest"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o555), fi.Mode().Perm())
	assert.Equal(t, uint32(nobody), fi.Sys().(*syscall.Stat_t).Uid, "unpacked by nobody")
}

// TestHelperReadOnlyRoot is the child's half of TestReadOnlyRootUnprivileged.
func TestHelperReadOnlyRoot(t *testing.T) {
	work := os.Getenv(envReadOnly)
	if work == "" {
		t.Skip("helper process only")
	}
	require.NotZero(t, os.Geteuid(), "runs unprivileged")
	readOnlyRootTwice(t, work)
}

// readOnlyRootTwice unpacks an archive with a read-only root into work,
// then replaces that tree with the same archive.
func readOnlyRootTwice(t *testing.T, work string) {
	parent := filepath.Join(work, "parent")
	require.NoError(t, os.Mkdir(parent, 0o755))
	dest := filepath.Join(parent, "dest")
	entries := readOnlyRoot()
	data := archive(t, archivetest.Tar, entries)
	for i := range 2 {
		_, err := tarx.Extract(context.Background(), bytes.NewReader(data), dest, tarx.Options{Replace: i > 0})
		require.NoError(t, err, "pass %d", i+1)
		archivetest.Compare(t, entries[1:], dest)
		fi, err := os.Stat(dest)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o555), fi.Mode().Perm())
		noStaging(t, parent)
	}
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	src, err := os.Open(from)
	require.NoError(t, err)
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	require.NoError(t, err)
	_, err = io.Copy(dst, src)
	require.NoError(t, err)
	require.NoError(t, dst.Close())
}

// deepLimit is the open-file limit the deep-tree child runs under, and
// deepLevels how deep its trees go: well past the limit.
const (
	deepLimit  = 64
	deepLevels = 400
)

// TestDeepTreeCleanup is issue 9's finding 9: with a tree deeper than the
// open-file limit, removing the staging directory after a later failure
// failed (os.RemoveAll holds a descriptor per level), and the staging
// directory survived every later run. The child lowers its open-file
// limit to 64 and unpacks 400 levels deep.
func TestDeepTreeCleanup(t *testing.T) {
	work := t.TempDir()
	runHelper(t, os.Args[0], "TestHelperDeepTree", []string{envDeep + "=" + work}, nil)
	ents, err := os.ReadDir(filepath.Join(work, "parent"))
	require.NoError(t, err)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	assert.Equal(t, []string{"victim.txt"}, names, "nothing left but what was there")
}

// TestHelperDeepTree is the child's half of TestDeepTreeCleanup.
func TestHelperDeepTree(t *testing.T) {
	work := os.Getenv(envDeep)
	if work == "" {
		t.Skip("helper process only")
	}
	var lim syscall.Rlimit
	require.NoError(t, syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim))
	lim.Cur = deepLimit
	require.NoError(t, syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim))

	parent := filepath.Join(work, "parent")
	require.NoError(t, os.Mkdir(parent, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(parent, "victim.txt"), []byte("original\n"), 0o644))
	dest := filepath.Join(parent, "dest")

	// A deep file, read-only directories on the way, then an attack that
	// fails the extraction with all of it staged.
	deep := archivetest.DeepName(deepLevels, 2)
	raw := archivetest.LongNameEntry(deep, tar.TypeReg, []byte("deep"))
	for i := 1; i < deepLevels; i += 7 {
		raw = append(raw, archivetest.PAXHeader(archivetest.PAXRecord("path", archivetest.DeepName(i, 2)))...)
		raw = append(raw, archivetest.Header("dir", tar.TypeDir, 0, 0o555)...)
	}
	raw = append(raw, archivetest.Header("../victim.txt", tar.TypeReg, 0, 0o644)...)
	raw = append(raw, archivetest.EndMarker()...)
	_, err := tarx.Extract(context.Background(), bytes.NewReader(raw), dest, tarx.Options{Limits: tarx.Limits{Depth: -1}})
	require.ErrorIs(t, err, tarx.ErrUnsafe)
	noStaging(t, parent)

	// The same tree left by a killed extraction: the next one's cleanup
	// removes it.
	stale := filepath.Join(parent, fmt.Sprintf(".dest.faultline-staging-%d-%016x", 1<<22+7, 1))
	require.NoError(t, os.MkdirAll(filepath.Join(stale, "tree"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(stale, "faultline-staging"),
		fmt.Appendf(nil, "faultline staging v1\npid %d\ntoken %016x\n", 1<<22+7, 1), 0o600))
	root, err := os.OpenRoot(filepath.Join(stale, "tree"))
	require.NoError(t, err)
	require.NoError(t, root.MkdirAll(deep, 0o755))
	require.NoError(t, root.Close())
	old := time.Now().Add(-48 * time.Hour)
	require.NoError(t, os.Chtimes(filepath.Join(stale, "faultline-staging"), old, old))
	removed, err := tarx.CleanStale(parent, time.Hour)
	require.NoError(t, err)
	assert.Equal(t, []string{stale}, removed)
	assert.True(t, isNotExist(t, stale))
	assert.False(t, strings.Contains(strings.Join(removed, ""), "victim"))
}
