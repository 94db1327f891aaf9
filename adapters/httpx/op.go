package httpx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/faultline-go/faultline/chain"
	"github.com/faultline-go/faultline/classify"
	"github.com/faultline-go/faultline/internal/redact"
	"github.com/faultline-go/faultline/policy"
)

// op is the state of one operation: a download, possibly restarted, or
// one request through Transport. Its pointer travels in the request
// context, so that a Transport under a Client defers to the Client instead
// of retrying the same failure a second time.
type op struct {
	c       *Client
	decider policy.Decider
	// caller is the caller's context; the operation's own context may
	// carry a deadline of the policy's max_elapsed besides.
	caller     context.Context
	maxElapsed time.Duration
	method     string
	url        string
	shown      string // url with its secrets masked, for errors, logs and dumps
	host       string
	idem       bool // the method is idempotent (RFC 9110 §9.2.2)
	idemKey    bool // the request carries an Idempotency-Key
	// replayable is false for a request whose body cannot be sent
	// again: no Request.GetBody.
	replayable bool
	start      time.Time
	attempts   int
	resumes    int
	refetches  int
	restarts   int
	// continuations counts the requests for the next range after a
	// complete 206 that ended short; they are not attempts.
	continuations int
	served        int64
	refetched     int64
	// Progress: the furthest body offset delivered in the operation,
	// when the current attempt began and where that mark stood then, and
	// the streak of failed attempts without progress.
	highWater    int64
	attemptStart time.Time
	attemptBase  int64
	noProgress   int
	lastDelay    time.Duration
	history      []string
	resp         policy.Response
	done         bool
	// single keeps the download on one connection: its server ignored a
	// range request (see parallel.go). peakConnections is the most
	// connections it had open at once.
	single          bool
	peakConnections int
	// widens reports that the operation is Client.Do's, which may go
	// wide (see startParallel); Client.Open's reads one response.
	widens bool
	// rangeStart and rangeEnd, for the operation of one chunk of a
	// parallel download, are its range: its progress counts against what
	// was missing up to its end, not to the end of the representation.
	rangeStart, rangeEnd int64
	// connections counts the connections the download had open, for
	// the policy's source.connections.
	connections int
	// mirrors are the download's URLs when it has mirrors (see
	// mirror.go), and mirror the one this operation uses.
	mirrors *mirrors
	mirror  *mirror

	// spool is the operation's spool (Options.Spool), opened by the
	// first Body; replayed counts the bytes replayed from it.
	spool      *spool
	spoolTried bool
	replayed   int64

	lastInput    policy.Input
	lastDecision policy.Decision
	trail        []policy.Step // every decision, oldest first

	hooks Hooks // from Client.Observe
	ended bool  // hooks.OnEnd was called
}

type opKey struct{}

func withOp(ctx context.Context, o *op) context.Context { return context.WithValue(ctx, opKey{}, o) }

func opFrom(ctx context.Context) *op {
	o, _ := ctx.Value(opKey{}).(*op)
	return o
}

func (c *Client) newOp(ctx context.Context, method, rawURL string) *op {
	o := &op{c: c, decider: c.decider(), caller: ctx, method: method, url: rawURL, shown: redact.URL(rawURL),
		idem: policy.IdempotentMethod(method), replayable: true, start: c.now()}
	if u, err := url.Parse(rawURL); err == nil {
		o.host = u.Host
	}
	return o
}

// errMaxElapsed is the cause of an operation's context ended by the
// policy's max_elapsed.
var errMaxElapsed = errors.New("httpx: max_elapsed passed")

// bound returns ctx ended after the policy's max_elapsed, if it has one,
// so that the limit holds while bytes flow, not only when a failure is
// decided: a body that never ends (or a consumer that never finishes)
// would otherwise run forever. The Decider tells its limits through a
// Limits() or Policy() method, as *policy.Policy and *policy.Engine do.
func (o *op) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	var l policy.Limits
	switch d := o.decider.(type) {
	case interface{ Limits() policy.Limits }:
		l = d.Limits()
	case interface{ Policy() *policy.Policy }:
		if p := d.Policy(); p != nil {
			l = p.Limits()
		}
	}
	if l.MaxElapsed <= 0 {
		return context.WithCancel(ctx)
	}
	o.maxElapsed = l.MaxElapsed
	return context.WithTimeoutCause(ctx, l.MaxElapsed, errMaxElapsed)
}

// pastElapsed reports whether ctx, the operation's context, ended by
// max_elapsed rather than by the caller.
func (o *op) pastElapsed(ctx context.Context) bool {
	return o.caller.Err() == nil && ctx.Err() != nil && errors.Is(context.Cause(ctx), errMaxElapsed)
}

// elapsedCause reports err as an *ElapsedError when ctx ended by
// max_elapsed.
func (o *op) elapsedCause(ctx context.Context, err error) error {
	if !o.pastElapsed(ctx) {
		return err
	}
	if errors.Is(err, errMaxElapsed) {
		err = nil // our own cancellation, an effect of the limit
	}
	return &ElapsedError{Limit: o.maxElapsed, Err: err}
}

func (o *op) maxAttempts() int {
	if o.c.MaxAttempts > 0 {
		return o.c.MaxAttempts
	}
	return DefaultMaxAttempts
}

// Adapter guards, beyond those of policy.Engine, for any Decider.
const (
	guardNotReplayable = "not_replayable"
	guardMaxAttempts   = "max_attempts"
	guardCallerDone    = "caller_done"
	guardDeadline      = "deadline"
	guardError         = "error"
)

// decide classifies cause, asks the policy and applies the adapter's
// guards: the caller's context, the attempt cap, a request body that
// cannot be sent again and the caller's deadline hold whatever the
// Decider says. Whether a request that is not idempotent may go again is
// the policy's call, on the facts the state records.
func (o *op) decide(ctx context.Context, cause error, phase policy.Phase, received, total int64) policy.Decision {
	walked := cause
	if stop := o.caller.Err(); stop != nil && !holds(cause, stop) {
		// The caller's context ended with a cause (a signal, through
		// signal.NotifyContext), and net/http reports that cause. It may
		// match context.Canceled through an Is method (os/signal's
		// does), but a chain records data, not methods: put the
		// context's error beside it, for classification to see.
		walked = &callerStopped{err: cause, stop: stop}
	}
	var ch chain.Chain
	if o.c.Walker != nil {
		ch = o.c.Walker.Walk(walked)
	} else {
		ch = chain.Walk(walked)
	}
	// Before anything sees the chain: the policy (a reason may quote
	// error.message), the dump and the log.
	redactChain(&ch)
	fitChain(&ch)
	var facts classify.Facts
	switch cl, ok := o.decider.(interface{ Classifier() *classify.Set }); {
	case o.c.Classifier != nil:
		facts = o.c.Classifier.Classify(ch)
	case ok:
		// The policy's recognisers: a dump of this failure replayed with
		// the same policy then sees the same facts.
		facts = cl.Classifier().Classify(ch)
	default:
		facts = classify.Classify(ch)
	}
	in := policy.Input{Error: facts, State: o.state(ctx, phase, received, total)}
	in.State.Progress = o.progress(received, total)
	boundState(&in.State)
	// The rules must be evaluated even when the caller's context is done:
	// that is a fact they decide on, not a reason to skip deciding.
	d, err := o.decider.Decide(context.WithoutCancel(ctx), in)
	fail := func(guard, reason string) {
		d.Action, d.Delay, d.Guard, d.Reason = policy.Fail, 0, guard, reason
	}
	switch {
	case err != nil:
		fail(guardError, "the policy failed: "+err.Error())
	case d.Action == policy.Fail:
	case o.pastElapsed(ctx):
		fail(policy.GuardMaxElapsed, fmt.Sprintf("the operation ran for the policy's max_elapsed of %v", o.maxElapsed))
	case ctx.Err() != nil:
		fail(guardCallerDone, "the caller gave up")
	case !o.replayable:
		fail(guardNotReplayable, "the request body cannot be sent again (no GetBody)")
	case o.attempts >= o.maxAttempts():
		fail(guardMaxAttempts, "the client's cap on attempts was reached")
	case in.State.TimeLeft > 0 && d.Delay >= in.State.TimeLeft:
		fail(guardDeadline, "the delay would pass the caller's deadline")
	}
	if d.Action != policy.Resume && d.Action != policy.Retry {
		d.Action = policy.Fail
	}
	o.history = append(o.history, string(in.Error.Kind))
	if len(o.history) > maxHistory {
		o.history = o.history[len(o.history)-maxHistory:]
	}
	o.lastInput, o.lastDecision = in, d
	earlier := o.trail
	step := policy.NewStep(in, d)
	step.Reason = redact.Text(step.Reason)
	o.trail = append(o.trail, step)
	if o.c.DumpDir != "" {
		// The decision and the ID of the policy that made it, so that a
		// replay can tell whether the policy changed since.
		recorded := d
		recorded.Reason = clipText(redact.Text(d.Reason), maxReason)
		if _, err := policy.WriteDump(o.c.DumpDir, policy.Dump{Time: o.c.now().UTC(), Source: "httpx " + o.method + " " + clipText(o.shown, maxSourceURL), Chain: ch, State: in.State, Decision: &recorded, Trail: dumpTrail(earlier)}); err != nil && o.c.Logger != nil {
			o.c.Logger.LogAttrs(ctx, slog.LevelWarn, "httpx: writing dump", slog.String("err", err.Error()))
		}
	}
	if l := o.c.Logger; l != nil {
		l.LogAttrs(ctx, slog.LevelInfo, "httpx: decision",
			slog.String("url", o.shown), slog.Int("attempt", in.State.Attempt), slog.String("phase", string(phase)),
			slog.String("kind", string(in.Error.Kind)), slog.Int64("offset", received),
			slog.String("action", string(d.Action)), slog.Duration("delay", d.Delay),
			slog.String("rule", d.Rule), slog.String("reason", redact.Text(d.Reason)), slog.String("guard", d.Guard),
			slog.String("err", redact.Text(cause.Error())))
	}
	o.onDecision(o.event(received, cause))
	return d
}

// beginAttempt counts a request made for a try and notes where it
// starts, for its progress.
func (o *op) beginAttempt() {
	o.attempts++
	o.attemptStart = o.c.now()
	o.attemptBase = o.highWater
}

// progress measures the attempt that just failed, having delivered the
// body up to received of total (-1: unknown), and updates the streak of
// attempts without progress. A restarted pass gains nothing until it
// passes the furthest offset reached before; a refetched prefix is not
// gained (received counts only bytes past it).
func (o *op) progress(received, total int64) *policy.Progress {
	gained := max(received-o.attemptBase, 0)
	missing := int64(-1)
	switch {
	case o.rangeEnd > 0:
		missing = o.rangeEnd - o.attemptBase
	case total >= 0:
		missing = total - o.attemptBase
	}
	p := &policy.Progress{Gained: gained, Duration: max(o.c.now().Sub(o.attemptStart), 0)}
	if s := p.Duration.Seconds(); s > 0 {
		p.Rate = float64(gained) / s
	}
	if policy.MadeProgress(gained, missing) {
		o.noProgress = 0
	} else {
		o.noProgress++
	}
	p.NoProgress = o.noProgress
	o.highWater = max(o.highWater, received)
	return p
}

func (o *op) state(ctx context.Context, phase policy.Phase, received, total int64) policy.State {
	now := o.c.now()
	st := policy.State{
		Phase:          phase,
		Attempt:        o.attempts,
		Resumes:        o.resumes,
		Refetches:      o.refetches,
		Restarts:       o.restarts,
		Elapsed:        now.Sub(o.start),
		BytesReceived:  received,
		TotalExpected:  total,
		TotalKnown:     total == 0,
		BytesRefetched: o.refetched,
		History:        append([]string(nil), o.history...),
		CallerDone:     o.caller.Err() != nil,
		LastDelay:      o.lastDelay,
		Request:        policy.Request{Method: o.method, Host: o.host, Idempotent: o.idem, IdempotencyKey: o.idemKey},
		Response:       o.resp,
		Source:         o.source(),
	}
	if dl, ok := o.caller.Deadline(); ok {
		// A deadline already passed still differs from none at all.
		st.TimeLeft = max(dl.Sub(now), time.Nanosecond)
	}
	return st
}

func (o *op) event(offset int64, err error) Event {
	return Event{
		URL: o.url, Attempt: o.attempts, Resumes: o.resumes, Refetches: o.refetches, Restarts: o.restarts,
		Offset: offset, Err: err, Input: o.lastInput, Decision: o.lastDecision,
	}
}

// wait sleeps for a decided delay, giving up when ctx is done.
func (o *op) wait(ctx context.Context, d time.Duration) error {
	o.lastDelay = d
	if err := ctx.Err(); err != nil {
		return err
	}
	if d <= 0 {
		return nil
	}
	return o.c.sleep(ctx, d)
}

// final builds the error an operation ends with. stop is the context
// error that ended it, if one did.
func (o *op) final(ctx context.Context, cause error, d policy.Decision, stop error) error {
	switch {
	case stop != nil:
	case ctx.Err() != nil:
		stop = ctx.Err()
	case d.Guard == guardDeadline:
		// Stopped before the deadline, because of it: say so to
		// errors.Is(err, context.DeadlineExceeded).
		stop = context.DeadlineExceeded
	}
	return &Error{Attempts: o.attempts, Resumes: o.resumes, Refetches: o.refetches, Restarts: o.restarts, Decision: d, Trail: o.trailCopy(), Err: cause, Stop: stop}
}

// blame merges a consumer's error with the body's final error, keeping the
// consumer's message when it says more.
func (o *op) blame(consumeErr, bodyErr error) error {
	var e *Error
	if !errors.As(bodyErr, &e) {
		return bodyErr
	}
	out := *e
	out.Attempts, out.Resumes, out.Refetches, out.Restarts = o.attempts, o.resumes, o.refetches, o.restarts
	out.Trail = o.trailCopy()
	var inner *Error
	if consumeErr != nil && !errors.As(consumeErr, &inner) {
		out.Err = &consumeError{consume: consumeErr, body: e.Err}
	}
	return &out
}

func (o *op) restarted(b *Body, why *RestartError) {
	o.restarts++
	o.refetched += b.received
	o.mirrorsRestart(why)
	if o.c.OnRestart != nil || o.hooks.OnRestart != nil {
		ev := o.event(b.received, why.Err)
		ev.Reason = why.Reason
		o.onRestart(ev)
	}
}

// succeed records a success once, refilling the Decider's budget.
func (o *op) succeed() {
	if o.done {
		return
	}
	o.done = true
	if r, ok := o.decider.(interface{ RecordSuccess() }); ok {
		r.RecordSuccess()
	}
}

func (o *op) result(delivered int64) Result {
	return Result{
		Bytes: delivered, Attempts: o.attempts, Resumes: o.resumes, Refetches: o.refetches, Restarts: o.restarts,
		Continuations: o.continuations, BytesServed: o.served, BytesRefetched: o.refetched,
		Replayed: o.replayed, Duration: o.c.now().Sub(o.start),
		Trail:       o.trailCopy(),
		Connections: max(o.peakConnections, 1),
		Mirrors:     o.mirrors.stats(),
	}
}

// trailCopy returns the decisions so far, for a result or an error that
// outlives the operation.
func (o *op) trailCopy() []policy.Step {
	if len(o.trail) == 0 {
		return nil
	}
	return append([]policy.Step(nil), o.trail...)
}

// observe starts the operation's observation, if the Client has an
// observer, and returns the context the operation runs in.
func (o *op) observe(ctx context.Context) context.Context {
	if o.c.Observe == nil {
		return ctx
	}
	octx, h := o.c.Observe(ctx, Operation{Method: o.method, URL: o.shown})
	if octx == nil {
		octx = ctx
	}
	if h != nil {
		o.hooks = *h
	}
	return octx
}

// end tells the observer, once, how the operation ended.
func (o *op) end(res Result, err error) {
	if o.ended {
		return
	}
	o.ended = true
	if o.hooks.OnEnd != nil {
		o.hooks.OnEnd(res, err)
	}
}

// The hooks of an event: the Client's, then the observer's.

func (o *op) onAttempt(ev Event) {
	if o.c.OnAttempt != nil {
		o.c.OnAttempt(ev)
	}
	if o.hooks.OnAttempt != nil {
		o.hooks.OnAttempt(ev)
	}
}

func (o *op) onDecision(ev Event) {
	if o.c.OnDecision != nil {
		o.c.OnDecision(ev)
	}
	if o.hooks.OnDecision != nil {
		o.hooks.OnDecision(ev)
	}
}

func (o *op) onResume(ev Event) {
	if o.c.OnResume != nil {
		o.c.OnResume(ev)
	}
	if o.hooks.OnResume != nil {
		o.hooks.OnResume(ev)
	}
}

func (o *op) onRestart(ev Event) {
	if o.c.OnRestart != nil {
		o.c.OnRestart(ev)
	}
	if o.hooks.OnRestart != nil {
		o.hooks.OnRestart(ev)
	}
}

// warnSpool reports a spool that was not used, or stopped being used.
func (o *op) warnSpool(e *SpoolError) {
	if o.c.Logger != nil {
		o.c.Logger.LogAttrs(o.caller, slog.LevelWarn, "httpx: spool not used", slog.String("err", e.Error()))
	}
}

// callerStopped is a failure that happened because the caller's context
// ended: its message is the failure's, and it unwraps to the failure and
// to the context's error, so that classification sees a cancellation.
type callerStopped struct{ err, stop error }

func (e *callerStopped) Error() string   { return e.err.Error() }
func (e *callerStopped) Unwrap() []error { return []error{e.err, e.stop} }

// holds reports whether target itself (not an error that says it is
// target) is in err's tree.
func holds(err, target error) bool {
	for depth := 0; err != nil && depth < 64; depth++ {
		if err == target {
			return true
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if holds(e, target) {
					return true
				}
			}
			return false
		default:
			return false
		}
	}
	return false
}
