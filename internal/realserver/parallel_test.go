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
		// fixed: the first request asks for the first 2 MiB, and its
		// response then for the rest of its two chunks (a continuation,
		// not an attempt); nothing is sent past where it stops.
		fixed bool
	}{
		{"nginx/h1/auto", "nginx", nil, false},
		{"nginx/h1/4", "nginx", []string{"--connections", "4"}, true},
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
			wire := l.wireBytes()
			assert.GreaterOrEqual(t, wire, fx.size)
			t.Logf("wire %d, %.4f× the archive", wire, float64(wire)/float64(fx.size))
			if tc.fixed {
				assert.Equal(t, l.requests(), f.sum.Attempts+1, "every request counted, and the first response's continuation")
				assert.LessOrEqual(t, float64(wire)/float64(fx.size), 1.01, "the archive once, headers and no more")
				return
			}
			assert.Equal(t, l.requests(), f.sum.Attempts, "every request counted")
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
	// The first response continues to the end of its chunks in a request
	// that is not an attempt, unless a reset cut it first (the resume is
	// one).
	assert.Contains(t, []int{f.sum.Attempts, f.sum.Attempts + 1}, l.requests(), "every request counted")
	wire := l.wireBytes()
	assert.GreaterOrEqual(t, wire, fx.size)
	assert.LessOrEqual(t, float64(wire)/float64(fx.size), 1.10, "at most 1.10× the archive on the wire")
}

// TestParallelCaddyH2: Caddy over HTTP/2, four connections of their own:
// the ranges are validated against Caddy's own ETag and Content-Range,
// and the tree is exact. Every request asks for a range, the first for
// the first bytes (it has no validator to send yet).
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
	// Every request counted as an attempt, but the one in which the
	// first response continues to the end of its chunks.
	reqs := l.logged(f.sum.Attempts + 1)
	require.Len(t, reqs, f.sum.Attempts+1, "every request counted")
	for i, r := range reqs {
		assert.Equal(t, "HTTP/2.0", r.Proto)
		assert.Equal(t, 206, r.Status, "request %d: %q", i+1, r.Range)
		if i == 0 {
			assert.Equal(t, "bytes=0-2097151", r.Range, "the first request asks for the first bytes")
			assert.Empty(t, r.IfRange)
			continue
		}
		assert.Regexp(t, `^bytes=\d+-\d+$`, r.Range, "request %d", i+1)
		assert.NotEmpty(t, r.IfRange, "request %d", i+1)
	}
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
