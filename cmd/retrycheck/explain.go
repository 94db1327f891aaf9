package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/faultline-go/faultline/chain"
	"github.com/faultline-go/faultline/classify"
	"github.com/faultline-go/faultline/policy"
)

func explainCommand() *command {
	return &command{
		name:    "explain",
		args:    "INPUT...",
		summary: "show the chain, the facts, every rule's result and the decision",
		help: `
Explain shows how the policy reached its decision for the failure in
each INPUT (every failure, if an INPUT holds several): the error chain as a tree
(each layer's type, the text it adds, how it was reached, the attributes
found in it), the facts classification drew from it, the operation state
(marking what was inferred from text), the result of every rule in order
(matched, not matched, not evaluated) and the decision.

Example:

	$ echo 'error decoding response body: read: connection reset by peer' | retrycheck explain --resumable -
	$ retrycheck fetch --demo --progress none --dump-dir faults --to demo
	$ retrycheck explain --policy ci --attempt 4 faults/*.json`,
		setup: func(fs *flag.FlagSet, cl *cli) func(context.Context, []string) int {
			cl.commonFlags(fs)
			sf := &stateFlags{}
			sf.register(fs)
			return func(ctx context.Context, args []string) int { return cl.explain(ctx, sf, args) }
		},
	}
}

// explanation is explain's JSON output for one failure.
type explanation struct {
	Input    string            `json:"input"`
	Form     string            `json:"form"`
	Policy   string            `json:"policy"`
	Chain    chain.Chain       `json:"chain"`
	Facts    classify.Facts    `json:"facts"`
	State    policy.State      `json:"state"`
	Inferred map[string]string `json:"inferred,omitempty"`
	// Trail is what the operation decided before this failure, from a
	// dump that recorded it.
	Trail    []policy.Step   `json:"trail,omitempty"`
	Decision policy.Decision `json:"decision"`
	Error    string          `json:"error,omitempty"`
	// Recorded is the decision the dump recorded, when it did, and
	// PolicyChanged reports that the policy that made it is not the one
	// explaining it now (their digests differ).
	Recorded      *policy.Decision `json:"recorded,omitempty"`
	PolicyChanged bool             `json:"policy_changed,omitempty"`
}

func (cl *cli) explain(ctx context.Context, sf *stateFlags, args []string) int {
	if err := sf.check(); err != nil {
		return cl.usagef("%v", err)
	}
	if len(args) == 0 {
		return cl.usagef("no INPUT to explain")
	}
	pol, ok := cl.loadPolicy()
	if !ok {
		return exitUsage
	}
	out := bufio.NewWriter(cl.stdout)
	defer out.Flush()
	code := exitOK
	n := 0
	rd := &reader{flags: sf, onError: func(err error) {
		cl.errorf("%v", err)
		code = exitUsage
	}}
	explainOne := func(f *failure) error {
		in := pol.Input(f.dump)
		d, err := pol.Explain(ctx, in)
		if err != nil {
			cl.errorf("%s: %v", f.name, err)
			code = max(code, exitFail)
		}
		e := explanation{Input: f.name, Form: f.form, Policy: pol.label, Chain: f.dump.Chain,
			Facts: in.Error, State: in.State, Inferred: f.notes, Trail: f.dump.Trail, Decision: d, Recorded: f.dump.Decision}
		if r := f.dump.Decision; r != nil && r.Policy.Digest != "" {
			e.PolicyChanged = r.Policy.Digest != d.Policy.Digest
		}
		if err != nil {
			e.Error = err.Error()
		}
		if cl.json {
			enc := json.NewEncoder(out)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			return enc.Encode(&e)
		}
		if n++; n > 1 {
			fmt.Fprintf(out, "\n%s\n\n", strings.Repeat("─", 72))
		}
		writeExplanation(out, &e)
		return nil
	}
	for _, arg := range args {
		if err := cl.readInput(arg, rd, explainOne); err != nil {
			cl.errorf("%v", err)
			return max(code, exitFail)
		}
	}
	return code
}

// writeExplanation prints one explanation as text, section by section.
func writeExplanation(w io.Writer, e *explanation) {
	fmt.Fprintf(w, "input   %s (%s)\n", e.Input, e.Form)
	fmt.Fprintf(w, "policy  %s%s\n", e.Policy, idDetail(e.Decision.Policy))
	if r := e.Recorded; r != nil {
		fmt.Fprintf(w, "recorded  %s by %s under %s\n", r.Action, ruleText(*r), idText(r.Policy))
		switch {
		case r.Policy.Digest == "":
			fmt.Fprintf(w, "          the dump does not say which policy decided\n")
		case e.PolicyChanged:
			fmt.Fprintf(w, "          a different policy from the one replaying it: the decision below may differ from what happened\n")
		}
	}

	fmt.Fprintf(w, "\nchain: %d layers", len(e.Chain.Layers))
	if e.Form == formDump && e.Chain.GOOS != "" {
		fmt.Fprintf(w, ", recorded on %s/%s", e.Chain.GOOS, e.Chain.GOARCH)
	}
	fmt.Fprintln(w)
	writeTree(indent(w, "  "), e.Chain)

	fmt.Fprintf(w, "\nfacts:\n")
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	for _, kv := range factList(e.Facts) {
		fmt.Fprintf(tw, "  %s\t%s\n", kv[0], kv[1])
	}
	tw.Flush()

	fmt.Fprintf(w, "\nstate:")
	if e.Form != formDump {
		fmt.Fprintf(w, " (text carries no state: values not given by flags are inferred or defaults)")
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	for _, kv := range stateList(e.State) {
		note := ""
		if n, ok := e.Inferred[kv[0]]; ok {
			note = "\t(" + n + ")"
		}
		fmt.Fprintf(tw, "  %s\t%s%s\n", kv[0], kv[1], note)
	}
	tw.Flush()

	fmt.Fprintf(w, "\nrules:\n")
	tw = tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	for i, r := range e.Decision.Trace {
		fmt.Fprintf(tw, "  %d\t%s\t%s\n", i+1, r.Rule, ruleOutcome(r))
	}
	if len(e.Decision.Trace) == 0 {
		fmt.Fprintf(tw, "  (no trace)\n")
	}
	tw.Flush()

	if len(e.Trail) > 0 {
		fmt.Fprintf(w, "\ntrail: %s before this failure, oldest first\n", plural(len(e.Trail), "decision"))
		writeTrail(w, e.Trail)
	}

	d := e.Decision
	fmt.Fprintf(w, "\ndecision:\n")
	tw = tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintf(tw, "  action\t%s\n", d.Action)
	fmt.Fprintf(tw, "  delay\t%s\n", delayText(d))
	fmt.Fprintf(tw, "  rule\t%s\n", ruleText(d))
	if d.Guard != "" {
		fmt.Fprintf(tw, "  guard\t%s\n", d.Guard)
	}
	fmt.Fprintf(tw, "  reason\t%s\n", shown(d.Reason))
	if r := e.Recorded; r != nil && (r.Action != d.Action || r.Rule != d.Rule || r.Guard != d.Guard) {
		fmt.Fprintf(tw, "  recorded\t%s by %s\n", r.Action, ruleText(*r))
	}
	tw.Flush()
}

// idText names a policy's identity for people: "NAME, version V,
// sha256:…".
func idText(id policy.ID) string {
	if id.Name == "" && id.Version == "" && id.Digest == "" {
		return "an unnamed policy"
	}
	return strings.TrimPrefix(id.Name+idDetail(id), ", ")
}

// idDetail is what idText says after the name: ", version V, sha256:…".
func idDetail(id policy.ID) string {
	s := ""
	if id.Version != "" {
		s += ", version " + id.Version
	}
	if id.Digest != "" {
		s += ", sha256:" + id.Short()
	}
	return s
}

// writeTrail prints an operation's decisions, one a line: the attempt, the
// phase, the kind of failure and the offset it struck at, then what was
// decided, after what delay, by which rule or guard.
func writeTrail(w io.Writer, trail []policy.Step) {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	for _, s := range trail {
		delay := "-"
		if s.Action != policy.Fail {
			delay = s.Delay.Round(time.Millisecond).String()
		}
		by := s.Rule
		switch {
		case s.Guard != "" && s.Rule != "":
			by += " (guard " + s.Guard + ")"
		case s.Guard != "":
			by = "guard " + s.Guard
		case s.Rule == "":
			by = "(default)"
		}
		fmt.Fprintf(tw, "  attempt %d\t%s\t%s\tat %d\t%s\t%s\t%s\n", s.Attempt, s.Phase, s.Kind, s.Offset, s.Action, delay, by)
	}
	tw.Flush()
}

// ruleOutcome words one rule's result in a trace.
func ruleOutcome(r policy.RuleResult) string {
	switch {
	case r.Matched:
		return "matched"
	case strings.HasPrefix(r.Note, "not evaluated"):
		return r.Note
	case r.Note != "":
		return "error: " + strings.TrimPrefix(r.Note, "evaluation failed: ")
	}
	return "not matched"
}

// factList lists the facts as name/value pairs, by their CEL names, with
// the always-meaningful ones first and the rest only when set.
func factList(f classify.Facts) [][2]string {
	l := [][2]string{
		{"kind", string(f.Kind)},
		{"transient", fmt.Sprint(f.Transient)},
		{"timeout", fmt.Sprint(f.Timeout)},
		{"caused_by_transport", fmt.Sprint(f.CausedByTransport)},
	}
	add := func(k, v string) {
		if v != "" && v != "0" && v != "false" && v != "0s" {
			l = append(l, [2]string{k, v})
		}
	}
	add("errno", f.Errno)
	add("op", f.Op)
	add("h2.code", f.H2.Code)
	add("h2.stream_id", fmt.Sprint(f.H2.StreamID))
	add("h2.last_stream_id", fmt.Sprint(f.H2.LastStreamID))
	add("h2.goaway", fmt.Sprint(f.H2.GoAway))
	add("h2.remote", fmt.Sprint(f.H2.Remote))
	if f.H2.Debug != "" {
		add("h2.debug", shown(f.H2.Debug))
	}
	add("http.status", fmt.Sprint(f.HTTP.Status))
	add("http.retry_after", f.HTTP.RetryAfter.String())
	add("decode.format", f.Decode.Format)
	add("decode.offset", fmt.Sprint(f.Decode.Offset))
	add("decode.entry", f.Decode.Entry)
	for _, k := range slices.Sorted(maps.Keys(f.Labels)) {
		l = append(l, [2]string{"labels." + k, f.Labels[k]})
	}
	if len(f.Layers) > 0 && f.Layer >= 0 && f.Layer < len(f.Layers) {
		ly := f.Layers[f.Layer]
		typ := ly.Type
		if typ == "" {
			typ = "(text)"
		}
		l = append(l, [2]string{"layer", fmt.Sprintf("%d: %s %s", f.Layer, typ, shown(ly.Message))})
	}
	return l
}

// stateList lists every state field by its CEL name.
func stateList(s policy.State) [][2]string {
	var progress policy.Progress
	if s.Progress != nil {
		progress = *s.Progress
	}
	history := "[]"
	if len(s.History) > 0 {
		history = "[" + strings.Join(s.History, ", ") + "]"
	}
	return [][2]string{
		{"phase", orNone(string(s.Phase))},
		{"attempt", fmt.Sprint(s.Attempt)},
		{"resumes", fmt.Sprint(s.Resumes)},
		{"restarts", fmt.Sprint(s.Restarts)},
		{"elapsed", s.Elapsed.String()},
		{"bytes_received", fmt.Sprint(s.BytesReceived)},
		{"total_expected", totalText(s)},
		{"bytes_refetched", fmt.Sprint(s.BytesRefetched)},
		{"refetches", fmt.Sprint(s.Refetches)},
		{"gained", fmt.Sprint(progress.Gained)},
		{"duration", progress.Duration.String()},
		{"rate", fmt.Sprintf("%.0f", progress.Rate)},
		{"no_progress", noProgressText(s)},
		{"history", history},
		{"caller_done", fmt.Sprint(s.CallerDone)},
		{"time_left", s.TimeLeft.String()},
		{"request.method", orNone(s.Request.Method)},
		{"request.host", orNone(s.Request.Host)},
		{"request.idempotent", fmt.Sprint(s.Request.Idempotent)},
		{"request.idempotency_key", fmt.Sprint(s.Request.IdempotencyKey)},
		{"response.status", fmt.Sprint(s.Response.Status)},
		{"response.accept_ranges", fmt.Sprint(s.Response.AcceptRanges)},
		{"response.validator", orNone(s.Response.Validator)},
		{"response.resumable", fmt.Sprint(s.Response.Resumable)},
		{"response.protocol", orNone(s.Response.Protocol)},
	}
}

// noProgressText shows the streak of attempts without progress, saying
// when it is inferred from the attempt number for want of facts.
func noProgressText(s policy.State) string {
	if s.Progress == nil {
		return fmt.Sprintf("%d (no progress facts recorded: every attempt counts)", s.NoProgress())
	}
	return fmt.Sprint(s.NoProgress())
}

func orNone(s string) string {
	if s == "" {
		return `""`
	}
	return s
}

// indent returns a writer that prefixes every line written to w.
func indent(w io.Writer, prefix string) io.Writer {
	return &indenter{w: w, prefix: prefix, bol: true}
}

type indenter struct {
	w      io.Writer
	prefix string
	bol    bool // at the beginning of a line
}

func (in *indenter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		if in.bol {
			if _, err := io.WriteString(in.w, in.prefix); err != nil {
				return n, err
			}
			in.bol = false
		}
		line := p
		if i := bytes.IndexByte(p, '\n'); i >= 0 {
			line = p[:i+1]
			in.bol = true
		}
		m, err := in.w.Write(line)
		n += m
		if err != nil {
			return n, err
		}
		p = p[len(line):]
	}
	return n, nil
}

// totalText is the announced length as policies see it: -1 when
// unknown, the zero value included.
func totalText(s policy.State) string {
	n, _ := s.Total()
	return fmt.Sprint(n)
}
