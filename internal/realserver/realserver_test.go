package realserver_test

import (
	"bufio"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faultline-go/faultline/internal/realserver"
)

// These tests check the harness itself with a client that reads raw
// HTTP/1.1 from a socket: that each fault breaks what it says, when it
// says, and that the counters count what was sent. The scenarios that
// test retrycheck build on them.

// randomFile writes n random bytes to www/name.
func randomFile(t *testing.T, www, name string, n int) []byte {
	t.Helper()
	data := make([]byte, n)
	rand.Read(data)
	require.NoError(t, os.WriteFile(filepath.Join(www, name), data, 0o644))
	return data
}

// get sends a plain GET for path on a new connection from inside the
// namespace and reads the response until it ends or fails; a read that
// waits longer than idle fails with a timeout. It returns the response's
// head, the body bytes read, and the error that ended the read (nil at
// the end of a complete body).
func get(t *testing.T, l *lab, path string, header string, idle time.Duration) (head string, body []byte, err error) {
	t.Helper()
	c, err := l.ns.Dial(l.ctx, "tcp", "127.0.0.1:"+strconv.Itoa(l.srv.Port))
	require.NoError(t, err)
	defer c.Close()
	_, err = fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s\r\n", path, header)
	require.NoError(t, err)
	r := &deadlineReader{c: c, idle: idle}
	br := bufio.NewReader(r)
	var h strings.Builder
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return h.String(), nil, err
		}
		h.WriteString(line)
		if line == "\r\n" {
			break
		}
	}
	body, err = io.ReadAll(br)
	return h.String(), body, err
}

// deadlineReader fails a read that waits longer than idle.
type deadlineReader struct {
	c    net.Conn
	idle time.Duration
}

func (r *deadlineReader) Read(p []byte) (int, error) {
	r.c.SetReadDeadline(time.Now().Add(r.idle))
	return r.c.Read(p)
}

func TestNginxFaults(t *testing.T) {
	t.Parallel()
	const size = 4 << 20
	const cut = 1 << 20

	t.Run("reset every connection", func(t *testing.T) {
		t.Parallel()
		l := newLab(t, "nginx")
		data := randomFile(t, l.www, "f", size)
		l.nginx(realserver.NginxConfig{})
		require.NoError(t, l.ns.ResetAfter(l.ctx, l.srv.Port, cut))
		for range 2 {
			head, body, err := get(t, l, "/f", "", 10*time.Second)
			assert.Contains(t, head, "200 OK")
			require.ErrorIs(t, err, syscall.ECONNRESET)
			// The server's packets, headers included, reach the threshold
			// (a slow reader gets smaller packets, so more of the count is
			// headers); what was in flight when the acknowledgement was
			// refused arrives too.
			assert.Greater(t, len(body), cut*3/4)
			assert.Less(t, len(body), cut+1<<20)
			assert.Equal(t, data[:len(body)], body, "the bytes before the reset are the file's")
		}
		assert.Equal(t, 2, l.requests())
	})

	t.Run("reset once", func(t *testing.T) {
		t.Parallel()
		l := newLab(t, "nginx")
		data := randomFile(t, l.www, "f", size)
		l.nginx(realserver.NginxConfig{})
		require.NoError(t, l.ns.ResetOnceAfter(l.ctx, l.srv.Port, cut))
		_, body, err := get(t, l, "/f", "", 10*time.Second)
		require.ErrorIs(t, err, syscall.ECONNRESET)
		assert.Greater(t, len(body), cut*3/4)
		_, body, err = get(t, l, "/f", "", 10*time.Second)
		require.NoError(t, err, "only the first connection is reset")
		assert.Equal(t, data, body)
	})

	t.Run("black hole once", func(t *testing.T) {
		t.Parallel()
		l := newLab(t, "nginx")
		data := randomFile(t, l.www, "f", size)
		l.nginx(realserver.NginxConfig{})
		require.NoError(t, l.ns.BlackHoleOnceAfter(l.ctx, l.srv.Port, cut))
		_, body, err := get(t, l, "/f", "", time.Second)
		require.ErrorIs(t, err, os.ErrDeadlineExceeded, "no RST, no FIN: only the reader's own deadline ends it")
		assert.Greater(t, len(body), cut*3/4)
		assert.Less(t, len(body), size)
		_, body, err = get(t, l, "/f", "", 10*time.Second)
		require.NoError(t, err, "only the first connection is black-holed")
		assert.Equal(t, data, body)
	})

	t.Run("counters", func(t *testing.T) {
		t.Parallel()
		l := newLab(t, "nginx")
		randomFile(t, l.www, "f", size)
		l.nginx(realserver.NginxConfig{})
		for range 3 {
			_, body, err := get(t, l, "/f", "", 10*time.Second)
			require.NoError(t, err)
			require.Len(t, body, size)
		}
		assert.Equal(t, 3, l.requests())
		wire := l.wireBytes()
		assert.GreaterOrEqual(t, wire, int64(3*size))
		// Beyond the bodies: three response heads, the IP and TCP headers
		// of each packet, and the odd retransmission when a slow reader's
		// socket buffer overflows.
		assert.Less(t, wire, int64(3*size)*105/100)
		reqs, err := l.srv.WaitRequests(l.ctx, 3, 0)
		require.NoError(t, err)
		require.Len(t, reqs, 3)
		for i, r := range reqs {
			assert.WithinDuration(t, time.Now(), r.Start, time.Minute, "request %d: the log gives when it started", i)
			if i > 0 {
				assert.False(t, r.Start.Before(reqs[i-1].Start), "requests come in the order they started")
			}
		}
		reqs[0].Start = time.Time{}
		assert.Equal(t, realserver.Request{Method: "GET", URI: "/f", Proto: "HTTP/1.1", Status: 200, Size: size}, reqs[0])
	})

	t.Run("ranges and validators", func(t *testing.T) {
		t.Parallel()
		l := newLab(t, "nginx")
		data := randomFile(t, l.www, "f", size)
		l.nginx(realserver.NginxConfig{})
		head, body, err := get(t, l, "/f", "Range: bytes=100-199\r\n", 10*time.Second)
		require.NoError(t, err)
		assert.Contains(t, head, "206 Partial Content")
		assert.Contains(t, head, fmt.Sprintf("Content-Range: bytes 100-199/%d", size))
		assert.Equal(t, data[100:200], body)
		assert.Contains(t, head, "ETag: \"", "a strong validator")
		head, _, err = get(t, l, "/f", "", 10*time.Second)
		require.NoError(t, err)
		assert.Contains(t, head, "Accept-Ranges: bytes")
	})

	t.Run("ranges off", func(t *testing.T) {
		t.Parallel()
		l := newLab(t, "nginx")
		data := randomFile(t, l.www, "f", size)
		l.nginx(realserver.NginxConfig{NoRanges: true})
		head, body, err := get(t, l, "/f", "Range: bytes=100-199\r\n", 10*time.Second)
		require.NoError(t, err)
		assert.Contains(t, head, "200 OK", "max_ranges 0 ignores Range")
		assert.NotContains(t, head, "Accept-Ranges")
		assert.Equal(t, data, body)
	})

	t.Run("rate limit", func(t *testing.T) {
		t.Parallel()
		l := newLab(t, "nginx")
		const n = 300 << 10
		randomFile(t, l.www, "f", n)
		l.nginx(realserver.NginxConfig{})
		require.NoError(t, l.ns.RateLimit(l.ctx, "1600kbit"))
		start := time.Now()
		_, body, err := get(t, l, "/f", "", 10*time.Second)
		require.NoError(t, err)
		require.Len(t, body, n)
		// 200 KB/s: 300 KiB cannot arrive in less than a second and a
		// half, however fast the machine; only the lower bound is safe to
		// test.
		assert.GreaterOrEqual(t, time.Since(start), 1400*time.Millisecond)
	})
}

func TestCaddyServesHTTP2(t *testing.T) {
	t.Parallel()
	l := newLab(t, "caddy")
	data := randomFile(t, l.www, "f", 1<<20)
	s := l.caddy()
	pem, err := os.ReadFile(s.CAFile)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(pem))
	tr := &http.Transport{
		DialContext:       l.ns.Dial,
		TLSClientConfig:   &tls.Config{RootCAs: pool},
		ForceAttemptHTTP2: true,
	}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}

	resp, err := c.Get(s.URL + "/f")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	assert.Equal(t, "HTTP/2.0", resp.Proto)
	assert.Equal(t, data, body)
	etag := resp.Header.Get("ETag")
	assert.True(t, strings.HasPrefix(etag, `"`), "a strong validator, got %q", etag)
	assert.Equal(t, "bytes", resp.Header.Get("Accept-Ranges"))

	req, err := http.NewRequest("GET", s.URL+"/f", nil)
	require.NoError(t, err)
	req.Header.Set("Range", "bytes=10-19")
	req.Header.Set("If-Range", etag)
	resp, err = c.Do(req)
	require.NoError(t, err)
	body, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	assert.Equal(t, http.StatusPartialContent, resp.StatusCode)
	assert.Equal(t, data[10:20], body)

	reqs, err := s.WaitRequests(l.ctx, 2, 0)
	require.NoError(t, err)
	require.Len(t, reqs, 2)
	assert.WithinDuration(t, time.Now(), reqs[0].Start, time.Minute, "Caddy's log gives when a request started")
	assert.True(t, reqs[0].Start.Before(reqs[1].Start), "requests come in the order they started")
	assert.Equal(t, "HTTP/2.0", reqs[1].Proto)
	assert.Equal(t, "bytes=10-19", reqs[1].Range)
	assert.Equal(t, etag, reqs[1].IfRange)
	assert.Equal(t, 206, reqs[1].Status)
	wire := l.wireBytes()
	assert.Greater(t, wire, int64(len(data)))
	assert.Less(t, wire, int64(len(data))+64<<10)
}

func TestSweep(t *testing.T) {
	need(t)
	ctx := t.Context()
	// A pid that no longer runs: a process that ran and was reaped.
	done := exec.Command("true")
	require.NoError(t, done.Run())
	orphan := fmt.Sprintf("%s%d-sweeptest", realserver.Prefix, done.Process.Pid)
	out, err := exec.Command("ip", "netns", "add", orphan).CombinedOutput()
	require.NoError(t, err, "%s", out)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", orphan).Run() })
	// Something left running in it, as a killed run leaves its servers.
	left := exec.Command("ip", "netns", "exec", orphan, "sleep", "60")
	require.NoError(t, left.Start())
	leftDone := make(chan error, 1)
	go func() { leftDone <- left.Wait() }()
	t.Cleanup(func() {
		left.Process.Kill()
		<-leftDone
	})
	// Wait until it runs in there: ip(8) enters the namespace first.
	require.Eventually(t, func() bool {
		out, err := exec.Command("ip", "netns", "pids", orphan).Output()
		return err == nil && strings.Contains(string(out), strconv.Itoa(left.Process.Pid))
	}, 5*time.Second, 10*time.Millisecond)

	mine, err := realserver.NewNamespace(ctx)
	require.NoError(t, err)
	defer mine.Close()
	dir, err := realserver.MkdirScratch()
	require.NoError(t, err)
	defer os.RemoveAll(dir)

	swept, err := realserver.Sweep(ctx)
	require.NoError(t, err)
	assert.Contains(t, swept, orphan)
	assert.NotContains(t, swept, mine.Name, "a live process's namespace stays")
	assert.NoFileExists(t, "/run/netns/"+orphan)
	assert.FileExists(t, "/run/netns/"+mine.Name)
	assert.DirExists(t, dir)
	select {
	case err := <-leftDone:
		var ee *exec.ExitError
		require.True(t, errors.As(err, &ee), "%v", err)
		assert.Equal(t, syscall.SIGKILL, ee.Sys().(syscall.WaitStatus).Signal())
		leftDone <- err
	case <-time.After(5 * time.Second):
		t.Fatal("the process left in the orphaned namespace still runs")
	}
}

// TestNeedSkipsLoudly: where the tests cannot run, they skip with the
// reason, and FAULTLINE_REAL_SERVERS=require makes that a failure. Run
// as a child process so its failure is observed, not suffered.
func TestNeedSkipsLoudly(t *testing.T) {
	if os.Getenv("FAULTLINE_REALSERVER_CHILD") == "1" {
		need(t, "faultline-no-such-server")
		t.Fatal("need did not stop the test")
	}
	for _, tc := range []struct {
		env      string
		wantFail bool
		want     string
	}{
		{"", false, "SKIPPED, not passed"},
		{"require", true, realserver.EnvRequire + "=require, but this real-server test cannot run here"},
	} {
		cmd := exec.Command(os.Args[0], "-test.run", "^TestNeedSkipsLoudly$", "-test.v")
		cmd.Env = append(os.Environ(), "FAULTLINE_REALSERVER_CHILD=1", realserver.EnvRequire+"="+tc.env)
		out, err := cmd.CombinedOutput()
		if tc.wantFail {
			assert.Error(t, err, "%s", out)
			assert.Contains(t, string(out), "--- FAIL")
		} else {
			assert.NoError(t, err, "%s", out)
			assert.Contains(t, string(out), "--- SKIP")
		}
		assert.Contains(t, string(out), tc.want)
		assert.Contains(t, string(out), "faultline-no-such-server")
	}
}

// TestStartFailureLeavesNothing: a server that cannot serve (its port is
// out of range, so it exits at once) fails to start, saying why, and the
// scratch directory made for it is gone. Not parallel: the test counts
// this process's scratch directories.
func TestStartFailureLeavesNothing(t *testing.T) {
	scratch := func() []string {
		var dirs []string
		for _, base := range []string{os.TempDir(), "/dev/shm"} {
			m, err := filepath.Glob(filepath.Join(base, realserver.Prefix+strconv.Itoa(os.Getpid())+"-*"))
			require.NoError(t, err)
			dirs = append(dirs, m...)
		}
		return dirs
	}
	const port = 70000
	for _, server := range []string{"nginx", "caddy"} {
		t.Run(server, func(t *testing.T) {
			l := newLab(t, server)
			before := scratch()
			var s *realserver.Server
			var err error
			switch server {
			case "nginx":
				s, err = realserver.StartNginx(l.ctx, l.ns, realserver.NginxConfig{Root: l.www, Port: port})
			case "caddy":
				s, err = realserver.StartCaddy(l.ctx, l.ns, realserver.CaddyConfig{Root: l.www, Port: port})
			}
			if s != nil {
				s.Close()
			}
			require.Error(t, err)
			t.Logf("%v", err)
			assert.Contains(t, err.Error(), strconv.Itoa(port), "the error quotes the server's complaint")
			assert.Equal(t, before, scratch(), "no scratch directory left")
		})
	}
}
