package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faultline-go/faultline/faulttest"
)

// TestFetchRefusesProtectedDest runs "fetch --replace" into every spelling
// of a directory the user keeps files in: the current directory and its
// parents, the root, home, and the directories holding the dumps, the
// policy and the CA. Each is refused before a request is made, and every
// file survives. (Before the check ran on the spelling, "--to ." was made
// absolute first and replaced the working directory.)
func TestFetchRefusesProtectedDest(t *testing.T) {
	_, archive := fetchArchive(t)
	s := startFetchServer(t, faulttest.Config{Content: archive})

	top := t.TempDir()
	work := filepath.Join(top, "work")
	home := filepath.Join(top, "home")
	keep := filepath.Join(top, "keep") // holds the dumps, the policy, the CA
	for _, d := range []string{work, home, keep, filepath.Join(work, "sub"), filepath.Join(keep, "dumps")} {
		require.NoError(t, os.MkdirAll(d, 0o755))
	}
	files := []string{
		filepath.Join(top, "top-file"),
		filepath.Join(work, "work-file"),
		filepath.Join(home, "home-file"),
		filepath.Join(keep, "dumps", "fault-1.json"),
	}
	for _, f := range files {
		require.NoError(t, os.WriteFile(f, []byte("precious"), 0o644))
	}
	pol := filepath.Join(keep, "policy.yaml")
	src, err := os.ReadFile(fastPolicy(t))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(pol, src, 0o644))
	ca := filepath.Join(keep, "ca.pem")
	require.NoError(t, os.WriteFile(ca, []byte("not used"), 0o644))
	links := filepath.Join(top, "links")
	require.NoError(t, os.Mkdir(links, 0o755))
	require.NoError(t, os.Symlink(work, filepath.Join(links, "to-work")))
	require.NoError(t, os.Symlink(top, filepath.Join(links, "to-top")))
	require.NoError(t, os.Symlink(home, filepath.Join(links, "to-home")))

	t.Chdir(work)
	t.Setenv("HOME", home)
	tests := []struct {
		name  string
		to    string
		extra []string
		why   string
	}{
		{"dot", ".", nil, "current directory"},
		{"dot slash", "./", nil, "current directory"},
		{"dot dot", "..", nil, "current directory or one of its parents"},
		{"dot dot slash dot dot", "../..", nil, "current directory or one of its parents"},
		{"sub then up", "sub/..", nil, "current directory"},
		{"PWD", work, nil, "is the current directory"},
		{"PWD slash", work + "/", nil, "is the current directory"},
		{"PWD dot", work + "/.", nil, "is the current directory"},
		{"parent absolute", top, nil, "contains the current directory"},
		{"root", "/", nil, "root directory"},
		{"link to cwd", filepath.Join(links, "to-work"), nil, "is the current directory"},
		{"link to parent", filepath.Join(links, "to-top"), nil, "contains the current directory"},
		{"home", home, nil, "is the home directory"},
		{"link to home", filepath.Join(links, "to-home"), nil, "is the home directory"},
		{"dump dir", filepath.Join(keep, "dumps"), []string{"--dump-dir", filepath.Join(keep, "dumps")}, "is the dump directory"},
		{"dir holding the dump dir", keep, []string{"--dump-dir", filepath.Join(keep, "dumps")}, "contains the dump directory"},
		{"dir holding the policy", keep, []string{"--policy", pol}, "is the directory holding the policy file"},
		{"dir holding the CA", keep, []string{"--ca", ca}, "is the directory holding the --ca file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"fetch", "--replace", "--progress", "none", "--to", tc.to}, tc.extra...)
			r := runCLI(t, "", append(args, s.URL)...)
			assert.Equal(t, exitUsage, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			assert.Contains(t, r.stderr, "refusing --to")
			assert.Contains(t, r.stderr, tc.why)
			assert.Zero(t, s.RequestCount(), "refused before any request")
			for _, f := range files {
				assert.FileExists(t, f)
			}
		})
	}

	// A new directory beside them is fine.
	r := runCLI(t, "", "fetch", "--replace", "--progress", "none", "--to", "sub/tree", s.URL)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.DirExists(t, filepath.Join(work, "sub", "tree"))
	for _, f := range files {
		assert.FileExists(t, f)
	}
}
