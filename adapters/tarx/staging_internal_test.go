package tarx

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReplaceAside covers the Replace path used where renameat2 cannot
// swap: Linux takes the atomic path, so it is driven directly.
func TestReplaceAside(t *testing.T) {
	parent := t.TempDir()
	dest := filepath.Join(parent, "dest")
	require.NoError(t, os.Mkdir(dest, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dest, "old"), []byte("old"), 0o644))

	st, err := newStaging(parent, "dest")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(st.tree, "new"), []byte("new"), 0o644))
	require.NoError(t, st.replaceAside(dest))

	got, err := os.ReadFile(filepath.Join(dest, "new"))
	require.NoError(t, err)
	assert.Equal(t, "new", string(got))
	old, err := os.ReadFile(filepath.Join(st.dir, asideName, "old"))
	require.NoError(t, err, "the old tree waits in the staging directory")
	assert.Equal(t, "old", string(old))
	require.NoError(t, st.remove())
	ents, err := os.ReadDir(parent)
	require.NoError(t, err)
	assert.Len(t, ents, 1, "only dest is left")
}

// TestReplaceAsideRestores checks the old tree comes back when the new one
// cannot be moved in.
func TestReplaceAsideRestores(t *testing.T) {
	parent := t.TempDir()
	dest := filepath.Join(parent, "dest")
	require.NoError(t, os.Mkdir(dest, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dest, "old"), []byte("old"), 0o644))
	st, err := newStaging(parent, "dest")
	require.NoError(t, err)
	defer st.remove()
	require.NoError(t, os.RemoveAll(st.tree)) // nothing to move in

	require.Error(t, st.replaceAside(dest))
	got, err := os.ReadFile(filepath.Join(dest, "old"))
	require.NoError(t, err)
	assert.Equal(t, "old", string(got))
}

func TestTarStreamTrack(t *testing.T) {
	// Feed a stream in reads of awkward sizes and check the last complete
	// block is always the right one.
	data := make([]byte, 10*blockSize+77)
	for i := range data {
		data[i] = byte(i * 7)
	}
	for _, size := range []int{1, 7, 511, 512, 513, 1024, 3000} {
		var s tarStream
		for off := 0; off < len(data); off += size {
			chunk := data[off:min(off+size, len(data))]
			s.track(chunk)
			s.n += int64(len(chunk))
			end := s.n &^ (blockSize - 1)
			if end == 0 {
				assert.Zero(t, s.lastEnd)
				continue
			}
			assert.Equal(t, end, s.lastEnd, "size %d at %d", size, s.n)
			assert.Equal(t, data[end-blockSize:end], s.last[:], "size %d at %d", size, s.n)
		}
	}
}
