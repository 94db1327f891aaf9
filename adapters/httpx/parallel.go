package httpx

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"hash/maphash"
	"io"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/faultline-go/faultline/policy"
)

// ConnectionsAuto, as Options.Connections, lets the download choose how
// many connections to use: it starts with one and adds more while the
// total rate grows (see width.go).
const ConnectionsAuto = -1

// DefaultMaxConnections is the most connections a download opens to one
// host when Options.MaxConnections is 0.
const DefaultMaxConnections = 8

// DefaultWindow is the reorder window of a parallel download when
// Options.Window is 0.
const DefaultWindow = 48 << 20

// Chunk sizes: a chunk is a request's worth. Larger chunks cost fewer
// round trips between requests; smaller ones let more connections work
// inside the window.
const (
	maxChunk = 8 << 20
	minChunk = 1 << 20
)

// ErrRangesIgnored is wrapped by the RestartError of a parallel download
// whose server answered a range request with the whole representation,
// unchanged: it does not serve ranges after all, and the download
// restarts on one connection.
var ErrRangesIgnored = errors.New("httpx: the server ignored a range request")

// errStopped ends a range's body when the download it belongs to is over.
var errStopped = errors.New("httpx: the parallel download stopped")

func (b *Body) stopped() bool { return b.stop != nil && b.stop.Load() }

// rangeRefused handles a response to a range request that is not a 206.
func (b *Body) rangeRefused(resp *http.Response) error {
	if validatorChanged(b.validator, resp.Header) {
		return b.restartWith("the validator changed", nil)
	}
	return b.restartWith("the server answered a range request with the whole representation", ErrRangesIgnored)
}

// perHost returns the most connections to one host.
func (opts *Options) perHost() int {
	if opts.MaxConnections > 0 {
		return opts.MaxConnections
	}
	return DefaultMaxConnections
}

// connections returns the width a download may use: its maximum, and
// whether it adapts.
func (opts *Options) connections() (max int, auto bool) {
	limit := opts.MaxConnections
	if limit <= 0 {
		limit = DefaultMaxConnections
	}
	switch {
	case opts.Connections == ConnectionsAuto:
		return limit, true
	case opts.Connections > 1:
		return min(opts.Connections, limit), false
	}
	return 1, false
}

// width returns the most connections a download may use and whether it
// adapts: with mirrors to splice, each takes up to the per-host cap.
func (o *op) width(opts *Options) (max int, auto bool) {
	max, auto = opts.connections()
	if o.mirrors.splicing() {
		if auto {
			max *= len(o.mirrors.list)
		} else {
			max = min(opts.Connections, opts.perHost()*len(o.mirrors.list))
		}
	}
	return max, auto
}

// window returns the reorder window of a parallel download.
func (opts *Options) window() int64 {
	if opts.Window > 0 {
		return opts.Window
	}
	return DefaultWindow
}

// firstRange returns how many bytes the first request of a download asks
// for: all (0), unless it is sure to go wide, a fixed number of
// connections. Then it asks for two chunks of the least size: an
// open-ended response, cut short where the ranged connections take over,
// would have sent bytes past where it stopped that no one reads (as much
// as socket buffers hold, or a server's first second). The length is not
// known yet, nor so the chunk size (chunkSize): once it is, the first
// response's body asks for the rest of its two chunks with a range of
// its own (see startParallel), which ends where the ranged connections
// begin. Two chunks of the least size are never more than two chunks, so
// the first connection has no more to do than the others. A server that
// ignores the range sends the whole, and the download stays on one
// connection; a body shorter than the range comes whole in the 206.
//
// Auto keeps the open-ended request: it may never go wide, and a
// download on one connection would pay a request for every range it
// asked for instead.
func (o *op) firstRange(opts *Options) int64 {
	if opts == nil || !o.widens || o.single {
		return 0
	}
	if conns, auto := o.width(opts); auto || conns < 2 {
		return 0
	}
	return 2 * minChunk
}

// piece is one chunk of the representation, claimed by a connection.
type piece struct {
	index      int
	start, end int64
	buf        []byte
	// written counts the bytes in buf; under stream.mu. Bytes below it
	// never change again, so the consumer copies them without the lock.
	written int64
}

// stream is a parallel download: the ordered reader the consumer reads,
// and the connections that fill it.
type stream struct {
	o          *op
	ctx        context.Context // the operation's
	wctx       context.Context // the connections'; canceled when the stream stops
	cancel     context.CancelFunc
	stop       atomic.Bool // shared by every range's body
	opts       Options
	head       *Body
	headMirror *mirror // the mirror of the first response, when there are mirrors
	headBytes  int64   // bytes the first response delivered, on its goroutine
	client     *Client // the operation's own, before the stream hooked it
	hooks      Hooks   // the operation's observer's, before the stream hooked them
	shooks     Hooks   // the same, serialized: for every connection's operation
	// spool, when the download keeps one (Options.Spool), takes the bytes
	// of every piece as they land (see fillFrom); the first response's
	// body no longer writes to it itself.
	spool *spool
	// spooled are the extents the spool held when a resumed download
	// went wide: the bytes a chunk finds there are read back, not asked
	// for.
	spooled   []extent
	url       string
	total     int64
	validator string
	// resp is what the first response said, for the chunks' decisions:
	// the operation's own changes with every request the first
	// response's body makes, on its goroutine.
	resp    policy.Response
	chunk   int64
	window  int64
	nchunks int
	width   *width
	sum     hash.Hash // of the bytes read, when Options.SHA256 is set

	// hookMu serializes the client's hooks, which connections call from
	// their own goroutines.
	hookMu sync.Mutex

	mu        sync.Mutex
	cond      *sync.Cond
	pos       int64          // bytes the consumer has read
	pieces    map[int]*piece // claimed and not yet read
	next      int            // the next chunk a ranged connection claims
	headEnd   int            // the head may stream chunks below this
	headMin   int            // the chunks the head keeps when others join
	headAt    int            // the chunk the head is on; -1 once it stopped
	ranged    int            // ranged connections running
	delivered int64          // bytes written into pieces
	told      int            // connections last told to onConnections
	// onConnections is the client's OnConnections, serialized.
	onConnections func(int)
	free          [][]byte // chunk buffers read to the end, for reuse
	waited        bool     // a connection waited for room in the window
	err           error
	restart       *RestartError
	stats         stats
	wg            sync.WaitGroup
}

// stats are what the connections did, summed into the operation's result
// when the stream ends.
type stats struct {
	attempts, resumes, refetches, continuations int
	served, refetched, replayed                 int64
	peak                                        int // most connections at once
	trail                                       []policy.Step
}

// startParallel returns a stream over b, the first response of a
// download, when opts allow more than one connection and the response
// allows ranges; nil otherwise, and b is read as usual.
func (o *op) startParallel(ctx context.Context, b *Body, opts *Options) *stream {
	if opts == nil {
		return nil
	}
	maxConns, auto := o.width(opts)
	if maxConns < 2 || o.single {
		return nil
	}
	if b.total <= 0 || !b.acceptRanges || b.validator == "" || (b.received != 0 || len(b.ahead) > 0) && b.spool == nil {
		return nil
	}
	window := opts.window()
	chunk := chunkSize(b.total, window, maxConns)
	if b.total < 2*chunk {
		return nil
	}
	wctx, cancel := context.WithCancel(ctx)
	s := &stream{
		o: o, ctx: ctx, wctx: wctx, cancel: cancel, opts: *opts, head: b, url: o.url,
		total: b.total, validator: b.validator, chunk: chunk, window: window,
		pieces: map[int]*piece{},
	}
	s.resp = o.resp
	s.nchunks = int((s.total + chunk - 1) / chunk)
	s.headEnd = s.nchunks
	s.next = s.nchunks
	s.cond = sync.NewCond(&s.mu)
	if opts.SHA256 != nil {
		s.sum = sha256.New()
	}
	// The stream checks the length and the digest of the whole; the first
	// response no longer reads to the end, and its own hash only guards a
	// resume it may need (nothing was read yet, so it can change now;
	// a body resumed from a spool keeps the hash of what it holds).
	b.opts.SHA256, b.opts.Size = nil, 0
	if b.received == 0 {
		b.hash = b.newHash()
	}
	if b.spool != nil {
		// Resumed from a spool: the first response replays it in order
		// and asks for its gaps; the other connections read the chunks
		// it holds from it and ask only for the rest. The first
		// response's 206 already confirmed the validator.
		s.spooled = b.spool.extents()
	}
	// The head keeps the chunk it is on and the next when others join;
	// resumed, it keeps the chunks its open response asks for, up to two
	// past where that response starts, so that the response is read, not
	// dropped.
	s.headMin = 2
	switch {
	case b.spool != nil && b.end > 0:
		s.headMin = min(int((b.end+chunk-1)/chunk), int(b.received/chunk)+2)
	case b.end > 0 && b.end < b.total:
		// The first response asked for the first bytes only (see
		// firstRange): the head keeps the chunks it covers, and its
		// body asks for the rest of the last of them, no more. It ends
		// where the ranged connections begin, so no byte is sent past
		// where it stops.
		s.headMin = max(2, int((b.end+chunk-1)/chunk))
		s.headEnd = min(s.headMin, s.nchunks)
		s.next = s.headEnd
		b.limit = min(int64(s.headEnd)*chunk, s.total)
	}
	s.width = newWidth(s, maxConns, auto)
	// The first response's decisions go through the same hooks as the
	// chunks': serialized, and seen by the width.
	s.client = o.c
	hooked := *o.c
	s.hook(&hooked, o.c)
	o.c = &hooked
	s.hooks = o.hooks
	s.shooks = Hooks{OnAttempt: s.serial(o.hooks.OnAttempt), OnDecision: s.serial(o.hooks.OnDecision),
		OnResume: s.serial(o.hooks.OnResume), OnRestart: s.serial(o.hooks.OnRestart)}
	o.hooks = s.shooks
	s.spool, o.spool = o.spool, nil
	if f := o.c.OnConnections; f != nil {
		s.onConnections = func(n int) {
			s.hookMu.Lock()
			defer s.hookMu.Unlock()
			f(n)
		}
	}
	s.told = 1
	s.headMirror = o.mirror
	s.stats.peak = 1
	s.wg.Add(1)
	go s.runHead()
	s.width.start()
	return s
}

// chunkSize returns the size of the chunks of a download of total bytes
// over conns connections with a reorder window of window bytes. Chunks
// are small enough that every connection has one in the window and the
// body has at least two for each connection, large enough that a
// request's round trip is a small part of its time (at least minChunk,
// at most maxChunk). Within those bounds the count of chunks is a
// multiple of conns: connections that run at the same rate, as under a
// server's limit on each response, then finish their last chunks
// together instead of some idling while the last few trickle in.
func chunkSize(total, window int64, conns int) int64 {
	n := int64(max(conns, 1))
	most := max(min(window/(n+1), maxChunk), minChunk)
	rounds := max(2, ceilDiv(total, n*most))
	if total/(n*rounds) < minChunk {
		// Too small for two rounds of large enough chunks: as many
		// rounds as fit, or, below one, chunks of the least size.
		rounds = total / (n * minChunk)
		if rounds == 0 {
			return minChunk
		}
	}
	return min(ceilDiv(total, n*rounds), most)
}

func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }

// Size returns the length of the representation.
func (s *stream) Size() int64 { return s.total }

// Read reads the representation in order.
func (s *stream) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	s.mu.Lock()
	for {
		if s.err != nil {
			err := s.err
			s.mu.Unlock()
			return 0, err
		}
		if s.pos >= s.total {
			s.mu.Unlock()
			return 0, s.finish()
		}
		k := int(s.pos / s.chunk)
		if pc := s.pieces[k]; pc != nil && s.pos-pc.start < pc.written {
			avail := pc.buf[s.pos-pc.start : pc.written]
			s.mu.Unlock()
			n := copy(p, avail)
			if s.sum != nil {
				s.sum.Write(p[:n])
			}
			s.mu.Lock()
			s.pos += int64(n)
			if s.pos == pc.end {
				delete(s.pieces, k)
				s.free = append(s.free, pc.buf[:cap(pc.buf)])
				pc.buf = nil
				s.cond.Broadcast()
			}
			s.mu.Unlock()
			return n, nil
		}
		s.cond.Wait()
	}
}

// finish checks the whole once the consumer has read it: its SHA-256 and
// length, when the caller gave them. A mismatch is decided like any
// failure; a retry restarts the download.
func (s *stream) finish() error {
	var cause error
	switch {
	case s.opts.Size > 0 && s.total != s.opts.Size:
		cause = &ChecksumError{URL: s.o.shown, WantSize: s.opts.Size, GotSize: s.total}
	case s.sum != nil:
		if got := s.sum.Sum(nil); !bytes.Equal(got, s.opts.SHA256) {
			cause = &ChecksumError{URL: s.o.shown, WantSize: -1, GotSize: s.total, WantSHA256: s.opts.SHA256, GotSHA256: got}
		}
	}
	if cause == nil {
		return io.EOF
	}
	s.shutdown()
	o := s.o
	d := o.decide(s.ctx, cause, policy.PhaseBody, s.total, s.total)
	if d.Action == policy.Fail {
		return s.failed(o.final(s.ctx, cause, d, nil))
	}
	if err := o.wait(s.ctx, d.Delay); err != nil {
		return s.failed(o.final(s.ctx, cause, d, err))
	}
	return s.failed(&RestartError{Reason: "the body failed verification", Err: cause})
}

// failed records err as the stream's end and returns it.
func (s *stream) failed(err error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.setErr(err)
	}
	return s.err
}

// fail ends the stream with err, the first failure of any connection, and
// stops the others. Called with s.mu held.
func (s *stream) setErr(err error) {
	if s.err != nil {
		return
	}
	s.err = err
	var re *RestartError
	if errors.As(err, &re) {
		s.restart = re
	}
	s.stop.Store(true)
	s.cancel()
	s.cond.Broadcast()
}

func (s *stream) fail(err error) {
	s.mu.Lock()
	s.setErr(err)
	s.mu.Unlock()
}

// shutdown stops every connection and waits for them, then adds what they
// did to the operation's counts. It is safe to call more than once.
func (s *stream) shutdown() {
	s.mu.Lock()
	s.stop.Store(true)
	s.cancel()
	s.cond.Broadcast()
	s.mu.Unlock()
	s.width.stopWatching()
	s.wg.Wait()
	s.mu.Lock()
	st := s.stats
	s.stats = stats{peak: st.peak}
	s.mu.Unlock()
	o := s.o
	o.c, o.hooks = s.client, s.hooks
	if o.spool == nil {
		o.spool = s.spool
	}
	o.attempts += st.attempts
	o.resumes += st.resumes
	o.refetches += st.refetches
	if len(st.trail) > 0 {
		// The chunks' decisions join the download's, in the order made.
		o.trail = append(o.trail, st.trail...)
		sort.SliceStable(o.trail, func(i, j int) bool { return o.trail[i].Elapsed < o.trail[j].Elapsed })
	}
	o.continuations += st.continuations
	o.served += st.served
	o.refetched += st.refetched
	o.replayed += st.replayed
	o.peakConnections = max(o.peakConnections, st.peak)
}

// Close stops the download.
func (s *stream) Close() error {
	s.shutdown()
	return nil
}

// consumed returns how many bytes the consumer has read.
func (s *stream) consumed() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pos
}

// claim returns the next piece for a connection, waiting for room in the
// window; nil when there is nothing more for it to do. head says whether
// the caller is the first response, which may only take chunk k, the one
// after its last.
func (s *stream) claim(head bool, k int) *piece {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		switch {
		case s.err != nil, s.stop.Load():
			return nil
		case head && k >= s.headEnd, head && k >= s.nchunks:
			s.headAt = -1
			s.cond.Broadcast()
			return nil
		case !head && (s.next >= s.nchunks || s.ranged > s.width.rangedWanted(s.headAt >= 0)):
			return nil
		}
		if !head {
			k = s.next
		}
		start := int64(k) * s.chunk
		end := min(start+s.chunk, s.total)
		if end <= s.pos+s.window || start <= s.pos {
			if !head {
				s.next++
			} else {
				s.headAt = k
			}
			pc := &piece{index: k, start: start, end: end, buf: s.buffer(end - start)}
			s.pieces[k] = pc
			return pc
		}
		s.waited = true
		s.cond.Wait()
	}
}

// buffer returns a buffer of n bytes, at most a chunk, reusing one the
// consumer is done with. Called with s.mu held.
func (s *stream) buffer(n int64) []byte {
	if k := len(s.free); k > 0 {
		b := s.free[k-1]
		s.free = s.free[:k-1]
		return b[:n]
	}
	return make([]byte, n, s.chunk)
}

// wrote records n more bytes in pc.
func (s *stream) wrote(pc *piece, n int) {
	s.mu.Lock()
	pc.written += int64(n)
	s.delivered += int64(n)
	s.cond.Broadcast()
	s.mu.Unlock()
}

// fillFrom reads pc's bytes from b.
func (s *stream) fillFrom(pc *piece, b *Body) error {
	size := pc.end - pc.start
	for pc.written < size {
		// pc.written changes only here, on this goroutine.
		n, err := b.Read(pc.buf[pc.written:])
		if n > 0 {
			// Spooled as it lands, at its own offset: a process killed
			// now keeps what every connection received, not only what
			// the consumer read.
			s.spool.write(pc.start+pc.written, pc.buf[pc.written:pc.written+int64(n)])
			s.wrote(pc, n)
		}
		switch {
		case err == io.EOF && pc.written == size:
			return nil
		case err == io.EOF:
			return io.ErrUnexpectedEOF
		case err != nil:
			return err
		}
	}
	return nil
}

// runHead streams the first response into the chunks at the front until
// it reaches one another connection took, or the end.
func (s *stream) runHead() {
	defer s.wg.Done()
	b := s.head
	for k := 0; ; k++ {
		pc := s.claim(true, k)
		if pc == nil {
			// Reading stops here; whatever the server had sent past this
			// point is abandoned with the connection, and a ranged
			// connection takes its place.
			if !b.eof || b.limit > 0 {
				// (At its end, the body credited its mirror itself,
				// unless it was a range: see credit.)
				s.o.mirrors.succeededAt(s.headMirror, s.headBytes, 0, true)
			}
			// Bytes of a spool it was to replay and did not: the
			// chunks' connections read them back, and count them.
			s.o.replayed -= b.replayLeft
			b.Close()
			s.width.changed()
			return
		}
		if err := s.fillFrom(pc, b); err != nil {
			s.fail(err)
			b.Close()
			return
		}
		s.headBytes += pc.end - pc.start
	}
}

// grow starts ranged connections until there are as many as wanted.
// Called with s.mu held.
func (s *stream) grow() {
	head := s.headAt >= 0
	if head && s.headEnd == s.nchunks && s.width.rangedWanted(true) > 0 {
		// The first ranged connection: the head keeps the chunk it is on
		// and the next; the others start after them.
		s.headEnd = min(max(s.headAt+2, s.headMin), s.nchunks)
		s.next = s.headEnd
	}
	if !head && s.next == s.nchunks && s.headEnd == s.nchunks {
		return
	}
	for s.ranged < s.width.rangedWanted(head) && s.next < s.nchunks && s.err == nil && !s.stop.Load() {
		s.ranged++
		s.stats.peak = max(s.stats.peak, s.ranged+btoi(head))
		s.wg.Add(1)
		go s.runRanged(s.width.client())
	}
	s.tellConnections()
}

// tellConnections tells the client's OnConnections how many connections
// are open, when that changed. Called with s.mu held.
func (s *stream) tellConnections() {
	n := s.ranged + btoi(s.headAt >= 0)
	if n == s.told || s.onConnections == nil {
		return
	}
	s.told = n
	s.onConnections(n)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// runRanged is one ranged connection: it fetches chunks, one request
// each, until there are none left or it is no longer wanted.
func (s *stream) runRanged(hc *http.Client) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		s.ranged--
		s.cond.Broadcast()
		s.grow()
		s.mu.Unlock()
	}()
	for {
		pc := s.claim(false, 0)
		if pc == nil {
			return
		}
		if err := s.fetch(pc, hc); err != nil {
			if err != errStopped {
				s.fail(err)
			}
			return
		}
	}
}

// spooledIn returns the spooled extents that overlap [start, end),
// clipped to it.
func (s *stream) spooledIn(start, end int64) []extent {
	var out []extent
	for _, e := range s.spooled {
		if e.End > start && e.Start < end {
			out = append(out, extent{Start: max(e.Start, start), End: min(e.End, end)})
		}
	}
	return out
}

// fromSpool fills pc with the bytes the spool holds for it.
func (s *stream) fromSpool(pc *piece) error {
	size := pc.end - pc.start
	n, err := s.spool.data.ReadAt(pc.buf[:size], pc.start)
	if int64(n) < size {
		s.spool.fail("cannot be read back", err)
		return &RestartError{Reason: "the spool could not be read back", Err: err}
	}
	s.wrote(pc, n)
	s.mu.Lock()
	s.stats.replayed += size
	s.mu.Unlock()
	return nil
}

// fetch fetches one chunk with a range request of its own, resumed under
// the policy as a download of its own would be. The bytes of it a spool
// holds are read back from there (see startParallel), the chunk's
// requests asking only for the others.
func (s *stream) fetch(pc *piece, hc *http.Client) error {
	cover := s.spooledIn(pc.start, pc.end)
	var held int64
	for _, e := range cover {
		held += e.len()
	}
	if held == pc.end-pc.start {
		return s.fromSpool(pc)
	}
	o := s.child(pc, hc)
	url, validator := s.url, s.validator
	m := s.o.mirrors
	mr := m.pick(s.opts.perHost())
	if mr != nil {
		defer m.release(mr)
		o.mirrors = m
		o.use(mr)
		url = mr.url
		if mr != s.headMirror {
			validator = mr.validator
		}
	} else if m != nil {
		// Every mirror is at its cap: share the first response's.
		o.mirrors = m
		o.use(s.headMirror)
	}
	began := time.Now()
	b := &Body{
		o: o, ctx: s.wctx, url: url, opts: Options{Header: s.opts.Header}, total: s.total, end: -1,
		validator: validator, acceptRanges: true,
		received: pc.start, limit: pc.end, stop: &s.stop,
	}
	b.seed = maphash.MakeSeed()
	b.hash = b.newHash()
	if len(cover) > 0 {
		b.spool = s.spool
		if e := cover[0]; e.Start == pc.start {
			// Read back first; the request asks for what follows.
			b.replay, b.replayLeft, b.replayHash = s.spool.replay(e.Start, e.End), e.len(), true
			b.received = e.End
			o.replayed += e.len()
			cover = cover[1:]
		}
		b.ahead = cover
	}
	defer func() {
		b.Close()
		s.mu.Lock()
		s.stats.replayed += o.replayed
		s.stats.attempts += o.attempts
		s.stats.resumes += o.resumes
		s.stats.refetches += o.refetches
		s.stats.continuations += o.continuations
		s.stats.trail = append(s.stats.trail, o.trail...)
		s.stats.served += o.served
		s.stats.refetched += o.refetched
		s.mu.Unlock()
	}()
	b.attempt()
	if err := b.connect(true); err != nil {
		if b.stopped() {
			return errStopped
		}
		if _, ok := err.(*RestartError); ok {
			return err
		}
		if err = b.recover(err); err != nil {
			return err
		}
	}
	if err := s.fillFrom(pc, b); err != nil {
		return err
	}
	// Read the end of the response, so that its connection can serve
	// the next request.
	var one [1]byte
	if n, err := b.Read(one[:]); n != 0 || err != io.EOF {
		if err == nil || err == io.EOF {
			err = fmt.Errorf("httpx: range %d-%d: more bytes than asked for", pc.start, pc.end-1)
		}
		return err
	}
	m.succeededAt(o.mirror, pc.end-pc.start, time.Since(began), true)
	return nil
}

// child returns the operation a chunk's requests are decided under: the
// download's client, policy and limits, and counts of its own. Its hooks
// are the client's, serialized; its source names the range.
func (s *stream) child(pc *piece, hc *http.Client) *op {
	o := s.o
	c := *s.client
	c.HTTP = hc
	s.hook(&c, s.client)
	// newOp gives fields added to op later their defaults; what makes the
	// chunk part of this download is copied.
	co := c.newOp(o.caller, o.method, o.url)
	co.decider, co.maxElapsed, co.start, co.resp = o.decider, o.maxElapsed, o.start, s.resp
	co.idem, co.idemKey, co.replayable = o.idem, o.idemKey, o.replayable
	co.hooks = s.shooks
	co.shown = o.shown + " (bytes " + strconv.FormatInt(pc.start, 10) + "-" + strconv.FormatInt(pc.end-1, 10) + ")"
	// Its progress is measured within the range.
	co.highWater, co.rangeStart, co.rangeEnd = pc.start, pc.start, pc.end
	s.mu.Lock()
	co.connections = s.ranged + btoi(s.headAt >= 0)
	s.mu.Unlock()
	return co
}

// hook sets c's hooks to orig's, serialized, with decisions seen by the
// width.
func (s *stream) hook(c, orig *Client) {
	c.OnAttempt = s.serial(orig.OnAttempt)
	c.OnDecision = s.serial(s.width.observe(orig.OnDecision))
	c.OnResume = s.serial(orig.OnResume)
	c.OnRestart = s.serial(orig.OnRestart)
}

// serial wraps a hook so that calls from several connections do not
// overlap.
func (s *stream) serial(f func(Event)) func(Event) {
	if f == nil {
		return nil
	}
	return func(e Event) {
		s.hookMu.Lock()
		defer s.hookMu.Unlock()
		f(e)
	}
}

// runParallel is Client.Do's loop body for a parallel download: consume
// the stream, and report whether to go round again (a restart).
func (o *op) runParallel(ctx context.Context, s *stream, consume func(ctx context.Context, r io.Reader) error) (res Result, err error, again bool) {
	cerr := consume(ctx, s)
	if cerr == nil {
		s.mu.Lock()
		done := s.err != nil
		s.mu.Unlock()
		if !done {
			_, cerr = io.Copy(io.Discard, s)
		}
	}
	s.shutdown()
	s.mu.Lock()
	serr, restart := s.err, s.restart
	s.mu.Unlock()
	switch {
	case restart != nil:
		if errors.Is(restart, ErrRangesIgnored) {
			o.single = true
		}
		o.restartedAt(s.consumed(), restart)
		return Result{}, nil, true
	case serr != nil && serr != io.EOF:
		return o.result(s.consumed()), o.blame(o.elapsedCause(ctx, cerr), serr), false
	case cerr != nil:
		cerr = o.elapsedCause(ctx, cerr)
		phase := policy.PhaseUnpack
		if ce := (*commitError)(nil); errors.As(cerr, &ce) {
			phase = policy.PhaseCommit
		}
		d := o.decide(ctx, cerr, phase, s.consumed(), s.total)
		if d.Action == policy.Fail {
			return o.result(s.consumed()), o.final(ctx, cerr, d, nil), false
		}
		if err := o.wait(ctx, d.Delay); err != nil {
			return o.result(s.consumed()), o.final(ctx, cerr, d, err), false
		}
		o.restartedAt(s.consumed(), &RestartError{Reason: "the consumer failed", Err: cerr})
		return Result{}, nil, true
	}
	o.succeed()
	return o.result(s.consumed()), nil, false
}

// restartedAt counts a restart after received bytes were delivered.
func (o *op) restartedAt(received int64, why *RestartError) {
	o.restarts++
	o.refetched += received
	o.mirrorsRestart(why)
	if o.c.OnRestart != nil || o.hooks.OnRestart != nil {
		ev := o.event(received, why.Err)
		ev.Reason = why.Reason
		o.onRestart(ev)
	}
}
