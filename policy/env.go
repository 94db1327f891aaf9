package policy

import (
	"fmt"
	"reflect"
	"sync"
	"time"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/ext"

	"github.com/faultline-go/faultline/classify"
)

// The CEL variables a policy's expressions see. The table in doc.go
// documents each; keep the two in step.
const (
	varError      = "error"
	varPhase      = "phase"
	varAttempt    = "attempt"
	varHistory    = "history"
	varRequest    = "request"
	varResponse   = "response"
	varBackoff    = "backoff"
	varTimeLeft   = "time_left"
	varCallerDone = "caller_done"
	varLimits     = "limits"
	varSource     = "source"
)

// attemptVars is the CEL variable "attempt": the counters of State under
// one name, so rules read attempt.number, attempt.bytes_received, ….
type attemptVars struct {
	Number         int64         `cel:"number"`
	Resumes        int64         `cel:"resumes"`
	Restarts       int64         `cel:"restarts"`
	Refetches      int64         `cel:"refetches"`
	Elapsed        time.Duration `cel:"elapsed"`
	BytesReceived  int64         `cel:"bytes_received"`
	TotalExpected  int64         `cel:"total_expected"`
	BytesRefetched int64         `cel:"bytes_refetched"`
	Gained         int64         `cel:"gained"`
	Duration       time.Duration `cel:"duration"`
	Rate           float64       `cel:"rate"`
	NoProgress     int64         `cel:"no_progress"`
	LastDelay      time.Duration `cel:"last_delay"`
}

// Versions of the CEL libraries, pinned so that upgrading cel-go cannot
// change what a policy means. Strings version 5 is the first with cost
// estimates for every function.
const (
	stringsVersion  = 5
	optionalVersion = 1
)

// Bounds on a policy file, its expressions and their evaluation; doc.go
// and the README's resource bounds list them, and bounds_test.go tries
// each at the bound.
const (
	// maxCost bounds, at load, the estimated cost of each delay and
	// reason expression and of all the rules' conditions together, and at
	// run time the actual cost of each: the conditions are one program
	// (Decide) or a sum held to the same limit (Explain), so what loads
	// can run.
	maxCost = 10_000
	// maxExprLen bounds one expression's text, in characters.
	maxExprLen = 4096
	// maxNesting is the parser's recursion limit for one expression:
	// nested parentheses, lists, calls, operands of + and the like. It
	// also bounds the time to check an expression: nested list literals
	// take time growing with the cube of their depth (a quarter second at
	// 100 levels, 8 ms at 32).
	maxNesting = 32
	// maxRules bounds a policy's rules; the rules are composed into one
	// nested conditional, parsed with maxNesting+maxRules+8 levels, so
	// that every rule that parses alone composes.
	maxRules = 128
	// maxVariables bounds a policy's variables; each extends the CEL
	// environment.
	maxVariables = 64
	// maxTests bounds a policy's test cases.
	maxTests = 512
	// maxFileSize bounds a policy file, in bytes.
	maxFileSize = 1 << 20
	// maxDumpSize bounds one dump a test case names, and maxDumpTotal
	// all the dumps of one policy, in bytes.
	maxDumpSize  = 16 << 20
	maxDumpTotal = 16 << 20
)

// baseEnv returns the CEL environment every policy starts from. It is
// built once per process, since a *cel.Env is immutable (Extend returns a
// new one) and building it takes some thousand allocations.
var baseEnv = sync.OnceValues(newBaseEnv)

// newBaseEnv builds the environment baseEnv caches.
func newBaseEnv() (*cel.Env, error) {
	structs := []reflect.Type{
		reflect.TypeFor[classify.Facts](),
		reflect.TypeFor[attemptVars](),
		reflect.TypeFor[Request](),
		reflect.TypeFor[Response](),
		reflect.TypeFor[Limits](),
		reflect.TypeFor[Source](),
	}
	native := []any{ext.ParseStructTags(true)}
	for _, t := range structs {
		native = append(native, t)
	}
	return cel.NewEnv(
		ext.NativeTypes(native...),
		cel.Variable(varError, cel.ObjectType("classify.Facts")),
		cel.Variable(varPhase, cel.StringType),
		cel.Variable(varAttempt, cel.ObjectType("policy.attemptVars")),
		cel.Variable(varHistory, cel.ListType(cel.StringType)),
		cel.Variable(varRequest, cel.ObjectType("policy.Request")),
		cel.Variable(varResponse, cel.ObjectType("policy.Response")),
		cel.Variable(varBackoff, cel.DurationType),
		cel.Variable(varTimeLeft, cel.DurationType),
		cel.Variable(varCallerDone, cel.BoolType),
		cel.Variable(varLimits, cel.ObjectType("policy.Limits")),
		cel.Variable(varSource, cel.ObjectType("policy.Source")),
		ext.Strings(ext.StringsVersion(stringsVersion)),
		cel.OptionalTypes(cel.OptionalTypesVersion(optionalVersion)),
		durationFunc("max", func(a, b time.Duration) time.Duration { return max(a, b) }),
		durationFunc("min", func(a, b time.Duration) time.Duration { return min(a, b) }),
		cel.ASTValidators(
			cel.ValidateDurationLiterals(),
			cel.ValidateRegexLiterals(),
			cel.ValidateHomogeneousAggregateLiterals(),
		),
		cel.EagerlyValidateDeclarations(true),
		cel.ParserExpressionSizeLimit(maxRules*(maxExprLen+32)),
		cel.ParserRecursionLimit(maxNesting),
		fastFields(structs...),
	)
}

// durationFunc declares a global function of two durations, such as
// max(backoff, error.http.retry_after). CEL durations add and compare but
// have no max or min of their own.
func durationFunc(name string, fn func(a, b time.Duration) time.Duration) cel.EnvOption {
	return cel.Function(name,
		cel.Overload(name+"_duration_duration", []*cel.Type{cel.DurationType, cel.DurationType}, cel.DurationType,
			cel.BinaryBinding(func(a, b ref.Val) ref.Val {
				x, ok1 := a.(types.Duration)
				y, ok2 := b.(types.Duration)
				if !ok1 || !ok2 {
					return types.NewErr("%s: no such overload for %s, %s", name, a.Type(), b.Type())
				}
				return types.Duration{Duration: fn(x.Duration, y.Duration)}
			})))
}

// typeName prints a CEL type the way policy authors write it.
func typeName(t *cel.Type) string {
	if t == nil {
		return "unknown"
	}
	return cel.FormatCELType(t)
}

// checkVarName reports why name cannot name a policy variable, or "".
func checkVarName(name string) string {
	if name == "" {
		return "a variable needs a name"
	}
	for i, r := range name {
		if r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9' {
			continue
		}
		return fmt.Sprintf("variable name %q is not an identifier (letters, digits, _)", name)
	}
	switch name {
	case varError, varPhase, varAttempt, varHistory, varRequest, varResponse, varBackoff,
		varTimeLeft, varCallerDone, varLimits, varSource:
		return fmt.Sprintf("variable %q would hide the built-in variable of that name", name)
	case "true", "false", "null", "in", "as", "break", "const", "continue", "else", "for",
		"function", "if", "import", "let", "loop", "package", "namespace", "return", "var",
		"void", "while", "max", "min", "duration", "timestamp", "size", "has", "int", "uint",
		"double", "string", "bytes", "bool", "list", "map", "type", "dyn", "optional":
		return fmt.Sprintf("variable name %q is reserved in CEL", name)
	}
	return ""
}
