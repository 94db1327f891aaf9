package policy

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/cel-go/cel"

	"github.com/faultline-go/faultline/chain"
	"github.com/faultline-go/faultline/classify"
)

// Policy is a loaded, type-checked policy file. A *Policy is immutable and
// safe for concurrent use.
type Policy struct {
	name, description string
	version           string
	// digest identifies what the policy decides; see ID.
	digest  string
	file    string   // as given to Load or Parse
	files   []string // file, then every file it includes
	path    string   // the file Load read, for Engine.Reload; "" otherwise
	limits  Limits
	backoff Backoff
	budget  *Budget
	rules   []*rule
	dflt    Action
	cases   []Case
	// recognisers read the deployment's own error texts; classifier
	// classifies with them. Both nil when the policy declares none.
	recognisers *chain.PatternSet
	classifier  *classify.Set
	shipped     bool // the shipped recognisers are in classifier
	// first evaluates every rule's condition in order, as one nested
	// conditional, to the index of the first rule that matches or -1.
	first cel.Program
	// firstUntracked is first without cel-go's runtime cost tracking,
	// for inputs within the caps, where the load-time estimate already
	// bounds the cost (see withinCaps).
	firstUntracked cel.Program
}

// rule is one compiled rule.
type rule struct {
	name       string
	action     Action
	when       cel.Program // only Explain evaluates rules one by one
	delay      cel.Program // nil: the backoff
	reason     string
	reasonExpr cel.Program
	at         pos
}

// Load reads and parses the policy file at path, with the files it
// includes. Included files and the dumps named by test cases are read
// relative to the file that names them, and must lie inside the policy
// file's directory. A policy file, with what it includes, is at most 1 MiB.
func Load(path string) (*Policy, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	defer f.Close()
	data, err := readBounded(f, path, maxFileSize, "a policy file")
	if err != nil {
		return nil, err
	}
	p, err := parse(path, filepath.Base(path), data, rootReader(filepath.Dir(path)), dirNamer(filepath.Dir(path)))
	if err != nil {
		return nil, err
	}
	p.path = path
	return p, nil
}

// LoadFS reads and parses the policy file name in fsys; included files and
// dumps named by its test cases are read from fsys, relative to the file
// that names them, and must lie inside the directory of name.
func LoadFS(fsys fs.FS, name string) (*Policy, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	defer f.Close()
	data, err := readBounded(f, name, maxFileSize, "a policy file")
	if err != nil {
		return nil, err
	}
	dir := path.Dir(name)
	return parse(name, path.Base(name), data, func(rel string, limit int64, what string) ([]byte, error) {
		f, err := fsys.Open(path.Join(dir, rel))
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return readBounded(f, rel, limit, what)
	}, func(rel string) string { return path.Join(dir, rel) })
}

// Parse parses a policy file's contents; filename is used in error
// messages and to find the files it includes and the dumps named by test
// cases, which must lie in its directory. Any problem found is reported:
// the error is then an ErrorList of every problem, sorted by position.
func Parse(filename string, data []byte) (*Policy, error) {
	if len(data) > maxFileSize {
		return nil, ErrorList{{File: filename, Msg: fmt.Sprintf("%d bytes is larger than a policy file may be (%d)", len(data), maxFileSize)}}
	}
	dir := filepath.Dir(filename)
	return parse(filename, filepath.Base(filename), data, rootReader(dir), dirNamer(dir))
}

// rootReader reads files below dir through an os.Root, so that neither
// "..", an absolute path nor a symbolic link can reach outside it.
func rootReader(dir string) readFunc {
	return func(rel string, limit int64, what string) ([]byte, error) {
		root, err := os.OpenRoot(dir)
		if err != nil {
			return nil, err
		}
		defer root.Close()
		f, err := root.Open(filepath.FromSlash(rel))
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return readBounded(f, rel, limit, what)
	}
}

// dirNamer names a root-relative path as a path beside dir.
func dirNamer(dir string) func(string) string {
	return func(rel string) string { return filepath.Join(dir, filepath.FromSlash(rel)) }
}

// ErrTooLarge is reported for a policy file or dump over its bound.
var ErrTooLarge = errors.New("too large")

// readBounded reads r whole if it holds at most limit bytes: a file
// such as /dev/zero must not grow the process.
func readBounded(r io.Reader, name string, limit int64, what string) ([]byte, error) {
	if f, ok := r.(interface{ Stat() (fs.FileInfo, error) }); ok {
		if st, err := f.Stat(); err == nil && st.IsDir() {
			return nil, fmt.Errorf("policy: read %s: is a directory", name)
		}
	}
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	if int64(len(data)) > limit {
		return nil, &sizeError{name: name, what: what, limit: limit}
	}
	return data, nil
}

// sizeError is ErrTooLarge for one file.
type sizeError struct {
	name, what string
	limit      int64
}

func (e *sizeError) Error() string {
	return fmt.Sprintf("policy: read %s: larger than %s may be (%d bytes)", e.name, e.what, e.limit)
}

func (e *sizeError) Is(target error) bool { return target == ErrTooLarge }

// parse parses the policy file filename, whose path relative to the root
// (its directory) is rel, holding data, and the files it includes.
func parse(filename, rel string, data []byte, read readFunc, name func(string) string) (*Policy, error) {
	var errs ErrorList
	spec := fileSpec{Limits: defaultLimits, Backoff: defaultBackoff, Default: Fail}
	l := &loader{read: read, name: name, errs: &errs, bytes: len(data), from: map[string]pos{}}
	top := &source{name: filename, rel: rel}
	if !l.load(top, data, &spec, nil) {
		errs.Sort()
		return nil, errs
	}
	d := &nodeDecoder{file: filename, errs: &errs, src: top}
	p := &Policy{
		name:        spec.Name,
		version:     spec.Version,
		description: spec.Description,
		file:        filename,
		limits:      spec.Limits,
		backoff:     spec.Backoff,
		budget:      spec.Budget,
		dflt:        spec.Default,
	}
	for _, src := range l.sources {
		p.files = append(p.files, src.name)
	}
	topAt := pos{filename, 1, 1}
	if spec.Node != nil {
		topAt = d.at(spec.Node)
	}
	at := func(key string) pos {
		if spec.Node != nil {
			for i := 0; i+1 < len(spec.Node.Content); i += 2 {
				if spec.Node.Content[i].Value == key {
					return d.at(spec.Node.Content[i+1])
				}
			}
		}
		return topAt
	}
	if p.name == "" {
		errs.add(topAt, "", "the policy needs a name")
	}
	p.limits.validate(&errs, d.keyPos(spec.Node, "limits"))
	p.backoff.validate(&errs, d.keyPos(spec.Node, "backoff"))
	if p.budget != nil {
		p.budget.validate(&errs, d.keyPos(spec.Node, "budget"))
	}
	if !p.dflt.valid() {
		errs.add(at("default"), "", "default: unknown action %q (want retry, resume or fail)", p.dflt)
	}

	env, err := baseEnv()
	if err != nil {
		return nil, fmt.Errorf("policy: building the CEL environment: %w", err)
	}
	p.compileRecognisers(&errs, spec.Recognisers, at("recognisers"))
	if err := p.setClassifier(spec.ShippedRecognisers == nil || *spec.ShippedRecognisers); err != nil {
		errs.add(at("shipped_recognisers"), "", "%v", err)
	}
	c := &compiler{file: filename, errs: &errs, env: env}
	c.compileVariables(spec.Variables, at("variables"))
	costs := p.compileRules(c, spec.Rules, at("rules"))
	if len(errs) == 0 {
		p.compileFirst(c, spec.Rules, costs, at("rules"))
	}
	p.cases = buildCases(&errs, spec.Tests, at("tests"), read, p.Classifier())
	p.digest = digest(&spec, p.shipped)
	errs.Sort()
	if len(errs) > 0 {
		return nil, errs
	}
	return p, nil
}

// compileVariables declares the policy's variables one by one, each
// type-checked against the built-ins and the variables before it.
func (c *compiler) compileVariables(vars variables, at pos) {
	if len(vars) > maxVariables {
		c.errs.add(at, "", "the policy has %d variables; the limit is %d", len(vars), maxVariables)
		return
	}
	for _, v := range vars {
		if msg := checkVarName(v.Name); msg != "" {
			c.errs.add(c.pos(v.NameAt, 0), "", "%s", msg)
			continue
		}
		what := "variable " + strconv.Quote(v.Name)
		a := c.compile(v.Expr, "", what, cel.DynType)
		if a == nil {
			// Declare it anyway, so rules using it report their own
			// problems rather than an undeclared reference.
			c.extend(v.Name, cel.DynType, nil)
			continue
		}
		c.extend(v.Name, a.OutputType(), a)
	}
}

func (c *compiler) extend(name string, t *cel.Type, a *cel.Ast) {
	env, err := c.env.Extend(cel.Variable(name, t))
	if err != nil {
		c.errs.add(pos{file: c.file}, "", "declaring variable %q: %v", name, err)
		return
	}
	c.env = env
	if a != nil {
		c.inline = append(c.inline, cel.NewInlineVariable(name, a))
	}
}

// compileRules compiles every rule and returns the estimated cost of each
// rule's condition.
func (p *Policy) compileRules(c *compiler, specs []ruleSpec, rulesAt pos) []uint64 {
	if len(specs) == 0 {
		c.errs.add(rulesAt, "", "the policy has no rules")
		return nil
	}
	if len(specs) > maxRules {
		c.errs.add(rulesAt, "", "the policy has %d rules; the limit is %d", len(specs), maxRules)
		return nil
	}
	costs := make([]uint64, len(specs))
	seen := map[string]pos{}
	for i, s := range specs {
		d := &nodeDecoder{file: s.src.name, errs: c.errs, src: s.src}
		at := s.src.at(s.Node)
		name := s.Name
		if name == "" {
			c.errs.add(at, "", "rule %d has no name", i+1)
			name = fmt.Sprintf("#%d", i+1)
		} else if prev, dup := seen[name]; dup {
			where := fmt.Sprintf("line %d", prev.line)
			if prev.file != at.file {
				where = fmt.Sprintf("%s:%d", prev.file, prev.line)
			}
			c.errs.add(at, name, "rule name used twice (first at %s)", where)
		}
		seen[name] = at
		r := &rule{name: name, action: s.Action, reason: s.Reason, at: at}
		switch {
		case s.Action == "":
			c.errs.add(at, name, "the rule has no action (retry, resume or fail)")
		case !s.Action.valid():
			c.errs.add(d.keyPos(s.Node, "")("action"), name, "unknown action %q (want retry, resume or fail)", s.Action)
		}
		if !s.When.set() {
			c.errs.add(at, name, "the rule has no condition (when)")
		} else if a, cost := c.compileCost(s.When, name, "when", cel.BoolType); a != nil {
			r.when = c.program(a, s.When, name)
			costs[i] = cost
		}
		if s.Delay.set() {
			if s.Action == Fail {
				c.errs.add(c.pos(s.Delay, 0), name, "a rule that fails has no delay")
			} else if a := c.compile(s.Delay, name, "delay", cel.DurationType); a != nil {
				r.delay = c.program(a, s.Delay, name)
			}
		}
		if s.ReasonExpr.set() {
			if s.Reason != "" {
				c.errs.add(c.pos(s.ReasonExpr, 0), name, "give reason or reason_expr, not both")
			} else if a := c.compile(s.ReasonExpr, name, "reason_expr", cel.StringType); a != nil {
				r.reasonExpr = c.program(a, s.ReasonExpr, name)
			}
		}
		p.rules = append(p.rules, r)
	}
	return costs
}

func (c *compiler) program(a *cel.Ast, e expr, rule string) cel.Program {
	prg, err := program(c.env, a)
	if err != nil {
		c.errs.add(c.pos(e, 0), rule, "%v", err)
	}
	return prg
}

// compileFirst composes the rules' conditions into one program returning
// the index of the first that holds: evaluating one program is several
// times faster than evaluating one per rule. Each condition sits on lines
// of its own so that a trailing // comment cannot swallow the rest.
//
// The runtime cost limit applies to the composed program, and Explain
// holds the sum of the conditions it evaluates to the same limit; so the
// conditions' estimated costs, summed (costs), and the composed program's
// must both be within it, or a policy that loads could fail at run time
// when no rule matches.
func (p *Policy) compileFirst(c *compiler, specs []ruleSpec, costs []uint64, rulesAt pos) {
	var b strings.Builder
	for i, s := range specs {
		fmt.Fprintf(&b, "(\n%s\n) ? %d : ", s.When.Text, i)
	}
	b.WriteString("-1")
	// Each rule adds a level of nesting; every rule parsed alone within
	// maxNesting, so this is enough.
	env, err := c.env.Extend(cel.ParserRecursionLimit(maxNesting + len(specs) + 8))
	if err != nil {
		c.errs.add(pos{file: c.file}, "", "composing the rules: %v", err)
		return
	}
	a, iss := env.Compile(b.String())
	if iss != nil && iss.Err() != nil {
		c.errs.add(pos{file: c.file}, "", "composing the rules: %v", iss.Err())
		return
	}
	if len(c.inline) > 0 {
		opt, err := cel.NewStaticOptimizer(cel.NewInliningOptimizer(c.inline...))
		if err == nil {
			a, iss = opt.Optimize(env, a)
		}
		if err != nil || iss != nil && iss.Err() != nil {
			c.errs.add(pos{file: c.file}, "", "composing the rules: %v", errors.Join(err, iss.Err()))
			return
		}
	}
	var sum uint64
	for _, cost := range costs {
		sum += cost
	}
	est, err := env.EstimateCost(a, sizeHints{})
	if err != nil {
		c.errs.add(pos{file: c.file}, "", "composing the rules: estimating cost: %v", err)
		return
	}
	if total := max(sum, est.Max); total > maxCost {
		c.errs.add(rulesAt, "", "the rules' conditions together are estimated to cost %d when none matches; "+
			"the limit for one decision is %d%s", total, maxCost, costliest(p.rules, costs))
		return
	}
	prg, err := program(env, a)
	if err != nil {
		c.errs.add(pos{file: c.file}, "", "composing the rules: %v", err)
		return
	}
	untracked, err := env.Program(a, cel.EvalOptions(cel.OptOptimize), cel.InterruptCheckFrequency(100))
	if err != nil {
		c.errs.add(pos{file: c.file}, "", "composing the rules: %v", err)
		return
	}
	p.first, p.firstUntracked = prg, untracked
}

// costliest names the rules whose conditions cost most, for an error
// about their sum.
func costliest(rules []*rule, costs []uint64) string {
	idx := make([]int, len(costs))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(costs[b], costs[a]) })
	var parts []string
	for _, i := range idx[:min(3, len(idx))] {
		parts = append(parts, fmt.Sprintf("%q at line %d: %d", rules[i].name, rules[i].at.line, costs[i]))
	}
	return "; the costliest conditions: " + strings.Join(parts, ", ")
}

// Name returns the policy's name.
func (p *Policy) Name() string { return p.name }

// Description returns the policy's description.
func (p *Policy) Description() string { return p.description }

// File returns the file name the policy was loaded from.
func (p *Policy) File() string { return p.file }

// Limits returns the policy's limits.
func (p *Policy) Limits() Limits { return p.limits }

// Backoff returns the policy's backoff.
func (p *Policy) Backoff() Backoff { return p.backoff }

// Budget returns the policy's retry budget, if it has one.
func (p *Policy) Budget() (Budget, bool) {
	if p.budget == nil {
		return Budget{}, false
	}
	return *p.budget, true
}

// Rules returns the names of the policy's rules, in order.
func (p *Policy) Rules() []string {
	names := make([]string, len(p.rules))
	for i, r := range p.rules {
		names[i] = r.name
	}
	return names
}

// Default returns the action taken when no rule matches.
func (p *Policy) Default() Action { return p.dflt }

// Decide decides what to do about a failure. The policy alone is
// deterministic: the "backoff" its rules see is the exponential delay
// without jitter, and no retry budget applies; an Engine adds both.
//
// A rule whose evaluation fails (a missing map key, the cost limit, ctx
// done) makes the decision Fail, with Guard "error", and the error is
// returned with it.
func (p *Policy) Decide(ctx context.Context, in Input) (Decision, error) {
	return p.decide(ctx, in, p.backoff.Base(in.State.backoffStep()), false)
}

// DecideWith is Decide with the rules seeing backoff as the CEL variable
// "backoff", as they do in an Engine that drew that delay: with the ends
// of Backoff().Range it tells the delays a decision can take.
func (p *Policy) DecideWith(ctx context.Context, in Input, backoff time.Duration) (Decision, error) {
	return p.decide(ctx, in, backoff, false)
}

// Explain is Decide with a trace of every rule: whether it matched, or why
// it was not evaluated. It evaluates the rules one by one, so it is slower
// than Decide, but it decides the same.
func (p *Policy) Explain(ctx context.Context, in Input) (Decision, error) {
	return p.decide(ctx, in, p.backoff.Base(in.State.backoffStep()), true)
}

func (a Action) valid() bool { return a == Retry || a == Resume || a == Fail }
