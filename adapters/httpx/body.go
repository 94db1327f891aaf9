package httpx

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"hash/maphash"
	"io"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/faultline-go/faultline/internal/redact"
	"github.com/faultline-go/faultline/policy"
)

// Body is the body of a download that resumes after a failure. A read
// that fails mid-body is decided by the policy; on "resume" (or "retry"),
// Body requests the rest and continues, so the reader sees one unbroken
// stream. When the download cannot continue (see ErrRestart) or the policy
// gives up, Read returns the error, and every later Read returns it too.
// At the end, the length and, if given, the SHA-256 are checked before
// io.EOF is returned. Reads smaller than 64 KiB are served from a buffer
// of that size, which Close releases.
//
// A Body is not safe for concurrent use.
type Body struct {
	o    *op
	ctx  context.Context
	url  string
	opts Options
	own  bool // opened by Client.Open, not by Do
	// release ends the operation's context, for a Body of Client.Open.
	release context.CancelFunc
	header  http.Header

	resp   *http.Response
	rc     io.ReadCloser
	actx   context.Context // the current attempt's context
	cancel context.CancelCauseFunc
	watch  *watch
	phase  policy.Phase // of the last failure

	// received counts the body bytes taken from responses and hashed:
	// the consumer has all of them but buf[r:w].
	received     int64
	total        int64 // -1: unknown
	end          int64 // where the current response's bytes end; -1: unknown
	validator    string
	acceptRanges bool
	hash         hash.Hash // of the bytes received
	seed         maphash.Seed
	// limit, when positive, makes the body one range of a parallel
	// download (see parallel.go): every request asks for the bytes from
	// received up to limit, and the body ends there.
	limit int64
	// first, when positive, bounds the first request of a download that
	// will go wide: it asks for the first bytes only (see firstRange).
	first int64
	// stop, when set and true, ends a range's body at once, without a
	// decision: the download it belonged to is over.
	stop *atomic.Bool
	// mirrorMark is where the bytes of the current mirror began, for
	// what each mirror delivered (see mirror.go).
	mirrorMark int64

	// buf holds bytes received but not yet read, for reads smaller than
	// it: one read of the network serves many of them (see Read).
	buf  []byte
	r, w int

	// resuming reports that the current request was counted as a resume.
	resuming bool
	// stalled reports that the last attempt stalled: the next one must
	// not reuse its connection.
	stalled bool
	// replay delivers the bytes a spool held before any from the
	// network; replayLeft of them are still to deliver. They are counted
	// in received and hashed already.
	replay     io.Reader
	replayLeft int64
	// replayHash reports that the bytes replayed are hashed as they are
	// read back: an extent past the first (see replayAhead).
	replayHash bool
	// ahead are the spooled extents past received, sorted: the body asks
	// the server only for the gaps before them and reads them back from
	// the spool (see fromSpool). between reports that the body is reading
	// one back, the response before it ended: the next request goes out
	// when it has been read.
	ahead   []extent
	between bool
	// spool is where the replayed bytes are read from: the operation's
	// spool, which a parallel download takes over (see startParallel).
	spool *spool

	err     error
	restart *RestartError
	eof     bool
	closed  bool
}

func (o *op) open(ctx context.Context, opts *Options) (*Body, error) {
	b := &Body{o: o, ctx: ctx, url: o.url, total: -1, end: -1}
	if opts != nil {
		b.opts = *opts
	}
	b.seed = maphash.MakeSeed()
	b.hash = b.newHash()
	if _, err := http.NewRequest(http.MethodGet, b.url, nil); err != nil {
		return nil, scrub(err)
	}
	if b.opts.Spool != "" && !o.spoolTried {
		o.spoolTried = true
		if resumed, err := b.fromSpool(); resumed {
			return b, err
		}
	}
	b.first = o.firstRange(opts)
	b.attempt()
	if err := b.connect(false); err != nil {
		if err = b.recover(err); err != nil {
			b.endAttempt()
			return nil, err
		}
	}
	return b, nil
}

// fromSpool opens the operation's spool and, when it holds bytes of this
// URL's body, continues from there: the extent at the start, if any,
// counts as delivered (it is hashed while the spool is checked) and the
// consumer reads it back from the spool first; then each gap between the
// spooled extents is asked for with a bounded Range and If-Range, and each
// extent after a gap is read back from the spool when the body reaches
// it. The first request goes out before the consumer reads anything: its
// 206 for the same validator is what makes the spooled bytes current (the
// spool always leaves at least one byte to ask for). resumed is false when
// the body must start clean: no spool, nothing in it, or the server no
// longer serves what it holds; err is the final error when the policy gave
// up.
func (b *Body) fromSpool() (resumed bool, err error) {
	o := b.o
	sp, side, ext := openSpool(b.opts.Spool, o.url, &b.opts, func(validator string) io.Writer {
		b.validator = validator
		b.hash = b.newHash()
		return b.hash
	}, o.warnSpool)
	o.spool = sp
	if sp == nil || len(ext) == 0 {
		b.validator, b.hash = "", b.newHash()
		return false, nil
	}
	sp.start()
	b.spool = sp
	b.validator = side.Validator
	b.total, b.acceptRanges = side.Length, true
	o.resp.AcceptRanges, o.resp.Validator, o.resp.Resumable = true, side.Validator, true
	n := prefix(ext)
	if n > 0 {
		b.replay, b.replayLeft = sp.replay(0, n), n
		ext = ext[1:]
	}
	b.received, b.ahead = n, ext
	if n == 0 {
		// Nothing was hashed: the hash follows the validator.
		b.hash = b.newHash()
	}
	o.highWater, o.replayed = n, n
	// A resume, as after a failure in this process: a request for the
	// first gap with Range (a full answer makes it a refetch; see
	// checkFull).
	b.resuming = true
	o.resumes++
	o.onResume(o.event(n, nil))
	b.attempt()
	err = b.connect(true)
	if _, restart := err.(*RestartError); err != nil && !restart {
		err = b.recover(err)
	}
	re, restart := err.(*RestartError)
	if !restart {
		if err != nil {
			b.endAttempt()
		}
		return true, err
	}
	// The server changed the representation, or cannot continue it:
	// never splice, start clean.
	o.warnSpool(&SpoolError{Dir: sp.dir, Reason: "the server cannot continue it (" + re.Reason + "); starting clean"})
	b.endAttempt()
	b.received, b.total, b.end, b.validator, b.acceptRanges = 0, -1, -1, "", false
	b.replay, b.replayLeft, b.ahead, b.spool, b.hash = nil, 0, nil, nil, b.newHash()
	o.highWater, o.replayed = 0, 0
	o.resp = policy.Response{}
	if b.resuming {
		o.resumes--
		b.resuming = false
	}
	if err := sp.empty(); err != nil {
		sp.fail("cannot be emptied", err)
	}
	return false, nil
}

// replayAhead starts reading back the spooled extent that begins where
// the body is, once the response for the gap before it has ended. The
// extent's bytes count as received at once (replayLeft of them are still
// to deliver) and are hashed as they are read back.
func (b *Body) replayAhead() bool {
	if len(b.ahead) == 0 || b.received != b.ahead[0].Start || b.replayLeft > 0 {
		return false
	}
	e := b.ahead[0]
	b.ahead = b.ahead[1:]
	b.endAttempt()
	b.replay, b.replayLeft, b.replayHash = b.spool.replay(e.Start, e.End), e.len(), true
	b.received, b.end, b.between = e.End, e.End, true
	b.o.replayed += e.len()
	b.o.highWater = max(b.o.highWater, e.End)
	return true
}

// dropAhead forgets the spooled extents the current response covers: it
// sent more than asked, or the whole representation, and its bytes are
// used instead.
func (b *Body) dropAhead(upTo int64) {
	for len(b.ahead) > 0 && b.ahead[0].Start < upTo {
		if b.ahead[0].End <= upTo {
			b.ahead = b.ahead[1:]
			continue
		}
		b.ahead[0].Start = upTo
	}
}

// newHash returns a hash for the bytes delivered, used to check a
// prefix the server sends again (see checkFull). SHA-256 when the caller
// gave one to verify, as it is computed anyway. Otherwise the cost
// matters, because it is paid on every byte of every download that never
// fails: with a strong ETag, which by RFC 9110 §8.8.1 changes whenever
// the bytes do, CRC-32C (in hardware, about 1% of loopback throughput)
// backs it up; without one the check is the only protection, and a keyed
// 64-bit hash does it (about a fifth of the cost of SHA-256). Both guard
// against accidental change, not an adversary, who cannot see the key.
func (b *Body) newHash() hash.Hash {
	switch {
	case b.opts.SHA256 != nil:
		return sha256.New()
	case strings.HasPrefix(b.validator, `"`):
		return crc32.New(castagnoli)
	}
	var h maphash.Hash
	h.SetSeed(b.seed)
	return &h
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Header returns the header of the response the body started with.
func (b *Body) Header() http.Header { return b.header }

// Size returns the length the server announced, or -1.
func (b *Body) Size() int64 { return b.total }

// bufSize is the size of a Body's read buffer. Reads at least this large
// go straight to the response; smaller ones are served from the buffer,
// so that a consumer reading 4 KiB at a time (compress/gzip's
// bufio.Reader) does not cost a system call per read. 64 KiB is what a
// loopback or LAN socket typically has ready between two reads.
const bufSize = 64 << 10

var bufPool = sync.Pool{New: func() any { return new([bufSize]byte) }}

// Read reads the body, resuming after failures as the policy decides.
func (b *Body) Read(p []byte) (int, error) {
	if b.r < b.w {
		n := copy(p, b.buf[b.r:b.w])
		b.r += n
		return n, nil
	}
	switch {
	case b.err != nil:
		return 0, b.err
	case b.eof:
		return 0, io.EOF
	case b.closed || b.rc == nil && b.replayLeft == 0 && !b.between:
		return 0, http.ErrBodyReadAfterClose
	case len(p) == 0:
		return 0, nil
	case len(p) >= bufSize:
		return b.fill(p)
	}
	if b.buf == nil {
		b.buf = bufPool.Get().(*[bufSize]byte)[:]
	}
	n, err := b.fill(b.buf)
	m := copy(p, b.buf[:n])
	if m < n {
		// The error, if any, is sticky (b.err, b.eof): it is returned
		// once the buffer is drained.
		b.r, b.w = m, n
		return m, nil
	}
	return m, err
}

// WriteTo writes the body to w, resuming after failures as the policy
// decides. io.Copy uses it, reading the network in blocks of bufSize
// straight into the buffer that is written from.
func (b *Body) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		if b.r == b.w && b.buf == nil && !b.closed {
			b.buf = bufPool.Get().(*[bufSize]byte)[:]
		}
		if b.r == b.w && b.buf != nil {
			// Receive into the buffer itself; what w does not take stays
			// buffered for the next Read or WriteTo.
			n, err := b.Read(b.buf)
			b.r, b.w = 0, n
			if n == 0 && err != nil {
				if err == io.EOF {
					err = nil
				}
				return total, err
			}
		}
		if b.r == b.w {
			_, err := b.Read(nil) // the sticky error, if any
			return total, err
		}
		m, err := w.Write(b.buf[b.r:b.w])
		b.r += m
		total += int64(m)
		switch {
		case err != nil:
			return total, err
		case b.r < b.w:
			return total, io.ErrShortWrite
		}
	}
}

// fill reads the next bytes of the body into p, which must not be empty,
// resuming after failures as the policy decides and continuing with the
// next range when a response ends short of the end (see next). Bytes it
// returns are received and hashed.
func (b *Body) fill(p []byte) (int, error) {
	if b.replayLeft > 0 {
		// The spool's bytes first: they were checked when it was opened.
		n, err := b.replay.Read(p[:min(int64(len(p)), b.replayLeft)])
		b.replayLeft -= int64(n)
		if b.replayHash {
			b.hash.Write(p[:n])
		}
		if err == io.EOF && b.replayLeft > 0 || err != nil && err != io.EOF {
			// The consumer has part of the prefix and the rest cannot
			// be read back: its bytes are gone; start over.
			b.spool.fail("cannot be read back", err)
			b.endAttempt()
			re := &RestartError{Reason: "the spool could not be read back", Err: err}
			b.err, b.restart = re, re
			return n, re
		}
		if n > 0 || b.replayLeft > 0 {
			return n, nil
		}
	}
	b.replayHash = false
	for {
		var n int
		var err error
		between := b.between
		if between {
			// The extent read back ended: as a response that ended there.
			b.between = false
			err = io.EOF
		} else {
			b.watch.enter()
			n, err = b.rc.Read(p)
			b.watch.leave(n)
		}
		b.o.served += int64(n)
		if b.end >= 0 && b.received+int64(n) > b.end {
			// More bytes than announced (possible only without a
			// Content-Length): the extra ones belong to no known offset.
			n = int(b.end - b.received)
			err = b.restartWith(fmt.Sprintf("the server sent more than the %d bytes it announced", b.end), nil)
		}
		if n > 0 {
			b.hash.Write(p[:n])
			b.o.spool.write(b.received, p[:n])
			b.received += int64(n)
		}
		if b.opts.Size > 0 && b.received > b.opts.Size && b.total < 0 {
			// No length announced: Options.Size is the only bound, and
			// a byte past it is enough to know.
			b.phase = policy.PhaseBody
			err = &ChecksumError{URL: b.o.shown, WantSize: b.opts.Size, GotSize: b.received}
		}
		switch {
		case err == nil:
			return n, nil
		case err == io.EOF && b.replayAhead():
			// The gap's response ended where a spooled extent begins.
			if n > 0 {
				return n, nil
			}
			return b.fill(p)
		case err == io.EOF && (b.next() || between && b.received < b.total && (b.limit <= 0 || b.received < b.limit)):
			// A 206 that stopped short of the end where it said it would:
			// not a failure, so ask for the rest without consulting the
			// policy.
			b.o.continuations++
			err = b.connect(true)
		case err == io.EOF:
			if err = b.atEOF(); err == nil {
				b.eof = true
				b.credit(true)
				b.endAttempt()
				if b.own {
					b.o.succeed()
				}
				return n, io.EOF
			}
		default:
			b.phase = policy.PhaseBody
			err = b.watchCause(err)
		}
		if err != nil && b.stopped() {
			err = errStopped
		}
		if err != nil {
			if _, ok := err.(*RestartError); !ok && err != errStopped {
				err = b.recover(err)
			}
		}
		if err != nil {
			b.endAttempt()
			b.err = err
			if re, ok := err.(*RestartError); ok {
				b.restart = re
			}
			return n, err
		}
		if n > 0 {
			return n, nil
		}
	}
}

// next reports whether the current response ended, complete, before the
// end of the representation: a 206 for less than the rest, as a server
// that caps the size of ranges sends (RFC 9110 §14.2 lets it).
func (b *Body) next() bool {
	return b.end >= 0 && b.received == b.end && b.total >= 0 && b.received < b.total && b.resp != nil &&
		b.resp.StatusCode == http.StatusPartialContent && (b.limit <= 0 || b.received < b.limit)
}

// consumed returns how many bytes the consumer has read.
func (b *Body) consumed() int64 { return b.received - int64(b.w-b.r) - b.replayLeft }

// Close ends the current request. It does not fail.
func (b *Body) Close() error {
	b.endAttempt()
	if b.own && !b.closed {
		// A body closed before its end was interrupted, not failed:
		// keep the spool for a later run, unless the policy gave up.
		o := b.o
		o.spool.finish(!b.eof && (b.err == nil || o.caller.Err() != nil))
		o.spool = nil
		// The Body of Open is the operation: it ends here.
		o.end(o.result(b.consumed()), b.err)
	}
	b.closed = true
	if b.release != nil {
		b.release()
	}
	if b.r < b.w {
		// Bytes the consumer never got are dropped: the body did not
		// reach its end for the consumer, whatever the last fill saw.
		b.eof = false
	}
	if b.buf != nil {
		bufPool.Put((*[bufSize]byte)(b.buf))
		b.buf, b.r, b.w = nil, 0, 0
	}
	return nil
}

// atEOF checks a body that ended.
func (b *Body) atEOF() error {
	b.phase = policy.PhaseBody
	if b.limit > 0 {
		// A range ends at its limit; the whole is checked by the stream.
		if b.received < b.limit {
			return io.ErrUnexpectedEOF
		}
		return nil
	}
	if b.total >= 0 && b.received < b.total || b.end >= 0 && b.received < b.end {
		// Every client checks Content-Length, but not every server
		// sends one the client can check (HTTP/2 without it).
		return io.ErrUnexpectedEOF
	}
	if b.opts.Size > 0 && b.received != b.opts.Size {
		return &ChecksumError{URL: b.o.shown, WantSize: b.opts.Size, GotSize: b.received}
	}
	if b.opts.SHA256 != nil {
		if sum := b.hash.Sum(nil); !bytes.Equal(sum, b.opts.SHA256) {
			return &ChecksumError{URL: b.o.shown, WantSize: -1, GotSize: b.received, WantSHA256: b.opts.SHA256, GotSHA256: sum}
		}
	}
	return nil
}

// recover decides about cause and carries the decision out: it returns nil
// once the body can be read again, or the error to report.
func (b *Body) recover(cause error) error {
	o := b.o
	for {
		if b.stopped() {
			return errStopped
		}
		d := o.decide(b.ctx, cause, b.phase, b.received, b.total)
		if d.Action == policy.Fail {
			return o.final(b.ctx, cause, d, nil)
		}
		if err := o.wait(b.ctx, d.Delay); err != nil {
			return o.final(b.ctx, cause, d, err)
		}
		if err := b.moveOn(); err != nil {
			return err
		}
		if b.received > 0 {
			var ce *ChecksumError
			if errors.As(cause, &ce) {
				// The damage may be anywhere in what was delivered.
				return &RestartError{Reason: "the body failed verification", Err: cause}
			}
			// A resume is a request for the rest with Range. Without a
			// validator to send in If-Range, the request asks for the
			// whole representation again: that is a refetch, counted
			// when its response arrives (see checkFull), not a resume.
			b.resuming = d.Action == policy.Resume && b.validator != ""
			if b.resuming {
				o.resumes++
				o.onResume(o.event(b.received, cause))
			}
		}
		b.attempt()
		cause = b.connect(d.Action == policy.Resume)
		if cause == nil {
			return nil
		}
		if re, ok := cause.(*RestartError); ok {
			return re
		}
	}
}

// attempt counts a request made for a try: the first one, or one after a
// failure.
func (b *Body) attempt() {
	b.o.beginAttempt()
	b.o.onAttempt(b.o.event(b.received, nil))
}

// connect sends the request for what is still missing: everything, or,
// after bytes were delivered, a range request from there when wantRange
// and a validator allow one (RFC 9110 §14.2, §13.1.5), else the whole
// representation again, whose prefix is checked against what was
// delivered. On success b.rc reads the first byte not yet delivered.
func (b *Body) connect(wantRange bool) error {
	b.endAttempt()
	if b.stalled {
		// The connection may be a black hole that would swallow the
		// resume too: over HTTP/2 it stays pooled after its stream is
		// reset. Drop the idle connections, so the next request dials
		// anew.
		b.stalled = false
		b.o.c.httpClient().CloseIdleConnections()
	}
	offset := b.received
	if !wantRange {
		// Everything from offset again: the spooled extents are not
		// needed.
		b.ahead = nil
	}
	// The first request of a download that will go wide asks for its
	// first bytes only: an open-ended response that the ranged
	// connections cut short would have sent bytes past where it stops
	// that no one reads (see firstRange).
	bounded := offset == 0 && b.first > 0 && b.limit <= 0 && len(b.ahead) == 0 && b.total < 0
	ranged := offset > 0 && wantRange && (b.validator != "" || b.o.mirrors.splicing()) || b.limit > 0 ||
		len(b.ahead) > 0 && b.validator != "" || bounded

	actx, cancel := context.WithCancelCause(b.ctx)
	b.actx, b.cancel = actx, cancel
	var tr phaseTrace
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(actx, tr.trace()), http.MethodGet, b.url, nil)
	if err != nil {
		return err
	}
	for k, vs := range b.opts.Header {
		req.Header[k] = append([]string(nil), vs...)
	}
	// Offsets must count the bytes of the representation itself, not of
	// a compressed transfer of it.
	req.Header.Set("Accept-Encoding", "identity")
	if ranged {
		rng := "bytes=" + strconv.FormatInt(offset, 10) + "-"
		switch {
		case len(b.ahead) > 0:
			// Up to the next spooled extent, read back from there.
			rng += strconv.FormatInt(b.ahead[0].Start-1, 10)
		case b.limit > 0:
			rng += strconv.FormatInt(b.limit-1, 10)
		case bounded:
			rng += strconv.FormatInt(b.first-1, 10)
		}
		req.Header.Set("Range", rng)
		if b.validator != "" {
			// Without one (a mirror not heard from yet, bytes that
			// Options.SHA256 will prove), the Content-Range is checked
			// alone.
			req.Header.Set("If-Range", b.validator)
		}
	}
	if cfg := b.o.c.watchConfig(); cfg.on() {
		b.watch = newWatch(cfg, cancel)
	}
	resp, err := b.o.c.httpClient().Do(req)
	b.watch.leave(0)
	if err != nil {
		err = scrub(err)
		b.phase = tr.phase()
		return b.watchCause(err)
	}
	b.resp, b.rc = resp, resp.Body
	b.o.resp.Status, b.o.resp.Protocol = resp.StatusCode, resp.Proto
	if bounded && (resp.StatusCode == http.StatusRequestedRangeNotSatisfiable ||
		resp.StatusCode == http.StatusPartialContent && (!completeLength(resp) || validator(resp.Header) == "")) {
		// An empty representation (RFC 9110 §14.1.1: no range of it is
		// satisfiable), one whose length the 206 does not say, or one
		// without a validator to join the rest to the range with
		// (RFC 9110 §13.1.5): ask for the whole, on one connection,
		// before a byte of the range was read.
		b.endAttempt()
		b.first, b.o.single = 0, true
		return b.connect(wantRange)
	}
	switch {
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable && ranged:
		return b.restartWith("the server cannot serve the rest (416)", nil)
	case resp.StatusCode >= 400 || resp.StatusCode < 200 ||
		resp.StatusCode == http.StatusPartialContent && !ranged:
		b.phase = policy.PhaseHeaders
		err := b.statusError(resp)
		b.endAttempt()
		return err
	case resp.StatusCode == http.StatusPartialContent:
		if err := b.checkPartial(resp, offset); err != nil || !bounded {
			return err
		}
		// The first bytes, and in Content-Range the length.
		return b.begin(resp, b.total, true)
	case b.limit > 0:
		return b.rangeRefused(resp)
	case bounded:
		// The server ignored the range: it sends everything, and the
		// download stays on one connection (a range request of any
		// other connection would get the whole too).
		b.o.single = true
	}
	return b.checkFull(resp, offset)
}

// completeLength reports whether a 206's Content-Range gives the length
// of the representation, not "*".
func completeLength(resp *http.Response) bool {
	_, _, total, ok := parseContentRange(resp.Header.Get("Content-Range"))
	return ok && total >= 0
}

// checkPartial accepts a 206 only if it continues exactly where the
// received bytes end, for the same representation (RFC 9110 §14.4,
// §15.3.7). It may end before the end of the representation; the rest is
// asked for when it does (see next).
func (b *Body) checkPartial(resp *http.Response, offset int64) error {
	first, last, total, ok := parseContentRange(resp.Header.Get("Content-Range"))
	switch {
	case !ok:
		return b.restartWith(fmt.Sprintf("unusable Content-Range %q", resp.Header.Get("Content-Range")), nil)
	case first != offset:
		return b.restartWith(fmt.Sprintf("the server sent bytes from %d, not %d", first, offset), nil)
	case b.total >= 0 && total != b.total:
		return b.restartWith(fmt.Sprintf("the length changed from %d to %d", b.total, total), nil)
	case resp.ContentLength >= 0 && resp.ContentLength != last-first+1:
		return b.restartWith(fmt.Sprintf("Content-Range %q does not match Content-Length %d", resp.Header.Get("Content-Range"), resp.ContentLength), nil)
	case validatorChanged(b.validator, resp.Header):
		return b.restartWith("the validator changed", nil)
	case b.limit > 0 && last >= b.limit:
		return b.restartWith(fmt.Sprintf("the server sent bytes to %d, past the %d asked for", last, b.limit-1), nil)
	}
	if b.total < 0 {
		b.total = total
	}
	if b.validator == "" && b.o.mirrors != nil {
		// A mirror not heard from before: its validator, from now on.
		b.validator = validator(resp.Header)
		b.o.mirrors.learn(b.o.mirror, b.validator)
	}
	b.end = last + 1
	b.dropAhead(b.end)
	return nil
}

// checkFull accepts a whole response: the first one, or, after bytes
// were delivered, one whose first bytes are the ones delivered.
func (b *Body) checkFull(resp *http.Response, offset int64) error {
	if offset == 0 {
		if b.resuming && b.o.spool != nil {
			// A resume from a spool without the first bytes, answered
			// with the whole representation: start clean.
			b.o.warnSpool(&SpoolError{Dir: b.o.spool.dir, Reason: "the server sent the whole representation; starting clean"})
			b.o.replayed = 0
			b.o.resumes--
			b.resuming = false
		}
		b.ahead = nil
		b.end = resp.ContentLength
		return b.begin(resp, resp.ContentLength, resp.Header.Get("Accept-Ranges") == "bytes")
	}
	switch {
	case validatorChanged(b.validator, resp.Header):
		return b.restartWith("the validator changed", nil)
	case b.total >= 0 && resp.ContentLength >= 0 && resp.ContentLength != b.total:
		return b.restartWith(fmt.Sprintf("the length changed from %d to %d", b.total, resp.ContentLength), nil)
	}
	// The server sent everything again (it ignored the range, or there
	// was no validator to ask with). Read what was already delivered and
	// compare: continue only if it is the same, never splice.
	if b.resuming {
		// Asked for a range, got the whole: not a resume after all.
		b.o.resumes--
		b.resuming = false
	}
	b.o.refetches++
	h := b.newHash()
	n, err := b.readPrefix(h, offset)
	b.o.refetched += n
	switch {
	case err == io.EOF:
		return b.restartWith("the representation is shorter than what was delivered", nil)
	case err != nil:
		b.phase = policy.PhaseBody
		return b.watchCause(err)
	case !bytes.Equal(h.Sum(nil), b.hash.Sum(nil)):
		return b.restartWith("the bytes sent again differ from those delivered", nil)
	}
	b.end = b.total
	b.ahead = nil
	return nil
}

// begin takes the first response of a download, from its first byte:
// the whole representation, of total bytes (-1: unknown), or the first
// range of it (see firstRange), a 206 that shows ranges are served.
func (b *Body) begin(resp *http.Response, total int64, acceptRanges bool) error {
	b.first = 0
	b.header = resp.Header
	b.total = total
	b.validator = validator(resp.Header)
	b.acceptRanges = acceptRanges
	b.o.resp.AcceptRanges = b.acceptRanges
	b.o.resp.Validator = b.validator
	b.o.resp.Resumable = b.acceptRanges && b.validator != ""
	b.hash = b.newHash()
	b.o.spool.begin(b.validator, b.acceptRanges, b.total, resp.Request.URL.String())
	b.o.mirrors.learn(b.o.mirror, b.validator)
	if b.opts.Size > 0 && b.total >= 0 && b.total != b.opts.Size {
		b.phase = policy.PhaseHeaders
		b.endAttempt()
		return &ChecksumError{URL: b.o.shown, WantSize: b.opts.Size, GotSize: b.total}
	}
	return nil
}

// readPrefix reads n bytes of the current response into h.
func (b *Body) readPrefix(h hash.Hash, n int64) (int64, error) {
	buf := make([]byte, min(n, 32<<10))
	var got int64
	for got < n {
		b.watch.enter()
		m, err := b.rc.Read(buf[:min(int64(len(buf)), n-got)])
		b.watch.leave(m)
		h.Write(buf[:m])
		got += int64(m)
		b.o.served += int64(m)
		if err != nil && got < n {
			return got, err
		}
	}
	return got, nil
}

func (b *Body) restartWith(reason string, err error) error {
	b.endAttempt()
	return &RestartError{Reason: reason, Err: err}
}

func (b *Body) statusError(resp *http.Response) error {
	e := &StatusError{Method: http.MethodGet, URL: b.o.shown, Status: resp.StatusCode, Header: redact.Header(resp.Header)}
	if d, ok := ParseRetryAfter(resp.Header.Get("Retry-After"), b.o.c.now()); ok {
		e.RetryAfter = d
	}
	return e
}

// watchCause reports err as the *IdleTimeoutError or *StallError the
// attempt's watch cancelled it with, or as an *ElapsedError when the
// operation ran past max_elapsed; else it returns err.
func (b *Body) watchCause(err error) error {
	if b.ctx.Err() != nil {
		return b.o.elapsedCause(b.ctx, err)
	}
	if b.actx == nil {
		return err
	}
	cause := context.Cause(b.actx)
	// The cancellation is our own doing, an effect of the limit: keeping
	// it would make the failure look like the caller's.
	own := func(err error) error {
		if errors.Is(err, context.Canceled) || errors.Is(err, cause) {
			return nil
		}
		return err
	}
	switch c := cause.(type) {
	case *IdleTimeoutError:
		e := *c
		e.Err = own(err)
		return &e
	case *StallError:
		e := *c
		e.Err = own(err)
		b.stalled = true
		return &e
	}
	return err
}

// endAttempt releases the current request, if any.
func (b *Body) endAttempt() {
	b.watch.stop()
	b.watch = nil
	if b.rc != nil {
		b.rc.Close()
		b.rc, b.resp = nil, nil
	}
	if b.cancel != nil {
		b.cancel(context.Canceled)
		b.cancel = nil
	}
}

// phaseTrace tells which phase a failed request was in.
type phaseTrace struct{ gotConn, wrote atomic.Bool }

func (t *phaseTrace) trace() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		GotConn:      func(httptrace.GotConnInfo) { t.gotConn.Store(true) },
		WroteRequest: func(httptrace.WroteRequestInfo) { t.wrote.Store(true) },
	}
}

func (t *phaseTrace) phase() policy.Phase {
	switch {
	case t.wrote.Load():
		return policy.PhaseHeaders
	case t.gotConn.Load():
		return policy.PhaseRequest
	}
	return policy.PhaseConnect
}
