package realclients

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNXDomain(t *testing.T) {
	// A query for a.invalid, type A, class IN, with an EDNS OPT record
	// after the question, as glibc sends it.
	q := []byte{0x12, 0x34, 0x01, 0x20, 0, 1, 0, 0, 0, 0, 0, 1,
		1, 'a', 7, 'i', 'n', 'v', 'a', 'l', 'i', 'd', 0, 0, 1, 0, 1,
		0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 0}
	resp := nxdomain(q)
	require.NotNil(t, resp)
	assert.Equal(t, q[:2], resp[:2], "the id")
	assert.Equal(t, byte(0x81), resp[2], "a response, recursion desired as asked")
	assert.Equal(t, byte(0x83), resp[3], "recursion available, NXDOMAIN")
	assert.Equal(t, uint16(1), binary.BigEndian.Uint16(resp[4:]), "one question")
	assert.Equal(t, make([]byte, 6), resp[6:12], "no records, the OPT record dropped")
	assert.Equal(t, q[12:27], resp[12:], "the question")

	for _, bad := range [][]byte{nil, q[:11], q[:20], append(q[:12:12], 0xc0, 12)} {
		assert.Nil(t, nxdomain(bad), "% x", bad)
	}
	noQuestion := append([]byte(nil), q...)
	noQuestion[5] = 0
	assert.Nil(t, nxdomain(noQuestion))
}

// The resolver faults are what glibc's resolver reports inside the
// namespace, and the machine's own /etc/resolv.conf is left as it was.
func TestIsolatedResolver(t *testing.T) {
	if _, err := exec.LookPath("getent"); err != nil {
		t.Skip("SKIP LOUDLY: getent(1) is not installed")
	}
	before, err := os.ReadFile("/etc/resolv.conf")
	require.NoError(t, err)
	for _, tc := range []struct {
		r        Resolver
		answered bool
	}{
		{NXDomain, true},
		{ResolverDown, false},
	} {
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		iso, err := isolate(ctx, tc.r, t.TempDir())
		if errors.Is(err, ErrNoNamespace) {
			cancel()
			t.Skipf("SKIP LOUDLY: %v", err)
		}
		require.NoError(t, err)
		out, err := iso.command(ctx, []string{"cat", "/etc/resolv.conf"}).Output()
		require.NoError(t, err)
		assert.Contains(t, string(out), "nameserver 127.0.0.1")
		err = iso.command(ctx, []string{"getent", "ahosts", "faultline-recording.invalid"}).Run()
		var ee *exec.ExitError
		if assert.ErrorAs(t, err, &ee) {
			assert.Equal(t, 2, ee.ExitCode(), "getent's exit status for a name not found")
		}
		assert.Equal(t, tc.answered, iso.answered.Load() > 0, "queries answered")
		iso.close()
		cancel()
	}
	after, err := os.ReadFile("/etc/resolv.conf")
	require.NoError(t, err)
	assert.Equal(t, string(before), string(after))
}
