package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faultline-go/faultline/faulttest"
	"github.com/faultline-go/faultline/internal/archivetest"
)

// maxFetchRSS is the peak resident memory a retrycheck fetch may reach on
// any archive with the default limits, as the README states it: the live
// heap is bounded by Limits.Window (128 MiB) and Limits.Metadata (64 MiB)
// plus buffers, and Go's collector lets the heap reach about twice what
// is live.
const maxFetchRSS = 400 << 20

// retrycheckBinary builds retrycheck once, without the race detector: the
// adversarial suite measures a real process's memory and runs archives
// that decompress to gigabytes.
var retrycheckBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "faultline-e2e-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "retrycheck")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/faultline-go/faultline/cmd/retrycheck")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", &buildError{out: string(out), err: err}
	}
	return bin, nil
})

type buildError struct {
	out string
	err error
}

func (e *buildError) Error() string { return "go build retrycheck: " + e.err.Error() + "\n" + e.out }

// endlessHandler serves an archive followed by its tail repeated until the
// client goes away, with no length announced: a response that never ends.
// A guard stops it after a minute or a gigabyte.
func endlessHandler(head, tail []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		if _, err := w.Write(head); err != nil {
			return
		}
		chunk := bytes.Repeat(tail, max(1, (64<<10)/len(tail)))
		deadline := time.Now().Add(time.Minute)
		for sent := 0; sent < 1<<30 && time.Now().Before(deadline); sent += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
}

// fetchSummary is the part of retrycheck fetch --json the suite reads.
type fetchSummary struct {
	OK    bool   `json:"ok"`
	Kind  string `json:"kind"`
	Error string `json:"error"`
	Bytes int64  `json:"bytes"`
}

// TestAdversarialThroughFetch runs the adversarial suite
// (archivetest.Attacks; adapters/tarx runs it in process) through
// retrycheck fetch, served over HTTP/1.1 from 127.0.0.1, into a new
// destination and over an existing one with --replace. Each attack ends
// refused with its kind (exit status 65, EX_DATAERR) or unpacked (0),
// issue 11's hostile zips among them; nothing outside
// the destination changes, a refused fetch leaves the destination as it
// was, no staging directory is left, and the process's peak resident
// memory stays under maxFetchRSS.
func TestAdversarialThroughFetch(t *testing.T) {
	if testing.Short() {
		t.Skip("builds retrycheck and unpacks gigabytes")
	}
	bin, err := retrycheckBinary()
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(filepath.Dir(bin)) })
	for _, a := range archivetest.Attacks() {
		data, err := a.Build()
		require.NoError(t, err, a.Name)
		var url string
		if a.Tail != nil {
			srv := httptest.NewServer(endlessHandler(data, a.Tail))
			t.Cleanup(srv.Close)
			url = srv.URL + "/" + a.Name
		} else {
			s, err := faulttest.Start(faulttest.Config{Content: data})
			require.NoError(t, err)
			t.Cleanup(func() { s.Close() })
			url = s.URL
		}
		for _, existing := range []bool{false, true} {
			name := a.Name
			if existing {
				name += "/replacing"
			}
			t.Run(name, func(t *testing.T) {
				top := scratch(t)
				parent := filepath.Join(top, "parent")
				require.NoError(t, os.Mkdir(parent, 0o755))
				require.NoError(t, os.WriteFile(filepath.Join(top, "victim.txt"), []byte("original\n"), 0o644))
				require.NoError(t, os.WriteFile(filepath.Join(parent, "victim.txt"), []byte("original\n"), 0o644))
				dest := filepath.Join(parent, "dest")
				args := []string{"fetch", "--progress", "none", "--json", "--to", dest}
				if existing {
					require.NoError(t, os.Mkdir(dest, 0o755))
					require.NoError(t, os.WriteFile(filepath.Join(dest, "keep.txt"), []byte("keep"), 0o644))
					args = append(args, "--replace")
				}
				before := fingerprint(t, top)

				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
				defer cancel()
				cmd := exec.CommandContext(ctx, bin, append(args, url)...)
				var stdout, stderr bytes.Buffer
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				require.NoError(t, cmd.Start())
				hwm := watchPeakRSS(cmd.Process.Pid)
				err := cmd.Wait()
				rss := hwm()
				t.Logf("exit %d, peak RSS %d MiB; stderr:\n%s", cmd.ProcessState.ExitCode(), rss>>20, lastLines(stderr.String(), 3))
				require.NoError(t, ctx.Err(), "fetch did not end")
				assert.Less(t, rss, int64(maxFetchRSS), "peak resident memory")

				var sum fetchSummary
				require.NoError(t, json.Unmarshal(stdout.Bytes(), &sum), "summary: %s", stdout.String())
				if a.Victim != "" && filepath.IsAbs(a.Victim) {
					_, serr := os.Lstat(a.Victim)
					assert.ErrorIs(t, serr, fs.ErrNotExist, "%s was created", a.Victim)
				}
				assert.Empty(t, stagingLeft(t, parent), "staging left behind")
				if a.Kind == "" {
					require.NoError(t, err, "unpacks within bounds: %s", sum.Error)
					assert.True(t, sum.OK)
					return
				}
				require.Error(t, err)
				assert.Equal(t, 65, cmd.ProcessState.ExitCode(), "unsafe data: EX_DATAERR")
				assert.Equal(t, a.Kind, sum.Kind, "%s", sum.Error)
				assert.Equal(t, before, fingerprint(t, top), "nothing changed")
			})
		}
	}
}

// watchPeakRSS samples the process pid's VmHWM (its resident-set high-water
// mark) every millisecond until the returned function is called, after the
// process was waited for, which returns the last value seen: the peak,
// less whatever the process added in its last millisecond. (wait4's
// ru_maxrss will not do: Linux carries the parent's high-water mark into a
// child across exec, and the test process is the larger.)
func watchPeakRSS(pid int) func() int64 {
	var peak atomic.Int64
	stop := make(chan struct{})
	done := make(chan struct{})
	status := "/proc/" + strconv.Itoa(pid) + "/status"
	go func() {
		defer close(done)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			if data, err := os.ReadFile(status); err == nil {
				if kb := vmHWM(data); kb > peak.Load() {
					peak.Store(kb)
				}
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	return func() int64 {
		close(stop)
		<-done
		return peak.Load() << 10
	}
}

// vmHWM returns the VmHWM field of a /proc/PID/status, in KiB.
func vmHWM(status []byte) int64 {
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

// fingerprint lists every path under dir with its type and, for files,
// size and content.
func fingerprint(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		desc := d.Type().String()
		if d.Type().IsRegular() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			desc += " " + string(data)
		}
		out[p] = desc
		return nil
	})
	require.NoError(t, err)
	return out
}

func stagingLeft(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for _, name := range leftovers(t, dir) {
		if strings.Contains(name, ".faultline-staging-") {
			out = append(out, name)
		}
	}
	return out
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
