package policy

import (
	"fmt"
	"time"
)

// The guards: checks the engine applies after the rules, whatever they
// say. Decision.Guard names the one that changed the decision.
const (
	GuardCallerDone        = "caller_done"        // the caller's context is done
	GuardMaxAttempts       = "max_attempts"       // limits.max_attempts reached
	GuardMaxResumes        = "max_resumes"        // limits.max_resumes reached
	GuardMaxNoProgress     = "max_no_progress"    // limits.max_no_progress attempts in a row without progress
	GuardMaxRefetchBytes   = "max_refetch_bytes"  // a restart would refetch too much
	GuardMaxElapsed        = "max_elapsed"        // the delay would pass limits.max_elapsed
	GuardDeadline          = "deadline"           // the delay would pass the caller's deadline
	GuardResumeUnavailable = "resume_unavailable" // resume became retry: the response is not resumable
	GuardBackoffMax        = "backoff_max"        // the delay was clamped to backoff.max
	GuardRetryAfter        = "retry_after"        // the delay was raised to, or failed on, Retry-After
	GuardBudget            = "budget"             // the engine's retry budget is exhausted
	GuardError             = "error"              // a rule could not be evaluated
)

// guard applies the guards to a decision the rules made.
func (p *Policy) guard(d *Decision, in *Input) {
	if d.Action == Fail {
		d.Delay = 0
		return
	}
	s, l := &in.State, &p.limits
	fail := func(guard, format string, args ...any) {
		d.Action, d.Delay, d.Guard = Fail, 0, guard
		msg := fmt.Sprintf(format, args...)
		if d.Reason != "" {
			msg += " (the rules said " + d.Reason + ")"
		}
		d.Reason = msg
	}
	note := func(guard string) {
		if d.Guard == "" {
			d.Guard = guard
		}
	}
	if s.CallerDone {
		fail(GuardCallerDone, "the caller gave up")
		return
	}
	if l.MaxAttempts > 0 && s.Attempt >= l.MaxAttempts {
		fail(GuardMaxAttempts, "attempt %d reached the limit of %d", s.Attempt, l.MaxAttempts)
		return
	}
	if n := s.NoProgress(); l.MaxNoProgress > 0 && n >= l.MaxNoProgress {
		fail(GuardMaxNoProgress, "%d attempts in a row gained less than %d KiB each, the limit is %d",
			n, MinProgress>>10, l.MaxNoProgress)
		return
	}
	// A ranged resume needs Accept-Ranges and a validator for If-Range
	// (RFC 9110, sections 14.3 and 13.1.5); without them, start again.
	if d.Action == Resume && !s.Response.Resumable {
		d.Action = Retry
		note(GuardResumeUnavailable)
	}
	if d.Action == Resume && l.MaxResumes > 0 && s.Resumes >= l.MaxResumes {
		fail(GuardMaxResumes, "%d resumes reached the limit of %d", s.Resumes, l.MaxResumes)
		return
	}
	if d.Action == Retry && l.MaxRefetchBytes > 0 && s.BytesRefetched+s.BytesReceived > l.MaxRefetchBytes {
		fail(GuardMaxRefetchBytes, "a restart would bring the bytes downloaded again to %d, over the limit of %d",
			s.BytesRefetched+s.BytesReceived, l.MaxRefetchBytes)
		return
	}
	if d.Delay < 0 {
		d.Delay = 0
	}
	if d.Delay > p.backoff.Max {
		d.Delay = p.backoff.Max
		note(GuardBackoffMax)
	}
	// Retry-After (RFC 9110, section 10.2.3) is the server's word on when
	// to come back; retrying earlier only adds load it asked us not to.
	if ra := in.Error.HTTP.RetryAfter; ra > 0 {
		if l.MaxRetryAfter > 0 && ra > l.MaxRetryAfter {
			fail(GuardRetryAfter, "the server asked to wait %v, over the limit of %v", ra, l.MaxRetryAfter)
			return
		}
		if d.Delay < ra {
			d.Delay = ra
			note(GuardRetryAfter)
		}
	}
	if l.MaxElapsed > 0 && s.Elapsed+d.Delay >= l.MaxElapsed {
		fail(GuardMaxElapsed, "%v elapsed plus a delay of %v reaches the limit of %v",
			s.Elapsed.Round(time.Millisecond), d.Delay, l.MaxElapsed)
		return
	}
	// Sleeping into the caller's deadline only to be cancelled helps no
	// one: fail now and say why.
	if s.TimeLeft > 0 && d.Delay >= s.TimeLeft {
		fail(GuardDeadline, "a delay of %v leaves no time before the caller's deadline (%v left)",
			d.Delay, s.TimeLeft.Round(time.Millisecond))
		return
	}
}
