package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/faultline-go/faultline/internal/archivetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRun(t *testing.T) {
	out := filepath.Join(t.TempDir(), "t.tar")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"-seed", "3", "-files", "12", "-bytes", "5000", "-format", "tar", "-o", out}, &stdout, &stderr)
	require.Equal(t, 0, code, stderr.String())
	got, err := os.ReadFile(out)
	require.NoError(t, err)
	want, err := archivetest.Bytes(archivetest.Tar, archivetest.Tree(3, 12, 5000))
	require.NoError(t, err)
	assert.True(t, bytes.Equal(want, got), "the file is archivetest's archive")

	stderr.Reset()
	assert.Equal(t, 1, run(context.Background(), []string{"-format", "rar", "-o", out}, &stdout, &stderr))
	assert.Contains(t, stderr.String(), "unknown format")
}
