package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/faultline-go/faultline/policy"
)

func testCommand() *command {
	return &command{
		name:    "test",
		args:    "[POLICY...]",
		summary: "run policies' inline cases and a directory of expected cases",
		help: `
Test runs the inline test cases of every POLICY, a shipped policy's name
or a file (without any, the policy chosen by --policy, $FAULTLINE_POLICY
or the embedded default) and, with --cases, every input found under DIR
that records an expected outcome: dumps with an "expect" object and texts
with an "# expect:" header (see testdata/corpus/README.md). A case
expects an action and, optionally, a rule, a guard and an exact delay.
Each failure is printed with the expected and actual decision side by
side, as a diff. The last line is
exactly "N passed, N failed"; the exit status is 1 when any case failed.
In --cases DIR, files named README* or starting with "." are skipped and
every other input must carry an expectation.

Example:

	$ retrycheck test -v ci
	$ mkdir cases
	$ printf '# expect: resume\n# flags: --phase body --resumable\nread: connection reset by peer\n' > cases/reset.txt
	$ retrycheck test default interactive --cases cases
	$ retrycheck policy show default > mine.yaml
	$ retrycheck test mine.yaml`,
		setup: func(fs *flag.FlagSet, cl *cli) func(context.Context, []string) int {
			cl.commonFlags(fs)
			t := &tester{cli: cl}
			fs.StringVar(&t.casesDir, "cases", "", "run the cases in the inputs under `DIR` too")
			fs.BoolVar(&t.verbose, "v", false, "print passing cases too")
			return t.run
		},
	}
}

// tester runs the test command.
type tester struct {
	*cli
	casesDir string
	verbose  bool

	out            *bufio.Writer
	passed, failed int
	code           int
}

// caseOutcome is one case's result, as --json prints it.
type caseOutcome struct {
	Policy string         `json:"policy"`
	Case   string         `json:"case"`
	Passed bool           `json:"passed"`
	Expect *policy.Expect `json:"expect,omitempty"`
	Got    decisionBrief  `json:"got"`
	Diff   string         `json:"diff,omitempty"`
	Error  string         `json:"error,omitempty"`
}

// decisionBrief is a decision without its trace.
type decisionBrief struct {
	Action policy.Action `json:"action"`
	Delay  string        `json:"delay"`
	Rule   string        `json:"rule"`
	Guard  string        `json:"guard,omitempty"`
	Reason string        `json:"reason,omitempty"`
	Policy policy.ID     `json:"policy,omitzero"`
}

func brief(d policy.Decision) decisionBrief {
	return decisionBrief{Action: d.Action, Delay: d.Delay.String(), Rule: d.Rule, Guard: d.Guard, Reason: d.Reason, Policy: d.Policy}
}

func (t *tester) run(ctx context.Context, args []string) int {
	t.out = bufio.NewWriter(t.stdout)
	defer t.out.Flush()
	var pols []*loaded
	if len(args) == 0 {
		p, ok := t.loadPolicy()
		if !ok {
			return exitUsage
		}
		pols = append(pols, p)
	}
	for _, spec := range args {
		p, err := resolvePolicy(spec)
		if err != nil {
			t.policyErrors(spec, err)
			t.code = exitUsage
			continue
		}
		pols = append(pols, p)
	}
	for _, p := range pols {
		for _, r := range p.RunCases(ctx) {
			name := r.Case.Name
			if r.Case.Line > 0 {
				name = fmt.Sprintf("%s:%d: %s", p.File(), r.Case.Line, r.Case.Name)
			}
			exp := r.Case.Expect
			t.report(p, name, &exp, r.Decision, r.Err, r.Diff)
		}
		if t.casesDir != "" {
			t.runDir(ctx, p)
		}
	}
	if t.json {
		json.NewEncoder(t.out).Encode(map[string]int{"passed": t.passed, "failed": t.failed})
	} else {
		fmt.Fprintf(t.out, "%d passed, %d failed\n", t.passed, t.failed)
	}
	if t.failed > 0 {
		t.code = max(t.code, exitFail)
	}
	return t.code
}

// runDir decides every input under the cases directory with p.
func (t *tester) runDir(ctx context.Context, p *loaded) {
	rd := &reader{flags: &stateFlags{fs: newFlagSet("none")}, onError: func(err error) {
		t.errorf("%v", err)
		t.code = exitUsage
	}}
	err := t.eachCase(t.casesDir, rd, func(f *failure) error {
		d, err := p.Explain(ctx, p.Input(f.dump))
		if f.expect == nil {
			t.report(p, f.name, nil, d, err, "no expected outcome: add \"expect\" to the dump or an \"# expect:\" header to the text")
			return nil
		}
		diff := ""
		if err == nil {
			diff = f.expect.Check(d)
		}
		t.report(p, f.name, f.expect, d, err, diff)
		return nil
	})
	if err != nil {
		t.errorf("--cases: %v", err)
		t.code = exitUsage
	}
}

// eachCase reads every input under dir, in lexical order, skipping files
// named README* and files and directories starting with ".".
func (cl *cli) eachCase(dir string, rd *reader, fn func(*failure) error) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if path != dir && strings.HasPrefix(name, ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() || strings.HasPrefix(name, "README") {
			return nil
		}
		return cl.readInput(path, rd, fn)
	})
}

// report counts one case and prints it if it failed (or -v).
func (t *tester) report(p *loaded, name string, exp *policy.Expect, d policy.Decision, err error, diff string) {
	ok := err == nil && diff == ""
	if ok {
		t.passed++
	} else {
		t.failed++
	}
	if t.json {
		o := caseOutcome{Policy: p.label, Case: name, Passed: ok, Expect: exp, Diff: diff, Got: brief(d)}
		if err != nil {
			o.Error = err.Error()
		}
		if !ok || t.verbose {
			enc := json.NewEncoder(t.out)
			enc.SetEscapeHTML(false)
			enc.Encode(&o)
		}
		return
	}
	if ok {
		if t.verbose {
			fmt.Fprintf(t.out, "ok    %s  [%s]  %s %s\n", name, p.label, d.Action, ruleText(d))
		}
		return
	}
	fmt.Fprintf(t.out, "FAIL  %s  [%s]\n", name, p.label)
	writeDiff(t.out, exp, d)
	if err != nil {
		fmt.Fprintf(t.out, "      error: %v\n", err)
	} else if exp == nil {
		fmt.Fprintf(t.out, "      %s\n", diff)
	}
	if fired := firedRule(d); fired != "" {
		fmt.Fprintf(t.out, "      trace: %s\n", fired)
	}
}

// writeDiff prints the expected decision against the actual one, field by
// field: "-" lines are expected, "+" lines are what the policy decided.
func writeDiff(w io.Writer, exp *policy.Expect, d policy.Decision) {
	var e policy.Expect
	if exp != nil {
		e = *exp
	}
	field := func(name, want, got string, checked bool) {
		switch {
		case checked && want != got:
			fmt.Fprintf(w, "    - %-7s %s\n    + %-7s %s\n", name+":", orNone(want), name+":", orNone(got))
		default:
			fmt.Fprintf(w, "      %-7s %s\n", name+":", orNone(got))
		}
	}
	field("action", string(e.Action), string(d.Action), e.Action != "")
	field("rule", e.Rule, d.Rule, e.Rule != "")
	if e.Guard != "" || d.Guard != "" {
		field("guard", e.Guard, d.Guard, e.Guard != "")
	}
	if e.Delay != nil {
		field("delay", e.Delay.String(), d.Delay.String(), true)
	} else {
		field("delay", "", delayText(d), false)
	}
	fmt.Fprintf(w, "      %-7s %s\n", "reason:", shown(d.Reason))
}

// firedRule summarises a trace: the rules before the one that matched,
// and the match.
func firedRule(d policy.Decision) string {
	var s []string
	for _, r := range d.Trace {
		if strings.HasPrefix(r.Note, "not evaluated") {
			break
		}
		mark := "no"
		if r.Matched {
			mark = "MATCHED"
		} else if r.Note != "" {
			mark = "error"
		}
		s = append(s, r.Rule+"="+mark)
	}
	return strings.Join(s, " ")
}
