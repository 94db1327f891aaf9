package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// A destination fetch refuses, whatever the flags: with --replace, the
// tree in place is swapped out and deleted, so a destination that holds
// the user's working directory, home, or the files fetch itself reads and
// writes would be destroyed.
type refusedDest struct {
	to  string // as given
	why string
}

func (e *refusedDest) Error() string {
	return fmt.Sprintf("refusing --to %q: %s; unpack into a new directory instead", e.to, e.why)
}

// protectedPath is a path fetch must never replace, nor any ancestor of.
type protectedPath struct {
	path string // absolute, or "" when unknown
	what string // "the current directory", "the home directory", …
}

// checkDest refuses a destination that is, or contains, a protected path:
// the root directory, the current directory, the home directory, and the
// directories holding the dump directory, the policy file and the CA file.
// It judges both the spelling given (".", "./", "..", "a/..") and the
// cleaned absolute path, with symbolic links resolved on both sides, so
// that "--to $PWD" and a link to the current directory are refused as "."
// is. dest is to made absolute.
func checkDest(to, dest string, protected []protectedPath) error {
	// The spelling first: whatever the file system says, "." and ".."
	// (and paths that clean to them) name the working directory or above.
	if c := filepath.Clean(to); c == "." || c == ".." || strings.HasPrefix(c, ".."+string(filepath.Separator)) && onlyDotDot(c) {
		return &refusedDest{to, "it names the current directory or one of its parents"}
	}
	if strings.TrimSpace(to) == "" {
		return &refusedDest{to, "it is empty"}
	}
	candidates := []string{filepath.Clean(dest)}
	if real, ok := resolveExisting(dest); ok && real != candidates[0] {
		candidates = append(candidates, real)
	}
	for _, d := range candidates {
		if d == filepath.VolumeName(d)+string(filepath.Separator) {
			return &refusedDest{to, "it is the root directory"}
		}
	}
	for _, p := range protected {
		if p.path == "" {
			continue
		}
		targets := []string{filepath.Clean(p.path)}
		if real, ok := resolveExisting(p.path); ok && real != targets[0] {
			targets = append(targets, real)
		}
		for _, d := range candidates {
			for _, t := range targets {
				switch {
				case d == t:
					return &refusedDest{to, "it is " + p.what}
				case within(t, d):
					return &refusedDest{to, "it contains " + p.what}
				}
			}
		}
	}
	return nil
}

// onlyDotDot reports whether the clean relative path c is made of ".."
// elements only ("../..").
func onlyDotDot(c string) bool {
	for _, e := range strings.Split(c, string(filepath.Separator)) {
		if e != ".." {
			return false
		}
	}
	return true
}

// within reports whether path lies strictly inside dir; both are clean and
// absolute.
func within(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != "." && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// resolveExisting returns p with symbolic links resolved in its longest
// existing prefix, the rest appended as given: a destination that does not
// exist yet may still sit under a link.
func resolveExisting(p string) (string, bool) {
	p = filepath.Clean(p)
	var rest []string
	for cur := p; ; {
		real, err := filepath.EvalSymlinks(cur)
		if err == nil {
			return filepath.Join(append([]string{real}, rest...)...), true
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", false
		}
		parent := filepath.Dir(cur)
		if parent == cur {
			return "", false
		}
		rest = append([]string{filepath.Base(cur)}, rest...)
		cur = parent
	}
}

// protectedPaths lists what fetch must not unpack over, for checkDest.
func (cl *cli) protectedPaths(ff *fetchFlags) []protectedPath {
	abs := func(p string) string {
		if p == "" {
			return ""
		}
		a, err := filepath.Abs(p)
		if err != nil {
			return ""
		}
		return a
	}
	cwd, _ := os.Getwd()
	home := cl.getenv("HOME")
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	policyPath := cl.policyPath
	if policyPath == "" {
		policyPath = cl.getenv(policyEnv)
	}
	ps := []protectedPath{
		{cwd, "the current directory"},
		{abs(home), "the home directory"},
		{abs(ff.dumpDir), "the dump directory (--dump-dir)"},
	}
	if policyPath != "" {
		ps = append(ps, protectedPath{filepath.Dir(abs(policyPath)), "the directory holding the policy file"})
	}
	if ff.ca != "" {
		ps = append(ps, protectedPath{filepath.Dir(abs(ff.ca)), "the directory holding the --ca file"})
	}
	return ps
}
