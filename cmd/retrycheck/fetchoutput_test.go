package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faultline-go/faultline/faulttest"
)

// TestFetchOutput downloads a plain file with --output through resets:
// the file is exact, checked against --sha256, and nothing else is left
// beside it; a failed download leaves nothing at FILE, and an existing
// FILE is refused without --replace and kept when the download fails.
func TestFetchOutput(t *testing.T) {
	content := bytes.Repeat([]byte("a wheel, kept as it is\n"), 100000)
	size := int64(len(content))
	sum := sha256.Sum256(content)
	pol := fastPolicy(t)

	t.Run("through resets", func(t *testing.T) {
		s := startFetchServer(t, faulttest.Config{Content: content, Script: []faulttest.Fault{
			{Kind: faulttest.Reset, At: size / 3}, {Kind: faulttest.Reset, At: size / 3}}})
		dir := t.TempDir()
		out := filepath.Join(dir, "tool.whl")
		r := runCLI(t, "", "fetch", "--policy", pol, "--progress", "none", "--sha256", hex.EncodeToString(sum[:]), "--output", out, s.URL)
		require.Equal(t, exitOK, r.code, r.stderr)
		got, err := os.ReadFile(out)
		require.NoError(t, err)
		assert.True(t, bytes.Equal(content, got))
		assert.Contains(t, r.stdout, "2 resumes")
		assert.Contains(t, r.stdout, "wrote "+out)
		ents, err := os.ReadDir(dir)
		require.NoError(t, err)
		assert.Len(t, ents, 1, "nothing beside the file")
	})
	t.Run("wrong checksum leaves nothing", func(t *testing.T) {
		s := startFetchServer(t, faulttest.Config{Content: content})
		dir := t.TempDir()
		out := filepath.Join(dir, "tool.whl")
		bad := sha256.Sum256([]byte("something else"))
		r := runCLI(t, "", "fetch", "--policy", pol, "--progress", "none", "--sha256", hex.EncodeToString(bad[:]), "--output", out, s.URL)
		assert.Equal(t, exitData, r.code)
		assert.Contains(t, r.stderr, "checksum")
		ents, err := os.ReadDir(dir)
		require.NoError(t, err)
		assert.Empty(t, ents)
	})
	t.Run("existing file", func(t *testing.T) {
		s := startFetchServer(t, faulttest.Config{Content: content, Script: []faulttest.Fault{{Kind: faulttest.Status, Status: 404}}})
		dir := t.TempDir()
		out := filepath.Join(dir, "tool.whl")
		require.NoError(t, os.WriteFile(out, []byte("old"), 0o644))
		r := runCLI(t, "", "fetch", "--policy", pol, "--progress", "none", "--output", out, s.URL)
		assert.NotEqual(t, exitOK, r.code)
		assert.Contains(t, r.stderr, "exists")
		r = runCLI(t, "", "fetch", "--policy", pol, "--progress", "none", "--replace", "--output", out, s.URL)
		assert.NotEqual(t, exitOK, r.code, "404")
		got, err := os.ReadFile(out)
		require.NoError(t, err)
		assert.Equal(t, "old", string(got), "a failed download keeps what was there")
		ents, _ := os.ReadDir(dir)
		assert.Len(t, ents, 1)
	})
}
