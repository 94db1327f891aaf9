package archivetest_test

import (
	"archive/tar"
	"bytes"
	"io"
	"testing"

	"github.com/faultline-go/faultline/internal/archivetest"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAttacksBuild(t *testing.T) {
	names := map[string]bool{}
	for _, a := range archivetest.Attacks() {
		assert.False(t, names[a.Name], "duplicate %s", a.Name)
		names[a.Name] = true
		assert.Contains(t, []string{"", "limit", "unsafe_archive", "checksum", "archive"}, a.Kind, a.Name)
		if a.Heavy {
			continue // seconds to build; internal/e2e builds them
		}
		data, err := a.Build()
		require.NoError(t, err, a.Name)
		assert.NotEmpty(t, data, a.Name)
		again, err := a.Build()
		require.NoError(t, err)
		assert.True(t, bytes.Equal(data, again), "%s is deterministic", a.Name)
	}
}

// TestSparseFileReads checks the hand-made sparse headers with
// archive/tar: the name, the logical size and the content, holes as zeros.
func TestSparseFileReads(t *testing.T) {
	regions := []archivetest.Region{{Offset: 3, Data: []byte("abc")}, {Offset: 10000, Data: []byte("xyz")}}
	for i := range 30 { // past the old GNU header's four entries
		regions = append(regions, archivetest.Region{Offset: 20000 + int64(i)*1000, Data: []byte{'0' + byte(i%10)}})
	}
	want := make([]byte, 60000)
	for _, r := range regions {
		copy(want[r.Offset:], r.Data)
	}
	for _, f := range []archivetest.SparseFormat{archivetest.SparsePAX, archivetest.SparseGNU} {
		t.Run(string(f), func(t *testing.T) {
			raw := append(archivetest.SparseFile(f, "s.img", int64(len(want)), regions), archivetest.EndMarker()...)
			tr := tar.NewReader(bytes.NewReader(raw))
			hdr, err := tr.Next()
			require.NoError(t, err)
			assert.Equal(t, "s.img", hdr.Name)
			assert.Equal(t, int64(len(want)), hdr.Size)
			got, err := io.ReadAll(tr)
			require.NoError(t, err)
			assert.True(t, bytes.Equal(want, got))
			_, err = tr.Next()
			assert.Equal(t, io.EOF, err)
		})
	}
}

// TestPaddingDecompressesToNothing checks the padding of the bombs and the
// empty members decode, to nothing, with the reference decoders.
func TestPaddingDecompressesToNothing(t *testing.T) {
	gz := append(archivetest.Padding(archivetest.Gzip, 200<<10), archivetest.EmptyMember(archivetest.Gzip)...)
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	require.NoError(t, err)
	out, err := io.ReadAll(zr)
	require.NoError(t, err)
	assert.Empty(t, out)

	zs := append(archivetest.Padding(archivetest.Zstd, 200<<10), archivetest.EmptyMember(archivetest.Zstd)...)
	zs = append(zs, archivetest.SkippableFrame(5)...)
	zd, err := zstd.NewReader(bytes.NewReader(zs))
	require.NoError(t, err)
	defer zd.Close()
	out, err = io.ReadAll(zd)
	require.NoError(t, err)
	assert.Empty(t, out)
}

func TestZstdWindowFrame(t *testing.T) {
	data := bytes.Repeat([]byte("window"), 50000)
	frame := archivetest.ZstdWindowFrame(20, data)
	zd, err := zstd.NewReader(bytes.NewReader(frame))
	require.NoError(t, err)
	defer zd.Close()
	out, err := io.ReadAll(zd)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(data, out))

	big, err := zstd.NewReader(bytes.NewReader(archivetest.ZstdWindowFrame(31, data)), zstd.WithDecoderMaxWindow(1<<27))
	require.NoError(t, err)
	defer big.Close()
	_, err = io.ReadAll(big)
	assert.ErrorIs(t, err, zstd.ErrWindowSizeExceeded)
}
