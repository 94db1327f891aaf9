package policy

import (
	"fmt"
	"reflect"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// nodeDecoder decodes YAML nodes into Go values by reflection, collecting
// every problem with its position instead of stopping at the first one.
// yaml.v3's own decoder reports lines without columns and stops short on
// unknown keys; policies deserve both exact positions and all errors.
//
// Struct fields are matched by their yaml tag, else their json tag (so
// classify.Facts and State decode from test cases as they appear in JSON
// dumps). A field tagged `yaml:",self"` of type *yaml.Node receives the
// struct's own node. time.Duration decodes from Go duration strings.
type nodeDecoder struct {
	file string
	errs *ErrorList
	// rule labels the errors with the rule being decoded.
	rule string
	// src is the file being decoded, which expressions remember.
	src *source
}

// unmarshalerNode is implemented by types that take their YAML node whole.
type unmarshalerNode interface {
	unmarshalNode(d *nodeDecoder, n *yaml.Node)
}

var (
	durationType   = reflect.TypeOf(time.Duration(0))
	yamlNodePtr    = reflect.TypeOf((*yaml.Node)(nil))
	unmarshalerTyp = reflect.TypeOf((*unmarshalerNode)(nil)).Elem()
)

func (d *nodeDecoder) at(n *yaml.Node) pos { return pos{d.file, n.Line, n.Column} }

func (d *nodeDecoder) errorf(n *yaml.Node, format string, args ...any) {
	d.errs.add(d.at(n), d.rule, format, args...)
}

// decode stores n into v, which must be settable.
func (d *nodeDecoder) decode(n *yaml.Node, v reflect.Value) {
	for n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	if n.Kind == yaml.AliasNode {
		// parseYAML refuses aliases; never follow one (see noAliases).
		d.errorf(n, "YAML alias *%s: a policy file may not use aliases", n.Value)
		return
	}
	if v.CanAddr() && v.Addr().Type().Implements(unmarshalerTyp) {
		v.Addr().Interface().(unmarshalerNode).unmarshalNode(d, n)
		return
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // leave the zero value
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(n, v.Elem())
	case reflect.Struct:
		d.decodeStruct(n, v)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.errorf(n, "expected a list, found %s", describeNode(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, c := range n.Content {
			d.decode(c, s.Index(i))
		}
		v.Set(s)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			d.errorf(n, "expected a mapping, found %s", describeNode(n))
			return
		}
		m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := reflect.New(v.Type().Key()).Elem()
			e := reflect.New(v.Type().Elem()).Elem()
			d.decode(n.Content[i], k)
			d.decode(n.Content[i+1], e)
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	default:
		d.decodeScalar(n, v)
	}
}

func (d *nodeDecoder) decodeScalar(n *yaml.Node, v reflect.Value) {
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, "expected %s, found %s", describeType(v.Type()), describeNode(n))
		return
	}
	if v.Type() == durationType {
		dur, err := time.ParseDuration(n.Value)
		if err != nil {
			d.errorf(n, "invalid duration %q (want a Go duration such as \"1.5s\" or \"250ms\")", n.Value)
			return
		}
		v.SetInt(int64(dur))
		return
	}
	if v.Kind() == reflect.String {
		// Strings accept any scalar as written: "404" and 404 alike.
		v.SetString(n.Value)
		return
	}
	p := reflect.New(v.Type())
	if err := n.Decode(p.Interface()); err != nil {
		d.errorf(n, "cannot use %q as %s", n.Value, describeType(v.Type()))
		return
	}
	v.Set(p.Elem())
}

func (d *nodeDecoder) decodeStruct(n *yaml.Node, v reflect.Value) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "expected a mapping, found %s", describeNode(n))
		return
	}
	fields := structFields(v.Type())
	if v.Type() == reflect.TypeFor[ruleSpec]() {
		// Errors inside a rule name it.
		if name := child(n, "name"); name != nil && name.Kind == yaml.ScalarNode {
			defer func(prev string) { d.rule = prev }(d.rule)
			d.rule = name.Value
		}
	}
	if i, ok := fields[",self"]; ok {
		v.Field(i).Set(reflect.ValueOf(n))
	}
	seen := make(map[string]*yaml.Node, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i], n.Content[i+1]
		if prev, dup := seen[key.Value]; dup {
			d.errorf(key, "key %q repeated (first at line %d)", key.Value, prev.Line)
			continue
		}
		seen[key.Value] = key
		fi, ok := fields[key.Value]
		if !ok || key.Value == ",self" {
			d.errorf(key, "unknown key %q%s", key.Value, suggestKey(key.Value, fields))
			continue
		}
		d.decode(val, v.Field(fi))
	}
}

// structFields maps the YAML names of t's fields to their indexes.
func structFields(t reflect.Type) map[string]int {
	m := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name := tagName(f.Tag.Get("yaml"))
		if f.Tag.Get("yaml") == ",self" && f.Type == yamlNodePtr {
			m[",self"] = i
			continue
		}
		if name == "" {
			name = tagName(f.Tag.Get("json"))
		}
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		m[name] = i
	}
	return m
}

func tagName(tag string) string {
	name, _, _ := strings.Cut(tag, ",")
	return name
}

// suggestKey names the closest known key when one is a small edit away.
func suggestKey(key string, fields map[string]int) string {
	best, bestDist := "", 3
	for name := range fields {
		if name == ",self" {
			continue
		}
		if dist := editDistance(key, name); dist < bestDist || dist == bestDist && best != "" && name < best {
			best, bestDist = name, dist
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the Levenshtein distance between short ASCII keys.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func describeNode(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	}
	return "nothing"
}

func describeType(t reflect.Type) string {
	switch {
	case t == durationType:
		return "a duration"
	case t.Kind() == reflect.Bool:
		return "true or false"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return "an integer"
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return "a number"
	case t.Kind() == reflect.String:
		return "a string"
	}
	return t.String()
}

// hasKey reports whether the mapping n holds the nested keys path.
func hasKey(n *yaml.Node, path ...string) bool {
	for _, key := range path {
		if n == nil || n.Kind != yaml.MappingNode {
			return false
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				next = n.Content[i+1]
			}
		}
		n = next
	}
	return n != nil
}

// keyPos returns a function positioning the value of key in the mapping
// held by parent under section (or parent itself when section is ""),
// falling back to the nearest enclosing node present.
func (d *nodeDecoder) keyPos(parent *yaml.Node, section string) func(key string) pos {
	n := parent
	if section != "" {
		n = child(parent, section)
		if n == nil {
			n = parent
		}
	}
	return func(key string) pos {
		if v := child(n, key); v != nil {
			return d.at(v)
		}
		if n != nil {
			return d.at(n)
		}
		return pos{file: d.file}
	}
}

// child returns the value of key in mapping n, or nil.
func child(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}
