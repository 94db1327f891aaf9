package httpx

import (
	"errors"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/faultline-go/faultline/classify"
	"github.com/faultline-go/faultline/internal/redact"
	"github.com/faultline-go/faultline/policy"
)

// Mirrors.
//
// Options.Mirrors lists other URLs of the same representation. A download
// starts from the URL it was given; when a request fails in a way another
// host may not (see hostFailure) and the policy decides to try again, the
// next request goes to another mirror, and the failing one is rested for
// a while or, for a failure that will not go away (404, 410, DNS,
// certificate), dropped for the rest of the download. The policy sees
// which mirror failed and how many remain usable (policy.Source).
//
// Bytes from different mirrors are joined only when Options.SHA256 is
// given, since the final hash is then the proof that they belong
// together: a parallel download spreads its ranges over the mirrors,
// weighted by the rate each delivers, and a hash that does not match
// restarts the download from the URL it was given alone. Without it, a
// download uses one mirror at a time, and moving to another restarts it.

// restFor is how long a mirror that failed rests before it is tried
// again.
const restFor = 30 * time.Second

// mirror is one URL the representation can come from.
type mirror struct {
	index     int
	url       string
	shown     string
	host      string
	validator string // its strong validator, once a response showed one

	failures  int       // in a row
	restUntil time.Time // resting until then
	dropped   bool
	delivered int64         // bytes delivered by completed chunks or passes
	busy      time.Duration // time those requests took, for its rate
	conns     int           // ranged connections to it now
}

// mirrors are the URLs of one download.
type mirrors struct {
	mu     sync.Mutex
	list   []*mirror
	cur    int  // the mirror a download without splicing uses
	splice bool // Options.SHA256 is set: ranges may come from any mirror
	now    func() time.Time
}

// newMirrors returns the mirrors of a download of primary, or nil when it
// has none.
func newMirrors(primary string, opts *Options, now func() time.Time) *mirrors {
	if opts == nil || len(opts.Mirrors) == 0 {
		return nil
	}
	m := &mirrors{splice: opts.SHA256 != nil, now: now}
	for i, u := range append([]string{primary}, opts.Mirrors...) {
		mr := &mirror{index: i, url: u, shown: redact.URL(u)}
		if pu, err := url.Parse(u); err == nil {
			mr.host = pu.Host
		}
		m.list = append(m.list, mr)
	}
	return m
}

// current returns the mirror a download without splicing uses.
func (m *mirrors) current() *mirror {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.list[m.cur]
}

// usable reports whether mr may take requests now. Called with m.mu held.
func (m *mirrors) usable(mr *mirror, now time.Time) bool {
	return !mr.dropped && !now.Before(mr.restUntil)
}

// left counts the usable mirrors other than mr. Called with m.mu held.
func (m *mirrors) left(mr *mirror) int {
	now := m.now()
	n := 0
	for _, o := range m.list {
		if o != mr && m.usable(o, now) {
			n++
		}
	}
	return n
}

// hostFailure says whether a failure with facts f, the failures-th in a
// row at one mirror, is one another host may not have, and whether it
// will not go away there: a name that does not resolve, a certificate
// that does not verify, a file that is not there (404, 410) are dropped;
// a refusal, a 5xx, throttling, a TLS failure and the same transport
// failure again and again are rested.
func hostFailure(f classify.Facts, failures int) (host, drop bool) {
	switch f.Kind {
	case classify.DNS, classify.Certificate:
		return true, true
	case classify.ConnectionRefused, classify.TLS, classify.RateLimited, classify.ServerError:
		return true, false
	case classify.HTTPStatus:
		switch st := f.HTTP.Status; {
		case st == http.StatusNotFound || st == http.StatusGone:
			return true, true
		case st == http.StatusTooManyRequests || st >= 500:
			return true, false
		}
		return false, false
	case classify.Decode, classify.Checksum, classify.Archive, classify.UnsafeArchive, classify.DiskFull,
		classify.Permission, classify.Canceled, classify.Limit:
		return false, false
	}
	// A reset, a stall, a timeout: once may be the path; twice in a row
	// at the same host is the host.
	return failures >= 2, false
}

// source returns what the policy sees of where o's failed request went.
func (o *op) source() policy.Source {
	var src policy.Source
	if o.rangeEnd > 0 {
		src.RangeStart, src.RangeEnd = o.rangeStart, o.rangeEnd
	}
	src.Connections = o.connections
	m, mr := o.mirrors, o.mirror
	if m == nil || mr == nil {
		return src
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	src.Mirror, src.Host, src.Mirrors = mr.index, mr.host, len(m.list)
	src.MirrorsLeft = m.left(mr)
	// The failure being decided counts: it is the next in the row.
	src.Failures = mr.failures + 1
	return src
}

// failed records a failure at o's mirror, decided to be tried again, and
// moves o to another mirror when the failure is the host's and one is
// usable. It reports the mirror moved to, or nil.
func (o *op) failed(in policy.Input) *mirror {
	m, mr := o.mirrors, o.mirror
	if m == nil || mr == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	mr.failures++
	host, drop := hostFailure(in.Error, mr.failures)
	if !host {
		return nil
	}
	now := m.now()
	var next *mirror
	for i := 1; i < len(m.list); i++ {
		c := m.list[(mr.index+i)%len(m.list)]
		if m.usable(c, now) {
			next = c
			break
		}
	}
	if next == nil {
		// Nowhere else to go: stay, whatever the failure.
		return nil
	}
	if drop {
		mr.dropped = true
	} else {
		mr.restUntil = now.Add(restFor)
	}
	if mr.index == m.cur {
		m.cur = next.index
	}
	return next
}

// use points o at mr.
func (o *op) use(mr *mirror) {
	o.mirror = mr
	o.url, o.shown, o.host = mr.url, mr.shown, mr.host
}

// succeededAt records that mr delivered n bytes in d: when ok, its
// failures are forgotten; its rate is measured.
func (m *mirrors) succeededAt(mr *mirror, n int64, d time.Duration, ok bool) {
	if m == nil || mr == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if ok {
		mr.failures = 0
	}
	mr.delivered += n
	mr.busy += d
}

// credit records the bytes a whole body (not a range) delivered from its
// current mirror since the last credit.
func (b *Body) credit(ok bool) {
	if b.limit > 0 || b.o.mirrors == nil {
		return
	}
	b.o.mirrors.succeededAt(b.o.mirror, b.received-b.mirrorMark, 0, ok)
	b.mirrorMark = b.received
}

// moveOn is called by a Body after the policy decided to try again: when
// the failure was the host's and another mirror is usable, the next
// request goes there. Bytes already delivered from another mirror are
// kept only when the download may splice them (Options.SHA256); else the
// download restarts from the new mirror.
func (b *Body) moveOn() error {
	o := b.o
	next := o.failed(o.lastInput)
	if next == nil {
		return nil
	}
	from := o.shown
	if o.mirrors.splicing() {
		b.credit(false)
	}
	o.use(next)
	b.url = next.url
	b.validator = next.validator
	// Bytes this download holds came from the old mirror: a range of a
	// parallel download always, a whole body once it delivered some.
	holds := b.limit > 0 || b.received > 0
	if holds && !o.mirrors.splicing() {
		return &RestartError{Reason: "moved from " + from + " to the mirror " + next.shown}
	}
	return nil
}

// pick returns the mirror a parallel download's next chunk comes from:
// the usable one with the best rate per connection, a mirror not yet
// measured first, under the per-host cap; nil when none has room.
func (m *mirrors) pick(perHost int) *mirror {
	if m == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.splice {
		mr := m.list[m.cur]
		if mr.conns >= perHost {
			return nil
		}
		mr.conns++
		return mr
	}
	now := m.now()
	var best *mirror
	var bestRate float64
	for _, mr := range m.list {
		if !m.usable(mr, now) || mr.conns >= perHost {
			continue
		}
		rate := -1.0 // not measured: try it first
		if mr.busy > 0 {
			rate = float64(mr.delivered) / mr.busy.Seconds() / float64(mr.conns+1)
		}
		if best == nil || rate < 0 && bestRate >= 0 || rate > bestRate && bestRate >= 0 {
			best, bestRate = mr, rate
		}
	}
	if best != nil {
		best.conns++
	}
	return best
}

// release gives back a connection pick counted.
func (m *mirrors) release(mr *mirror) {
	if m == nil || mr == nil {
		return
	}
	m.mu.Lock()
	mr.conns--
	m.mu.Unlock()
}

// learn records mr's validator, from a response it sent.
func (m *mirrors) learn(mr *mirror, v string) {
	if m == nil || mr == nil || v == "" {
		return
	}
	m.mu.Lock()
	if mr.validator == "" {
		mr.validator = v
	}
	m.mu.Unlock()
}

// single stops splicing: after a hash that did not match, the download
// starts over from the URL it was given, alone.
func (m *mirrors) single() {
	m.mu.Lock()
	m.splice = false
	m.cur = 0
	m.list[0].dropped, m.list[0].restUntil = false, time.Time{}
	m.mu.Unlock()
}

// MirrorStats says what one URL of a download delivered.
type MirrorStats struct {
	// URL is the mirror's URL, its secrets masked.
	URL string
	// Bytes counts the body bytes it delivered, in every pass.
	Bytes int64
	// Failures counts its failures in a row when the download ended.
	Failures int
	// Dropped and Resting say whether it was taken out of use.
	Dropped, Resting bool
}

// stats returns what each mirror did.
func (m *mirrors) stats() []MirrorStats {
	if m == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	out := make([]MirrorStats, len(m.list))
	for i, mr := range m.list {
		out[i] = MirrorStats{URL: mr.shown, Bytes: mr.delivered, Failures: mr.failures,
			Dropped: mr.dropped, Resting: !mr.dropped && now.Before(mr.restUntil)}
	}
	return out
}

// mirrorsRestart prepares the next pass of a download with mirrors: a
// hash that did not match after bytes of several mirrors were joined
// means starting over from the URL given, alone; a chunk that moved the
// download to another mirror means the next pass starts there.
func (o *op) mirrorsRestart(why *RestartError) {
	m := o.mirrors
	if m == nil {
		return
	}
	var ce *ChecksumError
	if errors.As(why, &ce) {
		m.mu.Lock()
		spliced := m.splice
		m.mu.Unlock()
		if spliced {
			m.single()
		}
	}
	o.use(m.current())
}

// withMirrors gives o the mirrors opts list, if any.
func (o *op) withMirrors(opts *Options) {
	if o.mirrors = newMirrors(o.url, opts, o.c.now); o.mirrors != nil {
		o.mirror = o.mirrors.list[0]
	}
}

// splicing reports whether bytes of different mirrors may be joined.
func (m *mirrors) splicing() bool {
	if m == nil {
		return false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.splice
}
