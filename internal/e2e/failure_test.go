package e2e

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faultline-go/faultline/adapters/httpx"
	"github.com/faultline-go/faultline/adapters/tarx"
	"github.com/faultline-go/faultline/classify"
	"github.com/faultline-go/faultline/internal/archivetest"
	"github.com/faultline-go/faultline/policy"
)

// oldTree puts a previous version at dest, for fetches that replace it.
func oldTree(t testing.TB, dest string) []archivetest.Entry {
	t.Helper()
	old := archivetest.Tree(99, 30, 64<<10)
	data, err := archivetest.Bytes(archivetest.Tar, old)
	require.NoError(t, err)
	_, err = tarx.Extract(context.Background(), bytes.NewReader(data), dest, tarx.Options{})
	require.NoError(t, err)
	return old
}

// TestCorruptSource fetches archives that are broken at the source, the
// same on every request: each fails with a decode, archive or checksum
// failure that no retry can fix, and the destination keeps its previous
// tree.
func TestCorruptSource(t *testing.T) {
	gz := load(t, bigTarGz)
	stored := load(t, bigStored)
	zst := load(t, bigTarZst)
	flip := func(b []byte, at int) []byte {
		b = bytes.Clone(b)
		for i := at; i < at+16; i++ {
			b[i] ^= 0xa5
		}
		return b
	}
	// Cut at a tar block boundary inside the uncompressed stream: a valid
	// tar that ends before its end-of-archive marker.
	plain, err := archivetest.Bytes(archivetest.Tar, gz.entries)
	require.NoError(t, err)
	tests := []struct {
		name    string
		content []byte
		// kinds the final decision may have seen; passes the unpack
		// started.
		kinds  []classify.Kind
		passes int
		rule   string
	}{
		{"deflate", flip(gz.data, len(gz.data)/2), []classify.Kind{classify.Decode, classify.Archive}, 1, "corrupt"},
		// Only the CRC-32 sees it: a flip in transit looks the same, so the
		// policy tries once more before it gives up.
		{"gzip crc", flip(stored.data, len(stored.data)/2), []classify.Kind{classify.Checksum}, 2, "checksum-again"},
		{"zstd", flip(zst.data, len(zst.data)/2), []classify.Kind{classify.Decode, classify.Checksum}, 0, ""},
		{"tar cut short", plain[:len(plain)/2/512*512], []classify.Kind{classify.UnexpectedEOF}, 1, "eof-at-full-length"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := start(t, h1, tc.content)
			var r run
			c := newClient(s.Client(h1.proto), &r)
			dir := scratch(t)
			dest := filepath.Join(dir, "tree")
			old := oldTree(t, dest)
			fetch(context.Background(), c, &r, job{url: s.URL, dest: dest, tar: tarx.Options{Replace: true}})

			require.Error(t, r.err)
			var he *httpx.Error
			require.ErrorAs(t, r.err, &he)
			assert.Equal(t, policy.Fail, he.Decision.Action)
			if tc.rule != "" {
				assert.Equal(t, tc.rule, he.Decision.Rule)
			}
			require.NotEmpty(t, r.events)
			last := r.events[len(r.events)-1].Input
			assert.Contains(t, tc.kinds, last.Error.Kind, "%v", r.err)
			assert.False(t, last.Error.CausedByTransport, "nothing went wrong on the wire")
			assert.Equal(t, policy.PhaseUnpack, last.State.Phase)
			if tc.passes > 0 {
				assert.Equal(t, tc.passes, r.passes)
			}
			archivetest.Compare(t, old, dest)
			assert.Empty(t, leftovers(t, dir, "tree"), "staging left behind")
		})
	}
}

// cancelAfter cancels a context once n bytes were read through it, as a
// user pressing Ctrl-C half-way would.
type cancelAfter struct {
	r      io.Reader
	n      int64
	read   atomic.Int64
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if c.read.Add(int64(n)) >= c.n {
		c.cancel()
	}
	return n, err
}

// TestCancelMidway cancels fetches half-way: the error says so, no
// partial tree is at the destination (or the previous one is intact),
// and the staging directory is gone.
func TestCancelMidway(t *testing.T) {
	fx := load(t, bigTarGz)
	for _, m := range []mode{h1, h2c, h2tls} {
		for _, replace := range []bool{false, true} {
			name := m.name + "/new"
			if replace {
				name = m.name + "/replace"
			}
			t.Run(name, func(t *testing.T) {
				s := start(t, m, fx.data)
				var r run
				c := newClient(s.Client(m.proto), &r)
				dir := scratch(t)
				dest := filepath.Join(dir, "tree")
				var old []archivetest.Entry
				if replace {
					old = oldTree(t, dest)
				}
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				wrap := func(r io.Reader) io.Reader { return &cancelAfter{r: r, n: fx.size() / 2, cancel: cancel} }
				fetch(ctx, c, &r, job{url: s.URL, dest: dest, tar: tarx.Options{Replace: replace}, wrap: wrap})

				require.Error(t, r.err)
				assert.ErrorIs(t, r.err, context.Canceled)
				var he *httpx.Error
				require.ErrorAs(t, r.err, &he)
				assert.Equal(t, policy.Fail, he.Decision.Action)
				assert.Equal(t, 1, r.passes, "a canceled fetch is not retried")
				assert.Less(t, r.res.BytesServed, fx.size(), "stopped before the end")
				if replace {
					archivetest.Compare(t, old, dest)
				} else {
					_, err := os.Lstat(dest)
					assert.True(t, errors.Is(err, os.ErrNotExist), "no tree at dest: %v", err)
				}
				assert.Empty(t, leftovers(t, dir, "tree"), "staging left behind")
			})
		}
	}
}
