package main

import (
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/faultline-go/faultline/chain"
	"github.com/faultline-go/faultline/policy"
)

// stateFlags are the flags that supply the operation state text cannot
// carry, or override a dump's recorded state. Only flags given explicitly
// apply.
type stateFlags struct {
	phase      string
	attempt    int
	elapsed    time.Duration
	bytes      int64
	total      int64
	gained     int64
	noProgress int
	resumable  bool
	status     int
	retryAfter time.Duration
	method     string
	idemKey    bool
	callerDone bool

	fs    *flag.FlagSet   // to ask which flags were set
	given map[string]bool // the flags set, once check has run
}

// stateFlagNames are the flags stateFlags registers, in help order.
var stateFlagNames = []string{"phase", "attempt", "elapsed", "bytes", "total", "gained", "no-progress", "resumable", "status", "retry-after", "method", "idempotency-key", "caller-done"}

func (s *stateFlags) register(fs *flag.FlagSet) {
	s.fs = fs
	fs.StringVar(&s.phase, "phase", "", "`PHASE` of the operation: connect, request, headers, body, unpack or commit")
	fs.IntVar(&s.attempt, "attempt", 0, "the failed attempt's number `N`, from 1")
	fs.DurationVar(&s.elapsed, "elapsed", 0, "`DURATION` since the operation started")
	fs.Int64Var(&s.bytes, "bytes", 0, "`N` body bytes received before the failure")
	fs.Int64Var(&s.total, "total", 0, "announced body length `N` in bytes, -1 for unknown")
	fs.Int64Var(&s.gained, "gained", 0, "`N` bytes the failed attempt gained (its progress)")
	fs.IntVar(&s.noProgress, "no-progress", 0, "`N` attempts in a row, the failed one included, without progress (default: every attempt, when no progress is known)")
	fs.BoolVar(&s.resumable, "resumable", false, "the server supports ranged resumes (Accept-Ranges and a validator)")
	fs.IntVar(&s.status, "status", 0, "HTTP status `CODE` of the response")
	fs.Var((*retryAfterValue)(&s.retryAfter), "retry-after", "the response's Retry-After: `SECONDS` as the header gives them, or a DURATION")
	fs.StringVar(&s.method, "method", "", "request `METHOD` (default GET for text); POST, PATCH and other methods that are not idempotent are sent again only if unprocessed")
	fs.BoolVar(&s.idemKey, "idempotency-key", false, "the request carried an Idempotency-Key header")
	fs.BoolVar(&s.callerDone, "caller-done", false, "the caller's own context was done (canceled or past its deadline)")
}

// set reports whether the flag was given.
func (s *stateFlags) set(name string) bool {
	if s == nil || s.fs == nil {
		return false
	}
	if s.given != nil {
		return s.given[name]
	}
	found := false
	s.fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			found = true
		}
	})
	return found
}

// check validates the flags' values; a bad value is a usage error. It
// also records which flags were given, so that apply, which runs once per
// input and on several goroutines, need not ask the flag set again.
func (s *stateFlags) check() error {
	given := map[string]bool{}
	s.fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	s.given = given
	if s.set("phase") && !slices.Contains(phases, policy.Phase(s.phase)) {
		return fmt.Errorf("invalid --phase %q: want one of %s", s.phase, phaseList())
	}
	if s.set("attempt") && s.attempt < 1 {
		return fmt.Errorf("invalid --attempt %d: attempts count from 1", s.attempt)
	}
	if s.set("elapsed") && s.elapsed < 0 {
		return fmt.Errorf("invalid --elapsed %v: must not be negative", s.elapsed)
	}
	if s.set("bytes") && s.bytes < 0 {
		return fmt.Errorf("invalid --bytes %d: must not be negative", s.bytes)
	}
	if s.set("gained") && s.gained < 0 {
		return fmt.Errorf("invalid --gained %d: must not be negative", s.gained)
	}
	if s.set("no-progress") && s.noProgress < 0 {
		return fmt.Errorf("invalid --no-progress %d: must not be negative", s.noProgress)
	}
	if s.set("total") && s.total < -1 {
		return fmt.Errorf("invalid --total %d: want a length or -1 for unknown", s.total)
	}
	if s.set("status") && (s.status < 100 || s.status > 599) {
		return fmt.Errorf("invalid --status %d: want an HTTP status from 100 to 599", s.status)
	}
	if s.set("retry-after") && s.retryAfter < 0 {
		return fmt.Errorf("invalid --retry-after %v: must not be negative", s.retryAfter)
	}
	return nil
}

// apply writes the flags that were given into st, and --retry-after into
// the chain, and drops the inferences they replace.
func (s *stateFlags) apply(st *policy.State, c *chain.Chain, inferred map[string]string) {
	for _, name := range stateFlagNames {
		if !s.set(name) {
			continue
		}
		switch name {
		case "phase":
			st.Phase = policy.Phase(s.phase)
		case "attempt":
			st.Attempt = s.attempt
		case "elapsed":
			st.Elapsed = s.elapsed
		case "bytes":
			st.BytesReceived = s.bytes
		case "total":
			st.TotalExpected = s.total
			st.TotalKnown = s.total == 0
		case "gained":
			p := progressOf(st)
			p.Gained = s.gained
			if !s.set("no-progress") {
				// The streak follows from the gain, as far as one
				// attempt tells: none when it made progress, else the
				// attempts so far.
				p.NoProgress = 0
				if !policy.MadeProgress(s.gained, -1) {
					p.NoProgress = max(st.Attempt, 1)
				}
			}
		case "no-progress":
			progressOf(st).NoProgress = s.noProgress
		case "resumable":
			st.Response.Resumable = s.resumable
			st.Response.AcceptRanges = s.resumable
			if s.resumable && st.Response.Validator == "" {
				// Resumable means "ranges and a validator"; the flag vouches
				// for both, so record a placeholder validator.
				st.Response.Validator = `"from --resumable"`
			}
		case "status":
			st.Response.Status = s.status
		case "retry-after":
			setRetryAfter(c, s.retryAfter)
		case "caller-done":
			st.CallerDone = s.callerDone
		case "method":
			st.Request.Method = strings.ToUpper(s.method)
			st.Request.Idempotent = policy.IdempotentMethod(st.Request.Method)
		case "idempotency-key":
			st.Request.IdempotencyKey = s.idemKey
		}
		delete(inferred, stateKey(name))
	}
}

// stateKey maps a flag name to the state field it sets, as output names it.
func stateKey(flagName string) string {
	switch flagName {
	case "bytes":
		return "bytes_received"
	case "no-progress":
		return "no_progress"
	case "total":
		return "total_expected"
	case "status":
		return "response.status"
	case "resumable":
		return "response.resumable"
	case "method":
		return "request.method"
	case "idempotency-key":
		return "request.idempotency_key"
	}
	return strings.ReplaceAll(flagName, "-", "_")
}

// setRetryAfter records a Retry-After on the layer that carries the HTTP
// status, or on the root when none does, as an HTTP adapter would have;
// classification then sees it like a live one.
func setRetryAfter(c *chain.Chain, d time.Duration) {
	if len(c.Layers) == 0 {
		return
	}
	at := 0
	for i, l := range c.Layers {
		if l.Attrs.HTTPStatus != 0 {
			at = i
			break
		}
	}
	c.Layers[at].Attrs.RetryAfter = d.Seconds()
}

// phases are the valid phases, in the order of an operation.
var phases = []policy.Phase{policy.PhaseConnect, policy.PhaseRequest, policy.PhaseHeaders,
	policy.PhaseBody, policy.PhaseUnpack, policy.PhaseCommit}

func phaseList() string {
	s := make([]string, len(phases))
	for i, p := range phases {
		s[i] = string(p)
	}
	return strings.Join(s, ", ")
}

// progressOf returns st's progress facts, making them if it has none.
func progressOf(st *policy.State) *policy.Progress {
	if st.Progress == nil {
		st.Progress = &policy.Progress{}
	} else {
		p := *st.Progress // the state may share it with the input it came from
		st.Progress = &p
	}
	return st.Progress
}

// retryAfterValue is --retry-after: a Retry-After as the header writes it,
// delay-seconds (RFC 9110, section 10.2.3: "Retry-After: 120"), or a Go
// duration ("2m").
type retryAfterValue time.Duration

func (v *retryAfterValue) String() string { return time.Duration(*v).String() }

func (v *retryAfterValue) Set(s string) error {
	if n, err := strconv.ParseUint(s, 10, 32); err == nil {
		*v = retryAfterValue(time.Duration(n) * time.Second)
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("want seconds (120) or a duration (2m)")
	}
	*v = retryAfterValue(d)
	return nil
}
