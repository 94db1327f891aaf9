package e2e

import (
	"context"
	"crypto/sha256"
	"io"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faultline-go/faultline/adapters/httpx"
	"github.com/faultline-go/faultline/adapters/tarx"
	"github.com/faultline-go/faultline/faulttest"
	"github.com/faultline-go/faultline/internal/archivetest"
)

// fixture is an archive and the entries it holds.
type fixture struct {
	entries []archivetest.Entry
	data    []byte
	sha256  []byte
}

func (f *fixture) size() int64 { return int64(len(f.data)) }

func newFixture(format archivetest.Format, seed uint64, files int, bytes int64) (*fixture, error) {
	entries := archivetest.Tree(seed, files, bytes)
	data, err := archivetest.Bytes(format, entries)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	return &fixture{entries: entries, data: data, sha256: sum[:]}, nil
}

// The archives the tests fetch: about 2,000 small files, enough for a
// fault to land inside an entry, between entries and inside a header,
// small enough that the whole matrix unpacks in seconds.
var (
	bigTarGz  = sync.OnceValues(func() (*fixture, error) { return newFixture(archivetest.Gzip, 14171, 2000, 4<<20) })
	bigTarZst = sync.OnceValues(func() (*fixture, error) { return newFixture(archivetest.Zstd, 14171, 2000, 4<<20) })
	// Stored deflate blocks: a byte flipped in transit is caught by the
	// gzip CRC-32 alone, at the very end of the stream.
	bigStored = sync.OnceValues(func() (*fixture, error) { return newFixture(archivetest.GzipStored, 14171, 2000, 4<<20) })
)

func load(t testing.TB, f func() (*fixture, error)) *fixture {
	t.Helper()
	fx, err := f()
	require.NoError(t, err)
	return fx
}

// mode is a protocol the tests run over.
type mode struct {
	name  string
	tls   bool
	proto faulttest.Proto
}

var (
	h1    = mode{"h1", false, faulttest.HTTP1}
	h2c   = mode{"h2c", false, faulttest.HTTP2}
	h2tls = mode{"h2", true, faulttest.HTTP2}
)

func start(t testing.TB, m mode, content []byte, script ...faulttest.Fault) *faulttest.Server {
	t.Helper()
	s, err := faulttest.Start(faulttest.Config{Content: content, TLS: m.tls, Script: script, StallLimit: 5 * time.Second})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

// run is what one fetch did.
type run struct {
	res    httpx.Result
	stats  tarx.Stats
	err    error
	passes int           // times the consumer started
	events []httpx.Event // every decision
}

// newClient returns a Client that decides with the default policy but
// does not sleep out its delays (the tests measure bytes, not backoff),
// recording every decision into r.
func newClient(hc *http.Client, r *run) *httpx.Client {
	return &httpx.Client{
		HTTP: hc,
		// Short, so that a stalled server costs the matrix little, but
		// not so short that a loaded machine's pauses look like one.
		IdleTimeout: time.Second,
		Sleep:       func(ctx context.Context, _ time.Duration) error { return ctx.Err() },
		OnDecision:  func(e httpx.Event) { r.events = append(r.events, e) },
	}
}

// job is one fetch: what to download, where to unpack it, how.
type job struct {
	url, dest string
	opts      *httpx.Options
	tar       tarx.Options
	// wrap, if set, wraps the reader tarx reads.
	wrap func(io.Reader) io.Reader
}

// fetch downloads j.url with c and unpacks it into j.dest, as retrycheck
// fetch does, recording what happened in r.
func fetch(ctx context.Context, c *httpx.Client, r *run, j job) {
	r.res, r.err = c.Do(ctx, j.url, func(ctx context.Context, body io.Reader) error {
		r.passes++
		if j.wrap != nil {
			body = j.wrap(body)
		}
		st, err := tarx.Extract(ctx, body, j.dest, j.tar)
		r.stats = st
		return err
	}, j.opts)
}

// leftovers lists what dir holds besides the names in keep: after a
// fetch, a staging directory or a partial tree.
func leftovers(t testing.TB, dir string, keep ...string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	var out []string
next:
	for _, e := range ents {
		for _, k := range keep {
			if e.Name() == k {
				continue next
			}
		}
		out = append(out, e.Name())
	}
	return out
}
