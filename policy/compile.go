package policy

import (
	"fmt"
	"strings"
	"time"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/checker"
	celast "github.com/google/cel-go/common/ast"
)

// compiler type-checks a policy's expressions, reporting problems at their
// positions in the file.
type compiler struct {
	file string // the file loaded, for problems of the whole policy
	errs *ErrorList
	// env declares the built-in variables and, once compiled, the
	// policy's own variables.
	env *cel.Env
	// inline holds the policy's variables compiled so far. Rules are
	// type-checked against their declarations, then the definitions are
	// inlined (cel.bind where a variable is used more than once), so a
	// variable costs what its definition costs and is evaluated at most
	// once per expression.
	inline []*cel.InlineVariable
}

// compile type-checks e, expecting a result of type want, and returns the
// checked AST with the policy's variables inlined, or nil after recording
// the problems.
func (c *compiler) compile(e expr, rule, what string, want *cel.Type) *cel.Ast {
	a, _ := c.compileCost(e, rule, what, want)
	return a
}

// compileCost is compile, also returning the expression's estimated
// maximum cost.
func (c *compiler) compileCost(e expr, rule, what string, want *cel.Type) (*cel.Ast, uint64) {
	if n := len([]rune(e.Text)); n > maxExprLen {
		c.errs.add(c.pos(e, 0), rule, "%s: expression is %d characters long; the limit is %d", what, n, maxExprLen)
		return nil, 0
	}
	if strings.TrimSpace(e.Text) == "" {
		c.errs.add(c.pos(e, 0), rule, "%s: empty expression", what)
		return nil, 0
	}
	checked, iss := c.env.Compile(e.Text)
	if iss != nil && iss.Err() != nil {
		for _, ce := range iss.Errors() {
			off := 0
			if loc := ce.Location; loc != nil && loc.Line() > 0 {
				off = exprOffset(e.Text, loc.Line(), loc.Column())
			}
			c.errs.add(c.pos(e, off), rule, "%s: %s%s", what, cleanMessage(ce.Message), hint(e, what))
		}
		return nil, 0
	}
	if out := checked.OutputType(); !want.IsAssignableType(out) {
		c.errs.add(c.pos(e, 0), rule, "%s must be of type %s, found %s%s", what, typeName(want), typeName(out), hint(e, what))
		return nil, 0
	}
	a := checked
	if len(c.inline) > 0 {
		opt, err := cel.NewStaticOptimizer(cel.NewInliningOptimizer(c.inline...))
		if err != nil {
			c.errs.add(c.pos(e, 0), rule, "%s: %v", what, err)
			return nil, 0
		}
		a, iss = opt.Optimize(c.env, checked)
		if iss != nil && iss.Err() != nil {
			c.errs.add(c.pos(e, 0), rule, "%s: inlining variables: %v", what, iss.Err())
			return nil, 0
		}
	}
	est, err := c.env.EstimateCost(a, sizeHints{})
	if err != nil {
		c.errs.add(c.pos(e, 0), rule, "%s: estimating cost: %v", what, err)
		return nil, 0
	}
	if est.Max > maxCost {
		c.costError(e, rule, what, checked, a, est.Max)
		return nil, 0
	}
	return a, est.Max
}

// costError reports an expression whose estimated cost is over the limit,
// naming the innermost part of it that is itself over the limit.
func (c *compiler) costError(e expr, rule, what string, checked, inlined *cel.Ast, total uint64) {
	// Search the AST as written when no variable was inlined, so that
	// positions are exact; otherwise the inlined one, whose parts may come
	// from variable definitions elsewhere in the file.
	a, exact := inlined.NativeRep(), checked == inlined
	var worst celast.NavigableExpr
	var worstCost uint64
	var walk func(n celast.NavigableExpr)
	walk = func(n celast.NavigableExpr) {
		sub := celast.NewCheckedAST(celast.NewAST(n, a.SourceInfo()), a.TypeMap(), a.ReferenceMap())
		est, err := checker.Cost(sub, sizeHints{})
		if err != nil || est.Max <= maxCost {
			return
		}
		if worst == nil || n.Depth() >= worst.Depth() {
			worst, worstCost = n, est.Max
		}
		for _, ch := range n.Children() {
			walk(ch)
		}
	}
	walk(celast.NavigateAST(a))
	at := c.pos(e, 0)
	where := " (lists, maps and strings are costed at their caps: 32 layers, 16 labels, 32 history entries, 512 characters)"
	if worst != nil && worst.ID() != a.Expr().ID() {
		if loc := a.SourceInfo().GetStartLocation(worst.ID()); exact && loc.Line() > 0 {
			at = c.pos(e, exprOffset(e.Text, loc.Line(), loc.Column()))
			where = fmt.Sprintf("; the part starting here alone is estimated at %d%s", worstCost, where)
		}
	}
	c.errs.add(at, rule, "%s: estimated cost %d exceeds the limit %d%s", what, total, maxCost, where)
}

// pos returns the file position of character off of e.
func (c *compiler) pos(e expr, off int) pos {
	if e.Node == nil || e.src == nil {
		return pos{file: c.file}
	}
	ps := exprPositions(e.src.lines, e.Node, e.Text)
	off = min(max(off, 0), len(ps)-1)
	p := ps[off]
	p.file = e.src.name
	return p
}

// cleanMessage drops the parts of cel-go's messages that mean nothing to a
// policy author.
func cleanMessage(msg string) string {
	msg = strings.TrimSuffix(msg, " (in container '')")
	if msg == "max recursion depth exceeded" || strings.HasPrefix(msg, "expression recursion limit exceeded") {
		msg = fmt.Sprintf("expression nested more than %d levels deep", maxNesting)
	}
	return strings.ReplaceAll(msg, "google.protobuf.Duration", "duration")
}

// hint adds advice for mistakes authors make often.
func hint(e expr, what string) string {
	if what == "delay" {
		if _, err := time.ParseDuration(strings.TrimSpace(e.Text)); err == nil {
			return fmt.Sprintf(" (a delay is a CEL expression: write duration('%s'))", strings.TrimSpace(e.Text))
		}
	}
	return ""
}

// program builds the evaluable form of a checked expression, with the
// runtime cost limit and context checks. The limit applies to one
// evaluation; Decide checks the sum over a decision.
func program(env *cel.Env, a *cel.Ast) (cel.Program, error) {
	return env.Program(a,
		cel.EvalOptions(cel.OptOptimize),
		cel.CostLimit(maxCost),
		cel.InterruptCheckFrequency(100),
	)
}
