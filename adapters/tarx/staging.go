package tarx

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"time"
)

// A staging directory is named ".<dest>.faultline-staging-<pid>-<token>" and
// holds a marker file repeating pid and token, and "tree", the tree being
// unpacked. The marker lives beside the tree, not in it, so the archive can
// neither overwrite it nor carry it into the destination; and a directory is
// only ever removed by cleanup if both name and marker say it is ours.
const (
	stagingInfix = ".faultline-staging-"
	markerName   = "faultline-staging"
	markerMagic  = "faultline staging v1\n"
	treeName     = "tree"
	asideName    = "old" // where a replaced destination waits to be removed
	// maxBaseInName keeps the staging name under NAME_MAX (255) whatever
	// the destination's name.
	maxBaseInName = 128
)

var stagingPattern = regexp.MustCompile(`^\..*\.faultline-staging-([0-9]+)-([0-9a-f]{16})$`)

type staging struct {
	dir  string // the staging directory
	tree string // dir/tree
}

func newStaging(parent, base string) (*staging, error) {
	var tok [8]byte
	if _, err := rand.Read(tok[:]); err != nil {
		return nil, err
	}
	if len(base) > maxBaseInName {
		base = base[:maxBaseInName]
	}
	pid := os.Getpid()
	token := hex.EncodeToString(tok[:])
	dir := filepath.Join(parent, "."+base+stagingInfix+strconv.Itoa(pid)+"-"+token)
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, err
	}
	st := &staging{dir: dir, tree: filepath.Join(dir, treeName)}
	if err := os.WriteFile(filepath.Join(dir, markerName), marker(pid, token), 0o600); err != nil {
		st.remove()
		return nil, err
	}
	if err := os.Mkdir(st.tree, 0o755); err != nil {
		st.remove()
		return nil, err
	}
	return st, nil
}

func marker(pid int, token string) []byte {
	return fmt.Appendf(nil, "%spid %d\ntoken %s\n", markerMagic, pid, token)
}

func (st *staging) remove() error { return forceRemoveAll(st.dir) }

// commit moves the staged tree to dest. Without replace it never overwrites:
// on Linux renameat2(RENAME_NOREPLACE) makes that race-free. With replace an
// existing dest is swapped out atomically where the system allows it and
// removed afterwards with the staging directory.
func (st *staging) commit(dest string, replace bool) error {
	if !replace {
		return renameNoReplace(st.tree, dest)
	}
	err := renameNoReplace(st.tree, dest)
	if !errors.Is(err, fs.ErrExist) {
		return err
	}
	// The old tree moves into the staging directory, which rewrites its
	// "..": its owner needs write permission on it, which an archive's
	// read-only root took away. It is about to go; lend it the bit, and
	// give it back if it stays.
	restore := lendWrite(dest)
	err = renameExchange(st.tree, dest)
	if errors.Is(err, errUnsupported) {
		err = st.replaceAside(dest)
	}
	if err != nil {
		restore()
	}
	return err
}

// lendWrite adds owner write permission to the directory dir if it lacks
// it, and returns what puts the old mode back.
func lendWrite(dir string) (restore func()) {
	fi, err := os.Lstat(dir)
	if err != nil || !fi.IsDir() || fi.Mode().Perm()&0o200 != 0 {
		return func() {}
	}
	mode := fi.Mode() & (fs.ModePerm | fs.ModeSticky | fs.ModeSetgid)
	if os.Chmod(dir, mode|0o200) != nil {
		return func() {}
	}
	return func() { _ = os.Chmod(dir, mode) }
}

// replaceAside replaces dest without an atomic swap: it moves the old tree
// aside inside the staging directory, so that if we die now the next
// cleanup finds it, and puts it back if the new tree cannot take its place.
func (st *staging) replaceAside(dest string) error {
	aside := filepath.Join(st.dir, asideName)
	if err := os.Rename(dest, aside); err != nil {
		return err
	}
	if err := os.Rename(st.tree, dest); err != nil {
		if rerr := os.Rename(aside, dest); rerr != nil {
			return fmt.Errorf("%w (and restoring %s failed: %v)", err, dest, rerr)
		}
		return err
	}
	return nil
}

// CleanStale removes staging directories that Extract left in parent when
// it could not finish (the process was killed, the machine lost power). A
// directory is removed only if its name has the staging pattern, it is a
// real directory holding a marker file that repeats the pid and token of
// its name, and either that process is no longer running on this machine or
// the marker is older than olderThan (process ids are reused). A staging
// directory of a live Extract is therefore left alone. CleanStale returns
// the directories it removed.
func CleanStale(parent string, olderThan time.Duration) ([]string, error) {
	ents, err := os.ReadDir(parent)
	if err != nil {
		return nil, err
	}
	var removed []string
	var errs []error
	for _, ent := range ents {
		m := stagingPattern.FindStringSubmatch(ent.Name())
		if m == nil || !ent.IsDir() { // IsDir is false for a symlink
			continue
		}
		pid, err := strconv.Atoi(m[1])
		if err != nil {
			continue
		}
		dir := filepath.Join(parent, ent.Name())
		if !isStale(dir, pid, m[2], olderThan) {
			continue
		}
		if err := forceRemoveAll(dir); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, dir)
	}
	return removed, errors.Join(errs...)
}

func isStale(dir string, pid int, token string, olderThan time.Duration) bool {
	mpath := filepath.Join(dir, markerName)
	fi, err := os.Lstat(mpath)
	if err != nil || !fi.Mode().IsRegular() || fi.Size() > 256 {
		return false
	}
	data, err := os.ReadFile(mpath)
	if err != nil || !bytes.Equal(data, marker(pid, token)) {
		return false
	}
	if time.Since(fi.ModTime()) > olderThan {
		return true
	}
	return pid != os.Getpid() && !processAlive(pid)
}
