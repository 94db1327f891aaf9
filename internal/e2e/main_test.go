package e2e

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		// Every server and client a test starts is closed by the test:
		// any goroutine left is a leak of the code under test.
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

// scratch returns a new empty directory for a test, removed after it, on
// a memory file system when one is at hand (see the package
// documentation).
func scratch(t testing.TB) string {
	t.Helper()
	base := os.Getenv("FAULTLINE_E2E_TMPDIR")
	if base == "" {
		if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
			base = "/dev/shm"
		}
	}
	if base == "" {
		return t.TempDir()
	}
	dir, err := os.MkdirTemp(base, "faultline-e2e-")
	if err != nil {
		return t.TempDir()
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("removing %s: %v", dir, err)
		}
	})
	return dir
}
