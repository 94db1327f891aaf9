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

// TestRunEachKind: a zip, an attack and the list come out as archivetest
// makes them; an unknown attack is an error that says how to list them.
func TestRunEachKind(t *testing.T) {
	zs, _ := archivetest.ZipTree(archivetest.Tree(3, 12, 5000), archivetest.ZipDeflate, true)
	zip, err := archivetest.Zip(zs, archivetest.ZipOptions{})
	require.NoError(t, err)
	var attack archivetest.Attack
	for _, a := range archivetest.Attacks() {
		if !a.Heavy && a.Tail == nil {
			attack = a
			break
		}
	}
	require.NotEmpty(t, attack.Name)
	bomb, err := attack.Build()
	require.NoError(t, err)

	tests := []struct {
		name string
		args []string
		want []byte
	}{
		{"zip", []string{"-seed", "3", "-files", "12", "-bytes", "5000", "-format", "zip"}, zip},
		{"attack", []string{"-attack", attack.Name}, bomb},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), append(tt.args, "-o", out), &stdout, &stderr)
			require.Equal(t, 0, code, stderr.String())
			got, err := os.ReadFile(out)
			require.NoError(t, err)
			assert.True(t, bytes.Equal(tt.want, got), "%d bytes, want %d", len(got), len(tt.want))
		})
	}

	var stdout, stderr bytes.Buffer
	require.Equal(t, 0, run(context.Background(), []string{"-attack", "list"}, &stdout, &stderr))
	assert.Contains(t, stdout.String(), attack.Name)
	stderr.Reset()
	assert.Equal(t, 1, run(context.Background(), []string{"-attack", "no-such-attack", "-o", filepath.Join(t.TempDir(), "out")}, &stdout, &stderr))
	assert.Contains(t, stderr.String(), "-attack list")
}
