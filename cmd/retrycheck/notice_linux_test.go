package main

import (
	"bytes"
	"io"
	"os"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal pair: what is written to tty can be
// read from pty.
func openPTY(t *testing.T) (pty, tty *os.File) {
	t.Helper()
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	pty = os.NewFile(uintptr(fd), "/dev/ptmx")
	t.Cleanup(func() { pty.Close() })
	require.NoError(t, unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0), "unlockpt")
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	require.NoError(t, err, "ptsname")
	tty, err = os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	require.NoError(t, err)
	t.Cleanup(func() { tty.Close() })
	return pty, tty
}

// TestDefaultPolicyNotice checks that "using the embedded default policy"
// goes to a person at a terminal and nowhere else: not into logs, pipes
// or files, and not when a policy was chosen.
func TestDefaultPolicyNotice(t *testing.T) {
	const notice = "using the embedded default policy"
	input := "read tcp 10.0.0.1:5->10.0.0.2:443: read: connection reset by peer\n"

	t.Run("pipe", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		require.Equal(t, exitOK, run(t.Context(), []string{"decide", "-"}, bytes.NewBufferString(input), &stdout, &stderr))
		assert.NotContains(t, stderr.String(), notice)
		assert.Contains(t, stdout.String(), "retry")
	})

	for _, tc := range []struct {
		args []string
		want bool
	}{
		{[]string{"decide", "-"}, true},
		{[]string{"decide", "--policy", "default", "-"}, false},
	} {
		t.Run("terminal "+tc.args[1], func(t *testing.T) {
			pty, tty := openPTY(t)
			var stdout bytes.Buffer
			require.Equal(t, exitOK, run(t.Context(), tc.args, bytes.NewBufferString(input), &stdout, tty))
			tty.Close()
			got, _ := io.ReadAll(pty) // ends with EIO once the tty is closed
			if tc.want {
				assert.Contains(t, string(got), notice)
			} else {
				assert.NotContains(t, string(got), notice)
			}
			assert.Contains(t, stdout.String(), "retry")
		})
	}
}
