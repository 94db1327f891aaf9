package policy

import (
	"context"
	"log/slog"
	"sync/atomic"
)

// Shadow tries a candidate policy beside the active one: it decides with
// Active, as a Decider, and on a sample of decisions evaluates Candidate
// on the same input, reporting every disagreement through OnDisagree and
// Logger. The candidate's decision is never returned or acted on, so a
// candidate can be watched in production before it replaces the active
// policy.
//
// The candidate sees the backoff the active engine drew, so delays
// compare exactly; it has no retry budget of its own, but when the
// engine's budget overrode the active decision, the candidate's is
// overridden the same way. Set the fields before the first Decide; a
// Shadow is then safe for concurrent use.
type Shadow struct {
	Active    *Engine
	Candidate *Policy
	// Every evaluates the candidate on one decision in Every (the first,
	// the Every+1th, …); 0 and 1 evaluate it on all. Sampling bounds what
	// shadowing costs: a decision the candidate sits out costs what
	// Active.Decide costs.
	Every int
	// OnDisagree, when set, is called with every disagreement, on the
	// goroutine deciding, before Decide returns: it must be quick and safe
	// for concurrent use.
	OnDisagree func(context.Context, Disagreement)
	// Logger, when set, logs every disagreement at level Info.
	Logger *slog.Logger

	n         atomic.Uint64 // decisions seen
	evaluated atomic.Uint64
	disagreed atomic.Uint64
}

// Disagreement is a decision on which the candidate and the active policy
// differ: in action, rule, guard or delay, or because the candidate could
// not evaluate the input.
type Disagreement struct {
	Input     Input
	Active    Decision
	Candidate Decision
	// CandidateErr is the candidate's evaluation error, if any.
	CandidateErr error
}

// Decide decides with Active and returns its decision and error, whatever
// the candidate decides.
func (s *Shadow) Decide(ctx context.Context, in Input) (Decision, error) {
	d, backoff, err := s.Active.decideBackoff(ctx, in, false)
	if s.Candidate == nil || !s.sample() {
		return d, err
	}
	s.evaluated.Add(1)
	c, cerr := s.Candidate.decide(ctx, in, backoff, false)
	if d.Guard == GuardBudget && c.Action != Fail {
		c.Action, c.Delay, c.Guard, c.Reason = Fail, 0, GuardBudget, d.Reason
	}
	if cerr == nil && c.Action == d.Action && c.Rule == d.Rule && c.Guard == d.Guard && c.Delay == d.Delay {
		return d, err
	}
	s.disagreed.Add(1)
	dis := Disagreement{Input: in, Active: d, Candidate: c, CandidateErr: cerr}
	if s.Logger != nil {
		s.log(ctx, &dis)
	}
	if s.OnDisagree != nil {
		s.OnDisagree(ctx, dis)
	}
	return d, err
}

// sample reports whether the candidate evaluates this decision.
func (s *Shadow) sample() bool {
	n := s.n.Add(1) - 1
	return s.Every <= 1 || n%uint64(s.Every) == 0
}

func (s *Shadow) log(ctx context.Context, dis *Disagreement) {
	a, c := dis.Active, dis.Candidate
	attrs := []slog.Attr{
		slog.String("kind", string(dis.Input.Error.Kind)),
		slog.String("phase", string(dis.Input.State.Phase)),
		slog.Int("attempt", dis.Input.State.Attempt),
		slog.Group("active", slog.String("policy", a.Policy.String()), slog.String("action", string(a.Action)),
			slog.String("rule", a.Rule), slog.String("guard", a.Guard), slog.Duration("delay", a.Delay)),
		slog.Group("candidate", slog.String("policy", c.Policy.String()), slog.String("action", string(c.Action)),
			slog.String("rule", c.Rule), slog.String("guard", c.Guard), slog.Duration("delay", c.Delay)),
	}
	if dis.CandidateErr != nil {
		attrs = append(attrs, slog.String("candidate_err", dis.CandidateErr.Error()))
	}
	s.Logger.LogAttrs(ctx, slog.LevelInfo, "policy: the candidate policy disagrees", attrs...)
}

// Stats returns how many decisions the candidate evaluated and on how
// many it disagreed with the active policy.
func (s *Shadow) Stats() (evaluated, disagreed uint64) {
	return s.evaluated.Load(), s.disagreed.Load()
}

// RecordSuccess passes a success on to the active engine's budget.
func (s *Shadow) RecordSuccess() { s.Active.RecordSuccess() }

var _ Decider = (*Shadow)(nil)
