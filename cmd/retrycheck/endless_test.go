package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFetchBoundedWhileStreaming serves bodies that keep flowing past the
// policy's max_elapsed of 1s: a valid tar.gz followed by empty gzip
// members without end (input that never produces output), and the
// archive alone trickled slower than the limit allows. The fetch ends
// while the bytes still flow, and leaves nothing behind. Before, the
// limit was checked only when a failure was decided, and the first fetch
// ran forever.
func TestFetchBoundedWhileStreaming(t *testing.T) {
	_, archive := fetchArchive(t)
	var empty bytes.Buffer
	zw := gzip.NewWriter(&empty)
	require.NoError(t, zw.Close())
	members := bytes.Repeat(empty.Bytes(), 64)

	src, err := os.ReadFile(fastPolicy(t))
	require.NoError(t, err)
	pol := strings.Replace(string(src), "max_elapsed: 1h", "max_elapsed: 1s", 1)
	require.NotEqual(t, string(src), pol, "the default policy's max_elapsed changed")
	polFile := filepath.Join(t.TempDir(), "short.yaml")
	require.NoError(t, os.WriteFile(polFile, []byte(pol), 0o644))

	tests := []struct {
		name  string
		serve func(w http.ResponseWriter, r *http.Request)
		// guard is the guard that must end the fetch; "" accepts any
		// refusal (the unpacker may bound trailing data on its own).
		guard string
	}{
		{name: "endless empty gzip members", serve: func(w http.ResponseWriter, r *http.Request) {
			if _, err := w.Write(archive); err != nil {
				return
			}
			for r.Context().Err() == nil {
				if _, err := w.Write(members); err != nil {
					return
				}
				http.NewResponseController(w).Flush()
				time.Sleep(time.Millisecond)
			}
		}},
		{name: "slow archive", guard: "max_elapsed", serve: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", strconv.Itoa(len(archive)))
			// Well under the archive's size a second: 4 KiB every 20ms.
			for b := archive; len(b) > 0 && r.Context().Err() == nil; {
				n := min(4096, len(b))
				if _, err := w.Write(b[:n]); err != nil {
					return
				}
				b = b[n:]
				http.NewResponseController(w).Flush()
				time.Sleep(20 * time.Millisecond)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(tc.serve))
			defer srv.Close()
			defer srv.CloseClientConnections()
			dir := t.TempDir()
			dest := filepath.Join(dir, "tree")
			begin := time.Now()
			r := runCLI(t, "", "fetch", "--policy", polFile, "--progress", "none", "--to", dest, srv.URL)
			took := time.Since(begin)
			// A limit ran out, not the chance of success: "try later".
			assert.Equal(t, exitTempFail, r.code, "stderr:\n%s", r.stderr)
			assert.Less(t, took, 15*time.Second)
			if tc.guard != "" {
				assert.Contains(t, r.stderr, `gave up by guard "`+tc.guard+`"`)
				assert.Contains(t, r.stderr, "max_elapsed of 1s")
			}
			assert.NoDirExists(t, dest)
			assertNoStaging(t, dir)
		})
	}
}
