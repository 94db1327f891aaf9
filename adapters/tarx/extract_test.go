package tarx_test

import (
	"archive/tar"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/faultline-go/faultline/adapters/tarx"
	"github.com/faultline-go/faultline/internal/archivetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestExtractFormats(t *testing.T) {
	big := archivetest.Tree(1, 150, 3<<20)
	// xz and bzip2 decode at a few MB/s under the race detector.
	small := archivetest.Tree(1, 40, 256<<10)
	for _, f := range []archivetest.Format{archivetest.Tar, archivetest.Gzip, archivetest.GzipStored, archivetest.Zstd,
		archivetest.Xz, archivetest.XzCLI, archivetest.Bzip2} {
		t.Run(string(f), func(t *testing.T) {
			tree := big
			switch f {
			case archivetest.Xz, archivetest.XzCLI, archivetest.Bzip2:
				tree = small
			}
			var files, dirs, symlinks, hardlinks int
			var bytes int64
			for _, e := range tree {
				switch e.Type {
				case tar.TypeReg:
					files++
					bytes += int64(len(e.Data))
				case tar.TypeDir:
					dirs++
				case tar.TypeSymlink:
					symlinks++
				case tar.TypeLink:
					hardlinks++
				}
			}
			l := newLayout(t)
			data := archive(t, f, tree)
			st, err := extractBytes(t, l, data, tarx.Options{})
			require.NoError(t, err)
			archivetest.Compare(t, tree, l.dest)
			noStaging(t, l.parent)
			assert.Equal(t, len(tree), st.Entries)
			assert.Equal(t, files, st.Files)
			assert.Equal(t, dirs, st.Dirs)
			assert.Equal(t, symlinks, st.Symlinks)
			assert.Equal(t, hardlinks, st.Hardlinks)
			assert.Equal(t, bytes, st.Bytes)
			assert.Equal(t, int64(len(data)), st.Input, "the whole input is read")
			want := tarx.Format(f)
			switch f {
			case archivetest.GzipStored:
				want = tarx.FormatGzip
			case archivetest.XzCLI:
				want = tarx.FormatXz
			}
			assert.Equal(t, want, st.Format)
		})
	}
}

// TestExtractLikeGNUTar unpacks the same archive with GNU tar and with tarx
// and compares the trees, so the generator and Compare are not the only
// judges.
func TestExtractLikeGNUTar(t *testing.T) {
	gnutar, err := exec.LookPath("tar")
	if err != nil {
		t.Skip("no tar in PATH")
	}
	tree := archivetest.Tree(2, 80, 1<<20)
	data := archive(t, archivetest.Gzip, tree)
	l := newLayout(t)
	src := filepath.Join(l.top, "archive.tar.gz")
	require.NoError(t, os.WriteFile(src, data, 0o644))
	want := filepath.Join(l.top, "gnu")
	require.NoError(t, os.Mkdir(want, 0o755))
	out, err := exec.Command(gnutar, "-xzpf", src, "-C", want).CombinedOutput()
	require.NoError(t, err, "%s", out)

	_, err = extractBytes(t, l, data, tarx.Options{})
	require.NoError(t, err)
	archivetest.CompareDirs(t, want, l.dest)
}

func TestExtractKeepsModesAndTimes(t *testing.T) {
	entries := []archivetest.Entry{
		{Name: "./", Type: tar.TypeDir, Mode: 0o750},
		{Name: "ro", Type: tar.TypeDir, Mode: 0o555},
		{Name: "ro/inside", Type: tar.TypeReg, Mode: 0o640, Data: []byte("x")},
		{Name: "suid", Type: tar.TypeReg, Mode: 0o4755, Data: []byte("#!/bin/sh\n")},
		{Name: "sgid-dir", Type: tar.TypeDir, Mode: 0o2775},
		{Name: "sticky", Type: tar.TypeDir, Mode: 0o1777},
		{Name: "ro/../late", Type: tar.TypeReg, Mode: 0o644, Data: []byte("y")},
	}
	l := newLayout(t)
	_, err := extractBytes(t, l, archive(t, archivetest.Tar, entries[:6]), tarx.Options{})
	require.NoError(t, err)
	archivetest.Compare(t, entries[:6], l.dest)
	fi, err := os.Stat(l.dest)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o750), fi.Mode().Perm(), "the archive's ./ entry sets dest's mode")
}

func TestExtractOverwritesEarlierEntries(t *testing.T) {
	entries := []archivetest.Entry{
		{Name: "a", Type: tar.TypeReg, Mode: 0o644, Data: []byte("first")},
		{Name: "l", Type: tar.TypeSymlink, Linkname: "a"},
		{Name: "a", Type: tar.TypeReg, Mode: 0o600, Data: []byte("second")},
		// A file replacing a symlink must replace the link, not write
		// through it.
		{Name: "l", Type: tar.TypeReg, Mode: 0o644, Data: []byte("third")},
	}
	l := newLayout(t)
	_, err := extractBytes(t, l, archive(t, archivetest.Tar, entries), tarx.Options{})
	require.NoError(t, err)
	archivetest.Compare(t, entries, l.dest)
}

func TestExtractExistingDest(t *testing.T) {
	data := archive(t, archivetest.Gzip, archivetest.Tree(3, 20, 64<<10))
	for _, tc := range []struct {
		name    string
		replace bool
	}{{"refused", false}, {"replaced", true}} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLayout(t)
			require.NoError(t, os.Mkdir(l.dest, 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(l.dest, "old.txt"), []byte("old"), 0o644))
			before := state(t, l.top)
			st, err := extractBytes(t, l, data, tarx.Options{Replace: tc.replace})
			noStaging(t, l.parent)
			if !tc.replace {
				require.ErrorIs(t, err, tarx.ErrExist)
				require.ErrorIs(t, err, os.ErrExist)
				assert.Equal(t, before, state(t, l.top))
				assert.Zero(t, st.Input, "refused before reading")
				return
			}
			require.NoError(t, err)
			assert.True(t, isNotExist(t, filepath.Join(l.dest, "old.txt")), "the old tree is gone")
			archivetest.Compare(t, archivetest.Tree(3, 20, 64<<10), l.dest)
		})
	}
}

func TestExtractEmptyAndGarbage(t *testing.T) {
	tests := []struct {
		name  string
		input []byte
		is    error
		kind  string
	}{
		{"empty", nil, io.ErrUnexpectedEOF, "archive"},
		{"one zero block short", make([]byte, 511), io.ErrUnexpectedEOF, "archive"},
		{"garbage", []byte("this is not an archive at all, not even close, but long enough to fill a header block........" + string(make([]byte, 600))), tarx.ErrFormat, "archive"},
		{"bad tar checksum", func() []byte {
			b := archivetest.Header("f", tar.TypeReg, 0, 0o644)
			b[148] ^= 1
			copy(b[257:], "xxxxx") // no magic either
			return append(b, make([]byte, 1024)...)
		}(), tarx.ErrFormat, "archive"},
		{"xz cut short", []byte{0xfd, '7', 'z', 'X', 'Z', 0, 0, 0}, io.ErrUnexpectedEOF, "archive"},
		{"bzip2 cut short", []byte("BZh91AY&SY"), io.ErrUnexpectedEOF, "archive"},
		{"bad gzip header", []byte{0x1f, 0x8b, 99, 0, 0, 0, 0, 0, 0, 0}, nil, "archive"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newLayout(t)
			before := state(t, l.top)
			_, err := extractBytes(t, l, tc.input, tarx.Options{})
			require.Error(t, err)
			if tc.is != nil {
				assert.ErrorIs(t, err, tc.is)
			}
			assert.Equal(t, tc.kind, attrs(t, err).Kind)
			assert.Equal(t, before, state(t, l.top))
		})
	}
}

func TestDetect(t *testing.T) {
	tests := []struct {
		head []byte
		want tarx.Format
		err  bool
	}{
		{[]byte{0x1f, 0x8b, 8, 0}, tarx.FormatGzip, false},
		{[]byte{0x28, 0xb5, 0x2f, 0xfd, 0}, tarx.FormatZstd, false},
		{[]byte{0x50, 0x2a, 0x4d, 0x18, 0}, tarx.FormatZstd, false}, // skippable frame
		{archivetest.Header("f", tar.TypeReg, 0, 0o644), tarx.FormatTar, false},
		{make([]byte, 512), tarx.FormatTar, false},           // an empty archive
		{[]byte("f\x00\x00\x00\x00"), tarx.FormatTar, false}, // a header cut short
		{nil, tarx.FormatTar, false},
		{[]byte{0xfd, '7', 'z', 'X', 'Z', 0}, tarx.FormatXz, false},
		{[]byte("PK\x03\x04"), tarx.FormatZip, false},
		{[]byte("PK\x05\x06"), tarx.FormatZip, false},
		{[]byte("BZh9"), tarx.FormatBzip2, false},
		{[]byte("BZhx"), tarx.FormatTar, false}, // could be a tar name cut short
		{[]byte("<html>"), "", true},
	}
	for _, tc := range tests {
		got, err := tarx.Detect(tc.head)
		if tc.err {
			assert.ErrorIs(t, err, tarx.ErrFormat, "%x", tc.head)
			continue
		}
		assert.NoError(t, err, "%x", tc.head)
		assert.Equal(t, tc.want, got, "%x", tc.head)
	}
}

func TestExtractCanceledBeforeStart(t *testing.T) {
	l := newLayout(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := tarx.Extract(ctx, eofReader{}, l.dest, tarx.Options{})
	require.ErrorIs(t, err, context.Canceled)
	noStaging(t, l.parent)
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

func TestConflicts(t *testing.T) {
	file := func(name string) archivetest.Entry {
		return archivetest.Entry{Name: name, Type: tar.TypeReg, Mode: 0o644, Data: []byte(name)}
	}
	dir := func(name string) archivetest.Entry {
		return archivetest.Entry{Name: name, Type: tar.TypeDir, Mode: 0o755}
	}
	tests := []struct {
		name    string
		entries []archivetest.Entry
		entry   string
	}{
		{"file then path through it", []archivetest.Entry{file("a"), file("a/b")}, "a/b"},
		{"directory then file", []archivetest.Entry{dir("a"), file("a")}, "a"},
		{"file then directory", []archivetest.Entry{file("a"), dir("a")}, "a/"},
		{"hard link to a directory", []archivetest.Entry{dir("a"), {Name: "h", Type: tar.TypeLink, Linkname: "a"}}, "h"},
		{"hard link to nothing", []archivetest.Entry{{Name: "h", Type: tar.TypeLink, Linkname: "missing"}}, "h"},
		{"file named dot", []archivetest.Entry{file(".")}, "."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newLayout(t)
			before := state(t, l.top)
			_, err := extractBytes(t, l, archive(t, archivetest.Tar, tc.entries), tarx.Options{})
			require.Error(t, err)
			e := tarxError(t, err)
			assert.Equal(t, tc.entry, e.Entry)
			if tc.name != "hard link to nothing" {
				assert.Equal(t, "archive", e.Kind, "%v", err)
			} else {
				assert.ErrorIs(t, err, os.ErrNotExist)
			}
			assert.Equal(t, before, state(t, l.top))
		})
	}
}

// TestDestAppearsMeanwhile checks the final rename never overwrites a
// destination created while the archive was being read.
func TestDestAppearsMeanwhile(t *testing.T) {
	l := newLayout(t)
	data := archive(t, archivetest.Gzip, archivetest.Tree(9, 20, 256<<10))
	r := &hookReader{data: data, at: len(data) / 2, hook: func() {
		require.NoError(t, os.Mkdir(l.dest, 0o700))
		require.NoError(t, os.WriteFile(filepath.Join(l.dest, "theirs"), []byte("theirs"), 0o644))
	}}
	_, err := tarx.Extract(context.Background(), r, l.dest, tarx.Options{})
	require.ErrorIs(t, err, tarx.ErrExist)
	got, err := os.ReadFile(filepath.Join(l.dest, "theirs"))
	require.NoError(t, err)
	assert.Equal(t, "theirs", string(got))
	noStaging(t, l.parent)
}

func TestReplaceFile(t *testing.T) {
	l := newLayout(t)
	require.NoError(t, os.WriteFile(l.dest, []byte("a file"), 0o644))
	tree := archivetest.Tree(10, 10, 16<<10)
	_, err := extractBytes(t, l, archive(t, archivetest.Zstd, tree), tarx.Options{Replace: true})
	require.NoError(t, err)
	archivetest.Compare(t, tree, l.dest)
	noStaging(t, l.parent)
}

// hookReader serves data in small reads and calls hook once, after at bytes.
type hookReader struct {
	data []byte
	off  int
	at   int
	hook func()
}

func (h *hookReader) Read(p []byte) (int, error) {
	if h.off >= len(h.data) {
		return 0, io.EOF
	}
	if h.hook != nil && h.off >= h.at {
		h.hook()
		h.hook = nil
	}
	n := copy(p[:min(len(p), 4096)], h.data[h.off:])
	h.off += n
	return n, nil
}
