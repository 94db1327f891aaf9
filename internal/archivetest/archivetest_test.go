package archivetest_test

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/faultline-go/faultline/internal/archivetest"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTreeDeterministic(t *testing.T) {
	a, err := archivetest.Bytes(archivetest.Tar, archivetest.Tree(1, 200, 1<<20))
	require.NoError(t, err)
	b, err := archivetest.Bytes(archivetest.Tar, archivetest.Tree(1, 200, 1<<20))
	require.NoError(t, err)
	c, err := archivetest.Bytes(archivetest.Tar, archivetest.Tree(2, 200, 1<<20))
	require.NoError(t, err)
	assert.True(t, bytes.Equal(a, b), "same seed, same bytes")
	assert.False(t, bytes.Equal(a, c), "another seed, another tree")
}

func TestTreeShape(t *testing.T) {
	for _, tc := range []struct {
		files int
		bytes int64
	}{{1, 0}, {10, 1000}, {300, 4 << 20}} {
		t.Run(fmt.Sprint(tc.files), func(t *testing.T) {
			tree := archivetest.Tree(3, tc.files, tc.bytes)
			seen := map[string]int{}
			var files int
			var total int64
			count := map[byte]int{}
			formats := map[tar.Format]bool{}
			longest := 0
			all := map[string]bool{}
			for _, e := range tree {
				all[e.Name] = true
			}
			for i, e := range tree {
				count[e.Type]++
				formats[e.Format] = true
				longest = max(longest, len(e.Name))
				_, dup := seen[e.Name]
				assert.False(t, dup, "duplicate %s", e.Name)
				seen[e.Name] = i
				if d := path.Dir(e.Name); d != "." {
					j, ok := seen[d]
					assert.True(t, ok && j < i, "%s comes before its directory", e.Name)
				}
				switch e.Type {
				case tar.TypeReg:
					files++
					total += int64(len(e.Data))
				case tar.TypeLink:
					j, ok := seen[e.Linkname]
					assert.True(t, ok && j < i && tree[j].Type == tar.TypeReg, "hard link %s before its target %s", e.Name, e.Linkname)
				case tar.TypeSymlink:
					assert.False(t, strings.HasPrefix(e.Linkname, "/"), "absolute symlink %s", e.Linkname)
					resolved := path.Join(path.Dir(e.Name), e.Linkname)
					assert.True(t, all[resolved], "symlink %s -> %s dangles", e.Name, e.Linkname)
				}
			}
			assert.Equal(t, tc.files, files)
			assert.InDelta(t, tc.bytes, total, float64(tc.files), "sizes are scaled to the total")
			assert.Positive(t, count[tar.TypeDir])
			assert.Positive(t, count[tar.TypeSymlink])
			if tc.files >= 300 {
				assert.Positive(t, count[tar.TypeLink])
				assert.Greater(t, longest, 100, "some names need PAX or GNU headers")
				assert.True(t, formats[tar.FormatPAX] && formats[tar.FormatGNU], "both long-name formats are used")
			}
		})
	}
}

// TestWriteFormats reads every format back with the reference decoders.
func TestWriteFormats(t *testing.T) {
	tree := archivetest.Tree(4, 40, 128<<10)
	for _, f := range []archivetest.Format{archivetest.Tar, archivetest.Gzip, archivetest.GzipStored, archivetest.Zstd} {
		t.Run(string(f), func(t *testing.T) {
			data, err := archivetest.Bytes(f, tree)
			require.NoError(t, err)
			var r io.Reader = bytes.NewReader(data)
			switch f {
			case archivetest.Gzip, archivetest.GzipStored:
				zr, err := gzip.NewReader(r)
				require.NoError(t, err)
				r = zr
			case archivetest.Zstd:
				zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1))
				require.NoError(t, err)
				defer zr.Close()
				r = zr
			}
			tr := tar.NewReader(r)
			for i := 0; ; i++ {
				hdr, err := tr.Next()
				if err == io.EOF {
					assert.Equal(t, len(tree), i)
					break
				}
				require.NoError(t, err)
				assert.Equal(t, strings.TrimSuffix(hdr.Name, "/"), tree[i].Name)
				body, err := io.ReadAll(tr)
				require.NoError(t, err)
				if tree[i].Type == tar.TypeReg {
					assert.True(t, bytes.Equal(tree[i].Data, body), "%s content", hdr.Name)
				}
			}
			if f == archivetest.GzipStored {
				assert.Greater(t, len(data), 128<<10, "stored blocks do not compress")
			}
		})
	}
}

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}
func (r *recorder) Fatalf(format string, args ...any) { r.Errorf(format, args...); panic("fatal") }

// materialize writes entries to dir the plain way, as a reference
// extraction for Compare to judge.
func materialize(t *testing.T, dir string, entries []archivetest.Entry) {
	t.Helper()
	var dirs []archivetest.Entry
	for _, e := range entries {
		p := filepath.Join(dir, filepath.FromSlash(e.Name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		switch e.Type {
		case tar.TypeDir:
			require.NoError(t, os.MkdirAll(p, 0o755))
			dirs = append(dirs, e)
		case tar.TypeReg:
			require.NoError(t, os.WriteFile(p, e.Data, 0o600))
			require.NoError(t, os.Chmod(p, fs.FileMode(e.Mode)&fs.ModePerm))
			require.NoError(t, os.Chtimes(p, e.ModTime, e.ModTime))
		case tar.TypeSymlink:
			require.NoError(t, os.Symlink(e.Linkname, p))
		case tar.TypeLink:
			require.NoError(t, os.Link(filepath.Join(dir, filepath.FromSlash(e.Linkname)), p))
		}
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		p := filepath.Join(dir, filepath.FromSlash(dirs[i].Name))
		require.NoError(t, os.Chmod(p, fs.FileMode(dirs[i].Mode)&fs.ModePerm))
		require.NoError(t, os.Chtimes(p, dirs[i].ModTime, dirs[i].ModTime))
	}
}

func TestCompare(t *testing.T) {
	tree := archivetest.Tree(5, 30, 64<<10)
	var file, link, dir string
	for _, e := range tree {
		switch {
		case e.Type == tar.TypeReg && len(e.Data) > 0 && file == "" && e.Mode&0o200 != 0:
			file = e.Name
		case e.Type == tar.TypeSymlink && link == "":
			link = e.Name
		case e.Type == tar.TypeDir && e.Mode == 0o755 && dir == "":
			dir = e.Name
		}
	}
	require.NotEmpty(t, file)
	require.NotEmpty(t, link)
	require.NotEmpty(t, dir)
	tests := []struct {
		name   string
		mutate func(root string) error
		want   string // a substring of the reported difference, "" for none
	}{
		{"identical", func(string) error { return nil }, ""},
		{"content", func(r string) error { return os.WriteFile(filepath.Join(r, file), []byte("other"), 0o644) }, "content differs"},
		{"mode", func(r string) error { return os.Chmod(filepath.Join(r, file), 0o600|fs.ModeSetuid) }, "mode"},
		{"mtime", func(r string) error { return os.Chtimes(filepath.Join(r, file), archivetestEpoch, archivetestEpoch) }, "modified"},
		{"symlink target", func(r string) error {
			if err := os.Remove(filepath.Join(r, link)); err != nil {
				return err
			}
			return os.Symlink("elsewhere", filepath.Join(r, link))
		}, "symlink to"},
		{"missing", func(r string) error { return os.Remove(filepath.Join(r, link)) }, "missing"},
		{"extra", func(r string) error { return os.WriteFile(filepath.Join(r, dir, "extra"), nil, 0o644) }, "not in the archive"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			materialize(t, root, tree)
			require.NoError(t, os.Chmod(filepath.Join(root, dir), 0o755))
			require.NoError(t, tc.mutate(root))
			if tc.name == "extra" {
				// Restore the directory's time the new file disturbed.
				var mt = tree[indexOf(tree, dir)].ModTime
				require.NoError(t, os.Chtimes(filepath.Join(root, dir), mt, mt))
			}
			rec := &recorder{TB: t}
			archivetest.Compare(rec, tree, root)
			if tc.want == "" {
				assert.Empty(t, rec.errs)
				return
			}
			require.NotEmpty(t, rec.errs, "Compare missed the change")
			assert.Contains(t, strings.Join(rec.errs, "\n"), tc.want)

			// CompareDirs sees it too, against an untouched copy.
			ref := t.TempDir()
			materialize(t, ref, tree)
			rec = &recorder{TB: t}
			archivetest.CompareDirs(rec, ref, root)
			assert.NotEmpty(t, rec.errs, "CompareDirs missed the change")
		})
	}
}

var archivetestEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

func indexOf(entries []archivetest.Entry, name string) int {
	for i, e := range entries {
		if e.Name == name {
			return i
		}
	}
	return -1
}

func TestHostileCorpus(t *testing.T) {
	names := map[string]bool{}
	for _, c := range archivetest.Hostile() {
		assert.False(t, names[c.Name], "duplicate case %s", c.Name)
		names[c.Name] = true
		assert.Contains(t, []string{"unsafe_archive", "limit"}, c.Kind, c.Name)
		if c.Kind == "limit" {
			assert.Contains(t, []string{"entries", "file_size", "total_size", "ratio"}, c.Limit, c.Name)
		}
		data, err := archivetest.Bytes(c.Format, c.Entries)
		require.NoError(t, err, c.Name)
		assert.NotEmpty(t, data)
	}
}

func ExampleTree() {
	tree := archivetest.Tree(1, 100, 1<<20)
	count := map[byte]int{}
	for _, e := range tree {
		count[e.Type]++
	}
	fmt.Println("files:", count[tar.TypeReg], "symlinks:", count[tar.TypeSymlink], "hard links:", count[tar.TypeLink])
	data, _ := archivetest.Bytes(archivetest.Tar, tree)
	again, _ := archivetest.Bytes(archivetest.Tar, archivetest.Tree(1, 100, 1<<20))
	fmt.Println("reproducible:", bytes.Equal(data, again))
	// Output:
	// files: 100 symlinks: 2 hard links: 2
	// reproducible: true
}
