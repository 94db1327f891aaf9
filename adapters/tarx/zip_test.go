package tarx_test

import (
	"archive/zip"
	"bytes"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/faultline-go/faultline/adapters/tarx"
	"github.com/faultline-go/faultline/chain"
	"github.com/faultline-go/faultline/classify"
	"github.com/faultline-go/faultline/internal/archivetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func buildZip(t testing.TB, entries []archivetest.ZipEntry, opts archivetest.ZipOptions) []byte {
	t.Helper()
	data, err := archivetest.Zip(entries, opts)
	require.NoError(t, err)
	return data
}

// TestZipLayouts unpacks the same tree from zips in every layout an honest
// writer makes, and compares it file by file: sizes in the local header
// or in a data descriptor, ZIP64 fields, stored, deflate and zstd.
func TestZipLayouts(t *testing.T) {
	tree := archivetest.Tree(31, 120, 512<<10)
	tests := []struct {
		name       string
		method     uint16
		descriptor bool
		zip64      bool
		opts       archivetest.ZipOptions
	}{
		{"deflate", archivetest.ZipDeflate, false, false, archivetest.ZipOptions{}},
		{"deflate streamed", archivetest.ZipDeflate, true, false, archivetest.ZipOptions{Comment: "made by a streaming writer"}},
		{"stored", archivetest.ZipStore, false, false, archivetest.ZipOptions{}},
		{"zstd", archivetest.ZipZstd, false, false, archivetest.ZipOptions{}},
		{"zip64", archivetest.ZipDeflate, false, true, archivetest.ZipOptions{Zip64End: true}},
		{"zip64 streamed", archivetest.ZipDeflate, true, true, archivetest.ZipOptions{Zip64End: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			zs, want := archivetest.ZipTree(tree, tc.method, tc.descriptor)
			for i := range zs {
				zs[i].Zip64 = tc.zip64
			}
			data := buildZip(t, zs, tc.opts)
			l := newLayout(t)
			st, err := extractBytes(t, l, data, tarx.Options{})
			require.NoError(t, err)
			assert.Equal(t, tarx.FormatZip, st.Format)
			assert.Equal(t, int64(len(data)), st.Input)
			archivetest.Compare(t, want, l.dest)
			noStaging(t, l.parent)
		})
	}
}

// TestZipFromArchiveZip unpacks what the standard library's writer makes:
// deflate with data descriptors, modes and a symlink.
func TestZipFromArchiveZip(t *testing.T) {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	add := func(name string, mode fs.FileMode, data string) {
		h := &zip.FileHeader{Name: name, Method: zip.Deflate}
		h.SetMode(mode)
		fw, err := w.CreateHeader(h)
		require.NoError(t, err)
		_, err = io.WriteString(fw, data)
		require.NoError(t, err)
	}
	add("bin/", fs.ModeDir|0o755, "")
	add("bin/tool", 0o755, "#!/bin/sh\necho hi\n")
	add("lib/libx.so.1", 0o644, string(bytes.Repeat([]byte("elf"), 10000)))
	add("lib/libx.so", fs.ModeSymlink|0o777, "libx.so.1")
	require.NoError(t, w.Close())

	l := newLayout(t)
	st, err := extractBytes(t, l, buf.Bytes(), tarx.Options{})
	require.NoError(t, err)
	assert.Equal(t, 2, st.Files)
	assert.Equal(t, 1, st.Symlinks)
	fi, err := os.Stat(filepath.Join(l.dest, "bin", "tool"))
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o755), fi.Mode().Perm())
	target, err := os.Readlink(filepath.Join(l.dest, "lib", "libx.so"))
	require.NoError(t, err)
	assert.Equal(t, "libx.so.1", target)
	got, err := os.ReadFile(filepath.Join(l.dest, "lib", "libx.so"))
	require.NoError(t, err)
	assert.Len(t, got, 30000)
}

// TestZipDOSAttributes: a zip made elsewhere than Unix gets 0644 files,
// 0444 read-only ones, and 0755 directories.
func TestZipDOSAttributes(t *testing.T) {
	data := buildZip(t, []archivetest.ZipEntry{
		{Name: "d/", NoUnixMode: true},
		{Name: "d/f.txt", Data: []byte("x"), NoUnixMode: true, Method: archivetest.ZipDeflate},
	}, archivetest.ZipOptions{})
	l := newLayout(t)
	_, err := extractBytes(t, l, data, tarx.Options{})
	require.NoError(t, err)
	fi, err := os.Stat(filepath.Join(l.dest, "d", "f.txt"))
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o644), fi.Mode().Perm())
	fi, err = os.Stat(filepath.Join(l.dest, "d"))
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o755), fi.Mode().Perm())
}

func TestZipEmpty(t *testing.T) {
	l := newLayout(t)
	st, err := extractBytes(t, l, buildZip(t, nil, archivetest.ZipOptions{}), tarx.Options{})
	require.NoError(t, err)
	assert.Equal(t, tarx.FormatZip, st.Format)
	ents, err := os.ReadDir(l.dest)
	require.NoError(t, err)
	assert.Empty(t, ents)
}

// TestHostileZips runs the hostile-zip corpus: each is refused with its
// kind, nothing is written outside the staging directory, which is gone,
// and an existing destination is untouched.
func TestHostileZips(t *testing.T) {
	for _, c := range archivetest.HostileZips() {
		forNewAndExisting(t, c.Name, func(t *testing.T, l layout, replace bool) {
			before := state(t, l.top)
			_, err := extractBytes(t, l, buildZip(t, c.Entries, c.Options), tarx.Options{Replace: replace, Limits: tarx.Limits{
				Entries: archivetest.TightEntries, FileSize: archivetest.TightFileSize,
				TotalSize: archivetest.TightTotalSize, Ratio: archivetest.TightRatio,
			}})
			require.Error(t, err)
			t.Logf("%v", err)
			assert.Equal(t, classify.Kind(c.Kind), classify.Classify(chain.Walk(err)).Kind, "%v", err)
			assert.Equal(t, "zip", tarxError(t, err).Format)
			assert.Equal(t, before, state(t, l.top))
			noStaging(t, l.parent)
			noVictim(t, c.Victim)
		})
	}
}

// TestZipTruncated cuts a zip everywhere: every cut fails, leaves nothing,
// and says which entry it was in when it was in one.
func TestZipTruncated(t *testing.T) {
	zs, _ := archivetest.ZipTree(archivetest.Tree(32, 20, 64<<10), archivetest.ZipDeflate, true)
	data := buildZip(t, zs, archivetest.ZipOptions{})
	for _, cut := range cuts(len(data), false) {
		l := newLayout(t)
		_, err := extractBytes(t, l, data[:cut], tarx.Options{})
		require.Error(t, err, "cut at %d of %d", cut, len(data))
		assert.True(t, isNotExist(t, l.dest), "cut at %d", cut)
		noStaging(t, l.parent)
	}
}

// TestNotAnArchive: a stream that is not an archive is named for what it
// looks like.
func TestNotAnArchive(t *testing.T) {
	tests := []struct{ data, want string }{
		{"<!DOCTYPE html>\n<html><head><title>Sign in</title>", "not an archive: the data starts with an HTML page"},
		{"  <html lang=en>", "not an archive: the data starts with an HTML page"},
		{`{"error": "not found"}`, "not an archive: the data starts with JSON"},
		{"<?xml version=\"1.0\"?><Error><Code>AccessDenied</Code></Error>", "not an archive: the data starts with an XML document"},
		{"404 page not found\n", `not an archive: the data is text: "404 page not found"`},
		{"\x7fELF\x02\x01\x01", "not an archive: the data starts with an ELF executable"},
		{"7z\xbc\xaf\x27\x1c\x00\x04", "7-Zip archive, which is not supported"},
	}
	for _, tc := range tests {
		l := newLayout(t)
		_, err := extractBytes(t, l, []byte(tc.data), tarx.Options{})
		require.ErrorIs(t, err, tarx.ErrFormat, "%q", tc.data)
		assert.Contains(t, err.Error(), tc.want)
		noStaging(t, l.parent)
	}
}

// FuzzZip feeds mutated zips to Extract: no panic, nothing outside the
// destination, nothing at it on failure.
func FuzzZip(f *testing.F) {
	zs, _ := archivetest.ZipTree(archivetest.Tree(33, 5, 2<<10), archivetest.ZipDeflate, true)
	for _, opts := range []archivetest.ZipOptions{{}, {Zip64End: true}} {
		data, err := archivetest.Zip(zs, opts)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, c := range archivetest.HostileZips() {
		if c.Kind == "limit" {
			continue
		}
		data, err := archivetest.Zip(c.Entries, c.Options)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzOne(t, data, fuzzLimits)
	})
}

// TestZipOnlyReadableFromTheCentralDirectory: a stored entry whose sizes
// come only after its data cannot be delimited while streaming; it is
// refused, saying why and what to do, and nothing is left.
func TestZipOnlyReadableFromTheCentralDirectory(t *testing.T) {
	data := buildZip(t, []archivetest.ZipEntry{{Name: "app.jar", Data: []byte("stored, sized afterwards"), Descriptor: true}}, archivetest.ZipOptions{})
	l := newLayout(t)
	_, err := extractBytes(t, l, data, tarx.Options{})
	require.ErrorIs(t, err, tarx.ErrFormat)
	assert.Contains(t, err.Error(), "whose size is only given after its data, or in the central directory; download the file and unpack it with archive/zip")
	assert.Equal(t, "app.jar", tarxError(t, err).Entry)
	noStaging(t, l.parent)
	assert.True(t, isNotExist(t, l.dest))
}
