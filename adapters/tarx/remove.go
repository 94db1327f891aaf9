package tarx

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
)

// forceRemoveAll removes path and everything under it, whatever the
// archive made of it: directories without write or search permission, and
// trees of any depth. os.RemoveAll holds a descriptor for every level it
// descends, so a tree deeper than the open-file limit defeats it (and a
// read-only directory stops it); when it fails, flatten takes over.
func forceRemoveAll(path string) error {
	if err := os.RemoveAll(path); err == nil {
		return nil
	}
	return flattenRemove(path)
}

// flattenRemove removes the directory top by emptying one directory at a
// time: the files of a directory are unlinked and its subdirectories are
// moved up into top under new names, to be emptied in turn. At most one
// directory is open at any moment and no path is longer than top plus two
// names, however deep the tree was. Directories are made writable and
// searchable (0700) before they are read, which their owner may always do.
func flattenRemove(top string) error {
	if dir, err := removeUnlessDir(top); !dir || err != nil {
		return err
	}
	seq := 0
	for {
		names, err := readNames(top)
		if err != nil {
			return err
		}
		if len(names) == 0 {
			break
		}
		for _, name := range names {
			if err := emptyInto(filepath.Join(top, name), top, &seq); err != nil {
				return err
			}
		}
	}
	return os.Remove(top)
}

// emptyInto removes p, a direct child of top: a file is unlinked; a
// directory has its files unlinked and its subdirectories moved into top,
// and is then removed.
func emptyInto(p, top string, seq *int) error {
	if dir, err := removeUnlessDir(p); !dir || err != nil {
		return err
	}
	for {
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		ents, err := f.ReadDir(256)
		f.Close()
		if err != nil && err != io.EOF {
			return err
		}
		if len(ents) == 0 {
			return os.Remove(p)
		}
		for _, e := range ents {
			child := filepath.Join(p, e.Name())
			if !e.IsDir() {
				if err := os.Remove(child); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return err
				}
				continue
			}
			// Moving a directory to another parent rewrites its "..",
			// which takes write permission on it.
			if err := os.Chmod(child, 0o700); err != nil {
				return err
			}
			if err := os.Rename(child, freeName(top, seq)); err != nil {
				return err
			}
		}
	}
}

// removeUnlessDir removes p unless it is a directory, which it makes
// readable, writable and searchable (0700) so that it can be emptied, and
// reports that it is one. A p that is already gone is not an error.
func removeUnlessDir(p string) (isDir bool, err error) {
	fi, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !fi.IsDir() {
		return false, os.Remove(p)
	}
	return true, os.Chmod(p, 0o700)
}

// freeName returns a name in top that does not exist yet.
func freeName(top string, seq *int) string {
	for {
		*seq++
		p := filepath.Join(top, ".rm-"+strconv.Itoa(*seq))
		if _, err := os.Lstat(p); errors.Is(err, fs.ErrNotExist) {
			return p
		}
	}
}

// readNames returns up to 256 names in dir.
func readNames(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(256)
	if err == io.EOF {
		err = nil
	}
	return names, err
}
