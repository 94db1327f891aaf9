package policy

import (
	"time"

	"github.com/faultline-go/faultline/classify"
)

// A Step is one decision an operation made: what failed, where, and what
// was decided about it. An operation's steps, oldest first, are its trail:
// adapters report it with their final error (httpx.Error.Trail) and record
// it in dumps (Dump.Trail), so that how an operation came to fail can be
// read after the fact, decision by decision.
type Step struct {
	// Attempt is the number of the attempt that failed, from 1.
	Attempt int   `json:"attempt"`
	Phase   Phase `json:"phase"`
	// Kind is the failure's kind.
	Kind classify.Kind `json:"kind"`
	// Offset is how many body bytes were delivered when the attempt
	// failed: where a resume starts.
	Offset int64 `json:"offset"`
	// Elapsed is the time since the operation started.
	Elapsed time.Duration `json:"elapsed"`

	Action Action        `json:"action"`
	Delay  time.Duration `json:"delay,omitempty"`
	Rule   string        `json:"rule,omitempty"`
	Guard  string        `json:"guard,omitempty"`
	Reason string        `json:"reason,omitempty"`
}

// NewStep records the decision d made on in.
func NewStep(in Input, d Decision) Step {
	return Step{
		Attempt: in.State.Attempt, Phase: in.State.Phase, Kind: in.Error.Kind,
		Offset: in.State.BytesReceived, Elapsed: in.State.Elapsed,
		Action: d.Action, Delay: d.Delay, Rule: d.Rule, Guard: d.Guard, Reason: d.Reason,
	}
}
