package policy

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/faultline-go/faultline/classify"
)

// Engine decides with a current policy, a retry budget and randomized
// backoff. Its policy can be reloaded while it is in use: Reload swaps it
// atomically, and decisions in flight finish with the policy they began
// with. An Engine is safe for concurrent use.
type Engine struct {
	cur    atomic.Pointer[Policy]
	file   string
	bucket atomic.Pointer[bucket] // nil: no budget

	mu   sync.Mutex // guards rand
	rand *rand.Rand

	reloadMu sync.Mutex // serializes Reload
}

// An EngineOption configures an Engine.
type EngineOption func(*Engine)

// WithRand makes the engine draw its jitter from src, so that tests can
// fix the delays. The default is a source seeded at random.
func WithRand(src rand.Source) EngineOption {
	return func(e *Engine) { e.rand = rand.New(src) }
}

// WithFile names the file Reload reads; the default is the file the policy
// was loaded from with Load, if it was.
func WithFile(path string) EngineOption {
	return func(e *Engine) { e.file = path }
}

// NewEngine returns an engine deciding with p. It panics if p is nil.
func NewEngine(p *Policy, opts ...EngineOption) *Engine {
	if p == nil {
		panic("policy: NewEngine with a nil policy")
	}
	e := &Engine{file: p.path}
	for _, o := range opts {
		o(e)
	}
	if e.rand == nil {
		e.rand = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	e.cur.Store(p)
	e.setBudget(p)
	return e
}

// Policy returns the current policy.
func (e *Engine) Policy() *Policy { return e.cur.Load() }

// Classifier returns the current policy's classifier set: the built-in
// vocabulary and the policy's recognisers.
func (e *Engine) Classifier() *classify.Set { return e.cur.Load().Classifier() }

// Decide decides with the current policy, jittered backoff and the budget.
func (e *Engine) Decide(ctx context.Context, in Input) (Decision, error) {
	return e.decide(ctx, in, false)
}

// Explain is Decide with the trace of every rule.
func (e *Engine) Explain(ctx context.Context, in Input) (Decision, error) {
	return e.decide(ctx, in, true)
}

func (e *Engine) decide(ctx context.Context, in Input, trace bool) (Decision, error) {
	d, _, err := e.decideBackoff(ctx, in, trace)
	return d, err
}

// decideBackoff is decide, also returning the backoff drawn, so that a
// Shadow can show its candidate the same.
func (e *Engine) decideBackoff(ctx context.Context, in Input, trace bool) (Decision, time.Duration, error) {
	p := e.cur.Load()
	e.mu.Lock()
	backoff := p.backoff.Delay(in.State.backoffStep(), in.State.LastDelay, e.rand)
	e.mu.Unlock()
	d, err := p.decide(ctx, in, backoff, trace)
	// Every failure takes from the budget, whatever is decided about it,
	// as in gRPC retry throttling.
	if b := e.bucket.Load(); b != nil && !b.fail() && d.Action != Fail {
		d.Action, d.Delay, d.Guard = Fail, 0, GuardBudget
		d.Reason = fmt.Sprintf("the retry budget is exhausted (%.1f tokens left)", b.level())
	}
	return d, backoff, err
}

// RecordSuccess tells the engine an operation succeeded, returning tokens
// to the budget.
func (e *Engine) RecordSuccess() {
	if b := e.bucket.Load(); b != nil {
		b.succeed()
	}
}

// BudgetLevel returns the tokens left in the budget, and false when the
// policy has none.
func (e *Engine) BudgetLevel() (float64, bool) {
	b := e.bucket.Load()
	if b == nil {
		return 0, false
	}
	return b.level(), true
}

// ErrNoFile is returned by Reload when the engine has no file to read.
var ErrNoFile = errors.New("policy: no file to reload from")

// Reload reads the engine's file again and, if it loads, makes it the
// current policy. On error the current policy stays and the error (an
// ErrorList for a bad policy) is returned. A policy whose budget differs
// from the old one's starts a fresh budget.
func (e *Engine) Reload() error {
	e.reloadMu.Lock()
	defer e.reloadMu.Unlock()
	if e.file == "" {
		return ErrNoFile
	}
	p, err := Load(e.file)
	if err != nil {
		return err
	}
	e.swap(p)
	return nil
}

// swap makes p the current policy. The caller holds reloadMu.
func (e *Engine) swap(p *Policy) {
	old := e.cur.Swap(p)
	ob, oldHas := old.Budget()
	nb, newHas := p.Budget()
	if ob != nb || oldHas != newHas {
		e.setBudget(p)
	}
}

func (e *Engine) setBudget(p *Policy) {
	if b, ok := p.Budget(); ok {
		e.bucket.Store(newBucket(b))
	} else {
		e.bucket.Store(nil)
	}
}

var _ Decider = (*Engine)(nil)
