package realserver_test

import (
	"cmp"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faultline-go/faultline/internal/archivetest"
	"github.com/faultline-go/faultline/internal/realserver"
)

// The scenarios run retrycheck fetch, as built from cmd/retrycheck, in a
// namespace against nginx or Caddy, with the faults a middlebox or a
// congested path makes. Each checks three things: the unpacked tree is
// exactly the archive's (or, for a fetch that must fail, nothing is left
// behind), the bytes the server put on the wire (iptables, not the access
// log), and the requests it received.

// inFlight bounds what a reset or a black hole costs on the wire beyond
// what the client kept: what the server had sent past the client's last
// acknowledgement, its retransmissions, and the headers of the next
// request. Measured here it is 50–130 KiB a reset on loopback.
const inFlight = 512 << 10

// dest returns where a lab's fetch unpacks: a directory of its own, so
// that a test can check that nothing else is left beside it.
func (l *lab) dest() string {
	l.t.Helper()
	out := filepath.Join(l.dir, "out")
	require.NoError(l.t, os.MkdirAll(out, 0o755))
	return filepath.Join(out, "tree")
}

// exact checks that the fetch succeeded and unpacked exactly fx, with
// nothing else left beside dest.
func (l *lab) exact(f *fetch, fx *fixture, dest string) {
	l.t.Helper()
	require.Equal(l.t, 0, f.exit, "retrycheck fetch failed: %s", f.stderr.String())
	assert.True(l.t, f.sum.OK)
	assert.Equal(l.t, fx.size, f.sum.Bytes)
	archivetest.Compare(l.t, fx.entries, dest)
	assert.Equal(l.t, []string{filepath.Base(dest)}, entries(l.t, filepath.Dir(dest)), "nothing but the tree is left")
}

// logged waits for the server's access log to show n requests (a server
// logs a request when it is done with it) and returns them.
func (l *lab) logged(n int) []realserver.Request {
	l.t.Helper()
	ctx, cancel := contextWithTimeout(l, 10*time.Second)
	defer cancel()
	reqs, err := l.srv.WaitRequests(ctx, n, 200*time.Millisecond)
	require.NoError(l.t, err)
	return reqs
}

// resumedRanges checks that reqs are a first request without Range, then
// resumes that each ask for the rest of the file from further on, under
// If-Range.
func resumedRanges(t *testing.T, reqs []realserver.Request) {
	t.Helper()
	require.NotEmpty(t, reqs)
	assert.Empty(t, reqs[0].Range, "the first request asks for the whole file")
	last := int64(0)
	for i, r := range reqs[1:] {
		from, ok := strings.CutPrefix(r.Range, "bytes=")
		from, ok2 := strings.CutSuffix(from, "-")
		n, err := strconv.ParseInt(from, 10, 64)
		if !assert.True(t, ok && ok2 && err == nil, "request %d: Range %q, want bytes=N-", i+1, r.Range) {
			continue
		}
		assert.Greater(t, n, last, "request %d resumes further on", i+1)
		assert.NotEmpty(t, r.IfRange, "request %d: a resume carries If-Range", i+1)
		last = n
	}
}

// single keeps a fetch on one connection: the scenarios that check a
// stream's resumes request by request use it, since auto (the default)
// may add connections when the network is the limit. The parallel
// scenarios check auto.
var single = []string{"--connections", "1"}

// TestResetEvery: a middlebox resets every connection once the server has
// sent n bytes on it: eight times for this archive, more than the default
// policy's five attempts. Each attempt gains about n bytes, which is
// progress, so the fetch resumes with a range each time and finishes with
// the exact tree, the server sending the archive once plus what was in
// flight at each reset.
func TestResetEvery(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		server string
		every  int64
	}{
		{"nginx/h1", "nginx", 2 << 20},
		{"caddy/h2", "caddy", 2 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := newLab(t, tc.server)
			fx := load(t, big)
			path := l.serve(fx, "big.tar.gz")
			if tc.server == "nginx" {
				l.nginx(realserver.NginxConfig{})
			} else {
				l.caddy()
			}
			require.NoError(t, l.ns.ResetAfter(l.ctx, l.srv.Port, tc.every))
			dest := l.dest()
			f := l.fetch(l.srv.URL+path, dest, single...)
			l.exact(f, fx, dest)
			assert.Greater(t, f.sum.Attempts, 5, "more attempts than the policy allows without progress")

			// Each connection carries n bytes of the server's packets, and
			// no more than what was in flight when its acknowledgement was
			// refused: that bounds the number of connections both ways.
			least := int((fx.size + tc.every + inFlight - 1) / (tc.every + inFlight))
			most := int(fx.size/(tc.every*9/10)) + 1
			var reqs []realserver.Request
			if tc.server == "nginx" {
				requests := l.requests()
				assert.Equal(t, requests, f.sum.Attempts, "every attempt is one request")
				reqs = l.logged(requests)
				assert.Len(t, reqs, requests)
			} else {
				reqs = l.logged(f.sum.Attempts)
				assert.Len(t, reqs, f.sum.Attempts, "every attempt is one request")
				for _, r := range reqs {
					assert.Equal(t, "HTTP/2.0", r.Proto)
				}
			}
			assert.GreaterOrEqual(t, len(reqs), least)
			assert.LessOrEqual(t, len(reqs), most)
			resumedRanges(t, reqs)
			assert.Equal(t, len(reqs)-1, f.sum.Resumes)
			assert.Zero(t, f.sum.Restarts)

			wire := l.wireBytes()
			assert.GreaterOrEqual(t, wire, fx.size)
			assert.LessOrEqual(t, wire, fx.size+int64(len(reqs))*inFlight)
			assert.LessOrEqual(t, float64(wire)/float64(fx.size), 1.10, "at most 1.10× the archive on the wire")
		})
	}
}

// TestResetsWithoutProgress: every connection is reset after a few
// kilobytes, less than any attempt can call progress. The fetch must end,
// failed, within five attempts, and leave nothing behind. The path's MTU
// is 1500, as on a real network, so that a new connection's first flight
// is 14 KiB rather than loopback's 640 KiB.
func TestResetsWithoutProgress(t *testing.T) {
	t.Parallel()
	l := newLab(t, "nginx")
	fx := load(t, big)
	path := l.serve(fx, "big.tar.gz")
	require.NoError(t, l.ns.SetMTU(l.ctx, 1500))
	l.nginx(realserver.NginxConfig{})
	require.NoError(t, l.ns.ResetAfter(l.ctx, l.srv.Port, 8<<10))
	dest := l.dest()
	f := l.fetch(l.srv.URL+path, dest)

	assert.Equal(t, 75, f.exit, "the fetch fails, and may work later (EX_TEMPFAIL)")
	assert.False(t, f.sum.OK)
	assert.Empty(t, entries(t, filepath.Dir(dest)), "nothing is left: no tree, no staging")
	requests := l.requests()
	assert.Equal(t, f.sum.Attempts, requests)
	assert.GreaterOrEqual(t, requests, 2, "a reset is worth another try")
	assert.LessOrEqual(t, requests, 5, "attempts that gain nothing end the fetch within five")
	assert.LessOrEqual(t, l.wireBytes(), int64(requests)*64<<10)
}

// TestSlowSteadyRate: the path is slow but steady, 200 KB/s, either for
// the whole namespace (tc tbf) or for each request (nginx limit_rate,
// which sends in bursts and pauses). Nothing is wrong: one request, no
// stall declared, no resume, the archive once on the wire.
func TestSlowSteadyRate(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"tbf", "limit_rate"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			l := newLab(t, "nginx")
			fx := load(t, small)
			path := l.serve(fx, "small.tar.gz")
			if name == "tbf" {
				l.nginx(realserver.NginxConfig{})
				require.NoError(t, l.ns.RateLimit(l.ctx, "1600kbit"))
			} else {
				l.nginx(realserver.NginxConfig{LimitRate: "200k"})
			}
			dest := l.dest()
			f := l.fetch(l.srv.URL+path, dest)
			l.exact(f, fx, dest)
			assert.Equal(t, 1, f.sum.Attempts, "no stall, no failure")
			assert.Zero(t, f.sum.Resumes)
			assert.Equal(t, 1, l.requests())
			assert.LessOrEqual(t, l.wireBytes(), fx.size*1015/1000+16<<10)
			// The rate was really limited: the archive cannot arrive faster.
			assert.GreaterOrEqual(t, f.took, time.Duration(float64(fx.size)/250e3*float64(time.Second)))
		})
	}
}

// TestRangesOffAndReset: nginx with max_ranges 0 ignores Range and sends
// no Accept-Ranges. One reset half-way: the fetch cannot resume, so it
// asks for the whole file again, without a range, and unpacks the exact
// tree.
func TestRangesOffAndReset(t *testing.T) {
	t.Parallel()
	l := newLab(t, "nginx")
	fx := load(t, big)
	path := l.serve(fx, "big.tar.gz")
	l.nginx(realserver.NginxConfig{NoRanges: true})
	half := fx.size / 2
	require.NoError(t, l.ns.ResetOnceAfter(l.ctx, l.srv.Port, half))
	dest := l.dest()
	f := l.fetch(l.srv.URL+path, dest)
	l.exact(f, fx, dest)

	assert.Equal(t, 2, l.requests())
	assert.Equal(t, 2, f.sum.Attempts)
	// The whole file comes again; its first half matches what was already
	// unpacked (httpx checks it against the hash of the bytes delivered),
	// so the unpack continues: a refetch, not a restart of the consumer.
	assert.Equal(t, 1, f.sum.Refetches)
	assert.Zero(t, f.sum.Resumes)
	assert.Zero(t, f.sum.Restarts)
	reqs := l.logged(2)
	require.Len(t, reqs, 2)
	assert.Empty(t, reqs[1].Range, "the restart asks for the whole file again")
	assert.Equal(t, 200, reqs[1].Status)
	wire := l.wireBytes()
	assert.GreaterOrEqual(t, wire, fx.size+half)
	assert.LessOrEqual(t, wire, fx.size+half+inFlight)
}

// TestReplacedMidDownload: the file is replaced on the server half-way
// through (a new inode, size and ETag), then the connection is reset. The
// resume's If-Range no longer matches, nginx answers with the whole new
// file, and the fetch starts over: the tree is exactly the new archive,
// never a splice of the two.
func TestReplacedMidDownload(t *testing.T) {
	t.Parallel()
	l := newLab(t, "nginx")
	v1, v2 := load(t, big), load(t, other)
	path := l.serve(v1, "big.tar.gz")
	// Slow enough to act half-way: 8 MB/s.
	l.nginx(realserver.NginxConfig{LimitRate: "8m"})
	dest := l.dest()
	f := l.startFetch(l.srv.URL+path, dest, single...)
	l.waitWire(v1.size/2, f)

	// Publish v2 as a deploy would: write it beside, rename over.
	next := filepath.Join(l.www, ".next")
	require.NoError(t, os.Link(v2.path, next))
	require.NoError(t, os.Rename(next, filepath.Join(l.www, "big.tar.gz")))
	// Read the counter once the reset is in place: bytes sent between a
	// read before it and the rule (an iptables exec, slow on a busy
	// machine) would be counted as neither v1's nor in flight.
	require.NoError(t, l.ns.ResetOnceAfter(l.ctx, l.srv.Port, 0))
	cut := l.wireBytes()
	f.wait(t)
	l.exact(f, v2, dest)

	requests := l.requests()
	assert.Equal(t, f.sum.Attempts, requests)
	assert.Equal(t, 1, f.sum.Restarts)
	reqs := l.logged(requests)
	require.Len(t, reqs, 3, "v1 reset, a resume answered with the whole of v2, v2 afresh")
	assert.Empty(t, reqs[0].Range)
	assert.NotEmpty(t, reqs[1].Range)
	assert.NotEmpty(t, reqs[1].IfRange)
	assert.Equal(t, 200, reqs[1].Status, "If-Range no longer matches: the whole new file")
	assert.Empty(t, reqs[2].Range, "the restart asks for the whole file")
	assert.Equal(t, 200, reqs[2].Status)
	wire := l.wireBytes()
	assert.GreaterOrEqual(t, wire, cut+v2.size)
	// What v1 sent up to the reset, a little more in flight, the start of
	// the abandoned answer to the resume, and v2.
	assert.LessOrEqual(t, wire, cut+v2.size+2*inFlight+1<<20)
}

// TestBlackHole: half-way, the path starts dropping everything the client
// sends on that connection: no RST, no FIN, silence. Only the client's own
// timer gets it out: stall detection, which scales its limit from what
// the body showed (seconds, not the 30 s the fixed idle timeout would
// take); it resumes on a new connection and finishes exact.
func TestBlackHole(t *testing.T) {
	t.Parallel()
	l := newLab(t, "nginx")
	fx := load(t, big)
	path := l.serve(fx, "big.tar.gz")
	l.nginx(realserver.NginxConfig{})
	require.NoError(t, l.ns.BlackHoleOnceAfter(l.ctx, l.srv.Port, fx.size/2))
	dest := l.dest()
	f := l.fetch(l.srv.URL+path, dest, single...)
	l.exact(f, fx, dest)
	assert.Contains(t, f.stderr.String(), "attempt 1: stall at", "a stall, told apart from a reset")

	assert.Equal(t, 2, l.requests())
	assert.Equal(t, 2, f.sum.Attempts)
	assert.Equal(t, 1, f.sum.Resumes)
	wire := l.wireBytes()
	assert.GreaterOrEqual(t, wire, fx.size)
	assert.LessOrEqual(t, wire, fx.size+inFlight+1<<20, "the server retransmits into the hole until it gives up")
}

// TestKilledAndRunAgain: the process is killed (kill -9, no chance to
// clean up) half-way; run again with the same URL and --to, it continues
// from the bytes its spool kept beside --to, and the tree is exact. The
// server sends the archive once, plus what the spool had not yet synced
// when the process died (at most 2 MiB, httpx's sync interval) and what
// was in flight.
func TestKilledAndRunAgain(t *testing.T) {
	t.Parallel()
	l := newLab(t, "nginx")
	fx := load(t, big)
	path := l.serve(fx, "big.tar.gz")
	// Slow enough to kill half-way: 8 MB/s.
	l.nginx(realserver.NginxConfig{LimitRate: "8m"})
	dest := l.dest()
	first := l.startFetch(l.srv.URL+path, dest, single...)
	l.waitWire(fx.size/2, first)
	l.waitSpooled(dest, fx.size/3, first)
	require.NoError(t, first.cmd.Process.Kill(), "kill -9, by its own pid")
	<-first.done
	cut := l.wireBytes()
	assert.NoDirExists(t, dest, "nothing at --to after the kill")
	left := entries(t, filepath.Dir(dest))
	assert.Contains(t, left, ".tree.faultline-spool", "the spool is kept for the next run")

	again := l.fetch(l.srv.URL+path, dest, single...)
	l.exact(again, fx, dest)
	assert.Equal(t, 1, again.sum.Attempts, "the second run needs one request")
	assert.Greater(t, again.sum.Replayed, fx.size/4, "it replays what the first run kept")

	reqs := l.logged(2)
	require.Len(t, reqs, 2)
	assert.Empty(t, reqs[0].Range)
	resumedRanges(t, reqs)
	from, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(reqs[1].Range, "bytes="), "-"), 10, 64)
	assert.Equal(t, again.sum.Replayed, from, "the second run asks for what the spool did not hold")
	assert.GreaterOrEqual(t, from, cut-2<<20-inFlight, "the spool lost at most what was not yet synced")

	wire := l.wireBytes()
	assert.LessOrEqual(t, wire, fx.size+2<<20+inFlight, "the archive once, plus the unsynced tail and what was in flight")
}

// TestKilledAndRunAgainParallel: the same on four connections, each
// paced by nginx, so that ranges arrive ahead of the unpacker when the
// process dies. Every piece was spooled at its offset as it landed: the
// second run, wide again, replays more than the unpacker had read and
// asks only for the gaps (each request a Range with If-Range, no byte
// twice). What the server sends in all is the archive once plus what the
// first run had received and not yet synced when it died: up to 2 MiB
// and what arrives while an fsync runs, which on a loaded disk is more.
func TestKilledAndRunAgainParallel(t *testing.T) {
	t.Parallel()
	l := newLab(t, "nginx")
	fx := load(t, big)
	path := l.serve(fx, "big.tar.gz")
	// 2 MB/s a request, 8 MB/s in all: slow enough that the spool syncs
	// a third of the archive well before the end on a loaded machine.
	l.nginx(realserver.NginxConfig{LimitRate: "2m"})
	dest := l.dest()
	four := []string{"--connections", "4"}
	first := l.startFetch(l.srv.URL+path, dest, four...)
	l.waitWire(fx.size/2, first)
	// Killed once the spool holds a third: what the kill tests is the
	// rerun asking for nothing the spool holds, not how fast a loaded
	// disk syncs.
	l.waitSpooled(dest, fx.size/3, first)
	require.NoError(t, first.cmd.Process.Kill(), "kill -9, by its own pid")
	<-first.done
	assert.NoDirExists(t, dest, "nothing at --to after the kill")
	before := len(l.logged(1))
	cut := l.wireBytes()

	again := l.fetch(l.srv.URL+path, dest, four...)
	l.exact(again, fx, dest)
	assert.Greater(t, again.sum.Replayed, fx.size/4, "it replays what the first run kept")

	reqs := l.logged(before + 1)
	require.Greater(t, len(reqs), before)
	assert.Equal(t, len(reqs)-before, again.sum.Attempts, "an attempt a request: nothing failed")
	// Each request asks for a gap: a bounded range, or, for a gap that
	// nothing spooled follows, the rest of the file, read only up to
	// where another request's range begins (the download goes wide and
	// the first response stops there). No byte is asked for twice.
	type gap struct{ a, b int64 }
	var gaps []gap
	for i, r := range reqs[before:] {
		from, to, ok := strings.Cut(strings.TrimPrefix(r.Range, "bytes="), "-")
		a, err1 := strconv.ParseInt(from, 10, 64)
		b, err2 := int64(-1), error(nil)
		if to != "" {
			b, err2 = strconv.ParseInt(to, 10, 64)
		}
		if !assert.True(t, ok && err1 == nil && err2 == nil, "request %d of the rerun asks for a gap: %q", i+1, r.Range) {
			continue
		}
		assert.NotEmpty(t, r.IfRange, "request %d of the rerun carries If-Range", i+1)
		gaps = append(gaps, gap{a, b})
	}
	slices.SortFunc(gaps, func(x, y gap) int { return cmp.Compare(x.a, y.a) })
	var asked int64
	for i, g := range gaps {
		next := fx.size
		if i+1 < len(gaps) {
			next = gaps[i+1].a
		}
		if g.b < 0 {
			g.b = next - 1
		}
		assert.Less(t, g.b, next, "gap %d-%d overlaps the next one asked for", g.a, g.b)
		asked += g.b - g.a + 1
	}
	assert.Equal(t, fx.size-again.sum.Replayed, asked, "the rerun asks for exactly what the spool did not hold")
	wire := l.wireBytes()
	assert.LessOrEqual(t, wire-cut, asked+inFlight, "the rerun's wire: its gaps, and headers")
	t.Logf("archive %d bytes; wire %d across both runs (%.3f×), %d of them after the kill; the rerun replayed %d and asked for %d in %d requests",
		fx.size, wire, float64(wire)/float64(fx.size), wire-cut, again.sum.Replayed, asked, len(reqs)-before)
}
