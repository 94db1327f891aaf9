package policy

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/checker"
	"github.com/google/cel-go/ext"
	"go.yaml.in/yaml/v3"

	"github.com/faultline-go/faultline/chain"
	"github.com/faultline-go/faultline/classify"
)

// recogniserSpec is one entry of "recognisers:": a way to read facts from
// a deployment's own error texts, as a regular expression (match) or a CEL
// condition over the text and the attributes read so far (when).
type recogniserSpec struct {
	Name        string           `yaml:"name"`
	Description string           `yaml:"description"`
	Match       expr             `yaml:"match"`
	When        expr             `yaml:"when"`
	Kind        string           `yaml:"kind"`
	Transient   *bool            `yaml:"transient"`
	Status      int              `yaml:"status"`
	Errno       string           `yaml:"errno"`
	Code        string           `yaml:"code"`
	GRPC        string           `yaml:"grpc"`
	Wait        time.Duration    `yaml:"wait"`
	Timeout     bool             `yaml:"timeout"`
	NotFound    bool             `yaml:"not_found"`
	Tests       []recogniserTest `yaml:"tests"`
	Node        *yaml.Node       `yaml:",self"`
	src         *source          // the file the recogniser is written in
}

// recogniserTest is one inline test of a recogniser: a text and what the
// recogniser alone must read in it, or match: false.
type recogniserTest struct {
	Text   string            `yaml:"text"`
	Match  *bool             `yaml:"match"`
	Expect *recogniserExpect `yaml:"expect"`
	Node   *yaml.Node        `yaml:",self"`
}

// recogniserExpect is what a test expects; fields left out are not
// checked.
type recogniserExpect struct {
	Kind      string        `yaml:"kind"`
	Transient *bool         `yaml:"transient"`
	Status    int           `yaml:"status"`
	Errno     string        `yaml:"errno"`
	Code      string        `yaml:"code"`
	GRPC      string        `yaml:"grpc"`
	Wait      time.Duration `yaml:"wait"`
	Timeout   bool          `yaml:"timeout"`
	NotFound  bool          `yaml:"not_found"`
	Host      string        `yaml:"host"`
}

// Bounds on recognisers. A policy's recognisers, with what it includes,
// are at most chain.MaxPatterns, with at most maxRecogniserTests tests
// each; a CEL condition is estimated at load and stopped at run time at
// maxRecogniserCost for a text of chain.RecogniseLimit bytes; regular
// expressions are bounded by chain's pattern bounds.
const (
	maxRecogniserTests = 32
	maxRecogniserCost  = 10_000
)

// recogniserAttrs is what a recogniser's CEL condition sees as "attrs":
// the attributes read from the layer so far.
type recogniserAttrs struct {
	Kind     string `cel:"kind"`
	Errno    string `cel:"errno"`
	Op       string `cel:"op"`
	Status   int64  `cel:"status"`
	Code     string `cel:"code"`
	GRPC     string `cel:"grpc"`
	Host     string `cel:"host"`
	H2Code   string `cel:"h2_code"`
	Format   string `cel:"format"`
	Timeout  bool   `cel:"timeout"`
	NotFound bool   `cel:"not_found"`
}

// recogniserEnv is the CEL environment of recognisers' conditions: text
// (string) and attrs.
var recogniserEnv = sync.OnceValues(func() (*cel.Env, error) {
	return cel.NewEnv(
		ext.NativeTypes(ext.ParseStructTags(true), reflect.TypeFor[recogniserAttrs]()),
		cel.Variable("text", cel.StringType),
		cel.Variable("attrs", cel.ObjectType("policy.recogniserAttrs")),
		ext.Strings(ext.StringsVersion(stringsVersion)),
		cel.ASTValidators(cel.ValidateRegexLiterals(), cel.ValidateHomogeneousAggregateLiterals()),
		cel.ParserExpressionSizeLimit(maxExprLen+32),
		cel.ParserRecursionLimit(maxNesting),
	)
})

// recogniserSizes costs "text" at the length recognisers read.
type recogniserSizes struct{}

func (recogniserSizes) EstimateSize(n checker.AstNode) *checker.SizeEstimate {
	if t := n.Type(); t != nil && t.String() == "string" {
		return &checker.SizeEstimate{Min: 0, Max: chain.RecogniseLimit}
	}
	return nil
}

func (recogniserSizes) EstimateCallCost(string, string, *checker.AstNode, []checker.AstNode) *checker.CallEstimate {
	return nil
}

// compileRecognisers compiles the policy's recognisers, in the order the
// files list them (an included file's first), runs their tests, and
// keeps them in p.
func (p *Policy) compileRecognisers(errs *ErrorList, specs []recogniserSpec, at pos) {
	if len(specs) == 0 {
		return
	}
	if len(specs) > chain.MaxPatterns {
		errs.add(at, "", "the policy has %d recognisers; the limit is %d", len(specs), chain.MaxPatterns)
		return
	}
	env, err := recogniserEnv()
	if err != nil {
		errs.add(at, "", "building the recognisers' CEL environment: %v", err)
		return
	}
	c := &compiler{file: p.file, errs: errs, env: env}
	seen := map[string]pos{}
	patterns := make([]chain.Pattern, 0, len(specs))
	good := make([]bool, len(specs))
	for i := range specs {
		s := &specs[i]
		sat := s.src.at(s.Node)
		name := s.Name
		what := "recogniser " + fmt.Sprintf("%q", name)
		first, dup := seen[name]
		switch {
		case name == "":
			errs.add(sat, "", "recogniser %d has no name", i+1)
			name, what = fmt.Sprintf("#%d", i+1), fmt.Sprintf("recogniser %d", i+1)
		case dup:
			errs.add(sat, "", "%s: name used twice (first at %s:%d)", what, first.file, first.line)
		}
		seen[name] = sat
		pat, ok := c.recogniserPattern(s, name, what)
		if pat.Regexp == "" && pat.Match == nil {
			// Keep the indexes: a stand-in that never matches.
			pat.Match = func(string, *chain.Attrs) bool { return false }
		}
		if !ok {
			// Reported already; let chain judge only the expression.
			pat.Set = chain.Attrs{}
		}
		good[i] = ok
		patterns = append(patterns, pat)
	}
	set, err := chain.CompilePatterns(patterns)
	if err != nil {
		for _, i := range reportPatternErrors(errs, specs, err, at) {
			good[i] = false
		}
	}
	for i := range specs {
		if good[i] {
			runRecogniserTests(errs, &specs[i], patterns[i])
		}
	}
	if err != nil || slices.Contains(good, false) {
		return
	}
	p.recognisers = set
}

// setClassifier builds the policy's classifier set from its own
// recognisers and, unless the policy turned them off, the shipped ones.
func (p *Policy) setClassifier(useShipped bool) error {
	var rs chain.Recognisers
	if p.recognisers != nil {
		rs = append(rs, p.recognisers)
	}
	if useShipped {
		set, err := shipped()
		if err != nil {
			return fmt.Errorf("the shipped recognisers: %w", err)
		}
		rs = append(rs, set)
		p.shipped = true
	}
	if len(rs) > 0 {
		p.classifier = &classify.Set{Recognisers: rs}
	}
	return nil
}

// recogniserPattern turns one spec into a chain.Pattern, reporting what
// is wrong with it.
func (c *compiler) recogniserPattern(s *recogniserSpec, name, what string) (chain.Pattern, bool) {
	sat := s.src.at(s.Node)
	pat := chain.Pattern{
		Name: name,
		Set: chain.Attrs{Kind: s.Kind, Transient: s.Transient, HTTPStatus: s.Status, ErrnoName: s.Errno,
			ErrorCode: s.Code, GRPCCode: s.GRPC, RetryAfter: s.Wait.Seconds(), Timeout: s.Timeout, NotFound: s.NotFound},
	}
	good := true
	bad := func(at pos, format string, args ...any) {
		c.errs.add(at, "", what+": "+format, args...)
		good = false
	}
	switch {
	case s.Match.set() && s.When.set():
		bad(sat, "give match or when, not both")
	case !s.Match.set() && !s.When.set():
		bad(sat, "needs a match (a regular expression) or a when (a CEL condition)")
	case s.Match.set():
		pat.Regexp = s.Match.Text
	default:
		pat.Match = c.recogniserCondition(s, what, &good)
	}
	if s.Kind != "" && !knownKind(s.Kind) {
		bad(keyAt(s, "kind"), "unknown kind %q%s", s.Kind, suggestKind(s.Kind))
	}
	if s.Transient != nil && s.Kind == "" {
		bad(keyAt(s, "transient"), "transient goes with a kind")
	}
	if s.Errno != "" {
		if _, ok := chain.ErrnoByName(s.Errno); !ok {
			bad(keyAt(s, "errno"), "unknown errno %q", s.Errno)
		}
	}
	if s.GRPC != "" && chain.GRPCCodeByName(s.GRPC) < 0 {
		bad(keyAt(s, "grpc"), "unknown gRPC code %q", s.GRPC)
	}
	if s.Status != 0 && (s.Status < 100 || s.Status > 599) {
		bad(keyAt(s, "status"), "%d is not an HTTP status", s.Status)
	}
	if s.Wait < 0 {
		bad(keyAt(s, "wait"), "a negative wait")
	}
	if len(s.Tests) > maxRecogniserTests {
		bad(keyAt(s, "tests"), "%d tests; the limit is %d", len(s.Tests), maxRecogniserTests)
	}
	return pat, good
}

// recogniserCondition compiles a when: condition into a Match function.
func (c *compiler) recogniserCondition(s *recogniserSpec, what string, good *bool) func(string, *chain.Attrs) bool {
	e := s.When
	if n := len([]rune(e.Text)); n > maxExprLen {
		c.errs.add(c.pos(e, 0), "", "%s: when: expression is %d characters long; the limit is %d", what, n, maxExprLen)
		*good = false
		return nil
	}
	checked, iss := c.env.Compile(e.Text)
	if iss != nil && iss.Err() != nil {
		for _, ce := range iss.Errors() {
			off := 0
			if loc := ce.Location; loc != nil && loc.Line() > 0 {
				off = exprOffset(e.Text, loc.Line(), loc.Column())
			}
			c.errs.add(c.pos(e, off), "", "%s: when: %s", what, cleanMessage(ce.Message))
		}
		*good = false
		return nil
	}
	if out := checked.OutputType(); !cel.BoolType.IsAssignableType(out) {
		c.errs.add(c.pos(e, 0), "", "%s: when must be of type bool, found %s", what, typeName(out))
		*good = false
		return nil
	}
	est, err := c.env.EstimateCost(checked, recogniserSizes{})
	if err == nil && est.Max > maxRecogniserCost {
		err = fmt.Errorf("estimated cost %d exceeds the limit %d (text is costed at %d bytes)", est.Max, maxRecogniserCost, chain.RecogniseLimit)
	}
	if err != nil {
		c.errs.add(c.pos(e, 0), "", "%s: when: %v", what, err)
		*good = false
		return nil
	}
	prg, err := c.env.Program(checked, cel.EvalOptions(cel.OptOptimize), cel.CostLimit(maxRecogniserCost),
		cel.InterruptCheckFrequency(100))
	if err != nil {
		c.errs.add(c.pos(e, 0), "", "%s: when: %v", what, err)
		*good = false
		return nil
	}
	return func(text string, a *chain.Attrs) bool {
		attrs := &recogniserAttrs{Kind: a.Kind, Errno: a.ErrnoName, Op: a.Op, Status: int64(a.HTTPStatus), Code: a.ErrorCode,
			GRPC: a.GRPCCode, Host: a.Host, H2Code: a.H2Code, Format: a.Format, Timeout: a.Timeout, NotFound: a.NotFound}
		out, _, err := prg.Eval(map[string]any{"text": text, "attrs": attrs})
		if err != nil {
			return false // the cost limit, or no such key: no match
		}
		b, ok := out.Value().(bool)
		return ok && b
	}
}

// reportPatternErrors places chain's errors about patterns at their
// recognisers, and returns the indexes of those recognisers.
func reportPatternErrors(errs *ErrorList, specs []recogniserSpec, err error, at pos) []int {
	var bad []int
	var list []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	} else {
		list = []error{err}
	}
	for _, e := range list {
		var pe *chain.PatternError
		if errors.As(e, &pe) && pe.Index < len(specs) {
			s := &specs[pe.Index]
			where := s.src.at(s.Node)
			if s.Match.set() {
				where = s.src.at(s.Match.Node)
			}
			errs.add(where, "", "recogniser %q: match: %v", s.Name, pe.Err)
			bad = append(bad, pe.Index)
			continue
		}
		errs.add(at, "", "recognisers: %v", e)
	}
	return bad
}

// runRecogniserTests runs one recogniser's tests with it alone, and
// reports every test that fails at the test.
func runRecogniserTests(errs *ErrorList, s *recogniserSpec, pat chain.Pattern) {
	if len(s.Tests) == 0 {
		return
	}
	alone, err := chain.CompilePatterns([]chain.Pattern{pat})
	if err != nil {
		return // reported already
	}
	for i, t := range s.Tests {
		tat := s.src.at(t.Node)
		if t.Text == "" {
			errs.add(tat, "", "recogniser %q: test %d has no text", s.Name, i+1)
			continue
		}
		var a chain.Attrs
		got := alone.Recognise(t.Text, &a)
		wantMatch := t.Match == nil || *t.Match
		if t.Match != nil && !*t.Match && t.Expect != nil {
			errs.add(tat, "", "recogniser %q: test %d: match: false and expect contradict", s.Name, i+1)
			continue
		}
		if got != wantMatch {
			verb := "does not match"
			if got {
				verb = "matches"
			}
			errs.add(tat, "", "recogniser %q: test %d: %s %q", s.Name, i+1, verb, t.Text)
			continue
		}
		if t.Expect != nil {
			if diff := t.Expect.check(a); diff != "" {
				errs.add(tat, "", "recogniser %q: test %d: %s", s.Name, i+1, diff)
			}
		}
	}
}

// check compares what a recogniser read with the expectation.
func (e *recogniserExpect) check(a chain.Attrs) string {
	var diffs []string
	cmp := func(field string, want, got any, set bool) {
		if set && !reflect.DeepEqual(want, got) {
			diffs = append(diffs, fmt.Sprintf("%s %v, want %v", field, got, want))
		}
	}
	cmp("kind", e.Kind, a.Kind, e.Kind != "")
	if e.Transient != nil {
		got := "unset"
		if a.Transient != nil {
			got = fmt.Sprint(*a.Transient)
		}
		cmp("transient", fmt.Sprint(*e.Transient), got, true)
	}
	cmp("status", e.Status, a.HTTPStatus, e.Status != 0)
	cmp("errno", e.Errno, a.ErrnoName, e.Errno != "")
	cmp("code", e.Code, a.ErrorCode, e.Code != "")
	cmp("grpc", e.GRPC, a.GRPCCode, e.GRPC != "")
	cmp("wait", e.Wait, time.Duration(a.RetryAfter*float64(time.Second)), e.Wait != 0)
	cmp("timeout", e.Timeout, a.Timeout, e.Timeout)
	cmp("not_found", e.NotFound, a.NotFound, e.NotFound)
	cmp("host", e.Host, a.Host, e.Host != "")
	return strings.Join(diffs, "; ")
}

// knownKind reports whether k is in classify's vocabulary.
func knownKind(k string) bool {
	return slices.Contains(classify.Kinds(), classify.Kind(k)) && k != string(classify.Unknown)
}

// suggestKind names the closest kind when one is a small edit away.
func suggestKind(k string) string {
	best, bestDist := "", 4
	for _, kind := range classify.Kinds() {
		if d := editDistance(k, string(kind)); d < bestDist {
			best, bestDist = string(kind), d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// keyAt positions the value of key in a recogniser, or the recogniser.
func keyAt(s *recogniserSpec, key string) pos {
	if v := child(s.Node, key); v != nil {
		return s.src.at(v)
	}
	return s.src.at(s.Node)
}

// Recognisers returns the recognisers the policy classifies with — its
// own, then the shipped ones unless it turned them off — or nil: give them
// to a chain.Walker so that its text fallback reads the same words.
func (p *Policy) Recognisers() chain.Recognisers {
	if p.classifier == nil {
		return nil
	}
	return p.classifier.Recognisers
}

// Classifier returns the classifier set the policy decides with: chain's
// built-in vocabulary and the policy's recognisers. It is never nil.
func (p *Policy) Classifier() *classify.Set {
	if p.classifier == nil {
		return &classify.Set{}
	}
	return p.classifier
}

// Classify classifies c with the policy's recognisers, as a decision made
// live with the policy does: a failure replayed from a dump or from text
// sees the same facts.
func (p *Policy) Classify(c chain.Chain) classify.Facts {
	return p.Classifier().Classify(c)
}

// Input is d.Input() classified with the policy's recognisers.
func (p *Policy) Input(d Dump) Input {
	return Input{Error: p.Classify(d.Chain), State: d.State}
}

// shippedSource is the recognisers faultline ships for other ecosystems'
// error texts; every policy reads them after its own unless it says
// shipped_recognisers: false.
//
//go:embed recognisers/ecosystems.yaml
var shippedSource []byte

// ShippedRecognisers returns the text of the shipped recognisers' file, to
// print or to copy as the start of a deployment's own.
func ShippedRecognisers() []byte { return bytes.Clone(shippedSource) }

// shipped compiles the shipped recognisers once: they are the same for
// every policy of a process.
var shipped = sync.OnceValues(func() (*chain.PatternSet, error) {
	return compileRecogniserFile("recognisers/ecosystems.yaml (shipped)", "recognisers/ecosystems.yaml", shippedSource)
})

// shippedDigest identifies the shipped recognisers in a policy's digest.
var shippedDigest = sync.OnceValue(func() string {
	sum := sha256.Sum256(shippedSource)
	return "sha256:" + hex.EncodeToString(sum[:])
})

// compileRecogniserFile compiles a file that holds only recognisers.
func compileRecogniserFile(name, rel string, data []byte) (*chain.PatternSet, error) {
	var errs ErrorList
	src := &source{name: name, rel: rel, lines: splitLines(data)}
	doc, yerr := parseYAML(name, data)
	if yerr != nil {
		return nil, ErrorList{*yerr}
	}
	var spec struct {
		Recognisers []recogniserSpec `yaml:"recognisers"`
		Node        *yaml.Node       `yaml:",self"`
	}
	d := &nodeDecoder{file: name, errs: &errs, src: src}
	d.decode(doc, reflect.ValueOf(&spec).Elem())
	for i := range spec.Recognisers {
		spec.Recognisers[i].src = src
	}
	p := &Policy{file: name}
	p.compileRecognisers(&errs, spec.Recognisers, pos{file: name})
	if len(errs) > 0 {
		errs.Sort()
		return nil, errs
	}
	return p.recognisers, nil
}
