package policy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/faultline-go/faultline/classify"
)

// Expect is the decision a test case or a recorded dump expects. Empty
// fields are not checked.
type Expect struct {
	Action Action `json:"action" yaml:"action"`
	Rule   string `json:"rule,omitempty" yaml:"rule"`
	Guard  string `json:"guard,omitempty" yaml:"guard"`
	// Delay, when set, is the delay the decision must carry, exactly.
	// Cases are decided without jitter: "backoff" is the schedule's base
	// delay for the attempt (Backoff.Base), so the delay is reproducible.
	Delay *time.Duration `json:"delay,omitempty" yaml:"delay"`
}

// Check compares a decision with the expectation and describes the
// differences, or returns "" when they agree.
func (e Expect) Check(d Decision) string {
	var diffs []string
	if e.Action != "" && d.Action != e.Action {
		diffs = append(diffs, fmt.Sprintf("action %s, want %s", d.Action, e.Action))
	}
	if e.Rule != "" && d.Rule != e.Rule {
		diffs = append(diffs, fmt.Sprintf("rule %q, want %q", d.Rule, e.Rule))
	}
	if e.Guard != "" && d.Guard != e.Guard {
		diffs = append(diffs, fmt.Sprintf("guard %q, want %q", d.Guard, e.Guard))
	}
	if e.Delay != nil && d.Delay != *e.Delay {
		diffs = append(diffs, fmt.Sprintf("delay %v, want %v", d.Delay, *e.Delay))
	}
	return strings.Join(diffs, "; ")
}

// Case is one of a policy's inline test cases.
type Case struct {
	Name string
	// Dump is the dump file the input came from, as written, or "".
	Dump   string
	Input  Input
	Expect Expect
	// File and Line locate the case: the policy file, or a file it
	// includes.
	File string
	Line int
}

// CaseResult is the outcome of running one case.
type CaseResult struct {
	Case     Case
	Decision Decision // with the trace
	// Err is the evaluation error, if any.
	Err error
	// Diff describes how the decision differs from the expectation; ""
	// when the case passed.
	Diff string
}

// Passed reports whether the case passed.
func (r CaseResult) Passed() bool { return r.Err == nil && r.Diff == "" }

// Cases returns the policy's inline test cases.
func (p *Policy) Cases() []Case { return append([]Case(nil), p.cases...) }

// RunCases decides every test case with Explain, so a failing case comes
// with its trace.
func (p *Policy) RunCases(ctx context.Context) []CaseResult {
	out := make([]CaseResult, len(p.cases))
	for i, c := range p.cases {
		d, err := p.Explain(ctx, c.Input)
		out[i] = CaseResult{Case: c, Decision: d, Err: err}
		if err == nil {
			out[i].Diff = c.Expect.Check(d)
		}
	}
	return out
}

// Unfired returns the rules that no result fired, in policy order: rules
// the test cases leave untested.
func (p *Policy) Unfired(results []CaseResult) []string {
	fired := map[string]bool{}
	for _, r := range results {
		fired[r.Decision.Rule] = true
	}
	var out []string
	for _, r := range p.rules {
		if !fired[r.name] {
			out = append(out, r.name)
		}
	}
	return out
}

// buildCases turns the test specs into cases, reading dumps: each must
// lie in the policy file's directory, and all of them together hold at
// most maxDumpTotal bytes.
func buildCases(errs *ErrorList, specs []caseSpec, testsAt pos, read readFunc, cl *classify.Set) []Case {
	if len(specs) > maxTests {
		errs.add(testsAt, "", "the policy has %d test cases; the limit is %d", len(specs), maxTests)
		return nil
	}
	budget := int64(maxDumpTotal)
	cases := make([]Case, 0, len(specs))
	for i, s := range specs {
		d := &nodeDecoder{file: s.src.name, errs: errs, src: s.src}
		at := s.src.at(s.Node)
		c := Case{Name: s.Name, File: s.src.name, Dump: s.Dump, Expect: s.Expect, Line: at.line}
		if c.Name == "" {
			c.Name = fmt.Sprintf("test %d", i+1)
		}
		switch {
		case s.Input != nil && s.Dump != "":
			d.errs.add(at, "", "test %q: give input or dump, not both", c.Name)
		case s.Input != nil:
			c.Input = *s.Input
			if hasKey(s.Node, "input", "state", "total_expected") {
				// A length the case states is announced, 0 included.
				c.Input.State.TotalKnown = c.Input.State.TotalExpected == 0
			}
			// A download (GET) unless stated; idempotent as its method is.
			if rq := &c.Input.State.Request; rq.Method == "" && !hasKey(s.Node, "input", "state", "request", "method") {
				rq.Method = "GET"
			}
			if rq := &c.Input.State.Request; !hasKey(s.Node, "input", "state", "request", "idempotent") {
				rq.Idempotent = IdempotentMethod(rq.Method)
			}
		case s.Dump != "":
			dumpAt := d.keyPos(s.Node, "")("dump")
			rel := s.src.resolve(s.Dump)
			if rel == "" {
				d.errs.add(dumpAt, "", "test %q: dump %s: the path must be relative and inside the policy file's directory", c.Name, s.Dump)
				break
			}
			data, err := read(rel, min(maxDumpSize, budget), "a test case's dump")
			if errors.Is(err, ErrTooLarge) && budget < maxDumpSize {
				err = fmt.Errorf("the dumps of a policy's test cases may hold %d bytes in all", maxDumpTotal)
			}
			if err != nil {
				d.errs.add(dumpAt, "", "test %q: %v", c.Name, err)
				break
			}
			budget -= int64(len(data))
			var dumps []Dump
			err = ReadDumps(bytes.NewReader(data), func(dp Dump) error {
				dumps = append(dumps, dp)
				return nil
			})
			if err == nil && len(dumps) != 1 {
				err = fmt.Errorf("want one dump, found %d", len(dumps))
			}
			if err != nil {
				d.errs.add(at, "", "test %q: dump %s: %v", c.Name, s.Dump, err)
				break
			}
			c.Input = Input{Error: cl.Classify(dumps[0].Chain), State: dumps[0].State}
			if reflect.ValueOf(c.Expect).IsZero() && dumps[0].Expect != nil {
				c.Expect = *dumps[0].Expect
			}
		default:
			d.errs.add(at, "", "test %q: needs an input or a dump", c.Name)
		}
		if c.Expect.Action == "" {
			d.errs.add(at, "", "test %q: expect needs an action", c.Name)
		} else if !c.Expect.Action.valid() {
			d.errs.add(at, "", "test %q: unknown action %q", c.Name, c.Expect.Action)
		}
		cases = append(cases, c)
	}
	return cases
}
