package tarx_test

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"testing"

	"github.com/faultline-go/faultline/adapters/tarx"
	"github.com/faultline-go/faultline/internal/archivetest"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cuts returns the offsets to truncate an archive of length n at: the first
// and last bytes one by one (headers, trailers), evenly spread offsets, and
// for plain tar every 512-byte boundary and the byte after it.
func cuts(n int, blocks bool) []int {
	set := map[int]bool{}
	for i := 0; i < 16 && i < n; i++ {
		set[i] = true
		set[n-1-i] = true
	}
	for i := 1; i < 40; i++ {
		set[n*i/40] = true
	}
	if blocks {
		for b := 0; b < n; b += 512 {
			set[b], set[b+1] = true, true
		}
	}
	var out []int
	for c := range set {
		if c >= 0 && c < n {
			out = append(out, c)
		}
	}
	return out
}

// markerEnd returns the offset just past the first zero block of a plain
// tar's end-of-archive marker: tarx accepts any cut from there on.
func markerEnd(t *testing.T, data []byte) int {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(data))
	var end int64
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		_, err = io.Copy(io.Discard, tr)
		require.NoError(t, err)
		_ = hdr
	}
	// archive/tar does not expose its offset; find the marker by scanning
	// for the first zero block after the last header that parses.
	for off := int64(0); off+512 <= int64(len(data)); off += 512 {
		if bytes.Equal(data[off:off+512], make([]byte, 512)) && validPrefix(data[:off]) {
			end = off + 512
			break
		}
	}
	require.NotZero(t, end)
	return int(end)
}

// validPrefix reports whether data is a sequence of complete entries.
func validPrefix(data []byte) bool {
	tr := tar.NewReader(io.MultiReader(bytes.NewReader(data), bytes.NewReader(make([]byte, 1024))))
	n := 0
	for {
		_, err := tr.Next()
		if err == io.EOF {
			return true
		}
		if err != nil {
			return false
		}
		if _, err := io.Copy(io.Discard, tr); err != nil {
			return false
		}
		n++
	}
}

func TestTruncated(t *testing.T) {
	tree := archivetest.Tree(4, 12, 40<<10)
	for _, f := range archivetest.Formats() {
		t.Run(string(f), func(t *testing.T) {
			data := archive(t, f, tree)
			accept := len(data)
			if f == archivetest.Tar {
				accept = markerEnd(t, data)
			}
			l := newLayout(t)
			before := state(t, l.top)
			for _, cut := range cuts(len(data), f == archivetest.Tar) {
				_, err := extractBytes(t, l, data[:cut], tarx.Options{})
				// A stream cut right after the first zero block of the
				// marker, or after both, is complete. Cut inside the second
				// block, archive/tar reports a short read, and that stands.
				if cut == accept || cut >= accept+512 {
					require.NoError(t, err, "cut at %d of %d", cut, len(data))
					archivetest.Compare(t, tree, l.dest)
					require.NoError(t, removeAll(l.dest))
					continue
				}
				require.Error(t, err, "cut at %d of %d", cut, len(data))
				assert.ErrorIs(t, err, io.ErrUnexpectedEOF, "cut at %d of %d", cut, len(data))
				kind := tarxError(t, err).Kind
				assert.Equal(t, "archive", kind, "the unexpected EOF below decides, cut at %d", cut)
				if !assert.Equal(t, before, state(t, l.top), "cut at %d", cut) {
					return
				}
			}
		})
	}
}

func TestChecksum(t *testing.T) {
	tree := []archivetest.Entry{
		{Name: "lib", Type: tar.TypeDir, Mode: 0o755},
		{Name: "lib/libpython3.so", Type: tar.TypeReg, Mode: 0o755, Data: bytes.Repeat([]byte("MARKER-payload "), 4000)},
	}
	stored := archive(t, archivetest.GzipStored, tree)
	zst := archive(t, archivetest.Zstd, tree)
	tests := []struct {
		name   string
		data   []byte
		flip   int // offset of the byte to flip
		format string
		is     error
	}{
		// A bit flipped in a stored block's payload decodes fine; only
		// the CRC-32 in the trailer, read after the tar marker, catches it.
		{"gzip payload", stored, bytes.Index(stored, []byte("MARKER")) + 3, "gzip", gzip.ErrChecksum},
		{"gzip trailer crc", stored, len(stored) - 8, "gzip", gzip.ErrChecksum},
		{"gzip trailer size", stored, len(stored) - 2, "gzip", gzip.ErrChecksum},
		{"zstd checksum", zst, len(zst) - 1, "zstd", zstd.ErrCRCMismatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Greater(t, tc.flip, 0)
			data := bytes.Clone(tc.data)
			data[tc.flip] ^= 0x20
			l := newLayout(t)
			before := state(t, l.top)
			_, err := extractBytes(t, l, data, tarx.Options{})
			require.ErrorIs(t, err, tc.is)
			e := tarxError(t, err)
			assert.Equal(t, "checksum", e.Kind)
			assert.Equal(t, tc.format, e.Format)
			assert.Equal(t, before, state(t, l.top))
			noStaging(t, l.parent)
		})
	}
}

// TestTrailing checks what may follow the end-of-archive marker.
func TestTrailing(t *testing.T) {
	tree := archivetest.Tree(5, 5, 4<<10)
	data := archive(t, archivetest.Tar, tree)
	tests := []struct {
		name  string
		extra []byte
		err   error
	}{
		{"record padding", make([]byte, 20*512), nil},
		{"too much", make([]byte, 5<<20), tarx.ErrLimit},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newLayout(t)
			_, err := extractBytes(t, l, append(bytes.Clone(data), tc.extra...), tarx.Options{})
			if tc.err == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tc.err)
			assert.True(t, isNotExist(t, l.dest))
		})
	}
}

func removeAll(dir string) error {
	if err := chmodTree(dir); err != nil {
		return fmt.Errorf("chmod: %w", err)
	}
	return osRemoveAll(dir)
}
