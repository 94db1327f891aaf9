package realserver_test

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faultline-go/faultline/internal/realserver"
)

// The parallel scenarios: a server that limits each request's rate, as
// CDNs and object stores do (nginx limit_rate), where one connection is
// the ceiling and more connections are the way past it.

// TestParallelPerRequestLimit: auto adds connections because each adds
// rate, and the tree is exact; nothing is fetched twice but what the
// first response had in flight when it stopped.
func TestParallelPerRequestLimit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, server string
		args         []string
	}{
		{"nginx/h1/auto", "nginx", nil},
		{"nginx/h1/4", "nginx", []string{"--connections", "4"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := newLab(t, tc.server)
			fx := load(t, big)
			path := l.serve(fx, "big.tar.gz")
			// 4 MB/s a request: 16 MB takes 4 s on one connection.
			l.nginx(realserver.NginxConfig{LimitRate: "4m"})
			dest := l.dest()
			f := l.fetch(l.srv.URL+path, dest, tc.args...)
			l.exact(f, fx, dest)
			assert.Greater(t, f.sum.Connections, 1, "more than one connection")
			assert.Zero(t, f.sum.Restarts)
			assert.Equal(t, l.requests(), f.sum.Attempts, "every request counted")
			wire := l.wireBytes()
			assert.GreaterOrEqual(t, wire, fx.size)
			// The first response stops where the ranges begin; what nginx
			// had sent past that point is lost. limit_rate lets a request
			// run a second ahead, here 4 MB at most.
			assert.LessOrEqual(t, wire, fx.size+4<<20+inFlight)
		})
	}
}

// TestParallelResetEvery: the reset-every-2-MB middlebox in front of a
// per-request limit: each connection, first response and ranges alike,
// is reset after 2 MB; each range resumes on its own, and the download
// finishes exact with at most 1.10× the archive on the wire.
func TestParallelResetEvery(t *testing.T) {
	t.Parallel()
	l := newLab(t, "nginx")
	fx := load(t, big)
	path := l.serve(fx, "big.tar.gz")
	l.nginx(realserver.NginxConfig{LimitRate: "4m"})
	require.NoError(t, l.ns.ResetAfter(l.ctx, l.srv.Port, 2<<20))
	dest := l.dest()
	f := l.fetch(l.srv.URL+path, dest, "--connections", "4")
	l.exact(f, fx, dest)
	assert.Greater(t, f.sum.Connections, 1)
	assert.Zero(t, f.sum.Restarts, "resets are resumed, range by range")
	assert.Equal(t, l.requests(), f.sum.Attempts, "every request counted")
	wire := l.wireBytes()
	assert.GreaterOrEqual(t, wire, fx.size)
	assert.LessOrEqual(t, float64(wire)/float64(fx.size), 1.10, "at most 1.10× the archive on the wire")
}

// TestParallelCaddyH2: Caddy over HTTP/2, four connections of their own:
// the ranges are validated against Caddy's own ETag and Content-Range,
// and the tree is exact.
func TestParallelCaddyH2(t *testing.T) {
	t.Parallel()
	l := newLab(t, "caddy")
	fx := load(t, big)
	path := l.serve(fx, "big.tar.gz")
	l.caddy()
	dest := l.dest()
	f := l.fetch(l.srv.URL+path, dest, "--connections", "4")
	l.exact(f, fx, dest)
	assert.Equal(t, 4, f.sum.Connections)
	reqs := l.logged(f.sum.Attempts)
	require.Len(t, reqs, f.sum.Attempts, "every request counted")
	ranged := 0
	for _, r := range reqs {
		assert.Equal(t, "HTTP/2.0", r.Proto)
		if r.Range != "" {
			ranged++
			assert.Equal(t, 206, r.Status)
			assert.NotEmpty(t, r.IfRange)
		}
	}
	assert.Equal(t, len(reqs)-1, ranged, "one request for the whole, the rest ranges")
}

// TestMirrorsRealServers: nginx and Caddy serve the same archive, each
// with its own ETag. With --sha256, the ranges come from both, each
// checked against its own server's validator, and the hash proves the
// whole; with a 404 from the URL given (the file is not there), the
// fetch moves to the mirror.
func TestMirrorsRealServers(t *testing.T) {
	t.Parallel()
	l := newLab(t, "nginx", "caddy")
	fx := load(t, big)
	path := l.serve(fx, "big.tar.gz")
	caddy, err := realserver.StartCaddy(l.ctx, l.ns, realserver.CaddyConfig{Root: l.www})
	require.NoError(t, err)
	t.Cleanup(func() { caddy.Close() })
	l.nginx(realserver.NginxConfig{LimitRate: "4m"})

	t.Run("spread", func(t *testing.T) {
		dest := l.dest()
		f := l.fetch(l.srv.URL+path, dest, "--connections", "4", "--sha256", fx.sha256,
			"--mirror", caddy.URL+path, "--ca", caddy.CAFile)
		l.exact(f, fx, dest)
		require.Len(t, f.sum.Mirrors, 2)
		assert.Positive(t, f.sum.Mirrors[0].Bytes, "nginx served part")
		assert.Positive(t, f.sum.Mirrors[1].Bytes, "Caddy served part")
		assert.Zero(t, f.sum.Restarts)
		reqs := l.logged(1)
		for _, r := range reqs[1:] {
			assert.Equal(t, 206, r.Status)
		}
		require.NoError(t, os.RemoveAll(dest))
	})
	t.Run("404 moves on", func(t *testing.T) {
		dest := l.dest()
		f := l.fetch(l.srv.URL+"/not-here.tar.gz", dest, "--connections", "1",
			"--mirror", caddy.URL+path, "--ca", caddy.CAFile)
		l.exact(f, fx, dest)
		require.Len(t, f.sum.Mirrors, 2)
		assert.True(t, f.sum.Mirrors[0].Dropped, "a 404 will not go away: dropped")
		assert.Equal(t, fx.size, f.sum.Mirrors[1].Bytes)
		assert.Contains(t, f.stderr.String(), "rule next-mirror")
	})
}
