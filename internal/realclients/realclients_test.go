package realclients

import (
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var record = flag.Bool("record", false, "run the real clients against the faults and rewrite testdata/corpus/real-*.txt")

const (
	corpusDir = "../../testdata/corpus"
	gapsDir   = "../../cmd/retrycheck/testdata/gaps"
)

// dirOf is where r's file goes: the corpus, or the known gaps.
func dirOf(r Recording) string {
	if r.Gap() != "" {
		return gapsDir
	}
	return corpusDir
}

// TestRecord re-records the corpus's real-client texts. It runs only with
// -record: the clients (curl, wget, git, node, python3 with requests and
// urllib3, java) must be installed, and a run takes about two minutes.
// A client that is missing keeps its recordings, and its runs are skipped
// with a message that says so; so are the faults of names where no
// network namespace can be made.
func TestRecord(t *testing.T) {
	if !*record {
		t.Skip("run with -record to re-record testdata/corpus/real-*.txt")
	}
	dir := t.TempDir()
	ctx := context.Background()
	for _, c := range Clients() {
		for _, f := range Faults() {
			if !f.runs(c) {
				continue
			}
			t.Run(c.Name+"/"+f.Name, func(t *testing.T) {
				if err := c.Available(ctx); err != nil {
					t.Skipf("SKIP LOUDLY: %v; %s's recordings are kept as they were", err, c.Name)
				}
				rec, err := Record(ctx, c, f, dir)
				if errors.Is(err, ErrNoNamespace) || errors.Is(err, ErrRunLimit) {
					t.Skipf("SKIP LOUDLY: %v; %s is kept as it was", err, rec.FileName())
				}
				require.NoError(t, err)
				if rec.Exit == 0 || strings.TrimSpace(rec.Output) == "" {
					// HttpURLConnection and HttpClient send a GET again by
					// themselves after a reset or an empty reply, and the
					// second try succeeds; HttpURLConnection hands a body
					// cut short of its Content-Length over as complete.
					t.Skipf("%s did not fail on %s (exit %d): nothing to record", c.Name, f.Name, rec.Exit)
				}
				require.NoError(t, os.WriteFile(filepath.Join(dirOf(rec), rec.FileName()), []byte(rec.Corpus()), 0o644))
			})
		}
	}
}

// recorded is one recording read back from the corpus.
type recorded struct {
	path    string
	client  Client
	fault   Fault
	version string
	date    string
	output  string
	data    string
}

// readRecordings reads every real-*.txt in the corpus and finds the
// client and fault that its name says made it.
func readRecordings(t *testing.T) []recorded {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(corpusDir, "real-*.txt"))
	require.NoError(t, err)
	gaps, err := filepath.Glob(filepath.Join(gapsDir, "real-*.txt"))
	require.NoError(t, err)
	paths = append(paths, gaps...)
	require.NotEmpty(t, paths)
	var out []recorded
	for _, p := range paths {
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		r := recorded{path: p, data: string(data)}
		name := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(p), "real-"), ".txt")
		for _, c := range Clients() {
			for _, f := range Faults() {
				if name == c.Name+"-"+f.Name {
					r.client, r.fault = c, f
				}
			}
		}
		require.NotEmpty(t, r.client.Name, "%s: no client and fault of that name", p)
		header, body, _ := strings.Cut(r.data, "\n# flags: ")
		_, r.output, _ = strings.Cut(body, "\n")
		r.output = strings.TrimSuffix(r.output, "\n")
		for line := range strings.Lines(header) {
			if v, ok := strings.CutPrefix(line, "# client: "+r.client.Name+" ("); ok {
				r.version = strings.TrimSuffix(strings.TrimSpace(v), ")")
			}
			if v, ok := strings.CutPrefix(line, "# recorded: "); ok {
				r.date = strings.TrimSpace(v)
			}
		}
		require.NotEmpty(t, r.version, "%s: no client line", p)
		_, err = time.Parse(time.DateOnly, r.date)
		require.NoError(t, err, "%s: no date of recording", p)
		out = append(out, r)
	}
	return out
}

// Every recording is exactly what the recorder writes today for its client
// and fault: an expectation or a reason changed in Faults shows here until
// the corpus is recorded again.
func TestRecordingsAreCurrent(t *testing.T) {
	ecosystems := map[string]bool{}
	for _, r := range readRecordings(t) {
		rec := Recording{Client: r.client, Fault: r.fault, Version: r.version, Date: r.date, Output: r.output}
		assert.Equal(t, rec.Corpus(), r.data, "%s is not what the recorder writes: go test ./internal/realclients -record", r.path)
		assert.Equal(t, filepath.Join(dirOf(rec), rec.FileName()), r.path, "a recording is in the corpus, or in the gaps when its expectation says why")
		ecosystems[r.client.Ecosystem] = true
	}
	for _, c := range Clients() {
		assert.True(t, ecosystems[c.Ecosystem], "no recording of %s", c.Ecosystem)
	}
}

// The recorder reproduces the corpus: each client installed here is run
// again against a closed port (the fault that needs no timing), and when
// its version is the one recorded, it must print the recorded text byte
// for byte. A client that is missing is named, and its check skipped.
func TestReplayRefused(t *testing.T) {
	dir := t.TempDir()
	byName := map[string]recorded{}
	for _, r := range readRecordings(t) {
		if r.fault.Name == "refused" {
			byName[r.client.Name] = r
		}
	}
	for _, c := range Clients() {
		t.Run(c.Name, func(t *testing.T) {
			want, ok := byName[c.Name]
			require.True(t, ok, "no recording of %s against a refused connection", c.Name)
			if err := c.Available(t.Context()); err != nil {
				t.Skipf("SKIP LOUDLY: %v, so %s's recordings cannot be replayed here", err, c.Name)
			}
			rec, err := Record(t.Context(), c, want.fault, dir)
			if errors.Is(err, ErrNoNamespace) {
				t.Skipf("SKIP LOUDLY: %v", err)
			}
			require.NoError(t, err)
			require.NotZero(t, rec.Exit, "%s succeeded against a closed port", c.Name)
			if rec.Version != want.version {
				t.Skipf("SKIP LOUDLY: %s is %q here, the recording was made with %q: its words may differ", c.Name, rec.Version, want.version)
			}
			assert.Equal(t, want.output, rec.Output, "%s no longer prints what %s recorded", c.Name, want.path)
		})
	}
}

func TestNormalise(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"curl: (7) Failed to connect to 127.0.0.1 port 43121 after 0 ms: Couldn't connect to server",
			"curl: (7) Failed to connect to 127.0.0.1 port 8080 after 5 ms: Couldn't connect to server"},
		{"Error: connect ECONNREFUSED 127.0.0.1:39811\n  port: 39811,\n", "Error: connect ECONNREFUSED 127.0.0.1:8080\n  port: 8080,"},
		{"  localPort: 51234,", "localPort: 40000,"},
		{"read tcp 127.0.0.1:51234->127.0.0.1:39811: read: connection reset by peer", "read tcp 127.0.0.1:40000->127.0.0.1:8080: read: connection reset by peer"},
		{"lookup x.invalid on 127.0.0.1:53: no such host", "lookup x.invalid on 127.0.0.1:53: no such host"},
		{"\x1b[1mApache Maven\x1b[m", "Apache Maven"},
		{"<pip._vendor.urllib3.connection.HTTPConnection object at 0x7f8da9549310>", "<pip._vendor.urllib3.connection.HTTPConnection object at 0x7f0000000000>"},
		{"Wheel 'x' located at /tmp/pip-unpack-8xarzq2n/x.whl is invalid.", "Wheel 'x' located at /tmp/pip-unpack-00000000/x.whl is invalid."},
		{"[INFO] Total time:  0.362 s\n[INFO] Finished at: 2026-12-02T23:25:44Z", "[INFO] Total time:  1.000 s\n[INFO] Finished at: 2024-05-01T10:00:00Z"},
		{"     0K        6%  695M=0s\n\n(695 MB/s) - Read error", "0K        6%  100M=0s\n\n(100 MB/s) - Read error"},
		{"    remotePort: 43937,\n    port: '40615',", "remotePort: 8080,\n    port: '8080',"},
		{"2026-12-02 19:58:14 URL:http://x/ [1/2] -> x", "2024-05-01 10:00:00 URL:http://x/ [1/2] -> x"},
		{`File "/tmp/TestX123/001/requests_get.py", line 2`, `File "/tmp/realclients/requests_get.py", line 2`},
	} {
		assert.Equal(t, tc.want, normalise(tc.in, "/tmp/TestX123/001"))
	}
}
