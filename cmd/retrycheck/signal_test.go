package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faultline-go/faultline/faulttest"
)

// process is retrycheck running as a real process: the test binary with
// asMainEnv set.
type process struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
	done           chan struct{}
	err            error
}

func startProcess(t *testing.T, args ...string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(os.Args[0], args...), done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), asMainEnv+"=1")
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	require.NoError(t, p.cmd.Start())
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// wait waits up to d for the process to exit and returns its exit code.
func (p *process) wait(t *testing.T, d time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(d):
		p.cmd.Process.Kill()
		<-p.done
		t.Fatalf("still running after %v; stderr:\n%s", d, p.stderr.String())
	}
	return p.cmd.ProcessState.ExitCode()
}

// waitFor polls cond every few milliseconds for up to d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// stagingIn lists the entries of dir that are not keep.
func leftIn(t *testing.T, dir string, keep ...string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	var left []string
	for _, e := range ents {
		name := e.Name()
		found := false
		for _, k := range keep {
			found = found || k == name
		}
		if !found {
			left = append(left, name)
		}
	}
	return left
}

// TestFetchSignal sends SIGTERM and SIGINT to a real retrycheck fetch
// midway through a download whose server then stalls: the process stops
// at once, says why, and leaves no tree and no staging — only the spool,
// for the next run to continue from (and with --no-spool, nothing). (A
// SIGTERM used to kill the process outright and leave the staging
// directory.)
func TestFetchSignal(t *testing.T) {
	_, archive := fetchArchive(t)
	half := int64(len(archive)) / 2
	for _, tc := range []struct {
		sig     syscall.Signal
		noSpool bool
	}{{syscall.SIGTERM, false}, {syscall.SIGINT, false}, {syscall.SIGTERM, true}} {
		sig := tc.sig
		t.Run(fmt.Sprintf("%s/no-spool=%v", sig, tc.noSpool), func(t *testing.T) {
			s := startFetchServer(t, faulttest.Config{Content: archive,
				Script: []faulttest.Fault{{Kind: faulttest.Stall, At: half, Stall: 30 * time.Second}}})
			dir := t.TempDir()
			dest := filepath.Join(dir, "tree")
			args := []string{"fetch", "--policy", fastPolicy(t), "--progress", "none", "--stall-timeout", "0", "--to", dest}
			if tc.noSpool {
				args = append(args, "--no-spool")
			}
			p := startProcess(t, append(args, s.URL)...)
			waitFor(t, 20*time.Second, "half the archive to be served", func() bool { return s.BodyBytes() >= half })
			waitFor(t, 5*time.Second, "the staging directory", func() bool { return len(leftIn(t, dir)) > 0 })
			if !tc.noSpool {
				waitSpooled(t, filepath.Join(dir, ".tree.faultline-spool"), half)
			}
			sent := time.Now()
			require.NoError(t, p.cmd.Process.Signal(sig))
			code := p.wait(t, 10*time.Second)
			took := time.Since(sent)
			assert.Equal(t, exitInterrupted, code, "stderr:\n%s", p.stderr.String())
			assert.Less(t, took, 5*time.Second, "stopped at once, not after the stall")
			assert.Contains(t, p.stderr.String(), "signal received")
			assert.Contains(t, p.stderr.String(), "(kind canceled)", "a signal's cause is still a cancellation")
			assert.Contains(t, p.stderr.String(), "nothing was left at "+dest)
			assert.NoDirExists(t, dest)
			if tc.noSpool {
				assert.Empty(t, leftIn(t, dir), "staging removed")
				return
			}
			assert.Equal(t, []string{".tree.faultline-spool"}, leftIn(t, dir), "staging removed, spool kept")
			assert.Contains(t, p.stderr.String(), "run the same command again to continue")
		})
	}
}
