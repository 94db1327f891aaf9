package policy

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// fileSpec is a policy file as written.
type fileSpec struct {
	Name        string           `yaml:"name"`
	Version     string           `yaml:"version"`
	Description string           `yaml:"description"`
	Include     []includeSpec    `yaml:"include"`
	Limits      Limits           `yaml:"limits"`
	Backoff     Backoff          `yaml:"backoff"`
	Budget      *Budget          `yaml:"budget"`
	Variables   variables        `yaml:"variables"`
	Recognisers []recogniserSpec `yaml:"recognisers"`
	// ShippedRecognisers turns the shipped recognisers off when false.
	ShippedRecognisers *bool      `yaml:"shipped_recognisers"`
	Rules              []ruleSpec `yaml:"rules"`
	Default            Action     `yaml:"default"`
	Tests              []caseSpec `yaml:"tests"`
	Node               *yaml.Node `yaml:",self"`
}

type ruleSpec struct {
	Name        string     `yaml:"name"`
	Description string     `yaml:"description"`
	When        expr       `yaml:"when"`
	Action      Action     `yaml:"action"`
	Delay       expr       `yaml:"delay"`
	Reason      string     `yaml:"reason"`
	ReasonExpr  expr       `yaml:"reason_expr"`
	Node        *yaml.Node `yaml:",self"`
	src         *source    // the file the rule is written in
}

type caseSpec struct {
	Name   string     `yaml:"name"`
	Input  *Input     `yaml:"input"`
	Dump   string     `yaml:"dump"`
	Expect Expect     `yaml:"expect"`
	Node   *yaml.Node `yaml:",self"`
	src    *source    // the file the case is written in
}

// variables are named expressions, kept in the order written.
type variables []variable

type variable struct {
	Name   string
	NameAt expr // the name, for positions
	Expr   expr
}

func (vs *variables) unmarshalNode(d *nodeDecoder, n *yaml.Node) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "variables: expected a mapping of names to expressions, found %s", describeNode(n))
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if seen[k.Value] {
			d.errorf(k, "variable %q defined twice", k.Value)
			continue
		}
		seen[k.Value] = true
		v := variable{Name: k.Value, NameAt: expr{Text: k.Value, Node: k, src: d.src}}
		v.Expr.unmarshalNode(d, n.Content[i+1])
		*vs = append(*vs, v)
	}
}

// expr is a CEL expression with the YAML node it came from, so that
// problems in it can be positioned in the file.
type expr struct {
	Text string
	Node *yaml.Node
	src  *source // the file it is written in
}

func (e *expr) unmarshalNode(d *nodeDecoder, n *yaml.Node) {
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, "expected a CEL expression, found %s", describeNode(n))
		return
	}
	e.Text, e.Node, e.src = n.Value, n, d.src
}

func (e expr) set() bool { return e.Node != nil }

// parseYAML parses data into its document node, turning a syntax error into
// a positioned Error. Aliases and merge keys are refused: see noAliases.
func parseYAML(file string, data []byte) (*yaml.Node, *Error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		e := syntaxError(file, data, err.Error())
		return nil, &e
	}
	if e := noAliases(file, &doc); e != nil {
		return nil, e
	}
	return &doc, nil
}

// noAliases refuses YAML aliases (*name) and merge keys (<<). A policy has
// no use for them: variables share expressions, include shares files, and
// test inputs are short. And they cost: a parsed node tree keeps an alias
// as a pointer, but decoding follows it, so a few kilobytes of aliases of
// aliases expand into gigabytes (the "billion laughs"). Refusing them
// outright keeps decoding linear in the file's size and keeps every
// error's position where the text is. The walk itself never follows an
// alias, so it is linear too.
func noAliases(file string, doc *yaml.Node) *Error {
	var first *yaml.Node
	var what string
	n := 0
	var walk func(*yaml.Node)
	walk = func(x *yaml.Node) {
		switch {
		case x.Kind == yaml.AliasNode:
			n++
			if first == nil {
				first, what = x, "alias *"+x.Value
			}
			return
		case x.Kind == yaml.ScalarNode && x.Tag == "!!merge":
			n++
			if first == nil {
				first, what = x, "merge key <<"
			}
		}
		for _, c := range x.Content {
			walk(c)
		}
	}
	walk(doc)
	if first == nil {
		return nil
	}
	more := ""
	if n > 1 {
		more = fmt.Sprintf(" (%d aliases and merge keys in the file)", n)
	}
	return &Error{File: file, Line: first.Line, Col: first.Column,
		Msg: fmt.Sprintf("YAML %s: a policy file may not use aliases or merge keys; write the value out, or share an expression with a variable%s", what, more)}
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// misindented finds the line that breaks a block when yaml.v3 reports a
// block structure error at the line where the block began, which can be
// tens of lines above the mistake (it names the parser's context, not the
// problem). The first prefix of the file, from that line on, that fails
// with the same message ends at the culprit. It looks at most 500 lines
// down, so a policy of any size costs at most 500 parses of itself, and
// only when it is broken.
func misindented(data []byte, lines []string, at int, msg string) (int, bool) {
	switch msg {
	case "did not find expected '-' indicator", "did not find expected key":
	default:
		return 0, false
	}
	offset := 0 // of the end of lines[:k]
	for k := 1; k <= len(lines); k++ {
		offset += len(lines[k-1]) + 1
		if k <= at {
			continue
		}
		if k > at+500 {
			break
		}
		var n yaml.Node
		err := yaml.Unmarshal(data[:min(offset, len(data))], &n)
		if err == nil {
			continue
		}
		if m := yamlLine.FindStringSubmatch(err.Error()); m != nil && m[2] == msg {
			return k, true
		}
		return 0, false // another error first: leave the report as it is
	}
	return 0, false
}

// syntaxError positions a yaml.v3 syntax error. yaml.v3 reports only a
// line, so the column is found from the message and the line's text; and
// since the usual cause in a policy is an expression holding ": " or " #",
// or starting with a quote, the message suggests folding it with ">".
func syntaxError(file string, data []byte, msg string) Error {
	e := Error{File: file, Msg: strings.TrimPrefix(msg, "yaml: ")}
	m := yamlLine.FindStringSubmatch(msg)
	if m == nil {
		return e
	}
	e.Line, _ = strconv.Atoi(m[1])
	e.Msg = m[2]
	reported := e.Line
	lines := strings.Split(string(data), "\n")
	if e.Line < 1 || e.Line > len(lines) {
		return e
	}
	text := strings.TrimRight(lines[e.Line-1], "\r")
	e.Col = runeCol(text, indexNonSpace(text))
	key, value, hasValue := strings.Cut(strings.TrimSpace(text), ": ")
	key = strings.TrimPrefix(key, "- ")
	valueAt := strings.Index(text, ": ") + 2
	switch {
	case strings.Contains(e.Msg, "mapping values are not allowed") && hasValue && strings.Contains(value, ": "):
		e.Col = runeCol(text, valueAt+strings.Index(value, ": ")+1)
	case hasValue && (strings.HasPrefix(value, "'") || strings.HasPrefix(value, `"`)):
		e.Col = runeCol(text, valueAt)
	}
	if strings.Contains(e.Msg, "did not find expected key") && !(hasValue && looksLikeExpression(key, value)) {
		// yaml.v3 reports where the enclosing mapping began; look below
		// for the usual culprit, a value that starts with a quoted
		// string and goes on after it.
		for i := e.Line; i < len(lines) && i < e.Line+200; i++ {
			t := strings.TrimRight(lines[i], "\r")
			k, v, ok := strings.Cut(strings.TrimSpace(t), ": ")
			if ok && quotedThenMore(v) {
				e.Line, e.Col = i+1, runeCol(t, strings.Index(t, ": ")+2)
				key, value, hasValue = strings.TrimPrefix(k, "- "), v, true
				break
			}
		}
	}
	if e.Line == reported {
		if l, ok := misindented(data, lines, e.Line, e.Msg); ok {
			// The line yaml.v3 named is where the enclosing block
			// began; the line that broke it is further down.
			text := strings.TrimRight(lines[l-1], "\r")
			e.Line, e.Col = l, runeCol(text, indexNonSpace(text))
			e.Msg += "; check this line's indentation against the lines above"
			return e
		}
	}
	if hasValue && looksLikeExpression(key, value) {
		e.Msg += "; an expression containing \": \" or \" #\", or starting with a quote, must be folded: write \"" +
			key + ": >\" and the expression indented on the next line"
	}
	return e
}

func looksLikeExpression(key, value string) bool {
	switch key {
	case "when", "delay", "reason_expr":
	default:
		if !strings.HasPrefix(value, "'") && !strings.HasPrefix(value, `"`) && !strings.Contains(value, ": ") {
			return false
		}
	}
	return strings.Contains(value, ": ") || strings.Contains(value, " #") ||
		strings.HasPrefix(value, "'") || strings.HasPrefix(value, `"`)
}

// quotedThenMore reports a value that starts with a quoted string and has
// more after the closing quote, like 'x' in error.labels.
func quotedThenMore(v string) bool {
	if len(v) < 2 || (v[0] != '\'' && v[0] != '"') {
		return false
	}
	q := v[0]
	for i := 1; i < len(v); i++ {
		switch {
		case v[i] == '\\' && q == '"':
			i++
		case v[i] == q && q == '\'' && i+1 < len(v) && v[i+1] == '\'':
			i++
		case v[i] == q:
			rest := strings.TrimSpace(v[i+1:])
			return rest != "" && !strings.HasPrefix(rest, "#")
		}
	}
	return false
}

func indexNonSpace(s string) int {
	return len(s) - len(strings.TrimLeft(s, " \t"))
}

// runeCol converts a byte offset in a line to a 1-based character column.
func runeCol(line string, off int) int {
	if off > len(line) {
		off = len(line)
	}
	return len([]rune(line[:off])) + 1
}
