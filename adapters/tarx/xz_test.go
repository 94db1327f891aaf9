package tarx_test

import (
	"bytes"
	"testing"

	"github.com/faultline-go/faultline/adapters/tarx"
	"github.com/faultline-go/faultline/chain"
	"github.com/faultline-go/faultline/classify"
	"github.com/faultline-go/faultline/internal/archivetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestXzAndBzip2Damage cuts and corrupts tar.xz (one stream, and several
// blocks from the xz tool) and tar.bz2: every cut and every flipped byte
// fails, leaves nothing, and classifies as a truncation or as corrupt
// data, never as something to unpack.
func TestXzAndBzip2Damage(t *testing.T) {
	tree := archivetest.Tree(41, 12, 48<<10)
	for _, f := range []archivetest.Format{archivetest.Xz, archivetest.XzCLI, archivetest.Bzip2} {
		t.Run(string(f), func(t *testing.T) {
			data := archive(t, f, tree)
			l := newLayout(t)
			before := state(t, l.top)
			for i := 0; i < 14; i++ {
				cut := len(data) * i / 14
				if i == 0 {
					cut = 3 // inside the header
				}
				_, err := extractBytes(t, l, data[:cut], tarx.Options{})
				require.Error(t, err, "cut at %d of %d", cut, len(data))
				kind := classify.Classify(chain.Walk(err)).Kind
				assert.Contains(t, []classify.Kind{classify.UnexpectedEOF, classify.Archive}, kind, "cut at %d: %v", cut, err)
			}
			for i := 1; i < 12; i++ {
				at := len(data) * i / 12
				bad := bytes.Clone(data)
				bad[at] ^= 0x10
				_, err := extractBytes(t, l, bad, tarx.Options{})
				require.Error(t, err, "flip at %d of %d", at, len(data))
				kind := classify.Classify(chain.Walk(err)).Kind
				assert.Contains(t, []classify.Kind{classify.Checksum, classify.Archive, classify.Decode, classify.UnexpectedEOF}, kind, "flip at %d: %v", at, err)
			}
			assert.Equal(t, before, state(t, l.top))
			noStaging(t, l.parent)
		})
	}
}

// TestXzDictionaryBound: an xz block asking for a dictionary above
// Limits.Window is refused before the dictionary is allocated.
func TestXzDictionaryBound(t *testing.T) {
	// xz -6 uses an 8 MiB dictionary.
	data := archive(t, archivetest.XzCLI, archivetest.Tree(42, 5, 4<<10))
	l := newLayout(t)
	_, err := extractBytes(t, l, data, tarx.Options{Limits: tarx.Limits{Window: 8 << 20}})
	require.NoError(t, err, "at the bound")
	_, err = extractBytes(t, newLayout(t), data, tarx.Options{Limits: tarx.Limits{Window: 8<<20 - 1}})
	require.ErrorIs(t, err, tarx.ErrLimit)
	assert.Contains(t, err.Error(), "dictionary")
	assert.Equal(t, classify.Limit, classify.Classify(chain.Walk(err)).Kind)
}

// TestXzConcatenated: xz streams may follow one another, with stream
// padding between them.
func TestXzConcatenated(t *testing.T) {
	tree := archivetest.Tree(43, 10, 32<<10)
	raw := archive(t, archivetest.Tar, tree)
	a, err := archivetest.Compress(archivetest.Xz, raw[:len(raw)/2])
	require.NoError(t, err)
	b, err := archivetest.Compress(archivetest.Xz, raw[len(raw)/2:])
	require.NoError(t, err)
	data := append(append(append([]byte(nil), a...), make([]byte, 8)...), b...)
	l := newLayout(t)
	_, err = extractBytes(t, l, data, tarx.Options{})
	require.NoError(t, err)
	archivetest.Compare(t, tree, l.dest)

	bad := append(append(append([]byte(nil), a...), make([]byte, 3)...), b...)
	_, err = extractBytes(t, newLayout(t), bad, tarx.Options{})
	require.Error(t, err, "stream padding must be a multiple of four bytes")
}

// FuzzXz and FuzzBzip2 feed mutated tar.xz and tar.bz2 to Extract, which
// reads the xz container itself.
func FuzzXz(f *testing.F) {
	for _, format := range []archivetest.Format{archivetest.Xz, archivetest.XzCLI} {
		data, err := archivetest.Bytes(format, archivetest.Tree(44, 4, 2<<10))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) { fuzzOne(t, data, fuzzLimits) })
}

func FuzzBzip2(f *testing.F) {
	data, err := archivetest.Bytes(archivetest.Bzip2, archivetest.Tree(45, 4, 2<<10))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Fuzz(func(t *testing.T, data []byte) { fuzzOne(t, data, fuzzLimits) })
}
