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
)

// attemptVars is the CEL variable "attempt": the counters of State under
// one name, so rules read attempt.number, attempt.bytes_received, ….
type attemptVars struct {
	Number         int64         `cel:"number"`
	Resumes        int64         `cel:"resumes"`
	Restarts       int64         `cel:"restarts"`
	Elapsed        time.Duration `cel:"elapsed"`
	BytesReceived  int64         `cel:"bytes_received"`
	TotalExpected  int64         `cel:"total_expected"`
	BytesRefetched int64         `cel:"bytes_refetched"`
	LastDelay      time.Duration `cel:"last_delay"`
}

// Versions of the CEL libraries, pinned so that upgrading cel-go cannot
// change what a policy means. Strings version 5 is the first with cost
// estimates for every function.
const (
	stringsVersion  = 5
	optionalVersion = 1
)

// Bounds on expressions and evaluation.
const (
	// maxCost bounds both the estimated cost of each expression at load
	// and the actual cost of one decision at run time.
	maxCost = 10_000
	// maxExprLen bounds one expression's text, in characters.
	maxExprLen = 4096
	// maxRules bounds a policy's rules; the rules are composed into one
	// nested conditional, whose depth the parser limits.
	maxRules = 128
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
		cel.ParserRecursionLimit(2*maxRules+64),
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
		varTimeLeft, varCallerDone, varLimits:
		return fmt.Sprintf("variable %q would hide the built-in variable of that name", name)
	case "true", "false", "null", "in", "as", "break", "const", "continue", "else", "for",
		"function", "if", "import", "let", "loop", "package", "namespace", "return", "var",
		"void", "while", "max", "min", "duration", "timestamp", "size", "has", "int", "uint",
		"double", "string", "bytes", "bool", "list", "map", "type", "dyn", "optional":
		return fmt.Sprintf("variable name %q is reserved in CEL", name)
	}
	return ""
}
