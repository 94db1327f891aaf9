package tarx_test

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faultline-go/faultline/adapters/tarx"
	"github.com/faultline-go/faultline/internal/archivetest"
)

// FuzzExtract feeds arbitrary bytes to Extract: it must not panic, must
// write nothing outside its destination, and a tree it accepts must hold no
// symlink that leads out of it.
func FuzzExtract(f *testing.F) {
	for _, format := range []archivetest.Format{archivetest.Tar, archivetest.Gzip, archivetest.Zstd} {
		data, err := archivetest.Bytes(format, archivetest.Tree(8, 6, 2<<10))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		f.Add(data[:len(data)/2])
	}
	for _, c := range archivetest.Hostile() {
		if c.Limit == "ratio" || c.Limit == "file_size" || c.Limit == "total_size" {
			continue // megabytes of zeros make slow seeds
		}
		data, err := archivetest.Bytes(c.Format, c.Entries)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, a := range archivetest.Attacks() {
		if a.Heavy || a.Tail != nil {
			continue
		}
		data, err := a.Build()
		if err != nil {
			f.Fatal(err)
		}
		if len(data) < 64<<10 {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzOne(t, data, tarx.Limits{Entries: 256, FileSize: 1 << 20, TotalSize: 4 << 20})
	})
}

// fuzzLimits are the small limits FuzzZip, FuzzXz and FuzzBzip2 extract
// with.
var fuzzLimits = tarx.Limits{Entries: 256, FileSize: 1 << 20, TotalSize: 4 << 20, Window: 8 << 20}

// fuzzOne extracts data with limits: nothing may be written outside the
// destination, nothing may be left at it on failure, and a tree it
// accepts must hold no symlink that leads out of it.
func fuzzOne(t *testing.T, data []byte, limits tarx.Limits) {
	top := t.TempDir()
	parent := filepath.Join(top, "parent")
	if err := os.Mkdir(parent, 0o755); err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(parent, "dest")
	_, err := tarx.Extract(context.Background(), bytes.NewReader(data), dest, tarx.Options{Limits: limits})
	// Outside dest, nothing may exist but parent itself.
	_ = filepath.WalkDir(top, func(p string, d fs.DirEntry, werr error) error {
		if p == top || p == parent || p == dest || strings.HasPrefix(p, dest+string(filepath.Separator)) {
			return nil
		}
		t.Errorf("written outside dest: %s (err %v)", p, err)
		return nil
	})
	if err != nil {
		if !isNotExist(t, dest) {
			t.Errorf("failed (%v) but left %s", err, dest)
		}
		return
	}
	checkSymlinksInside(t, dest)
}

// checkSymlinksInside resolves every symlink under dir through an os.Root,
// which refuses any that leads out.
func checkSymlinksInside(t *testing.T, dir string) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.Type() != fs.ModeSymlink {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		if _, err := root.Stat(rel); err != nil && strings.Contains(err.Error(), "escapes") {
			target, _ := os.Readlink(p)
			t.Errorf("symlink %s -> %s leaves the tree: %v", rel, target, err)
		}
		return nil
	})
}
