package realserver_test

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/faultline-go/faultline/internal/archivetest"
	"github.com/faultline-go/faultline/internal/realserver"
)

// suite is what TestMain prepared for every test.
var suite struct {
	// skip says why the real-server tests cannot run here; nil when they
	// can.
	skip error
	// bin holds retrycheck and fixture, built without the race detector:
	// they are the programs under test, run as a user runs them.
	bin string
	// buildErr is why they could not be built: a failure, not a skip.
	buildErr error
}

func TestMain(m *testing.M) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	if os.Getenv("FAULTLINE_REALSERVER_CHILD") == "1" {
		// TestNeedSkipsLoudly's child checks need alone.
	} else if suite.skip = realserver.Probe(ctx); suite.skip != nil {
		// go test shows this only with -v or on failure; CI sets
		// FAULTLINE_REAL_SERVERS=require, which turns every skip into a
		// failure.
		fmt.Fprintf(os.Stderr, "realserver: SKIPPING the real-server tests: %v (set %s=require to fail instead)\n",
			suite.skip, realserver.EnvRequire)
	} else {
		if swept, err := realserver.Sweep(ctx); len(swept) > 0 || err != nil {
			fmt.Fprintf(os.Stderr, "realserver: removed what a killed run left: %v (errors: %v)\n", swept, err)
		}
		suite.bin, suite.buildErr = build(ctx)
	}
	cancel()
	code := m.Run()
	if suite.bin != "" {
		os.RemoveAll(suite.bin)
	}
	if dir, err := fixtureDir(); err == nil && dir != "" {
		os.RemoveAll(dir)
	}
	if code == 0 {
		// Every namespace, server and client a test starts is gone when it
		// ends: a goroutine left is a leak.
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

// build builds the programs the tests run.
func build(ctx context.Context) (string, error) {
	dir, err := realserver.MkdirScratch()
	if err != nil {
		return "", err
	}
	for name, pkg := range map[string]string{
		"retrycheck": "github.com/faultline-go/faultline/cmd/retrycheck",
		"fixture":    "github.com/faultline-go/faultline/internal/realserver/cmd/fixture",
	} {
		out, err := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(dir, name), pkg).CombinedOutput()
		if err != nil {
			return dir, fmt.Errorf("go build %s: %w\n%s", pkg, err, out)
		}
	}
	return dir, nil
}

// need skips t, loudly, when the real-server tests cannot run here, or
// fails it when FAULTLINE_REAL_SERVERS=require; bins are the servers it
// needs.
func need(t *testing.T, bins ...string) {
	t.Helper()
	err := suite.skip
	if err == nil {
		err = realserver.Check(bins...)
	}
	if err != nil {
		if realserver.Required() {
			t.Fatalf("%s=require, but this real-server test cannot run here: %v", realserver.EnvRequire, err)
		}
		t.Skipf("SKIPPED, not passed: this real-server test cannot run here: %v. It needs root and nginx-light, caddy, iptables, iproute2 (.ci/run installs them); %s=require makes this a failure",
			err, realserver.EnvRequire)
	}
	require.NoError(t, suite.buildErr)
}

// A fixture is an archive the tests serve, and the entries it holds.
type fixture struct {
	path    string // the tar.gz
	size    int64
	sha256  string
	entries []archivetest.Entry
}

// The archives. big is sized for faults every few megabytes; other
// replaces big on the server mid-download; small is for slow rates.
var (
	fixtureDir = sync.OnceValues(func() (string, error) { return realserver.MkdirScratch() })
	big        = sync.OnceValues(func() (*fixture, error) { return makeFixture("big", 10, 300, 36<<20) })
	other      = sync.OnceValues(func() (*fixture, error) { return makeFixture("other", 11, 200, 14<<20) })
	small      = sync.OnceValues(func() (*fixture, error) { return makeFixture("small", 12, 60, 2<<20) })
)

func makeFixture(name string, seed uint64, files int, size int64) (*fixture, error) {
	dir, err := fixtureDir()
	if err != nil {
		return nil, err
	}
	gz := filepath.Join(dir, name+".tar.gz")
	plain := filepath.Join(dir, name+".tar")
	out, err := exec.Command(filepath.Join(suite.bin, "fixture"), "-seed", strconv.FormatUint(seed, 10),
		"-files", strconv.Itoa(files), "-bytes", strconv.FormatInt(size, 10), gz, plain).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("fixture %s: %w: %s", name, err, out)
	}
	data, err := os.ReadFile(gz)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	entries, err := readEntries(plain)
	if err != nil {
		return nil, err
	}
	os.Remove(plain)
	return &fixture{path: gz, size: int64(len(data)), sha256: hex.EncodeToString(sum[:]), entries: entries}, nil
}

// readEntries reads a plain tar back into the entries it was written from.
func readEntries(name string) ([]archivetest.Entry, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var entries []archivetest.Entry
	tr := tar.NewReader(bufio.NewReaderSize(f, 1<<20))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return entries, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		e := archivetest.Entry{Name: h.Name, Type: h.Typeflag, Mode: h.Mode, ModTime: h.ModTime, Linkname: h.Linkname}
		if h.Typeflag == tar.TypeReg {
			e.Data = make([]byte, h.Size)
			if _, err := io.ReadFull(tr, e.Data); err != nil {
				return nil, fmt.Errorf("%s: %s: %w", name, h.Name, err)
			}
		}
		entries = append(entries, e)
	}
}

func load(t *testing.T, f func() (*fixture, error)) *fixture {
	t.Helper()
	fx, err := f()
	require.NoError(t, err)
	return fx
}

// A lab is one test's namespace, scratch directory and server.
type lab struct {
	t    *testing.T
	ctx  context.Context
	ns   *realserver.Namespace
	dir  string // scratch: www/, the destination, dumps
	www  string // what the server serves
	srv  *realserver.Server
	wire *realserver.Counter // bytes the server sent
	reqs *realserver.Counter // plain HTTP/1.1 requests (nginx only)
}

// newLab makes a namespace and a scratch directory for t, removed when t
// ends, whatever happened.
func newLab(t *testing.T, bins ...string) *lab {
	t.Helper()
	need(t, bins...)
	ctx := t.Context()
	ns, err := realserver.NewNamespace(ctx)
	require.NoError(t, err)
	t.Cleanup(func() {
		if err := ns.Close(); err != nil {
			t.Errorf("removing namespace %s: %v", ns.Name, err)
		}
	})
	dir, err := realserver.MkdirScratch()
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	www := filepath.Join(dir, "www")
	require.NoError(t, os.Mkdir(www, 0o755))
	return &lab{t: t, ctx: ctx, ns: ns, dir: dir, www: www}
}

// serve puts fx in the served directory as name.
func (l *lab) serve(fx *fixture, name string) string {
	l.t.Helper()
	dst := filepath.Join(l.www, name)
	if err := os.Link(fx.path, dst); err != nil {
		data, err := os.ReadFile(fx.path)
		require.NoError(l.t, err)
		require.NoError(l.t, os.WriteFile(dst, data, 0o644))
	}
	return "/" + name
}

// nginx starts nginx on the lab's www, counting its bytes and requests.
func (l *lab) nginx(cfg realserver.NginxConfig) *realserver.Server {
	l.t.Helper()
	cfg.Root = l.www
	s, err := realserver.StartNginx(l.ctx, l.ns, cfg)
	require.NoError(l.t, err)
	l.t.Cleanup(func() { s.Close() })
	l.srv = s
	l.wire, err = l.ns.CountWire(l.ctx, s.Port)
	require.NoError(l.t, err)
	l.reqs, err = l.ns.CountRequests(l.ctx, s.Port)
	require.NoError(l.t, err)
	return s
}

// caddy starts Caddy on the lab's www, counting its bytes.
func (l *lab) caddy() *realserver.Server {
	l.t.Helper()
	s, err := realserver.StartCaddy(l.ctx, l.ns, realserver.CaddyConfig{Root: l.www})
	require.NoError(l.t, err)
	l.t.Cleanup(func() { s.Close() })
	l.srv = s
	l.wire, err = l.ns.CountWire(l.ctx, s.Port)
	require.NoError(l.t, err)
	return s
}

// wireBytes returns what the server has put on the wire so far.
func (l *lab) wireBytes() int64 {
	l.t.Helper()
	n, err := l.wire.Bytes(l.ctx)
	require.NoError(l.t, err)
	return n
}

// requests returns how many plain HTTP/1.1 requests reached the server.
func (l *lab) requests() int {
	l.t.Helper()
	n, err := l.reqs.Packets(l.ctx)
	require.NoError(l.t, err)
	return int(n)
}

// summary is retrycheck fetch's --json summary.
type summary struct {
	OK          bool  `json:"ok"`
	Bytes       int64 `json:"bytes"`
	BytesServed int64 `json:"bytes_served"`
	Attempts    int   `json:"attempts"`
	Resumes     int   `json:"resumes"`
	Refetches   int   `json:"refetches"`
	Restarts    int   `json:"restarts"`
	Replayed    int64 `json:"replayed"`
	Mirrors     []struct {
		URL     string `json:"url"`
		Bytes   int64  `json:"bytes"`
		Dropped bool   `json:"dropped"`
	} `json:"mirrors"`
	Connections int    `json:"connections"`
	Files       int    `json:"files"`
	Error       string `json:"error"`
	Kind        string `json:"kind"`
	Decision    *struct {
		Action string `json:"action"`
		Rule   string `json:"rule"`
		Guard  string `json:"guard"`
		Reason string `json:"reason"`
	} `json:"decision"`
}

// A fetch is one run of retrycheck fetch in the lab's namespace.
type fetch struct {
	cmd    *exec.Cmd
	stdout bytes.Buffer
	stderr bytes.Buffer
	start  time.Time
	done   chan struct{} // closed when the process has ended
	err    error         // what Wait returned, once done is closed

	exit int
	sum  summary
	took time.Duration
}

// fetchTimeout bounds every fetch: far above what any scenario takes,
// far below the suite's budget.
const fetchTimeout = 2 * time.Minute

// startFetch starts retrycheck fetch URL --to dest in the namespace, with
// a JSON summary, no progress display, and args.
func (l *lab) startFetch(url, dest string, args ...string) *fetch {
	l.t.Helper()
	ctx, cancel := context.WithTimeout(l.ctx, fetchTimeout)
	argv := append([]string{"fetch", "--json", "--progress", "none", "--to", dest}, args...)
	if l.srv != nil && l.srv.CAFile != "" {
		argv = append(argv, "--ca", l.srv.CAFile)
	}
	f := &fetch{cmd: l.ns.Command(ctx, filepath.Join(suite.bin, "retrycheck"), append(argv, url)...)}
	f.cmd.Stdout, f.cmd.Stderr = &f.stdout, &f.stderr
	f.start = time.Now()
	f.done = make(chan struct{})
	if err := f.cmd.Start(); err != nil {
		cancel()
		l.t.Fatal(err)
	}
	go func() {
		f.err = f.cmd.Wait()
		f.took = time.Since(f.start)
		close(f.done)
	}()
	// Canceling kills the process by its own pid, if it still runs.
	l.t.Cleanup(func() {
		cancel()
		<-f.done
	})
	return f
}

// running reports whether the fetch is still running.
func (f *fetch) running() bool {
	select {
	case <-f.done:
		return false
	default:
		return true
	}
}

// wait waits for the fetch to end and reads its summary.
func (f *fetch) wait(t *testing.T) *fetch {
	t.Helper()
	<-f.done
	err := f.err
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ee.Exited():
		f.exit = ee.ExitCode()
	default:
		t.Fatalf("retrycheck fetch did not exit by itself: %v\nstderr:\n%s", err, f.stderr.String())
	}
	if f.stdout.Len() > 0 {
		require.NoError(t, json.Unmarshal(f.stdout.Bytes(), &f.sum), "summary:\n%s", f.stdout.String())
	}
	t.Logf("retrycheck fetch: exit %d in %v: %d attempts, %d resumes, %d restarts, %d bytes served; stderr:\n%s",
		f.exit, f.took.Round(time.Millisecond), f.sum.Attempts, f.sum.Resumes, f.sum.Restarts, f.sum.BytesServed, f.stderr.String())
	return f
}

// fetch runs retrycheck fetch to its end.
func (l *lab) fetch(url, dest string, args ...string) *fetch {
	l.t.Helper()
	return l.startFetch(url, dest, args...).wait(l.t)
}

// waitWire waits until the server has sent at least n bytes.
func (l *lab) waitWire(n int64, f *fetch) {
	l.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if l.wireBytes() >= n {
			return
		}
		if !f.running() {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	l.t.Fatalf("the server did not send %d bytes (sent %d)", n, l.wireBytes())
}

// waitSpooled waits until the spool beside dest describes at least n
// bytes (its sidecar is written only after the bytes were synced), so
// that a kill after it leaves a spool to resume from however slowly the
// disk syncs on a loaded machine.
func (l *lab) waitSpooled(dest string, n int64, f *fetch) {
	l.t.Helper()
	side := filepath.Join(filepath.Dir(dest), "."+filepath.Base(dest)+".faultline-spool", "sidecar.json")
	deadline := time.Now().Add(time.Minute)
	var covered int64
	for time.Now().Before(deadline) {
		covered = 0
		if b, err := os.ReadFile(side); err == nil {
			var sc struct{ Extents []struct{ Start, End int64 } }
			if json.Unmarshal(b, &sc) == nil {
				for _, e := range sc.Extents {
					covered += e.End - e.Start
				}
			}
		}
		if covered >= n {
			return
		}
		if !f.running() {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	l.t.Fatalf("the spool did not describe %d bytes (it described %d)", n, covered)
}

// entries lists what dir holds, for checking that a failed fetch left
// nothing behind.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// contextWithTimeout bounds a wait within the lab's test.
func contextWithTimeout(l *lab, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(l.ctx, d)
}
