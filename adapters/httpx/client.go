package httpx

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/faultline-go/faultline/chain"
	"github.com/faultline-go/faultline/classify"
	"github.com/faultline-go/faultline/policies"
	"github.com/faultline-go/faultline/policy"
)

// DefaultIdleTimeout is the IdleTimeout of a zero Client.
const DefaultIdleTimeout = 30 * time.Second

// DefaultMaxAttempts is the MaxAttempts of a zero Client. It is a
// backstop, far above what the shipped policies need to fail a download
// that makes no progress (five attempts in a row), so that a download
// that keeps moving — 10 MB an attempt behind a middlebox that resets
// every connection — is bounded by the policy's max_elapsed and
// max_refetch_bytes, not by a count of attempts.
const DefaultMaxAttempts = 1000

// Client downloads with resumes and retries under a policy. The zero value
// is ready to use: the default HTTP client, the default policy, the
// built-in classifiers. A Client is safe for concurrent use; do not modify
// its fields while it is in use.
type Client struct {
	// HTTP sends the requests. Nil means a shared client speaking
	// HTTP/1.1 and HTTP/2 that pings an HTTP/2 connection after 15s
	// without a frame, so that a dead connection is noticed. Its Timeout
	// should be 0: a body is read for as long as it takes; IdleTimeout
	// catches a stalled one.
	HTTP *http.Client
	// Policy decides about every failure. Nil means policies.Default().
	// If it has a RecordSuccess() method (as *policy.Engine does), it is
	// called when an operation succeeds, to refill a retry budget.
	Policy policy.Decider
	// Classifier classifies failures; nil means the policy's (a Decider
	// with a Classifier method, as *policy.Policy and *policy.Engine have:
	// the built-in vocabulary and the policy's recognisers), else the
	// built-in classifiers.
	Classifier *classify.Set
	// Walker turns errors into chains; nil means the built-in unwrappers.
	Walker *chain.Walker
	// IdleTimeout bounds the wait for a response to start: the request,
	// the headers and the first byte of the body, and any read of a body
	// that is not caught as a stall first. 0 means DefaultIdleTimeout;
	// negative means none.
	IdleTimeout time.Duration
	// StallTimeout bounds the silence of a body that was flowing: a read
	// that waits longer fails with a *StallError (kind "stall"), which
	// the default policy resumes on a new connection. The limit adapts to
	// the body: StallScale times the longest wait of a read that returned
	// data, never below MinStallTimeout nor above StallTimeout. 0 means
	// DefaultStallTimeout; negative turns stall detection off.
	StallTimeout time.Duration
	// LowSpeedLimit, when positive, is the least a flowing body must
	// deliver, in bytes a second, averaged over LowSpeedTime (0 means
	// DefaultLowSpeedTime); a slower body fails with a *StallError whose
	// Slow is set. Off by default: a slow but steady body is a body.
	LowSpeedLimit int64
	LowSpeedTime  time.Duration
	// MaxAttempts caps the requests of one operation whatever the policy
	// says, a backstop for a Decider without limits. 0 means
	// DefaultMaxAttempts.
	MaxAttempts int
	// DumpDir, when set, receives a policy.Dump of every failure.
	DumpDir string
	// Logger, when set, logs every decision at level Info.
	Logger *slog.Logger

	// Hooks, each optional. They run synchronously on the goroutine
	// reading the body, or, in a parallel download, on the goroutine of
	// the connection concerned, one at a time; they must not block.
	OnAttempt  func(Event) // before each request
	OnDecision func(Event) // after each decision
	OnResume   func(Event) // before a resume request
	OnRestart  func(Event) // when Do starts its consumer again
	// OnConnections is told how many connections a parallel download
	// has open, each time that changes.
	OnConnections func(n int)

	// Observe, when set, is called as each operation starts (Do, Open, or
	// a request through Transport). It returns the context the operation
	// runs in, which an observer may extend (a tracer adds its span, so
	// that the requests are made under it), and hooks for this one
	// operation, or nil. Package
	// github.com/faultline-go/faultline/otel/otelhttpx builds on it.
	Observe func(ctx context.Context, op Operation) (context.Context, *Hooks)

	// Sleep waits for d or until ctx is done, returning ctx's error then.
	// Nil means a timer. Tests inject a recorder.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now returns the current time, for Retry-After dates and elapsed
	// time. Nil means time.Now.
	Now func() time.Time

	// stallFloor replaces MinStallTimeout in tests.
	stallFloor time.Duration
}

// Event describes a step of an operation to the hooks.
type Event struct {
	URL       string
	Attempt   int
	Resumes   int
	Refetches int
	Restarts  int
	// Offset is how many body bytes were delivered when the event
	// happened.
	Offset int64
	// Err is the failure, for OnDecision, OnResume and OnRestart.
	Err error
	// Input and Decision are what the policy saw and said.
	Input    policy.Input
	Decision policy.Decision
	// Reason explains a restart.
	Reason string
}

// Operation names an operation to Client.Observe.
type Operation struct {
	Method string
	// URL has its secrets masked (userinfo, signed query parameters).
	URL string
}

// Hooks are the callbacks for one operation, each optional. Like the
// Client's own hooks, they run synchronously and must not block; they are
// called after the Client's.
type Hooks struct {
	OnAttempt  func(Event) // before each request
	OnDecision func(Event) // after each decision
	OnResume   func(Event) // before a resume request
	OnRestart  func(Event) // when Do starts its consumer again
	// OnEnd is called once, when the operation ends: when Do or
	// Transport.RoundTrip returns, or when the Body from Open is closed
	// (or Open fails). err is what the operation returned, or the body's
	// error; for a response Transport returns because the policy gave up
	// on its status, the *Error it would have been.
	OnEnd func(res Result, err error)
}

// Options are per-request options of Open and Do.
type Options struct {
	// Header is added to every request of the operation.
	Header http.Header
	// Size, when positive, is the expected length of the body.
	Size int64
	// SHA256, when set, is the expected SHA-256 of the body. With it, the
	// check of a re-read prefix (see the package documentation) also uses
	// SHA-256; without it, a keyed 64-bit hash.
	SHA256 []byte
	// Spool, when set, names a directory where the body's bytes are kept
	// as they arrive, each at its own offset whichever connection brought
	// it, with a sidecar describing them (version 2: the URL's digest, the
	// validator, the length, and up to 1024 extents of synced bytes, each
	// with its CRC-32C), so that a later operation for the same URL — in
	// another process, after this one was killed — replays them to its
	// consumer and asks the server only for the gaps (see the package
	// documentation). The directory is made if need be, and removed when
	// the operation succeeds or fails for good; when the caller's context
	// ends it, the spool is kept. It takes at most the body's length on
	// disk (a sparse file). Off by default.
	Spool string
	// Connections is how many ranged requests Do may have in flight for
	// the body at once (see parallel.go): 0 or 1 for one connection, N
	// for up to N, ConnectionsAuto to choose. Open always uses one.
	Connections int
	// MaxConnections caps the connections to one host; 0 means
	// DefaultMaxConnections.
	MaxConnections int
	// Window bounds the bytes a parallel download holds ahead of the
	// consumer; 0 means DefaultWindow.
	Window int64
	// Mirrors are other URLs of the same representation, tried when the
	// URL given fails in a way another host may not (see mirror.go).
	// Their bytes are joined with others' only when SHA256 is set; a
	// parallel download then spreads its ranges over them.
	Mirrors []string
}

// Result reports what an operation did.
type Result struct {
	// Bytes is the length of the body delivered to the consumer by the
	// pass that succeeded.
	Bytes int64
	// Attempts counts requests; Resumes and Restarts count the resumes
	// and the restarts among them. A resume is a request with Range that
	// the server answered with the rest (or that failed before an
	// answer); a restart calls the consumer again from byte 0.
	Attempts, Resumes, Restarts int
	// Refetches counts the responses that sent the whole representation
	// again after bytes were delivered — the server ignored Range, or
	// there was no validator to ask for a range with — whose first bytes
	// were read, found equal to those delivered, and skipped. They cost
	// BytesRefetched but the consumer does not notice them.
	Refetches int
	// Continuations counts the further requests, not counted in
	// Attempts, for the rest of a body after a 206 that ended, complete,
	// short of the end: a server may cap the size of the ranges it serves.
	Continuations int
	// BytesServed counts the body bytes read off the wire over all
	// attempts, refetched and abandoned ones included.
	BytesServed int64
	// BytesRefetched counts the bytes delivered again after restarts:
	// what was downloaded twice.
	BytesRefetched int64
	// Replayed counts the body bytes read back from Options.Spool, left
	// there by an earlier operation, instead of downloaded.
	Replayed int64
	Duration time.Duration
	// Trail is every decision the operation made, oldest first: the
	// resumes and retries that got it through.
	Trail []policy.Step
	// Connections is the most connections the download had open at once.
	Connections int
	// Mirrors says what each URL delivered, the one given first, when the
	// download had mirrors (Options.Mirrors).
	Mirrors []MirrorStats
}

var defaultHTTP = sync.OnceValue(func() *http.Client { return &http.Client{Transport: NewTransport()} })

// NewTransport returns a transport with the settings of the Client's
// default HTTP client, for callers that build their own client around it
// (to add a CA, or to speak HTTP/2 without TLS). It speaks HTTP/1.1 and
// HTTP/2, never asks for a compressed transfer (offsets must count the
// bytes of the representation), and pings a silent HTTP/2 connection.
func NewTransport() *http.Transport {
	t := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          100,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
		// A server cannot make us buffer an unbounded header (this also
		// sets HTTP/2's SETTINGS_MAX_HEADER_LIST_SIZE).
		MaxResponseHeaderBytes: MaxResponseHeaderBytes,
		Protocols:              new(http.Protocols),
		// Ping a connection silent for 15s and drop it if the ping goes
		// unanswered for 5s: a dead peer otherwise leaves every stream
		// on the connection hanging (RFC 9113 §6.7).
		HTTP2: &http.HTTP2Config{SendPingTimeout: 15 * time.Second, PingTimeout: 5 * time.Second},
	}
	t.Protocols.SetHTTP1(true)
	t.Protocols.SetHTTP2(true)
	return t
}

var defaultPolicy = sync.OnceValue(func() policy.Decider { return policy.NewEngine(policies.Default()) })

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return defaultHTTP()
}

func (c *Client) decider() policy.Decider {
	if c.Policy != nil {
		return c.Policy
	}
	return defaultPolicy()
}

// watchConfig is what the watch of each attempt enforces.
func (c *Client) watchConfig() watchConfig {
	cfg := watchConfig{idle: c.idleTimeout(), lowSpeed: c.LowSpeedLimit, lowSpeedTime: c.LowSpeedTime}
	switch {
	case c.StallTimeout == 0:
		cfg.stallMax = DefaultStallTimeout
	case c.StallTimeout > 0:
		cfg.stallMax = c.StallTimeout
	}
	if c.stallFloor > 0 {
		cfg.stallFloor = c.stallFloor
	}
	return cfg
}

func (c *Client) idleTimeout() time.Duration {
	switch {
	case c.IdleTimeout == 0:
		return DefaultIdleTimeout
	case c.IdleTimeout < 0:
		return 0
	}
	return c.IdleTimeout
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	if c.Sleep != nil {
		return c.Sleep(ctx, d)
	}
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Open starts a GET of url and returns its body once response headers
// arrived, retrying a failed request as the policy decides. Reading the
// body resumes transparently after a failure; see Body.
func (c *Client) Open(ctx context.Context, url string, opts *Options) (*Body, error) {
	o := c.newOp(ctx, http.MethodGet, url)
	o.withMirrors(opts)
	ctx = o.observe(ctx)
	ctx, cancel := o.bound(ctx)
	b, err := o.open(withOp(ctx, o), opts)
	if err != nil {
		cancel()
		o.end(o.result(0), err)
		return nil, err
	}
	b.own, b.release = true, cancel
	return b, nil
}

// Do downloads url and streams it into consume, inside the policy's retry
// loop. A failure of the download is resumed where it stopped without
// consume noticing; when the download has to start over, or consume
// itself fails (classified with phase "unpack", or "commit" for an error
// marked with Commit) and the policy says to retry, consume is called
// again from the start with a fresh reader. consume must not keep the
// reader after it returns. If consume returns without reading to the end,
// Do reads the rest, so the length and checksum are always verified.
//
// Any error returned after a decision to stop is an *Error.
func (c *Client) Do(ctx context.Context, url string, consume func(ctx context.Context, r io.Reader) error, opts *Options) (res Result, err error) {
	o := c.newOp(ctx, http.MethodGet, url)
	o.withMirrors(opts)
	ctx = o.observe(ctx)
	defer func() { o.end(res, err) }()
	ctx, cancel := o.bound(ctx)
	defer cancel()
	// The spool outlives the operation only when the caller stopped it:
	// a later run continues from there.
	defer func() { o.spool.finish(err != nil && o.caller.Err() != nil) }()
	ctx = withOp(ctx, o)
	o.widens = true
	for {
		b, err := o.open(ctx, opts)
		if err != nil {
			return o.result(0), err
		}
		if s := o.startParallel(ctx, b, opts); s != nil {
			res, err, again := o.runParallel(ctx, s, consume)
			if again {
				continue
			}
			return res, err
		}
		cerr := consume(ctx, b)
		if cerr == nil && b.err == nil {
			_, cerr = io.Copy(io.Discard, b)
		}
		b.Close()
		switch {
		case b.restart != nil:
			o.restarted(b, b.restart)
			continue
		case b.err != nil:
			return o.result(b.consumed()), o.blame(o.elapsedCause(ctx, cerr), b.err)
		case cerr != nil:
			cerr = o.elapsedCause(ctx, cerr)
			phase := policy.PhaseUnpack
			if ce := (*commitError)(nil); errors.As(cerr, &ce) {
				phase = policy.PhaseCommit
			}
			d := o.decide(ctx, cerr, phase, b.received, b.total)
			if d.Action == policy.Fail {
				return o.result(b.consumed()), o.final(ctx, cerr, d, nil)
			}
			if err := o.wait(ctx, d.Delay); err != nil {
				return o.result(b.consumed()), o.final(ctx, cerr, d, err)
			}
			o.restarted(b, &RestartError{Reason: "the consumer failed", Err: cerr})
			continue
		}
		o.succeed()
		return o.result(b.consumed()), nil
	}
}
