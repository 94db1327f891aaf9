package policy

import (
	"context"
	"time"
)

// Action is what to do about a failure.
type Action string

// The actions.
const (
	Retry  Action = "retry"  // run the operation again from the start
	Resume Action = "resume" // continue where it stopped (a ranged request)
	Fail   Action = "fail"   // give up
)

// Decision is a policy's answer for one failure.
type Decision struct {
	Action Action        `json:"action"`
	Delay  time.Duration `json:"delay"`
	// Rule is the name of the rule that fired, or "" when the default
	// action applied.
	Rule   string `json:"rule,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Guard names the engine guard that overrode the rules ("max_attempts",
	// "deadline", "budget", "resume_unavailable", …), or "".
	Guard string `json:"guard,omitempty"`
	// Trace holds every rule's result when the caller asked for it.
	Trace []RuleResult `json:"trace,omitempty"`
	// Policy identifies the policy that decided.
	Policy ID `json:"policy,omitzero"`
}

// RuleResult is one rule's outcome in a trace.
type RuleResult struct {
	Rule    string `json:"rule"`
	Matched bool   `json:"matched"`
	// Skipped explains why a rule was not evaluated (an earlier rule
	// matched) or why its evaluation failed.
	Note string `json:"note,omitempty"`
}

// Decider decides what to do about a failure. *Engine implements it; the
// adapters depend on this interface only.
type Decider interface {
	Decide(ctx context.Context, in Input) (Decision, error)
}
