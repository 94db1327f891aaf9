package filex_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"testing/iotest"

	"github.com/faultline-go/faultline/adapters/filex"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// names lists dir's entries.
func names(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	dest := filepath.Join(dir, "tool.whl")
	data := bytes.Repeat([]byte("wheel"), 100000)
	st, err := filex.Write(context.Background(), iotest.HalfReader(bytes.NewReader(data)), dest, filex.Options{})
	require.NoError(t, err)
	assert.Equal(t, int64(len(data)), st.Bytes)
	got, err := os.ReadFile(dest)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(data, got))
	fi, err := os.Stat(dest)
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o644), fi.Mode().Perm()&^umask())
	assert.Equal(t, []string{"tool.whl"}, names(t, dir))
}

func umask() fs.FileMode {
	// What a 0644 file loses to the process's umask.
	dir, _ := os.MkdirTemp("", "umask")
	defer os.RemoveAll(dir)
	f, _ := os.OpenFile(filepath.Join(dir, "f"), os.O_CREATE|os.O_WRONLY, 0o777)
	fi, _ := f.Stat()
	f.Close()
	return 0o777 &^ fi.Mode().Perm()
}

// failing reads n bytes of data, then fails with err.
type failing struct {
	r   io.Reader
	n   int
	err error
}

func (f *failing) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, f.err
	}
	p = p[:min(len(p), f.n)]
	n, err := f.r.Read(p)
	f.n -= n
	return n, err
}

// cancelAfter cancels a context once n bytes were read through it.
type cancelAfter struct {
	r      io.Reader
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p[:min(len(p), 4096)])
	if c.n -= n; c.n <= 0 {
		c.cancel()
	}
	return n, err
}

// TestNothingOnFailure: a stream that fails, a canceled context or a
// size limit leaves nothing at dest, and an existing file as it was.
func TestNothingOnFailure(t *testing.T) {
	reset := errors.New("connection reset by peer")
	data := bytes.Repeat([]byte("x"), 1<<20)
	for _, existing := range []bool{false, true} {
		for _, tc := range []struct {
			name string
			r    func(cancel context.CancelFunc) io.Reader
			opts filex.Options
			is   error
		}{
			{"reset", func(context.CancelFunc) io.Reader { return &failing{r: bytes.NewReader(data), n: 300000, err: reset} }, filex.Options{}, reset},
			{"canceled", func(cancel context.CancelFunc) io.Reader {
				return &cancelAfter{r: bytes.NewReader(data), n: 300000, cancel: cancel}
			}, filex.Options{}, context.Canceled},
			{"limit", func(context.CancelFunc) io.Reader { return bytes.NewReader(data) }, filex.Options{MaxSize: 1000}, filex.ErrLimit},
		} {
			t.Run(fmt.Sprintf("%s/existing=%v", tc.name, existing), func(t *testing.T) {
				dir := t.TempDir()
				dest := filepath.Join(dir, "f")
				if existing {
					require.NoError(t, os.WriteFile(dest, []byte("old"), 0o600))
					tc.opts.Replace = true
				}
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				r := tc.r(cancel)
				_, err := filex.Write(ctx, r, dest, tc.opts)
				require.ErrorIs(t, err, tc.is)
				if existing {
					got, err := os.ReadFile(dest)
					require.NoError(t, err)
					assert.Equal(t, "old", string(got))
					assert.Equal(t, []string{"f"}, names(t, dir))
				} else {
					assert.Empty(t, names(t, dir))
				}
			})
		}
	}
}

func TestExistingRefused(t *testing.T) {
	dir := t.TempDir()
	dest := filepath.Join(dir, "f")
	require.NoError(t, os.WriteFile(dest, []byte("old"), 0o600))
	_, err := filex.Write(context.Background(), bytes.NewReader([]byte("new")), dest, filex.Options{})
	require.ErrorIs(t, err, filex.ErrExist)
	require.ErrorIs(t, err, fs.ErrExist)
	// A directory is never replaced.
	require.NoError(t, os.Mkdir(filepath.Join(dir, "d"), 0o755))
	_, err = filex.Write(context.Background(), bytes.NewReader([]byte("new")), filepath.Join(dir, "d"), filex.Options{Replace: true})
	require.ErrorIs(t, err, filex.ErrExist)
	got, _ := os.ReadFile(dest)
	assert.Equal(t, "old", string(got))
}

// TestStalePartialRemoved: a temporary file left by a dead process goes
// at the next Write; one of a live process stays.
func TestStalePartialRemoved(t *testing.T) {
	dir := t.TempDir()
	dead := filepath.Join(dir, ".f.faultline-partial-4194311-0000000000000001")
	live := filepath.Join(dir, fmt.Sprintf(".g.faultline-partial-%d-0000000000000002", os.Getppid()))
	other := filepath.Join(dir, ".f.faultline-partial-notapid")
	for _, p := range []string{dead, live, other} {
		require.NoError(t, os.WriteFile(p, []byte("partial"), 0o600))
	}
	st, err := filex.Write(context.Background(), bytes.NewReader([]byte("x")), filepath.Join(dir, "f"), filex.Options{})
	require.NoError(t, err)
	assert.Equal(t, 1, st.StaleRemoved)
	assert.NoFileExists(t, dead)
	assert.FileExists(t, live)
	assert.FileExists(t, other)
}
