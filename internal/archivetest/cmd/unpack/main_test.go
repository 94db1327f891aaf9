package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faultline-go/faultline/internal/archivetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRun(t *testing.T) {
	tree := archivetest.Tree(1, 10, 8<<10)
	data, err := archivetest.Bytes(archivetest.Zstd, tree)
	require.NoError(t, err)
	dir := t.TempDir()
	src := filepath.Join(dir, "a.tar.zst")
	require.NoError(t, os.WriteFile(src, data, 0o644))

	tests := []struct {
		name   string
		args   []string
		stdin  []byte
		code   int
		stdout string
		stderr string
	}{
		{"file", []string{"-v", src, filepath.Join(dir, "out1")}, nil, 0, "zstd: ", ""},
		{"stdin", []string{"-", filepath.Join(dir, "out2")}, data, 0, "", ""},
		{"exists", []string{src, filepath.Join(dir, "out1")}, nil, 1, "", "destination exists"},
		{"usage", []string{src}, nil, 2, "", "usage: unpack"},
		{"missing", []string{filepath.Join(dir, "nope"), filepath.Join(dir, "out3")}, nil, 1, "", "no such file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, bytes.NewReader(tc.stdin), &stdout, &stderr)
			assert.Equal(t, tc.code, code, stderr.String())
			assert.True(t, strings.Contains(stdout.String(), tc.stdout), stdout.String())
			assert.True(t, strings.Contains(stderr.String(), tc.stderr), stderr.String())
		})
	}
	archivetest.Compare(t, tree, filepath.Join(dir, "out1"))
	archivetest.Compare(t, tree, filepath.Join(dir, "out2"))
}
