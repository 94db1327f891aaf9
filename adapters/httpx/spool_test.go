package httpx

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	fs "github.com/faultline-go/faultline/faulttest"
)

// interrupted runs a first operation with a spool in dir until half of
// body arrived and the server stalled there, then cancels it as Ctrl-C
// would. It returns what the first run reported; the spool is left for
// the next.
func interrupted(t *testing.T, s *fs.Server, dir string) Result {
	t.Helper()
	half := int64(len(s.Content())) / 2
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	c := &Client{HTTP: s.Client(fs.HTTP1)}
	res, err := c.Do(ctx, s.URL, func(ctx context.Context, r io.Reader) error {
		buf := make([]byte, 4096)
		var n int64
		for {
			m, err := r.Read(buf)
			n += int64(m)
			if n >= half {
				cancel()
			}
			if err != nil {
				return err
			}
		}
	}, &Options{Spool: dir})
	require.ErrorIs(t, err, context.Canceled)
	require.FileExists(t, filepath.Join(dir, spoolSidecar), "the spool is kept when the caller stops")
	return res
}

// editSidecar rewrites the spool's sidecar through edit.
func editSidecar(t *testing.T, dir string, edit func(*sidecar)) {
	t.Helper()
	side := readSidecar(t, dir)
	edit(&side)
	b, err := json.Marshal(side)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, spoolSidecar), b, 0o600))
}

// readSidecar returns the spool's sidecar.
func readSidecar(t *testing.T, dir string) sidecar {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, spoolSidecar))
	require.NoError(t, err)
	var side sidecar
	require.NoError(t, json.Unmarshal(b, &side))
	return side
}

// TestSpoolResumesAcrossOperations: an operation stopped half-way leaves
// its spool; the next one, with a new Client as a new process would have,
// replays the spooled half to its consumer and asks the server only for
// the rest, with Range and If-Range. The body is exact, the server sent
// the archive about once in all, and the spool is gone at the end.
func TestSpoolResumesAcrossOperations(t *testing.T) {
	body := payload(4 << 20)
	s := startServer(t, modes[0], body, fs.Fault{Kind: fs.Stall, At: int64(len(body)) / 2})
	dir := filepath.Join(t.TempDir(), ".tree"+SpoolSuffix)
	first := interrupted(t, s, dir)
	side := readSidecar(t, dir)
	assert.Equal(t, int64(len(body)), side.Length)
	assert.Equal(t, s.ETag(), side.Validator)
	require.Len(t, side.Extents, 1, "one connection: one extent from the start")
	offset := prefix(side.Extents)
	assert.Equal(t, first.BytesServed, offset, "every byte received was synced at the stop")

	var h hashConsumer
	res, err := (&Client{HTTP: s.Client(fs.HTTP1)}).Do(t.Context(), s.URL, h.consume, &Options{Spool: dir})
	require.NoError(t, err)
	assert.Equal(t, sha256.Sum256(body), h.sum)
	assert.Equal(t, offset, res.Replayed)
	assert.Equal(t, 1, res.Resumes, "a resume across operations is a resume")
	assert.Equal(t, int64(len(body))-offset, res.BytesServed, "only the rest was downloaded")
	reqs := s.Requests()
	require.Len(t, reqs, 2)
	assert.Equal(t, "bytes="+strconv.FormatInt(offset, 10)+"-", reqs[1].Range)
	assert.Equal(t, s.ETag(), reqs[1].IfRange)
	total := first.BytesServed + res.BytesServed
	assert.LessOrEqual(t, float64(total)/float64(len(body)), 1.0)
	assert.NoDirExists(t, dir, "removed after success")
}

// TestSpoolBadInput: a spool that cannot be trusted is reported with a
// clear warning and the download starts clean — a request without Range,
// nothing replayed — and ends exact. Never a wrong body.
func TestSpoolBadInput(t *testing.T) {
	body := payload(2 << 20)
	tests := []struct {
		name   string
		spoil  func(t *testing.T, dir string)
		url    string // a query added to the second URL
		script []fs.Fault
		warn   string
	}{
		{name: "corrupt sidecar", warn: "sidecar is corrupt or truncated", spoil: func(t *testing.T, dir string) {
			require.NoError(t, os.WriteFile(filepath.Join(dir, spoolSidecar), []byte("\x00garbage{"), 0o600))
		}},
		{name: "truncated sidecar", warn: "sidecar is corrupt or truncated", spoil: func(t *testing.T, dir string) {
			b, err := os.ReadFile(filepath.Join(dir, spoolSidecar))
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(dir, spoolSidecar), b[:len(b)/2], 0o600))
		}},
		{name: "corrupt data", warn: "does not match its checksum", spoil: func(t *testing.T, dir string) {
			f, err := os.OpenFile(filepath.Join(dir, spoolData), os.O_RDWR, 0)
			require.NoError(t, err)
			defer f.Close()
			b := make([]byte, 1)
			_, err = f.ReadAt(b, 1000)
			require.NoError(t, err)
			b[0] ^= 0x40
			_, err = f.WriteAt(b, 1000)
			require.NoError(t, err)
		}},
		{name: "truncated data", warn: "data is truncated", spoil: func(t *testing.T, dir string) {
			require.NoError(t, os.Truncate(filepath.Join(dir, spoolData), 1000))
		}},
		{name: "another URL", url: "?other=1", warn: "holds another URL"},
		{name: "longer than the file", warn: "holds bytes up to 3145728 of a file of 2097152", spoil: func(t *testing.T, dir string) {
			editSidecar(t, dir, func(side *sidecar) { side.Extents[0].End = 3 << 20 })
		}},
		{name: "extent past the length", warn: "holds bytes up to 2097153 of a file of 2097152", spoil: func(t *testing.T, dir string) {
			editSidecar(t, dir, func(side *sidecar) {
				side.Extents = append(side.Extents, extent{Start: 2<<20 - 10, End: 2<<20 + 1})
			})
		}},
		{name: "overlapping extents", warn: "its extent 1 (1000-2000) overlaps or precedes the one before", spoil: func(t *testing.T, dir string) {
			editSidecar(t, dir, func(side *sidecar) {
				side.Extents = append(side.Extents, extent{Start: 1000, End: 2000})
			})
		}},
		{name: "empty extent", warn: "its extent 0 (5-5) is empty or negative", spoil: func(t *testing.T, dir string) {
			editSidecar(t, dir, func(side *sidecar) { side.Extents = []extent{{Start: 5, End: 5}} })
		}},
		{name: "corrupt extent past the first", warn: "does not match its checksum (corrupt) in extent 1 (525288-525388)", spoil: func(t *testing.T, dir string) {
			editSidecar(t, dir, func(side *sidecar) {
				side.Extents[0].End = 1 << 19
				side.Extents[0].CRC32C = crc32.Checksum(body[:1<<19], castagnoliSpool)
				side.Extents = append(side.Extents, extent{Start: 1<<19 + 1000, End: 1<<19 + 1100, CRC32C: 12345})
			})
		}},
		{name: "too many extents", warn: "its sidecar lists 1025 extents, more than 1024", spoil: func(t *testing.T, dir string) {
			editSidecar(t, dir, func(side *sidecar) {
				side.Extents = nil
				for i := range int64(maxExtents + 1) {
					side.Extents = append(side.Extents, extent{Start: 2 * i, End: 2*i + 1})
				}
			})
		}},
		{name: "version 1", warn: "its sidecar has version 1, not 2", spoil: func(t *testing.T, dir string) {
			// What a previous release wrote: one prefix, no extents.
			side := readSidecar(t, dir)
			v1 := map[string]any{"version": 1, "url": side.URL, "url_sha256": side.URLSHA256, "validator": side.Validator,
				"length": side.Length, "offset": side.Extents[0].End, "crc32c": side.Extents[0].CRC32C}
			b, err := json.Marshal(v1)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(dir, spoolSidecar), b, 0o600))
		}},
		{name: "changed on the server", warn: "the server cannot continue it (the validator changed)",
			script: []fs.Fault{{Kind: fs.ChangeContent}}},
		{name: "not a directory", warn: "cannot be made", spoil: func(t *testing.T, dir string) {
			require.NoError(t, os.RemoveAll(dir))
			require.NoError(t, os.WriteFile(dir, []byte("in the way"), 0o600))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			script := append([]fs.Fault{{Kind: fs.Stall, At: int64(len(body)) / 2}}, tc.script...)
			s := startServer(t, modes[0], body, script...)
			dir := filepath.Join(t.TempDir(), ".tree"+SpoolSuffix)
			interrupted(t, s, dir)
			if tc.spoil != nil {
				tc.spoil(t, dir)
			}
			var logBuf bytes.Buffer
			var h hashConsumer
			c := &Client{HTTP: s.Client(fs.HTTP1), Logger: slogTo(&logBuf)}
			res, err := c.Do(t.Context(), s.URL+tc.url, h.consume, &Options{Spool: dir})
			require.NoError(t, err)
			assert.Equal(t, sha256.Sum256(s.Content()), h.sum, "exact")
			assert.Zero(t, res.Replayed)
			assert.Contains(t, logBuf.String(), tc.warn)
			assert.Contains(t, logBuf.String(), "spool not used")
			last := s.Requests()[len(s.Requests())-1]
			assert.Empty(t, last.Range, "a clean start asks for everything")
			if tc.name != "not a directory" {
				assert.NoDirExists(t, dir, "removed after success")
			}
		})
	}
}

// TestSpoolReadOnly: a spool directory that cannot be written is
// reported and the download goes on without it.
func TestSpoolReadOnly(t *testing.T) {
	body := payload(1 << 20)
	s := startServer(t, modes[0], body)
	for _, dir := range []string{"/proc/self/faultline-spool", readOnlyDir(t)} {
		if dir == "" {
			continue
		}
		var logBuf bytes.Buffer
		var h hashConsumer
		c := &Client{HTTP: s.Client(fs.HTTP1), Logger: slogTo(&logBuf)}
		_, err := c.Do(t.Context(), s.URL, h.consume, &Options{Spool: dir})
		require.NoError(t, err, dir)
		assert.Equal(t, sha256.Sum256(body), h.sum)
		assert.Contains(t, logBuf.String(), "downloading without it", dir)
	}
}

// readOnlyDir returns a directory the test cannot write, or "" (with a
// log line) when running as root, who can write anything.
func readOnlyDir(t *testing.T) string {
	if os.Geteuid() == 0 {
		t.Log("running as root: a mode 0500 directory is writable; covered by /proc only")
		return ""
	}
	d := filepath.Join(t.TempDir(), "ro")
	require.NoError(t, os.Mkdir(d, 0o500))
	t.Cleanup(func() { os.Chmod(d, 0o700) })
	return filepath.Join(d, ".tree"+SpoolSuffix)
}

// TestSpoolBusy: a spool another operation holds is left alone.
func TestSpoolBusy(t *testing.T) {
	body := payload(1 << 20)
	s := startServer(t, modes[0], body)
	dir := filepath.Join(t.TempDir(), ".tree"+SpoolSuffix)
	var warned []string
	holder, _, _ := openSpool(dir, s.URL, &Options{}, func(string) io.Writer { return io.Discard },
		func(e *SpoolError) { warned = append(warned, e.Error()) })
	require.NotNil(t, holder)
	defer holder.finish(false)
	var logBuf bytes.Buffer
	var h hashConsumer
	c := &Client{HTTP: s.Client(fs.HTTP1), Logger: slogTo(&logBuf)}
	_, err := c.Do(t.Context(), s.URL, h.consume, &Options{Spool: dir})
	require.NoError(t, err)
	assert.Contains(t, logBuf.String(), "in use by another process")
	assert.Empty(t, warned)
	assert.DirExists(t, dir, "not removed from under its holder")
}

// TestSpoolFinalFailure: when the policy gives up, the spool goes too.
func TestSpoolFinalFailure(t *testing.T) {
	body := payload(1 << 20)
	s := startServer(t, modes[0], body, repeat(fs.Fault{Kind: fs.Reset, At: 100}, 10)...)
	dir := filepath.Join(t.TempDir(), ".tree"+SpoolSuffix)
	var sl sleeps
	var h hashConsumer
	_, err := (&Client{HTTP: s.Client(fs.HTTP1), Sleep: sl.sleep}).Do(t.Context(), s.URL, h.consume, &Options{Spool: dir})
	require.Error(t, err)
	assert.NoDirExists(t, dir)
}

// TestCleanSpools: only spools nobody holds and nobody wrote for a while
// are removed, and only the files a spool holds.
func TestCleanSpools(t *testing.T) {
	parent := t.TempDir()
	mk := func(name string, age time.Duration) string {
		d := filepath.Join(parent, name)
		require.NoError(t, os.Mkdir(d, 0o700))
		for _, f := range []string{spoolData, spoolSidecar, spoolLock} {
			require.NoError(t, os.WriteFile(filepath.Join(d, f), []byte("x"), 0o600))
			old := time.Now().Add(-age)
			require.NoError(t, os.Chtimes(filepath.Join(d, f), old, old))
		}
		old := time.Now().Add(-age)
		require.NoError(t, os.Chtimes(d, old, old))
		return d
	}
	stale := mk(".a"+SpoolSuffix, 8*24*time.Hour)
	fresh := mk(".b"+SpoolSuffix, time.Hour)
	held := mk(".c"+SpoolSuffix, 8*24*time.Hour)
	foreign := mk("notaspool", 8*24*time.Hour)
	withMore := mk(".d"+SpoolSuffix, 8*24*time.Hour)
	require.NoError(t, os.WriteFile(filepath.Join(withMore, "keep-me"), nil, 0o600))
	old := time.Now().Add(-8 * 24 * time.Hour)
	require.NoError(t, os.Chtimes(withMore, old, old))
	lock, err := os.OpenFile(filepath.Join(held, spoolLock), os.O_RDWR, 0)
	require.NoError(t, err)
	require.NoError(t, lockFile(lock))
	defer lock.Close()

	removed, err := CleanSpools(parent, DefaultSpoolStaleAfter)
	assert.Error(t, err, "the directory with a file of its own is not removed")
	assert.Equal(t, []string{stale}, removed)
	assert.NoDirExists(t, stale)
	assert.DirExists(t, fresh)
	assert.DirExists(t, held)
	assert.DirExists(t, foreign)
	assert.FileExists(t, filepath.Join(withMore, "keep-me"))
}

// FuzzSpool feeds openSpool any sidecar and data: it never panics, and
// returns either nothing (a clean start) or extents that are sorted,
// disjoint, inside the length, at most maxExtents, short of the whole,
// held by the data and matching their checksums; the body's hash sees
// exactly the first extent when it starts at 0. A spool it can write is
// always left.
func FuzzSpool(f *testing.F) {
	url := "http://127.0.0.1:1/file"
	data := payload(10000)
	crc := func(a, b int64) uint32 { return crc32.Checksum(data[a:b], castagnoliSpool) }
	side := func(ext ...extent) []byte {
		b, _ := json.Marshal(sidecar{Version: spoolVersion, URL: url, URLSHA256: urlDigest(url),
			Validator: `"v1"`, Length: 10000, Extents: ext})
		return b
	}
	good := side(extent{0, 4096, crc(0, 4096)}, extent{5000, 6000, crc(5000, 6000)}, extent{9000, 10000, crc(9000, 10000)})
	f.Add(good, data)
	f.Add(good[:len(good)/2], data)
	f.Add(side(extent{0, 10000, crc(0, 10000)}), data)
	f.Add(side(extent{100, 200, crc(100, 200)}, extent{150, 300, crc(150, 300)}), data)
	f.Add(side(extent{7000, 8000, crc(7000, 8000)}), data[:7500])
	f.Add([]byte(`{"version":1,"offset":99999999999}`), data[:10])
	f.Add([]byte("\x00\xff"), []byte{})
	f.Fuzz(func(t *testing.T, side, data []byte) {
		dir := filepath.Join(t.TempDir(), ".t"+SpoolSuffix)
		require.NoError(t, os.Mkdir(dir, 0o700))
		require.NoError(t, os.WriteFile(filepath.Join(dir, spoolSidecar), side, 0o600))
		require.NoError(t, os.WriteFile(filepath.Join(dir, spoolData), data, 0o600))
		var seen []byte
		sp, got, ext := openSpool(dir, url, &Options{}, func(string) io.Writer { return writerTo{&seen} }, func(*SpoolError) {})
		require.NotNil(t, sp)
		defer sp.finish(false)
		if len(ext) == 0 {
			return
		}
		require.LessOrEqual(t, len(ext), maxExtents)
		var covered int64
		for i, e := range ext {
			require.Less(t, e.Start, e.End)
			if i > 0 {
				require.LessOrEqual(t, ext[i-1].End, e.Start)
			}
			require.LessOrEqual(t, e.End, got.Length)
			require.LessOrEqual(t, e.End, int64(len(data)))
			require.Equal(t, e.CRC32C, crc32.Checksum(data[e.Start:e.End], castagnoliSpool))
			covered += e.len()
		}
		require.Less(t, covered, got.Length, "never the whole: the server must confirm it")
		n := prefix(ext)
		require.Equal(t, data[:n], seen, "the body's hash saw exactly the first extent")
	})
}

type writerTo struct{ b *[]byte }

func (w writerTo) Write(p []byte) (int, error) { *w.b = append(*w.b, p...); return len(p), nil }
