package tarx_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faultline-go/faultline/adapters/tarx"
	"github.com/faultline-go/faultline/chain"
	"github.com/faultline-go/faultline/internal/archivetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// layout is a test's playground: a parent directory holding dest, with a
// victim file beside it that attacks aim at.
type layout struct {
	top    string // the test's temp dir; nothing may change outside parent
	parent string
	dest   string
}

func newLayout(t *testing.T) layout {
	t.Helper()
	top := t.TempDir()
	parent := filepath.Join(top, "parent")
	require.NoError(t, os.Mkdir(parent, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(parent, "victim.txt"), []byte("original\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(top, "victim.txt"), []byte("original\n"), 0o644))
	return layout{top: top, parent: parent, dest: filepath.Join(parent, "dest")}
}

// state lists every path under dir with its mode and, for files, mtime and
// content: a fingerprint to compare before and after. Directory times are
// left out: creating and removing the staging directory changes the
// parent's.
func state(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		desc := fi.Mode().String()
		if fi.Mode().IsRegular() {
			desc += " " + fi.ModTime().String()
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			desc += " " + string(data)
		}
		if fi.Mode().Type() == fs.ModeSymlink {
			target, _ := os.Readlink(p)
			desc += " -> " + target
		}
		out[p] = desc
		return nil
	})
	require.NoError(t, err)
	return out
}

// forNewAndExisting runs test as the subtest name over a new destination,
// and as name/replacing over an existing one holding keep.txt, which
// replace (for Options.Replace) says.
func forNewAndExisting(t *testing.T, name string, test func(t *testing.T, l layout, replace bool)) {
	t.Helper()
	for _, replace := range []bool{false, true} {
		sub := name
		if replace {
			sub += "/replacing"
		}
		t.Run(sub, func(t *testing.T) {
			l := newLayout(t)
			if replace {
				require.NoError(t, os.Mkdir(l.dest, 0o755))
				require.NoError(t, os.WriteFile(filepath.Join(l.dest, "keep.txt"), []byte("keep"), 0o644))
			}
			test(t, l, replace)
		})
	}
}

// noVictim fails if victim, an absolute path an attack aims at, exists.
func noVictim(t *testing.T, victim string) {
	t.Helper()
	if victim != "" && filepath.IsAbs(victim) {
		assert.True(t, isNotExist(t, victim), "%s was created", victim)
	}
}

// extractBytes unpacks data into l.dest.
func extractBytes(t *testing.T, l layout, data []byte, opts tarx.Options) (tarx.Stats, error) {
	t.Helper()
	return tarx.Extract(context.Background(), bytes.NewReader(data), l.dest, opts)
}

func archive(t testing.TB, f archivetest.Format, entries []archivetest.Entry) []byte {
	t.Helper()
	data, err := archivetest.Bytes(f, entries)
	require.NoError(t, err)
	return data
}

// tarxError returns err as a *tarx.Error, failing the test if it is not.
func tarxError(t *testing.T, err error) *tarx.Error {
	t.Helper()
	var e *tarx.Error
	require.ErrorAs(t, err, &e)
	return e
}

// attrs returns what err's *tarx.Error tells the chain walker.
func attrs(t *testing.T, err error) chain.Attrs {
	t.Helper()
	var a chain.Attrs
	tarxError(t, err).DescribeFault(&a)
	return a
}

// noStaging fails if a staging directory is left in dir.
func noStaging(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range ents {
		if strings.Contains(e.Name(), ".faultline-staging-") {
			t.Errorf("staging directory left behind: %s", e.Name())
		}
	}
}

func isNotExist(t *testing.T, p string) bool {
	t.Helper()
	_, err := os.Lstat(p)
	return errors.Is(err, fs.ErrNotExist)
}

// chmodTree makes every directory under dir writable so it can be removed
// even when not running as root.
func chmodTree(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			return os.Chmod(p, 0o755)
		}
		return err
	})
}

func osRemoveAll(dir string) error { return os.RemoveAll(dir) }
