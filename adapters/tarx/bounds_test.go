package tarx_test

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/faultline-go/faultline/adapters/tarx"
	"github.com/faultline-go/faultline/chain"
	"github.com/faultline-go/faultline/classify"
	"github.com/faultline-go/faultline/internal/archivetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// peakLiveHeap runs f while sampling the live Go heap (as of the last
// garbage collection, so garbage not yet collected does not count), and
// returns the most it grew above what it was before f.
func peakLiveHeap(t *testing.T, f func()) uint64 {
	t.Helper()
	live := func() uint64 {
		s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		metrics.Read(s)
		return s[0].Value.Uint64()
	}
	runtime.GC()
	base := live()
	stop, done := make(chan struct{}), make(chan uint64)
	go func() {
		var peak uint64
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			peak = max(peak, live())
			select {
			case <-stop:
				done <- peak
				return
			case <-tick.C:
			}
		}
	}()
	f()
	runtime.GC() // a last look, in case f was quicker than the ticker
	close(stop)
	peak := <-done
	if peak < base {
		return 0
	}
	return peak - base
}

// TestPAXOnDirectoriesIsNotKept is issue 9's finding 2: directory headers
// were kept to the end, with their extended records, so 1 MB records on
// every directory held a megabyte each. Only the name, mode and times may
// be kept.
func TestPAXOnDirectoriesIsNotKept(t *testing.T) {
	const dirs, record = 150, 1000 << 10
	data, err := archivetest.PAXDirBomb(archivetest.Zstd, dirs, record, 0)
	require.NoError(t, err)
	t.Logf("%d directories with a %d-byte record each: %d bytes of tar.zst", dirs, record, len(data))
	l := newLayout(t)
	var st tarx.Stats
	grew := peakLiveHeap(t, func() {
		// The bomb as built compresses beyond the ratio limit; the
		// attack does not need to (see archivetest.PAXDirBomb).
		st, err = extractBytes(t, l, data, tarx.Options{Limits: tarx.Limits{Ratio: -1}})
	})
	require.NoError(t, err)
	assert.Equal(t, dirs, st.Dirs)
	t.Logf("heap grew by %d MiB at most", grew>>20)
	// A record is read whole (archive/tar holds it while parsing), so a
	// few are alive at a time; 150 kept would be 150 MB.
	assert.Less(t, grew, uint64(32<<20), "directory headers are kept with their records")
}

// TestExtendedHeaderBound checks MaxHeader at the bound: an extended header
// just under it unpacks, one just over it is refused as a limit.
func TestExtendedHeaderBound(t *testing.T) {
	for _, tc := range []struct {
		name string
		size int
		ok   bool
	}{{"at the bound", tarx.MaxHeader, true}, {"over it", tarx.MaxHeader + 1, false}} {
		t.Run(tc.name, func(t *testing.T) {
			// "1048576 comment=ccc…\n": 8 digits, the key, the newline.
			rec := archivetest.PAXRecord("comment", strings.Repeat("c", tc.size-len("1048576 comment=\n")))
			require.Len(t, rec, tc.size)
			raw := archivetest.PAXHeader(rec)
			raw = append(raw, archivetest.Header("f", tar.TypeReg, 0, 0o644)...)
			raw = append(raw, archivetest.EndMarker()...)
			l := newLayout(t)
			_, err := extractBytes(t, l, raw, tarx.Options{})
			if tc.ok {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tarx.ErrLimit)
			assert.Equal(t, classify.Limit, classify.Classify(chain.Walk(err)).Kind)
			noStaging(t, l.parent)
		})
	}
}

// TestSparseCountsLogicalSize is issue 9's finding 3: a sparse file of 4
// GiB, a few hundred bytes in the archive, was written out as 4 GiB of
// zeros. Its holes now count against the ratio limit, so the default
// limits stop it after a few megabytes.
func TestSparseCountsLogicalSize(t *testing.T) {
	for _, f := range []archivetest.SparseFormat{archivetest.SparsePAX, archivetest.SparseGNU} {
		t.Run(string(f), func(t *testing.T) {
			raw := archivetest.SparseFile(f, "huge", 4<<30, []archivetest.Region{{Offset: 4<<30 - 512, Data: bytes.Repeat([]byte("z"), 512)}})
			raw = append(raw, archivetest.EndMarker()...)
			l := newLayout(t)
			st, err := extractBytes(t, l, raw, tarx.Options{})
			require.ErrorIs(t, err, tarx.ErrLimit)
			assert.Equal(t, "huge", tarxError(t, err).Entry)
			assert.Less(t, st.Bytes, int64(64<<20), "stopped long before 4 GiB")
			noStaging(t, l.parent)
			assert.True(t, isNotExist(t, l.dest))
		})
	}
}

// TestSparseHolesStayHoles unpacks sparse files within the limits: the
// content is exact and the holes take no disk space.
func TestSparseHolesStayHoles(t *testing.T) {
	const size = 64 << 20
	regions := []archivetest.Region{
		{Offset: 0, Data: []byte("head")},
		{Offset: 20 << 20, Data: bytes.Repeat([]byte("m"), 5000)},
		{Offset: size - 3, Data: []byte("end")},
	}
	want := make([]byte, size)
	for _, r := range regions {
		copy(want[r.Offset:], r.Data)
	}
	// Many regions: the GNU format's map spills into extension blocks.
	var many []archivetest.Region
	for i := range 50 {
		many = append(many, archivetest.Region{Offset: int64(i) * 8192, Data: []byte{byte('a' + i%26)}})
	}
	wantMany := make([]byte, 50*8192)
	for _, r := range many {
		copy(wantMany[r.Offset:], r.Data)
	}
	for _, f := range []archivetest.SparseFormat{archivetest.SparsePAX, archivetest.SparseGNU} {
		t.Run(string(f), func(t *testing.T) {
			raw := archivetest.SparseFile(f, "disk.img", size, regions)
			raw = append(raw, archivetest.SparseFile(f, "many", int64(len(wantMany)), many)...)
			raw = append(raw, archivetest.EndMarker()...)
			l := newLayout(t)
			st, err := extractBytes(t, l, raw, tarx.Options{Limits: tarx.Limits{Ratio: -1}})
			require.NoError(t, err)
			assert.Equal(t, int64(size+len(wantMany)), st.Bytes)
			got, err := os.ReadFile(filepath.Join(l.dest, "disk.img"))
			require.NoError(t, err)
			assert.True(t, bytes.Equal(want, got), "content")
			got, err = os.ReadFile(filepath.Join(l.dest, "many"))
			require.NoError(t, err)
			assert.True(t, bytes.Equal(wantMany, got), "content of the file with 50 regions")
			fi, err := os.Stat(filepath.Join(l.dest, "disk.img"))
			require.NoError(t, err)
			blocks := fi.Sys().(*syscall.Stat_t).Blocks * 512
			assert.Less(t, blocks, int64(4<<20), "holes are written as holes: %d bytes allocated", blocks)
		})
	}
}

// TestSparseMapBound: an encoded sparse map is an extended header, bounded
// by MaxHeader.
func TestSparseMapBound(t *testing.T) {
	regionsFor := func(mapBytes int) []archivetest.Region {
		// Each region costs "<offset>\n1\n" in the map: 10+2 bytes with
		// 9-digit offsets.
		var rs []archivetest.Region
		for i := 0; 12*(len(rs)+1)+16 < mapBytes; i++ {
			rs = append(rs, archivetest.Region{Offset: 100000000 + int64(i)*2, Data: []byte{1}})
		}
		return rs
	}
	for _, tc := range []struct {
		name string
		size int
		ok   bool
	}{{"at the bound", tarx.MaxHeader - 1024, true}, {"over it", tarx.MaxHeader + 1024, false}} {
		t.Run(tc.name, func(t *testing.T) {
			rs := regionsFor(tc.size)
			raw := archivetest.SparseFile(archivetest.SparsePAX, "s", 200000000, rs)
			raw = append(raw, archivetest.EndMarker()...)
			l := newLayout(t)
			_, err := extractBytes(t, l, raw, tarx.Options{Limits: tarx.Limits{Ratio: -1}})
			if tc.ok {
				require.NoError(t, err, "%d regions", len(rs))
				return
			}
			require.ErrorIs(t, err, tarx.ErrLimit)
		})
	}
}

// tarGz returns a small valid archive in format f.
func smallArchive(t *testing.T, f archivetest.Format) []byte {
	return archive(t, f, archivetest.Tree(12, 5, 4<<10))
}

// TestEndlessEmptyMembers is issue 9's finding 4: an archive followed by
// endless empty gzip members or zstd skippable frames was read forever,
// since the trailing-data cap counted decompressed bytes. The reader here
// gives up after 256 MiB; Extract must stop long before.
func TestEndlessEmptyMembers(t *testing.T) {
	tests := []struct {
		name   string
		format archivetest.Format
		unit   []byte
	}{
		{"gzip empty members", archivetest.Gzip, archivetest.EmptyMember(archivetest.Gzip)},
		{"zstd empty frames", archivetest.Zstd, archivetest.EmptyMember(archivetest.Zstd)},
		{"zstd skippable frames", archivetest.Zstd, archivetest.SkippableFrame(64 << 10)},
		{"zstd small skippable frames", archivetest.Zstd, archivetest.SkippableFrame(0)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newLayout(t)
			r := archivetest.Repeat(smallArchive(t, tc.format), tc.unit, 256<<20)
			st, err := tarx.Extract(context.Background(), r, l.dest, tarx.Options{})
			require.ErrorIs(t, err, tarx.ErrLimit)
			assert.Equal(t, classify.Limit, classify.Classify(chain.Walk(err)).Kind)
			assert.Less(t, st.Input, int64(tarx.MaxTrailingInput+1<<20), "input read")
			assert.Equal(t, "verifying", tarxError(t, err).Op)
			noStaging(t, l.parent)
			assert.True(t, isNotExist(t, l.dest))
		})
	}
}

// TestTrailingInputBound checks MaxTrailingInput at the bound.
func TestTrailingInputBound(t *testing.T) {
	unit := archivetest.EmptyMember(archivetest.Gzip)
	prefix := smallArchive(t, archivetest.Gzip)
	for _, tc := range []struct {
		name  string
		bytes int64
		ok    bool
	}{
		// The input is read in 256 KiB chunks past the bound's check.
		{"under the bound", tarx.MaxTrailingInput - 512<<10, true},
		{"over it", tarx.MaxTrailingInput + 512<<10, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := tc.bytes / int64(len(unit)) * int64(len(unit))
			l := newLayout(t)
			_, err := tarx.Extract(context.Background(), archivetest.Repeat(prefix, unit, int64(len(prefix))+n), l.dest, tarx.Options{})
			if tc.ok {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tarx.ErrLimit)
		})
	}
}

// TestIdleInputBound: empty members between two halves of an archive,
// where the trailing bound does not apply, are bounded by MaxIdleInput.
func TestIdleInputBound(t *testing.T) {
	entries := archivetest.Tree(13, 20, 64<<10)
	raw := archive(t, archivetest.Tar, entries)
	for _, f := range []archivetest.Format{archivetest.Gzip, archivetest.Zstd} {
		for _, tc := range []struct {
			name  string
			bytes int
			ok    bool
		}{
			{"under the bound", tarx.MaxIdleInput - 512<<10, true},
			{"over it", tarx.MaxIdleInput + 512<<10, false},
		} {
			t.Run(string(f)+"/"+tc.name, func(t *testing.T) {
				head, err := archivetest.Compress(f, raw[:len(raw)/2])
				require.NoError(t, err)
				tail, err := archivetest.Compress(f, raw[len(raw)/2:])
				require.NoError(t, err)
				unit := archivetest.EmptyMember(f)
				data := append([]byte(nil), head...)
				data = append(data, bytes.Repeat(unit, tc.bytes/len(unit))...)
				data = append(data, tail...)
				l := newLayout(t)
				_, err = extractBytes(t, l, data, tarx.Options{})
				if tc.ok {
					require.NoError(t, err)
					archivetest.Compare(t, entries, l.dest)
					return
				}
				require.ErrorIs(t, err, tarx.ErrLimit)
				assert.Contains(t, err.Error(), "decompressed to nothing")
				noStaging(t, l.parent)
			})
		}
	}
}

// slowReader gives its data a block at a time, pausing before each.
type slowReader struct {
	data  []byte
	pause time.Duration
}

func (s *slowReader) Read(p []byte) (int, error) {
	if len(s.data) == 0 {
		return 0, io.EOF
	}
	time.Sleep(s.pause)
	n := copy(p[:min(len(p), 512)], s.data)
	s.data = s.data[n:]
	return n, nil
}

// TestTimeout: Options.Timeout bounds an extraction in wall time, as a
// limit, and the staging directory goes.
func TestTimeout(t *testing.T) {
	l := newLayout(t)
	data := archive(t, archivetest.Tar, archivetest.Tree(14, 30, 256<<10))
	start := time.Now()
	_, err := tarx.Extract(context.Background(), &slowReader{data: data, pause: time.Millisecond}, l.dest, tarx.Options{Timeout: 100 * time.Millisecond})
	require.ErrorIs(t, err, tarx.ErrLimit)
	assert.NotErrorIs(t, err, context.DeadlineExceeded, "a limit, not the caller's deadline")
	assert.Less(t, time.Since(start), 5*time.Second)
	assert.Equal(t, classify.Limit, classify.Classify(chain.Walk(err)).Kind)
	noStaging(t, l.parent)
	assert.True(t, isNotExist(t, l.dest))
}

// cancelReader cancels a context once at bytes were read through it.
type cancelReader struct {
	r      io.Reader
	at     int64
	read   int64
	cancel context.CancelFunc
}

func (c *cancelReader) Read(p []byte) (int, error) {
	if c.read >= c.at {
		c.cancel()
	}
	p = p[:min(int64(len(p)), max(c.at-c.read, 1))]
	n, err := c.r.Read(p)
	c.read += int64(n)
	return n, err
}

// TestCancelAnywhereRemovesStaging cancels at offsets spread over the
// whole input, the trailing data included: every extraction ends with
// the cancellation, no staging directory and nothing at dest.
func TestCancelAnywhereRemovesStaging(t *testing.T) {
	for _, f := range []archivetest.Format{archivetest.Tar, archivetest.Gzip, archivetest.Zstd} {
		data := archive(t, f, archivetest.Tree(15, 40, 128<<10))
		for i := range 12 {
			at := int64(len(data)) * int64(i) / 12
			l := newLayout(t)
			ctx, cancel := context.WithCancel(context.Background())
			_, err := tarx.Extract(ctx, &cancelReader{r: bytes.NewReader(data), at: at, cancel: cancel}, l.dest, tarx.Options{})
			cancel()
			require.ErrorIs(t, err, context.Canceled, "%s at %d", f, at)
			noStaging(t, l.parent)
			assert.True(t, isNotExist(t, l.dest), "%s at %d", f, at)
		}
	}
}

// TestDepthAndNameBounds checks Limits.Depth and Limits.Name at their
// default bounds, with names made through PAX records (issue 9's finding
// 9: one entry made 200,000 nested directories).
func TestDepthAndNameBounds(t *testing.T) {
	tests := []struct {
		name  string
		entry string
		ok    bool
		what  string
	}{
		{"depth at the bound", archivetest.DeepName(tarx.DefaultDepth, 2), true, ""},
		{"depth over it", archivetest.DeepName(tarx.DefaultDepth+1, 2), false, "levels deep"},
		// 256 components of 15 bytes and 255 slashes: 4095 bytes.
		{"name at the bound", archivetest.DeepName(tarx.DefaultDepth, tarx.DefaultName/tarx.DefaultDepth) + "x", true, ""},
		{"name over it", archivetest.DeepName(tarx.DefaultDepth, tarx.DefaultName/tarx.DefaultDepth) + "xx", false, "a name of"},
		{"200,000 levels", archivetest.DeepName(200000, 2), false, "a name of"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw := archivetest.LongNameEntry(tc.entry, tar.TypeReg, []byte("deep"))
			raw = append(raw, archivetest.EndMarker()...)
			l := newLayout(t)
			st, err := extractBytes(t, l, raw, tarx.Options{})
			if tc.ok {
				require.NoError(t, err)
				// The whole path is longer than PATH_MAX: read it as tarx
				// wrote it, relative to a directory.
				root, err := os.OpenRoot(l.dest)
				require.NoError(t, err)
				defer root.Close()
				got, err := root.ReadFile(tc.entry)
				require.NoError(t, err)
				assert.Equal(t, "deep", string(got))
				assert.Equal(t, strings.Count(tc.entry, "/"), st.Implied)
				return
			}
			require.ErrorIs(t, err, tarx.ErrLimit)
			assert.Contains(t, err.Error(), tc.what)
			noStaging(t, l.parent)
		})
	}
	t.Run("link target over the bound", func(t *testing.T) {
		raw := archivetest.PAXHeader(archivetest.PAXRecord("linkpath", archivetest.DeepName(1, tarx.DefaultName+2)))
		raw = append(raw, archivetest.Header("l", tar.TypeSymlink, 0, 0o777)...)
		raw = append(raw, archivetest.EndMarker()...)
		_, err := extractBytes(t, newLayout(t), raw, tarx.Options{})
		require.ErrorIs(t, err, tarx.ErrLimit)
		assert.Contains(t, err.Error(), "link target")
	})
}

// TestImpliedDirectoriesCount: the directories a path makes count against
// Limits.Entries.
func TestImpliedDirectoriesCount(t *testing.T) {
	entry := func(depth int) []byte {
		raw := archivetest.LongNameEntry(archivetest.DeepName(depth, 2), tar.TypeReg, nil)
		return append(raw, archivetest.EndMarker()...)
	}
	l := newLayout(t)
	_, err := extractBytes(t, l, entry(10), tarx.Options{Limits: tarx.Limits{Entries: 10}})
	require.NoError(t, err, "9 directories and a file: 10 entries")
	_, err = extractBytes(t, newLayout(t), entry(11), tarx.Options{Limits: tarx.Limits{Entries: 10}})
	require.ErrorIs(t, err, tarx.ErrLimit)
	assert.Contains(t, err.Error(), "counting 10 directories made for paths")
}

// TestMetadataBound: the names and modes kept to the end are bounded by
// Limits.Metadata.
func TestMetadataBound(t *testing.T) {
	var entries []archivetest.Entry
	for i := range 100 {
		entries = append(entries, archivetest.Entry{Name: "d" + strings.Repeat("x", 98) + string(rune('a'+i%26)) + string(rune('a'+i/26)), Type: tar.TypeDir, Mode: 0o755})
	}
	data := archive(t, archivetest.Tar, entries)
	// Each directory is kept twice (known to exist, mode to apply): two
	// names of 101 bytes plus the overhead, one of them counted with it.
	per := int64(101 + tarx.MetadataOverhead)
	_, err := extractBytes(t, newLayout(t), data, tarx.Options{Limits: tarx.Limits{Metadata: 100 * per}})
	require.NoError(t, err)
	_, err = extractBytes(t, newLayout(t), data, tarx.Options{Limits: tarx.Limits{Metadata: 100*per - 1}})
	require.ErrorIs(t, err, tarx.ErrLimit)
	assert.Contains(t, err.Error(), "names and metadata")
}

// TestReadOnlyRootLogic covers issue 9's finding 11 as root: the root's
// mode is applied after the rename, so an archive whose "./" is 0555
// unpacks (and replaces such a tree) with the mode in place. The same runs
// as an unprivileged user in TestReadOnlyRootUnprivileged.
func TestReadOnlyRootLogic(t *testing.T) {
	l := newLayout(t)
	entries := readOnlyRoot()
	for range 2 {
		_, err := extractBytes(t, l, archive(t, archivetest.Tar, entries), tarx.Options{Replace: true})
		require.NoError(t, err)
		fi, err := os.Stat(l.dest)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o555), fi.Mode().Perm())
		assert.Equal(t, entries[0].ModTime.Unix(), fi.ModTime().Unix())
		noStaging(t, l.parent)
	}
}

func readOnlyRoot() []archivetest.Entry {
	return []archivetest.Entry{
		{Name: "./", Type: tar.TypeDir, Mode: 0o555, ModTime: time.Date(2020, 5, 6, 7, 8, 9, 0, time.UTC)},
		{Name: "./bin", Type: tar.TypeDir, Mode: 0o555},
		{Name: "./bin/tool", Type: tar.TypeReg, Mode: 0o555, Data: []byte("#!/bin/sh\n")},
	}
}

// TestCommitLoserSaysExists is issue 9's finding 12: the loser of two
// extractions racing to the same destination got kind "unknown".
func TestCommitLoserSaysExists(t *testing.T) {
	l := newLayout(t)
	data := archive(t, archivetest.Gzip, archivetest.Tree(9, 20, 64<<10))
	r := &hookReader{data: data, at: len(data) / 2, hook: func() {
		_, err := tarx.Extract(context.Background(), bytes.NewReader(data), l.dest, tarx.Options{})
		require.NoError(t, err, "the winner")
	}}
	_, err := tarx.Extract(context.Background(), r, l.dest, tarx.Options{})
	require.ErrorIs(t, err, tarx.ErrExist)
	assert.Equal(t, "committing", tarxError(t, err).Op)
	assert.Contains(t, err.Error(), "destination exists")
	facts := classify.Classify(chain.Walk(err))
	assert.Equal(t, classify.Exists, facts.Kind)
	noStaging(t, l.parent)

	// Refused up front, the same kind.
	_, err = tarx.Extract(context.Background(), bytes.NewReader(data), l.dest, tarx.Options{})
	require.ErrorIs(t, err, tarx.ErrExist)
	assert.Equal(t, classify.Exists, classify.Classify(chain.Walk(err)).Kind)
}
