package main

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/faultline-go/faultline/classify"
	"github.com/faultline-go/faultline/policy"
)

func diffCommand() *command {
	return &command{
		name:    "diff",
		args:    "OLD NEW [INPUT...]",
		summary: "decide recorded failures with two policies and group what changes",
		help: `
Diff decides every recorded failure with the policy OLD and the policy NEW
(each a file or the name of a shipped policy) and reports those whose
decision changes: the action, the rule that fired, the guard that
overrode it, or the range of delays (the policy's decision at either end
of its backoff's jitter). Changes are grouped by what changed, most
frequent first, each with the kinds of failure and HTTP statuses it holds
and the first inputs:

	retry → fail: 12 failures, kind http_status, status 404

The failures are the inputs (dumps, JSON Lines of dumps, error text; "-"
for standard input) and, with --cases, every input under DIR as test
--cases reads it. JSON Lines are read in constant memory, and the report
holds counts and a few names per group, so any number of failures can be
compared. The state flags set or override the operation's state as for
decide.

The exit status is 0 when no decision changes, 1 when some do (so that CI
can demand a review of a policy change), and 2 when an input or a policy
could not be read or a policy could not evaluate an input. In this
repository, "retrycheck diff policies/default.yaml
policies/interactive.yaml --cases testdata/corpus" prints what failing
fast changes and exits 1.

Example:

	$ mkdir failures
	$ printf 'read: connection reset by peer\n' > failures/reset.txt
	$ printf 'unexpected status code 404 Not Found\n' > failures/404.txt
	$ retrycheck policy show default > mine.yaml
	$ retrycheck diff default mine.yaml --cases failures
	$ retrycheck diff --json default mine.yaml failures/404.txt`,
		setup: func(fs *flag.FlagSet, cl *cli) func(context.Context, []string) int {
			fs.BoolVar(&cl.json, "json", false, "print JSON instead of text")
			df := &differ{cli: cl}
			fs.StringVar(&df.casesDir, "cases", "", "decide the inputs under `DIR` too")
			sf := &stateFlags{}
			sf.register(fs)
			return func(ctx context.Context, args []string) int { return df.run(ctx, sf, args) }
		},
	}
}

// Bounds on what the report holds, whatever the number of failures: the
// groups (past maxGroups, further kinds of change are counted together),
// and per group the input names, kinds and statuses listed.
const (
	maxGroups   = 1000
	maxExamples = 10
	maxTally    = 32
)

// differ runs the diff command.
type differ struct {
	*cli
	casesDir string

	old, new *loaded
	groups   map[changeKey]*changeGroup
	overflow *changeGroup // changes past maxGroups
	decided  int
	changed  int
	errors   int
}

// outcome is what one policy decided about one failure, as diff compares
// it.
type outcome struct {
	Action policy.Action
	Rule   string
	Guard  string
	// DelayMin and DelayMax are the decision's delay with the backoff at
	// the least and the greatest its jitter draws: the delays an Engine
	// can sleep. Both are 0 for fail.
	DelayMin, DelayMax time.Duration
}

// decideRange decides in with p, and again at both ends of its jitter.
func decideRange(ctx context.Context, p *policy.Policy, in policy.Input) (outcome, error) {
	d, err := p.Decide(ctx, in)
	o := outcome{Action: d.Action, Rule: d.Rule, Guard: d.Guard}
	if err != nil || d.Action == policy.Fail {
		return o, err
	}
	lo, hi := p.Backoff().Range(in.State.Attempt, in.State.LastDelay)
	dlo, errLo := p.DecideWith(ctx, in, lo)
	dhi, errHi := p.DecideWith(ctx, in, hi)
	if errLo != nil || errHi != nil {
		o.DelayMin, o.DelayMax = d.Delay, d.Delay
		return o, nil
	}
	o.DelayMin, o.DelayMax = min(dlo.Delay, dhi.Delay), max(dlo.Delay, dhi.Delay)
	return o, nil
}

// compared is the work done on one failure.
type compared struct {
	old, new       outcome
	oldErr, newErr error
	kind           classify.Kind
	status         int
}

// changeKey groups changes: what the decision was and became, and
// whether the delays changed (their ranges are gathered per group, since
// they differ from attempt to attempt).
type changeKey struct {
	fromAction, toAction policy.Action
	fromRule, toRule     string
	fromGuard, toGuard   string
	delay                bool
}

// changeGroup is every failure whose decision changed the same way.
type changeGroup struct {
	key        changeKey
	count      int
	from, to   outcome // delays: the widest range over the group
	kinds      map[string]int
	statuses   map[int]int
	inputs     []string
	moreInputs int
}

func (df *differ) run(ctx context.Context, sf *stateFlags, args []string) int {
	if err := sf.check(); err != nil {
		return df.usagef("%v", err)
	}
	if len(args) < 2 {
		return df.usagef("want the OLD and the NEW policy, got %d arguments", len(args))
	}
	inputs := args[2:]
	if len(inputs) == 0 && df.casesDir == "" {
		return df.usagef("no failures to compare: give inputs, or --cases DIR")
	}
	for i, spec := range args[:2] {
		p, err := resolvePolicy(spec)
		if err != nil {
			df.policyErrors(spec, err)
			return exitUsage
		}
		if i == 0 {
			df.old = p
		} else {
			df.new = p
		}
	}
	df.groups = map[changeKey]*changeGroup{}
	work := func(f *failure) {
		// Each policy reads the failure with its own recognisers.
		oldIn, in := df.old.Input(f.dump), df.new.Input(f.dump)
		c := &compared{kind: in.Error.Kind, status: in.Error.HTTP.Status}
		c.old, c.oldErr = decideRange(ctx, df.old.Policy, oldIn)
		c.new, c.newErr = decideRange(ctx, df.new.Policy, in)
		f.result = c
	}
	emit := func(f *failure) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if !f.worked {
			work(f)
		}
		df.add(f.name, f.result.(*compared))
		return nil
	}
	rd := &reader{flags: sf, work: work, workers: runtime.GOMAXPROCS(0), onError: func(err error) {
		df.errorf("%v", err)
		df.errors++
	}}
	if err := df.eachInput(inputs, rd, emit); err != nil {
		df.errorf("%v", err)
		return exitUsage
	}
	if df.casesDir != "" {
		if err := df.eachCase(df.casesDir, rd, emit); err != nil {
			df.errorf("--cases: %v", err)
			df.errors++
		}
	}
	out := bufio.NewWriter(df.stdout)
	defer out.Flush()
	if df.json {
		df.writeJSON(out)
	} else {
		df.writeText(out)
	}
	switch {
	case df.errors > 0:
		return exitUsage
	case df.changed > 0:
		return exitFail
	}
	return exitOK
}

// add counts one compared failure into its group.
func (df *differ) add(name string, c *compared) {
	df.decided++
	for _, e := range []struct {
		which string
		err   error
	}{{"old", c.oldErr}, {"new", c.newErr}} {
		if e.err != nil {
			df.errorf("%s: the %s policy: %v", name, e.which, e.err)
			df.errors++
		}
	}
	o, n := c.old, c.new
	key := changeKey{o.Action, n.Action, o.Rule, n.Rule, o.Guard, n.Guard,
		o.DelayMin != n.DelayMin || o.DelayMax != n.DelayMax}
	if key.fromAction == key.toAction && key.fromRule == key.toRule && key.fromGuard == key.toGuard && !key.delay {
		return
	}
	df.changed++
	g := df.groups[key]
	if g == nil {
		if len(df.groups) >= maxGroups {
			if df.overflow == nil {
				df.overflow = &changeGroup{key: changeKey{fromAction: "…", toAction: "…", fromRule: "…", toRule: "…"},
					kinds: map[string]int{}, statuses: map[int]int{}}
			}
			g = df.overflow
		} else {
			g = &changeGroup{key: key, from: o, to: n, kinds: map[string]int{}, statuses: map[int]int{}}
			df.groups[key] = g
		}
	}
	if g.count > 0 {
		widen(&g.from, o)
		widen(&g.to, n)
	}
	g.count++
	tally(g.kinds, string(c.kind), "other")
	if c.status != 0 {
		tally(g.statuses, c.status, otherStatus)
	}
	if len(g.inputs) < maxExamples {
		g.inputs = append(g.inputs, name)
	} else {
		g.moreInputs++
	}
}

// widen extends the delay range of a group's outcome to hold o's; the
// failures of a group share their actions.
func widen(g *outcome, o outcome) {
	g.DelayMin, g.DelayMax = min(g.DelayMin, o.DelayMin), max(g.DelayMax, o.DelayMax)
}

// tally counts k in m, counting in other once m holds maxTally keys.
func tally[K comparable](m map[K]int, k K, other K) {
	if _, ok := m[k]; !ok && len(m) >= maxTally {
		k = other
	}
	m[k]++
}

// sortedGroups are the groups, most failures first.
func (df *differ) sortedGroups() []*changeGroup {
	gs := slices.Collect(maps.Values(df.groups))
	slices.SortFunc(gs, func(a, b *changeGroup) int {
		if c := cmp.Compare(b.count, a.count); c != 0 {
			return c
		}
		return strings.Compare(a.title(), b.title()) // then stable
	})
	if df.overflow != nil {
		gs = append(gs, df.overflow)
	}
	return gs
}

// title is a group's headline: "retry → fail: 12 failures, kind
// http_status, status 404".
func (g *changeGroup) title() string {
	s := fmt.Sprintf("%s → %s: %s", g.key.fromAction, g.key.toAction, plural(g.count, "failure"))
	if k := topTally(g.kinds, func(k string) string { return k }); k != "" {
		s += ", kind " + k
	}
	if st := topTally(g.statuses, statusName); st != "" {
		s += ", status " + st
	}
	return s
}

// otherStatus counts the statuses past maxTally.
const otherStatus = -1

func statusName(s int) string {
	if s == otherStatus {
		return "other"
	}
	return strconv.Itoa(s)
}

// topTally lists the three most frequent keys of m, with their counts
// when there is more than one key.
func topTally[K cmp.Ordered](m map[K]int, name func(K) string) string {
	keys := slices.Collect(maps.Keys(m))
	slices.SortFunc(keys, func(a, b K) int {
		if c := cmp.Compare(m[b], m[a]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	if len(keys) == 1 {
		return name(keys[0])
	}
	var parts []string
	for _, k := range keys[:min(3, len(keys))] {
		parts = append(parts, fmt.Sprintf("%s (%d)", name(k), m[k]))
	}
	if len(keys) > 3 {
		parts = append(parts, "…")
	}
	return strings.Join(parts, ", ")
}

func (df *differ) writeText(w io.Writer) {
	fmt.Fprintf(w, "old  %s%s\n", df.old.label, idDetail(df.old.ID()))
	fmt.Fprintf(w, "new  %s%s\n", df.new.label, idDetail(df.new.ID()))
	if df.old.ID().Digest == df.new.ID().Digest {
		fmt.Fprintf(w, "     (the same rules: no decision can change)\n")
	}
	for _, g := range df.sortedGroups() {
		fmt.Fprintf(w, "\n%s\n", g.title())
		tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
		k := g.key
		fmt.Fprintf(tw, "  rule\t%s\n", change(ruleName(k.fromRule), ruleName(k.toRule)))
		if k.fromGuard != "" || k.toGuard != "" {
			fmt.Fprintf(tw, "  guard\t%s\n", change(orDash(k.fromGuard), orDash(k.toGuard)))
		}
		fmt.Fprintf(tw, "  delay\t%s\n", change(delayRange(g.from), delayRange(g.to)))
		for i, in := range g.inputs {
			label := ""
			if i == 0 {
				label = "inputs"
			}
			fmt.Fprintf(tw, "  %s\t%s\n", label, in)
		}
		if g.moreInputs > 0 {
			fmt.Fprintf(tw, "  \t… and %d more\n", g.moreInputs)
		}
		tw.Flush()
	}
	groups := len(df.groups)
	if df.overflow != nil {
		groups++
	}
	fmt.Fprintf(w, "\n%s decided: %d changed", plural(df.decided, "failure"), df.changed)
	if df.changed > 0 {
		fmt.Fprintf(w, " in %s", plural(groups, "group"))
	}
	fmt.Fprintf(w, ", %d unchanged", df.decided-df.changed)
	if df.errors > 0 {
		fmt.Fprintf(w, "; %s", plural(df.errors, "error"))
	}
	fmt.Fprintln(w)
}

// change is "a → b", or "a (unchanged)".
func change(a, b string) string {
	if a == b {
		return a + " (unchanged)"
	}
	return a + " → " + b
}

func ruleName(r string) string {
	if r == "" {
		return "(default)"
	}
	return r
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// delayRange is "-" for fail, "250ms" or "0s–250ms".
func delayRange(o outcome) string {
	if o.Action == policy.Fail || o.Action == "…" {
		return "-"
	}
	lo, hi := o.DelayMin.Round(time.Millisecond), o.DelayMax.Round(time.Millisecond)
	if lo == hi {
		return lo.String()
	}
	return lo.String() + "–" + hi.String()
}

// The JSON report.
type (
	diffReport struct {
		Old       diffPolicy    `json:"old"`
		New       diffPolicy    `json:"new"`
		Decided   int           `json:"decided"`
		Changed   int           `json:"changed"`
		Unchanged int           `json:"unchanged"`
		Errors    int           `json:"errors"`
		Groups    []diffGroupJS `json:"groups"`
	}
	diffPolicy struct {
		Label  string    `json:"label"`
		Policy policy.ID `json:"policy"`
	}
	diffGroupJS struct {
		From       outcomeJS      `json:"from"`
		To         outcomeJS      `json:"to"`
		Count      int            `json:"count"`
		Kinds      map[string]int `json:"kinds"`
		Statuses   map[string]int `json:"statuses,omitempty"`
		Inputs     []string       `json:"inputs"`
		MoreInputs int            `json:"more_inputs,omitempty"`
	}
	outcomeJS struct {
		Action   policy.Action `json:"action"`
		Rule     string        `json:"rule"`
		Guard    string        `json:"guard,omitempty"`
		DelayMin string        `json:"delay_min,omitempty"`
		DelayMax string        `json:"delay_max,omitempty"`
	}
)

func outcomeJSON(action policy.Action, rule, guard string, o outcome) outcomeJS {
	j := outcomeJS{Action: action, Rule: rule, Guard: guard}
	if action != policy.Fail && action != "…" {
		j.DelayMin, j.DelayMax = o.DelayMin.String(), o.DelayMax.String()
	}
	return j
}

func (df *differ) writeJSON(w io.Writer) {
	r := diffReport{
		Old:     diffPolicy{df.old.label, df.old.ID()},
		New:     diffPolicy{df.new.label, df.new.ID()},
		Decided: df.decided, Changed: df.changed, Unchanged: df.decided - df.changed, Errors: df.errors,
		Groups: []diffGroupJS{},
	}
	for _, g := range df.sortedGroups() {
		k := g.key
		j := diffGroupJS{
			From:  outcomeJSON(k.fromAction, k.fromRule, k.fromGuard, g.from),
			To:    outcomeJSON(k.toAction, k.toRule, k.toGuard, g.to),
			Count: g.count, Kinds: g.kinds, Inputs: g.inputs, MoreInputs: g.moreInputs,
		}
		if len(g.statuses) > 0 {
			j.Statuses = map[string]int{}
			for s, n := range g.statuses {
				j.Statuses[statusName(s)] = n
			}
		}
		r.Groups = append(r.Groups, j)
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	enc.Encode(&r)
}
