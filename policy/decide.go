package policy

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/interpreter"
)

// activation resolves the CEL variables of one decision without building a
// map. It holds its own copy of the Input, so that one allocation serves
// the whole decision; the struct variables are pointers into it, which
// the native type adapter reads field by field as rules ask for them. The
// other values are converted to CEL values at most once per decision.
type activation struct {
	in      Input
	attempt attemptVars
	backoff time.Duration
	limits  *Limits
	// capped is set when the input is within the caps the cost estimate
	// assumes (withinCaps): the rules then run without cost tracking.
	capped bool
	// Converted on first use: an interface holding a string, a duration
	// or a list costs an allocation each time it is made.
	phase, history, backoffVal, timeLeft ref.Val
}

func (a *activation) ResolveName(name string) (any, bool) {
	s := &a.in.State
	switch name {
	case varError:
		return &a.in.Error, true
	case varPhase:
		if a.phase == nil {
			a.phase = types.String(s.Phase)
		}
		return a.phase, true
	case varAttempt:
		return &a.attempt, true
	case varHistory:
		if a.history == nil {
			a.history = types.NewStringList(types.DefaultTypeAdapter, s.History)
		}
		return a.history, true
	case varRequest:
		return &s.Request, true
	case varResponse:
		return &s.Response, true
	case varBackoff:
		if a.backoffVal == nil {
			a.backoffVal = types.Duration{Duration: a.backoff}
		}
		return a.backoffVal, true
	case varTimeLeft:
		if a.timeLeft == nil {
			a.timeLeft = types.Duration{Duration: s.TimeLeft}
		}
		return a.timeLeft, true
	case varCallerDone:
		return types.Bool(s.CallerDone), true
	case varLimits:
		return a.limits, true
	case varSource:
		return &s.Source, true
	}
	return nil, false
}

func (a *activation) Parent() interpreter.Activation { return nil }

// activations holds activations for reuse: one is most of the memory a
// decision allocates.
var activations = sync.Pool{New: func() any { return new(activation) }}

// newActivation returns the activation of one decision on a copy of *in,
// from activations; release gives it back.
func newActivation(in *Input, backoff time.Duration, l *Limits) *activation {
	a := activations.Get().(*activation)
	a.reset(in, backoff, l)
	return a
}

// release returns a to activations. Nothing of a outlives the decision:
// the Decision holds strings only, which never point into a.
func (a *activation) release() {
	*a = activation{}
	activations.Put(a)
}

// reset makes a the activation of one decision on a copy of *in.
func (a *activation) reset(in *Input, backoff time.Duration, l *Limits) {
	*a = activation{in: *in, backoff: backoff, limits: l}
	s := &a.in.State
	total, _ := s.Total() // -1 when unknown, the zero value included
	a.attempt = attemptVars{
		Number:         int64(s.Attempt),
		Resumes:        int64(s.Resumes),
		Restarts:       int64(s.Restarts),
		Refetches:      int64(s.Refetches),
		Elapsed:        s.Elapsed,
		BytesReceived:  s.BytesReceived,
		TotalExpected:  total,
		BytesRefetched: s.BytesRefetched,
		NoProgress:     int64(s.NoProgress()),
		LastDelay:      s.LastDelay,
	}
	if p := s.Progress; p != nil {
		a.attempt.Gained, a.attempt.Duration, a.attempt.Rate = p.Gained, p.Duration, p.Rate
	}
}

// EvalError is a failure to evaluate a rule: a missing map key, the cost
// limit, the context done.
type EvalError struct {
	Policy string
	Rule   string // "" when the failing rule is unknown
	What   string // "when", "delay" or "reason_expr"
	Err    error
}

func (e *EvalError) Error() string {
	if e.Rule == "" {
		return fmt.Sprintf("policy %q: evaluating the rules: %v", e.Policy, e.Err)
	}
	return fmt.Sprintf("policy %q: rule %q: %s: %v", e.Policy, e.Rule, e.What, e.Err)
}

func (e *EvalError) Unwrap() error { return e.Err }

// decide evaluates the rules and applies the guards. backoff is the delay
// the rules see as "backoff"; trace asks for every rule's result.
func (p *Policy) decide(ctx context.Context, in Input, backoff time.Duration, trace bool) (Decision, error) {
	in = boundInput(in)
	act := newActivation(&in, backoff, &p.limits)
	act.capped = withinCaps(&in)
	defer act.release()
	d := Decision{Policy: p.ID()}
	var idx int
	var err error
	if trace {
		idx, d.Trace, err = p.traceRules(ctx, act)
	} else {
		idx, err = p.firstMatch(ctx, act)
		if err != nil {
			// Find which rule failed; this path is rare and may be slow.
			_, _, err = p.traceRules(ctx, act)
		}
	}
	if err != nil {
		return p.failed(d, err), err
	}
	if idx < 0 {
		d.Action = p.dflt
		d.Reason = "no rule matched"
		if d.Action != Fail {
			d.Delay = backoff
		}
	} else {
		r := p.rules[idx]
		d.Action, d.Rule, d.Reason = r.action, r.name, r.reason
		if d.Action != Fail {
			d.Delay = backoff
			if r.delay != nil {
				v, err := eval(ctx, r.delay, act)
				if err == nil {
					dur, ok := v.(types.Duration)
					if !ok {
						err = fmt.Errorf("delay is %s, not a duration", v.Type().TypeName())
					}
					d.Delay = dur.Duration
				}
				if err != nil {
					err = &EvalError{Policy: p.name, Rule: r.name, What: "delay", Err: err}
					return p.failed(d, err), err
				}
			}
		}
		if r.reasonExpr != nil {
			v, err := eval(ctx, r.reasonExpr, act)
			if err == nil {
				s, ok := v.(types.String)
				if !ok {
					err = fmt.Errorf("reason_expr is %s, not a string", v.Type().TypeName())
				}
				d.Reason = string(s)
			}
			if err != nil {
				err = &EvalError{Policy: p.name, Rule: r.name, What: "reason_expr", Err: err}
				return p.failed(d, err), err
			}
		}
	}
	p.guard(&d, &act.in)
	return d, nil
}

// failed is the decision made when a rule cannot be evaluated: fail, since
// a policy that cannot say why to retry should not retry.
func (p *Policy) failed(d Decision, err error) Decision {
	d.Action, d.Delay, d.Guard = Fail, 0, "error"
	d.Reason = err.Error()
	if e, ok := err.(*EvalError); ok {
		d.Rule = e.Rule
	}
	return d
}

// firstMatch runs the composed program.
func (p *Policy) firstMatch(ctx context.Context, act *activation) (int, error) {
	prg := p.first
	if act.capped && p.firstUntracked != nil {
		prg = p.firstUntracked
	}
	v, err := eval(ctx, prg, act)
	if err != nil {
		return 0, &EvalError{Policy: p.name, Err: err}
	}
	i, ok := v.(types.Int)
	if !ok || int(i) >= len(p.rules) {
		return 0, &EvalError{Policy: p.name, Err: fmt.Errorf("composed rules returned %v", v)}
	}
	return int(i), nil
}

// traceRules evaluates the conditions one by one and records each. The
// costs are summed and held to the limit the composed program has, so
// that Explain decides as Decide does.
func (p *Policy) traceRules(ctx context.Context, act *activation) (int, []RuleResult, error) {
	trace := make([]RuleResult, len(p.rules))
	for i, r := range p.rules {
		trace[i].Rule = r.name
	}
	var total uint64
	for i, r := range p.rules {
		v, det, err := evalDetails(ctx, r.when, act)
		if det != nil && det.ActualCost() != nil {
			total += *det.ActualCost()
		}
		if err == nil && total > maxCost {
			err = fmt.Errorf("operation cancelled: actual cost limit exceeded")
		}
		if err == nil {
			if b, ok := v.(types.Bool); ok {
				if b {
					trace[i].Matched = true
					notEvaluated(trace[i+1:], fmt.Sprintf("not evaluated: rule %q matched first", r.name))
					return i, trace, nil
				}
				continue
			}
			err = fmt.Errorf("condition is %s, not a bool", v.Type().TypeName())
		}
		trace[i].Note = "evaluation failed: " + err.Error()
		notEvaluated(trace[i+1:], fmt.Sprintf("not evaluated: rule %q failed", r.name))
		return i, trace, &EvalError{Policy: p.name, Rule: r.name, What: "when", Err: err}
	}
	return -1, trace, nil
}

// notEvaluated gives the rules of trace, which were not reached, the same
// note, formatted once.
func notEvaluated(trace []RuleResult, note string) {
	for i := range trace {
		trace[i].Note = note
	}
}

func eval(ctx context.Context, prg cel.Program, act *activation) (ref.Val, error) {
	v, _, err := evalDetails(ctx, prg, act)
	if err != nil {
		return nil, err
	}
	if types.IsError(v) {
		return nil, v.(*types.Err)
	}
	return v, nil
}

// evalDetails evaluates prg under ctx. A context that can never be done
// cannot interrupt anything, so it is left out: ContextEval would derive a
// cancelable context from it on every call, at the cost of three
// allocations. The cost limit applies either way.
func evalDetails(ctx context.Context, prg cel.Program, act *activation) (ref.Val, *cel.EvalDetails, error) {
	if ctx != nil && ctx.Done() == nil {
		return prg.Eval(act)
	}
	return prg.ContextEval(ctx, act)
}
