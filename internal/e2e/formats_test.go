package e2e

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faultline-go/faultline/adapters/filex"
	"github.com/faultline-go/faultline/classify"
	fs "github.com/faultline-go/faultline/faulttest"
	"github.com/faultline-go/faultline/internal/archivetest"
)

// The archives of the formats installers download besides tar.gz: 200
// files (xz and bzip2 decode slowly under the race detector), an xz stream of one block (ulikunitz/xz's writer) and one of
// many (the xz tool's), a bzip2 stream, and a zip streamed with data
// descriptors.
var (
	fmtTree = sync.OnceValue(func() []archivetest.Entry { return archivetest.Tree(111, 200, 512<<10) })
	xzOne   = sync.OnceValues(func() (*fixture, error) { return formatFixture(archivetest.Xz) })
	xzMany  = sync.OnceValues(func() (*fixture, error) { return formatFixture(archivetest.XzCLI) })
	bz2     = sync.OnceValues(func() (*fixture, error) { return formatFixture(archivetest.Bzip2) })
	zipped  = sync.OnceValues(func() (*fixture, error) {
		zs, want := archivetest.ZipTree(fmtTree(), archivetest.ZipDeflate, true)
		data, err := archivetest.Zip(zs, archivetest.ZipOptions{})
		if err != nil {
			return nil, err
		}
		return &fixture{entries: want, data: data}, nil
	})
)

func formatFixture(f archivetest.Format) (*fixture, error) {
	data, err := archivetest.Bytes(f, fmtTree())
	if err != nil {
		return nil, err
	}
	return &fixture{entries: fmtTree(), data: data}, nil
}

// centralDirectory returns the offset of a zip's central directory, from
// its end record.
func centralDirectory(data []byte) int64 {
	end := data[len(data)-22:]
	return int64(binary.LittleEndian.Uint32(end[16:]))
}

// TestFormatsThroughFaults fetches tar.xz, tar.bz2 and zip through the
// fault server's faults — a reset, a stalled and a truncated body, all
// resumed with a ranged request, and content that changes under a
// resume — over HTTP/1.1 and HTTP/2, and compares each tree file by file.
// The faults strike inside an xz block, a bzip2 stream, a zip entry and
// the zip's central directory.
func TestFormatsThroughFaults(t *testing.T) {
	type format struct {
		name string
		fx   func() (*fixture, error)
		at   func(fx *fixture) int64 // where inside the stream to strike
	}
	half := func(fx *fixture) int64 { return fx.size() / 2 }
	formats := []format{
		{"xz-one-block", xzOne, half},
		{"xz-blocks", xzMany, half},
		{"bzip2", bz2, half},
		{"zip-entry", zipped, func(fx *fixture) int64 { return fx.size() / 3 }},
		{"zip-central-directory", zipped, func(fx *fixture) int64 { return centralDirectory(fx.data) + 100 }},
	}
	faults := []struct {
		name string
		kind fs.Kind
		then fs.Kind
		fail bool
	}{
		{name: "reset", kind: fs.Reset},
		{name: "stall", kind: fs.Stall},
		{name: "truncate", kind: fs.Truncate},
		// The new content is not the archive: the restart unpacks it and
		// fails, and nothing reaches the destination.
		{name: "change_content", kind: fs.Reset, then: fs.ChangeContent, fail: true},
	}
	// HTTP/2 is covered by TestFaultMatrix; here it doubles minutes of
	// xz and bzip2 decoding under the race detector.
	modes := []mode{h1, h2c}
	if raceEnabled {
		modes = modes[:1]
	}
	for _, m := range modes {
		for _, f := range formats {
			for _, fault := range faults {
				t.Run(m.name+"/"+f.name+"/"+fault.name, func(t *testing.T) {
					t.Parallel()
					fx := load(t, f.fx)
					script := []fs.Fault{{Kind: fault.kind, At: f.at(fx)}}
					if fault.then != "" {
						script = append(script, fs.Fault{Kind: fault.then})
					}
					s := start(t, m, fx.data, script...)
					var r run
					c := newClient(s.Client(m.proto), &r)
					dir := scratch(t)
					dest := filepath.Join(dir, "tree")
					fetch(context.Background(), c, &r, job{url: s.URL, dest: dest})
					assert.Empty(t, leftovers(t, dir, "tree"), "staging left behind")
					if fault.fail {
						require.Error(t, r.err)
						require.NotEmpty(t, r.events)
						assert.Contains(t, []classify.Kind{classify.Decode, classify.Archive, classify.Checksum, classify.UnexpectedEOF},
							r.events[len(r.events)-1].Input.Error.Kind, "%v", r.err)
						assert.NoDirExists(t, dest)
						return
					}
					require.NoError(t, r.err)
					archivetest.Compare(t, fx.entries, dest)
					assert.Equal(t, 1, r.res.Resumes, "resumed once")
					assert.Equal(t, 0, r.res.Restarts)
					assert.Equal(t, 1, r.passes, "the unpacker saw one unbroken stream")
					assert.LessOrEqual(t, float64(r.res.BytesServed), 1.05*float64(fx.size()))
				})
			}
		}
	}
}

// TestPlainFileThroughFaults downloads a plain file (a wheel, a binary)
// through the same faults with filex as the consumer: resumed, the file is
// exact; when the content changes under a resume, the download restarts
// and the file is the new content, never a splice of the two; a download
// that fails leaves nothing at the destination.
func TestPlainFileThroughFaults(t *testing.T) {
	content := make([]byte, 6<<20)
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range content {
		content[i] = byte(rng.Uint32())
	}
	faults := []struct {
		name     string
		script   []fs.Fault
		restarts int
	}{
		{"reset", []fs.Fault{{Kind: fs.Reset, At: 3 << 20}}, 0},
		{"stall", []fs.Fault{{Kind: fs.Stall, At: 3 << 20}}, 0},
		{"truncate", []fs.Fault{{Kind: fs.Truncate, At: 3 << 20}}, 0},
		{"change_content", []fs.Fault{{Kind: fs.Reset, At: 3 << 20}, {Kind: fs.ChangeContent}}, 1},
	}
	for _, m := range []mode{h1, h2c} {
		for _, f := range faults {
			t.Run(m.name+"/"+f.name, func(t *testing.T) {
				t.Parallel()
				s := start(t, m, content, f.script...)
				var r run
				c := newClient(s.Client(m.proto), &r)
				dir := scratch(t)
				dest := filepath.Join(dir, "tool.whl")
				r.res, r.err = c.Do(context.Background(), s.URL, func(ctx context.Context, body io.Reader) error {
					r.passes++
					_, err := filex.Write(ctx, body, dest, filex.Options{Replace: r.passes > 1})
					return err
				}, nil)
				require.NoError(t, r.err)
				got, err := os.ReadFile(dest)
				require.NoError(t, err)
				assert.True(t, bytes.Equal(s.Content(), got), "the file is what the server serves now")
				assert.Equal(t, f.restarts, r.res.Restarts)
				t.Logf("%d attempts, %d resumes, %d refetches, %d restarts", r.res.Attempts, r.res.Resumes, r.res.Refetches, r.res.Restarts)
				if f.name == "reset" {
					assert.Equal(t, 1, r.res.Resumes)
				}
				assert.Equal(t, []string{"tool.whl"}, leftovers(t, dir), "nothing beside it")
			})
		}
	}
	t.Run("failure leaves nothing", func(t *testing.T) {
		s := start(t, h1, content, fs.Fault{Kind: fs.Status, Status: 404})
		var r run
		c := newClient(s.Client(h1.proto), &r)
		dir := scratch(t)
		_, err := c.Do(context.Background(), s.URL, func(ctx context.Context, body io.Reader) error {
			_, err := filex.Write(ctx, body, filepath.Join(dir, "tool.whl"), filex.Options{})
			return err
		}, nil)
		require.Error(t, err)
		assert.Empty(t, leftovers(t, dir))
	})
}
