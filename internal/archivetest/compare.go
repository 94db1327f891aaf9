package archivetest

import (
	"archive/tar"
	"bytes"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"testing"
)

// Compare checks that dir holds exactly the tree entries describe, as an
// extractor that keeps modes and times should leave it: every entry present
// with its type; regular files with their content, permission bits (setuid,
// setgid and sticky dropped) and modification time; directories with their
// permission and sticky bits and time; symlinks with their target; hard links sharing
// their target's file. Later entries of the same name win. Parents the
// entries imply may exist as directories; nothing else may. Directories
// keep their sticky bit (and nothing else beyond the permission bits).
// Device and FIFO
// entries are ignored. Symlink times are not compared.
func Compare(t testing.TB, want []Entry, dir string) {
	t.Helper()
	final := map[string]*Entry{}
	implied := map[string]bool{".": true}
	for i := range want {
		e := &want[i]
		name := path.Clean(e.Name)
		switch e.Type {
		case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
			continue
		}
		final[name] = e
		for d := path.Dir(name); d != "."; d = path.Dir(d) {
			implied[d] = true
		}
	}
	seen := map[string]bool{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		seen[rel] = true
		if final[rel] == nil && !(implied[rel] && d.IsDir()) {
			t.Errorf("%s: not in the archive (%v)", rel, d.Type())
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walking %s: %v", dir, err)
	}
	names := make([]string, 0, len(final))
	for name := range final {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		e := final[name]
		if !seen[name] {
			t.Errorf("%s: missing", name)
			continue
		}
		compareEntry(t, dir, name, e, final)
	}
}

func compareEntry(t testing.TB, dir, name string, e *Entry, final map[string]*Entry) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	fi, err := os.Lstat(p)
	if err != nil {
		t.Errorf("%s: %v", name, err)
		return
	}
	switch e.Type {
	case tar.TypeDir:
		if !fi.IsDir() {
			t.Errorf("%s: is %v, want a directory", name, fi.Mode().Type())
			return
		}
		checkModeTime(t, name, fi, e)
	case tar.TypeSymlink:
		if fi.Mode().Type() != fs.ModeSymlink {
			t.Errorf("%s: is %v, want a symlink", name, fi.Mode().Type())
			return
		}
		if got, err := os.Readlink(p); err != nil || got != e.Linkname {
			t.Errorf("%s: symlink to %q (%v), want %q", name, got, err, e.Linkname)
		}
	case tar.TypeLink:
		target := final[path.Clean(e.Linkname)]
		tfi, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(path.Clean(e.Linkname))))
		if err != nil || !os.SameFile(fi, tfi) {
			t.Errorf("%s: not a hard link to %s (%v)", name, e.Linkname, err)
			return
		}
		if target != nil && target.Type == tar.TypeReg {
			compareFile(t, p, name, fi, target)
		}
	case tar.TypeReg:
		compareFile(t, p, name, fi, e)
	}
}

func compareFile(t testing.TB, p, name string, fi fs.FileInfo, e *Entry) {
	t.Helper()
	if !fi.Mode().IsRegular() {
		t.Errorf("%s: is %v, want a regular file", name, fi.Mode().Type())
		return
	}
	got, err := os.ReadFile(p)
	if err != nil {
		t.Errorf("%s: %v", name, err)
		return
	}
	want := e.Data
	if want == nil {
		want = make([]byte, e.Size)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s: content differs at byte %d (got %d bytes, want %d)", name, firstDiff(got, want), len(got), len(want))
	}
	checkModeTime(t, name, fi, e)
}

func checkModeTime(t testing.TB, name string, fi fs.FileInfo, e *Entry) {
	t.Helper()
	if got, want := fi.Mode().Perm(), fs.FileMode(e.Mode)&fs.ModePerm; got != want {
		t.Errorf("%s: mode %v, want %v", name, got, want)
	}
	if fi.Mode()&(fs.ModeSetuid|fs.ModeSetgid) != 0 {
		t.Errorf("%s: mode %v keeps a setuid or setgid bit", name, fi.Mode())
	}
	sticky, wantSticky := fi.Mode()&fs.ModeSticky != 0, e.Type == tar.TypeDir && e.Mode&0o1000 != 0
	switch {
	case sticky && !wantSticky:
		t.Errorf("%s: mode %v has a sticky bit the archive did not give it (or one only a directory keeps)", name, fi.Mode())
	case !sticky && wantSticky:
		t.Errorf("%s: mode %v lost the directory's sticky bit", name, fi.Mode())
	}
	if got, want := fi.ModTime().Unix(), e.modTime().Unix(); got != want {
		t.Errorf("%s: modified %v, want %v", name, fi.ModTime().UTC(), e.modTime().UTC())
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// CompareDirs checks that got holds the same tree as want: the same names
// and types, regular files with the same content, permission bits and
// modification time, directories with the same permission bits and time,
// symlinks with the same target. Hard links are compared as files.
func CompareDirs(t testing.TB, want, got string) {
	t.Helper()
	w, err := snapshot(want)
	if err != nil {
		t.Fatalf("reading %s: %v", want, err)
	}
	g, err := snapshot(got)
	if err != nil {
		t.Fatalf("reading %s: %v", got, err)
	}
	for name, wn := range w {
		gn, ok := g[name]
		switch {
		case !ok:
			t.Errorf("%s: missing", name)
		case wn.mode != gn.mode:
			t.Errorf("%s: mode %v, want %v", name, gn.mode, wn.mode)
		case wn.link != gn.link:
			t.Errorf("%s: symlink to %q, want %q", name, gn.link, wn.link)
		case !bytes.Equal(wn.data, gn.data):
			t.Errorf("%s: content differs at byte %d", name, firstDiff(gn.data, wn.data))
		case wn.mtime != gn.mtime && name != ".":
			t.Errorf("%s: modified at %d, want %d", name, gn.mtime, wn.mtime)
		}
	}
	for name := range g {
		if _, ok := w[name]; !ok {
			t.Errorf("%s: unexpected", name)
		}
	}
}

type node struct {
	mode  fs.FileMode
	mtime int64 // Unix seconds; 0 for symlinks
	link  string
	data  []byte
}

func snapshot(root string) (map[string]node, error) {
	out := map[string]node{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		n := node{mode: fi.Mode()}
		switch {
		case fi.Mode().IsRegular():
			n.mtime = fi.ModTime().Unix()
			if n.data, err = os.ReadFile(p); err != nil {
				return err
			}
		case fi.IsDir():
			n.mtime = fi.ModTime().Unix()
		case fi.Mode().Type() == fs.ModeSymlink:
			if n.link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		out[filepath.ToSlash(rel)] = n
		return nil
	})
	return out, err
}
