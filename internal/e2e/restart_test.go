package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faultline-go/faultline/internal/archivetest"
)

// republished serves v1 of an archive to the first request and breaks off
// half-way; from then on it serves v2, a different archive, and ignores
// Range: the file was republished between the attempts, by a server that
// cannot resume.
type republished struct {
	v1, v2 []byte

	mu     sync.Mutex
	protos []string
	ranges []string
}

func (h *republished) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	n := len(h.protos)
	h.protos = append(h.protos, r.Proto)
	h.ranges = append(h.ranges, r.Header.Get("Range"))
	h.mu.Unlock()
	body, etag := h.v2, `"v2"`
	if n == 0 {
		body, etag = h.v1, `"v1"`
	}
	w.Header().Set("ETag", etag)
	w.Header().Set("Accept-Ranges", "bytes")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if n == 0 {
		w.Write(body[:len(body)/2])
		http.NewResponseController(w).Flush()
		// Drop the connection (HTTP/1.1) or reset the stream (HTTP/2).
		panic(http.ErrAbortHandler)
	}
	w.Write(body)
}

// TestRepublishedArchive: a resume is answered with the whole of a new
// version. Bytes of two versions are never spliced: the unpack of v1 is
// abandoned, its staging removed, and v2 unpacked from scratch; the tree
// is exactly v2.
func TestRepublishedArchive(t *testing.T) {
	v1 := load(t, bigTarGz)
	v2entries := archivetest.Tree(2, 2000, 4<<20)
	v2, err := archivetest.Bytes(archivetest.Gzip, v2entries)
	require.NoError(t, err)

	for _, h2 := range []bool{false, true} {
		name := "h1"
		if h2 {
			name = "h2"
		}
		t.Run(name, func(t *testing.T) {
			h := &republished{v1: v1.data, v2: v2}
			srv := httptest.NewUnstartedServer(h)
			srv.EnableHTTP2 = h2
			if h2 {
				srv.StartTLS()
			} else {
				srv.Start()
			}
			defer srv.Close()

			var r run
			c := newClient(srv.Client(), &r)
			dir := scratch(t)
			dest := filepath.Join(dir, "tree")
			fetch(context.Background(), c, &r, job{url: srv.URL + "/python.tar.gz", dest: dest})
			require.NoError(t, r.err)

			archivetest.Compare(t, v2entries, dest)
			assert.Empty(t, leftovers(t, dir, "tree"))
			assert.Equal(t, 1, r.res.Resumes, "the break is resumed first")
			assert.Equal(t, 1, r.res.Restarts, "then the new version restarts the unpack")
			assert.Equal(t, 2, r.passes)
			assert.Equal(t, int64(len(v2)), r.res.Bytes)

			h.mu.Lock()
			defer h.mu.Unlock()
			// The 200 that answered the resume is abandoned, not unpacked:
			// the restart asks again without a range.
			require.Len(t, h.protos, 3, "v1 broken off, a resume answered with v2, a fresh request for v2")
			assert.Equal(t, []string{"", "bytes=" + strconv.Itoa(len(v1.data)/2) + "-", ""}, h.ranges)
			want := "HTTP/1.1"
			if h2 {
				want = "HTTP/2.0"
			}
			assert.Equal(t, []string{want, want, want}, h.protos)
		})
	}
}
