package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/faultline-go/faultline/classify"
	"github.com/faultline-go/faultline/policy"
)

func decideCommand() *command {
	return &command{
		name:    "decide",
		args:    "INPUT...",
		summary: "decide every input and print one line for each",
		help: `
Decide reads every input (a dump, JSON Lines of dumps, or error text; "-"
for standard input) and prints one line per failure: the input, the
action, the delay, the rule that fired and the key facts, with the state
values that were inferred rather than recorded marked as such. With
--json it prints one JSON object per failure instead, with the full facts
and state. JSON Lines are decided one line at a time, in constant memory.

The state flags set the operation's state for text inputs and override a
dump's recorded state, to ask "what if": what if this were the fifth
attempt, or the server could resume?

Example:

	$ echo 'read tcp 10.0.0.1:5->10.0.0.2:443: read: connection reset by peer' | retrycheck decide --phase body --bytes 100 --total 900 -
	stdin  retry  250ms  restart-body  kind=connection_reset errno=ECONNRESET op=read transient  phase=body attempt=1 bytes=100/900
	$ retrycheck fetch --demo --progress none --dump-dir faults --to demo
	$ retrycheck decide --policy interactive --attempt 3 faults/*.json
	$ retrycheck decide --json --attempt 5 faults/*.json`,
		setup: func(fs *flag.FlagSet, cl *cli) func(context.Context, []string) int {
			cl.commonFlags(fs)
			sf := &stateFlags{}
			sf.register(fs)
			return func(ctx context.Context, args []string) int { return cl.decide(ctx, sf, args) }
		},
	}
}

// decideLine is decide's JSON output for one failure.
type decideLine struct {
	Input  string        `json:"input"`
	Form   string        `json:"form"`
	Action policy.Action `json:"action"`
	Delay  string        `json:"delay"`
	Rule   string        `json:"rule"`
	Guard  string        `json:"guard,omitempty"`
	Reason string        `json:"reason"`
	// Error is set when the policy could not evaluate the input; the
	// action is then "fail".
	Error  string `json:"error,omitempty"`
	Policy string `json:"policy"`
	// PolicyVersion and PolicyDigest identify the policy that decided
	// (policy.ID).
	PolicyVersion string            `json:"policy_version,omitempty"`
	PolicyDigest  string            `json:"policy_digest"`
	Facts         classify.Facts    `json:"facts"`
	State         policy.State      `json:"state"`
	Inferred      map[string]string `json:"inferred,omitempty"`
}

// decided is decide's work on one failure: the rendered output and the
// policy's evaluation error, if any.
type decided struct {
	out []byte
	err error
}

// flushEvery bounds how many lines the aligned output holds back, so that
// decide streams: columns align within each block of this many lines.
const flushEvery = 512

func (cl *cli) decide(ctx context.Context, sf *stateFlags, args []string) int {
	if err := sf.check(); err != nil {
		return cl.usagef("%v", err)
	}
	if len(args) == 0 {
		return cl.usagef("no inputs; give files, or - for standard input")
	}
	pol, ok := cl.loadPolicy()
	if !ok {
		return exitUsage
	}
	out := bufio.NewWriterSize(cl.stdout, 64<<10)
	defer out.Flush()
	var tw *tabwriter.Writer
	if !cl.json {
		tw = tabwriter.NewWriter(out, 0, 8, 2, ' ', 0)
		defer tw.Flush()
	}
	code := exitOK
	lines := 0
	// work decides one failure and renders its line; for JSON Lines it
	// runs on several goroutines (a *policy.Policy is safe for that).
	work := func(f *failure) {
		in := pol.Input(f.dump)
		d, err := pol.Decide(ctx, in)
		r := &decided{err: err}
		if cl.json {
			line := decideLine{
				Input: f.name, Form: f.form, Action: d.Action, Delay: d.Delay.String(),
				Rule: d.Rule, Guard: d.Guard, Reason: d.Reason, Policy: pol.Name(),
				PolicyVersion: d.Policy.Version, PolicyDigest: d.Policy.Digest,
				Facts: in.Error, State: in.State, Inferred: f.notes,
			}
			if err != nil {
				line.Error = err.Error()
			}
			out, err := appendJSON(nil, &line)
			if err != nil {
				r.err = err
			}
			r.out = out
		} else {
			r.out = fmt.Appendf(nil, "%s\t%s\t%s\t%s\t%s\t%s\n", f.name, d.Action, delayText(d), ruleText(d),
				keyFacts(in.Error), stateSummary(in.State, f.notes))
		}
		f.result = r
	}
	emit := func(f *failure) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if !f.worked {
			work(f)
		}
		r := f.result.(*decided)
		if r.err != nil {
			cl.errorf("%s: %v", f.name, r.err)
			code = max(code, exitFail)
		}
		if tw == nil {
			_, err := out.Write(r.out)
			return err
		}
		tw.Write(r.out)
		if lines++; lines%flushEvery == 0 {
			return tw.Flush()
		}
		return nil
	}
	rd := &reader{flags: sf, work: work, workers: runtime.GOMAXPROCS(0), onError: func(err error) {
		cl.errorf("%v", err)
		code = exitUsage
	}}
	if err := cl.eachInput(args, rd, emit); err != nil {
		cl.errorf("%v", err)
		return max(code, exitFail)
	}
	return code
}

// eachInput reads every named input in turn; "-" is standard input. An
// input that cannot be opened is reported through rd.onError and skipped.
// It stops at fn's first error.
func (cl *cli) eachInput(names []string, rd *reader, fn func(*failure) error) error {
	for _, name := range names {
		if err := cl.readInput(name, rd, fn); err != nil {
			return err
		}
	}
	return nil
}

func (cl *cli) readInput(name string, rd *reader, fn func(*failure) error) error {
	if name == "-" {
		return rd.read("stdin", cl.stdin, fn)
	}
	f, err := os.Open(name)
	if err != nil {
		rd.onError(err)
		return nil
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		rd.onError(&inputError{Name: name, Err: fmt.Errorf("is a directory")})
		return nil
	}
	return rd.read(name, f, fn)
}

// delayText is the delay column: none for fail.
func delayText(d policy.Decision) string {
	if d.Action == policy.Fail {
		return "-"
	}
	return d.Delay.Round(time.Millisecond).String()
}

// ruleText is the rule column: the rule, the guard that overrode it, or
// the policy's default.
func ruleText(d policy.Decision) string {
	switch {
	case d.Guard != "" && d.Rule != "":
		return d.Rule + " (guard " + d.Guard + ")"
	case d.Guard != "":
		return "guard " + d.Guard
	case d.Rule == "":
		return "(default)"
	}
	return d.Rule
}

// keyFacts are the facts that decide most policies, as key=value.
func keyFacts(f classify.Facts) string {
	s := []string{"kind=" + string(f.Kind)}
	if f.Errno != "" {
		s = append(s, "errno="+f.Errno)
	}
	if f.Op != "" {
		s = append(s, "op="+f.Op)
	}
	if f.H2.Code != "" {
		s = append(s, "h2="+f.H2.Code)
	}
	if f.H2.GoAway {
		s = append(s, "goaway")
	}
	if f.HTTP.Status != 0 {
		s = append(s, fmt.Sprintf("status=%d", f.HTTP.Status))
	}
	if f.HTTP.RetryAfter != 0 {
		s = append(s, "retry_after="+f.HTTP.RetryAfter.String())
	}
	if f.Decode.Format != "" {
		s = append(s, "format="+f.Decode.Format)
	}
	if f.Timeout {
		s = append(s, "timeout")
	}
	if f.CausedByTransport {
		s = append(s, "caused_by_transport")
	}
	if f.Transient {
		s = append(s, "transient")
	}
	return strings.Join(s, " ")
}

// stateSummary is the state column: the phase, marked when inferred, and
// the attempt and byte counts when they say something.
func stateSummary(st policy.State, notes map[string]string) string {
	var s []string
	phase := string(st.Phase)
	if phase == "" {
		phase = "unknown"
	} else if _, ok := notes["phase"]; ok {
		phase += " (inferred)"
	}
	s = append(s, "phase="+phase, fmt.Sprintf("attempt=%d", st.Attempt))
	if n, known := st.Total(); st.BytesReceived != 0 || known {
		total := "?"
		if known {
			total = fmt.Sprint(n)
		}
		s = append(s, fmt.Sprintf("bytes=%d/%s", st.BytesReceived, total))
	}
	if st.Response.Resumable {
		s = append(s, "resumable")
	}
	return strings.Join(s, " ")
}
