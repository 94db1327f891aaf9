package livefault

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// The local-system cases. Tests run as root here, so permission bits do
// not bite; these use failures root cannot override.
func fsCases() []Case {
	return []Case{
		{
			Name: "fs-enospc",
			Doc:  "writing to /dev/full: a real ENOSPC in *fs.PathError",
			Provoke: func(ctx context.Context, t testing.TB) Failure {
				f, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
				if err != nil {
					t.Skipf("livefault: no /dev/full: %v", err)
				}
				defer f.Close()
				_, err = f.Write(make([]byte, 4096))
				return Failure{Err: err, Phase: PhaseUnpack, TotalExpected: -1}
			},
		},
		{
			Name: "fs-eacces-exec",
			Doc:  "executing a file without execute permission: EACCES even for root",
			Provoke: func(ctx context.Context, t testing.TB) Failure {
				path := filepath.Join(t.TempDir(), "python3.10")
				if err := os.WriteFile(path, []byte("#!/bin/sh\n"), 0o644); err != nil {
					t.Fatalf("livefault: %v", err)
				}
				err := exec.CommandContext(ctx, path).Start()
				return Failure{Err: err, Phase: PhaseCommit, TotalExpected: -1}
			},
		},
		{
			Name: "fs-eperm-link",
			Doc:  "hard-linking a directory: EPERM even for root",
			Provoke: func(ctx context.Context, t testing.TB) Failure {
				dir := t.TempDir()
				err := os.Link(dir, filepath.Join(dir, "link"))
				return Failure{Err: err, Phase: PhaseCommit, TotalExpected: -1}
			},
		},
		{
			Name: "fs-enoent",
			Doc:  "opening a file that does not exist",
			Provoke: func(ctx context.Context, t testing.TB) Failure {
				_, err := os.Open(filepath.Join(t.TempDir(), "missing", "python.tar.gz"))
				return Failure{Err: err, Phase: PhaseCommit, TotalExpected: -1}
			},
		},
	}
}
