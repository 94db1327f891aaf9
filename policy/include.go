package policy

import (
	"path"
	"path/filepath"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Bounds on includes: how many files a policy may include in all, and how
// deep includes may nest. Together with maxFileSize, which bounds the
// policy and everything it includes, they bound what loading reads.
const (
	maxIncludes     = 16
	maxIncludeDepth = 4
)

// A source is one file of a policy: the file loaded, or one it includes.
type source struct {
	// name is the file as errors show it: the path given to Load, or an
	// included file's path beside it.
	name string
	// rel is the file's slash path relative to the loaded file's
	// directory, which is the root every include and dump is read from.
	rel   string
	lines [][]rune
}

// at positions n in the source.
func (s *source) at(n *yaml.Node) pos {
	if n == nil {
		return pos{file: s.name}
	}
	return pos{s.name, n.Line, n.Column}
}

// resolve returns the root-relative path of rel, written in s, or ""
// when it would leave the root: an absolute path, a "..", a backslash.
func (s *source) resolve(rel string) string {
	if rel == "" || strings.Contains(rel, `\`) || path.IsAbs(rel) || filepath.IsAbs(rel) {
		return ""
	}
	p := path.Join(path.Dir(s.rel), rel)
	if !filepath.IsLocal(filepath.FromSlash(p)) {
		return ""
	}
	return p
}

// includeSpec is one entry of "include:", with its node for positions.
type includeSpec struct {
	Path string
	Node *yaml.Node
}

func (s *includeSpec) unmarshalNode(d *nodeDecoder, n *yaml.Node) {
	if n.Kind != yaml.ScalarNode || n.Value == "" {
		d.errorf(n, "include: expected a file name, found %s", describeNode(n))
		return
	}
	s.Path, s.Node = n.Value, n
}

// readFunc reads the file at a root-relative slash path, at most limit
// bytes of it; what names the kind of file for errors.
type readFunc func(rel string, limit int64, what string) ([]byte, error)

// loader reads a policy file and every file it includes, and merges them
// into one fileSpec: an included file's variables, rules and test cases
// come before those of the file that includes it, in the order included.
type loader struct {
	read readFunc
	// name turns a root-relative path into the name errors show.
	name    func(rel string) string
	errs    *ErrorList
	sources []*source
	// bytes counts what was read of all the files, against maxFileSize.
	bytes int
	// from records where each file was first included, to refuse a file
	// included twice.
	from map[string]pos
}

// onlyTop are the keys only the loaded file may set: an included file
// shares expressions, rules and cases, not the policy's identity or its
// limits.
var onlyTop = []string{"name", "version", "limits", "backoff", "budget", "default", "shipped_recognisers"}

// load parses the file src, holding data, into spec, and loads what it
// includes. stack is the chain of files including it, for cycles.
func (l *loader) load(src *source, data []byte, spec *fileSpec, stack []string) bool {
	l.sources = append(l.sources, src)
	src.lines = splitLines(data)
	doc, yerr := parseYAML(src.name, data)
	if yerr != nil {
		*l.errs = append(*l.errs, *yerr)
		return false
	}
	if len(doc.Content) == 0 {
		l.errs.add(pos{src.name, 1, 1}, "", "empty policy file")
		return false
	}
	d := &nodeDecoder{file: src.name, errs: l.errs, src: src}
	var own fileSpec
	if len(stack) == 0 {
		own = *spec // the defaults
	}
	d.decode(doc, reflect.ValueOf(&own).Elem())
	for i := range own.Rules {
		own.Rules[i].src = src
	}
	for i := range own.Tests {
		own.Tests[i].src = src
	}
	for i := range own.Recognisers {
		own.Recognisers[i].src = src
	}
	if len(stack) > 0 {
		for _, key := range onlyTop {
			if n := keyNode(own.Node, key); n != nil {
				d.errorf(n, "%s: only the policy file loaded may set it, not a file it includes", key)
			}
		}
	} else {
		*spec = own
		spec.Variables, spec.Rules, spec.Tests, spec.Recognisers = nil, nil, nil, nil
	}
	stack = append(stack, src.rel)
	for _, inc := range own.Include {
		l.include(src, inc, spec, stack)
	}
	spec.Variables = append(spec.Variables, own.Variables...)
	spec.Rules = append(spec.Rules, own.Rules...)
	spec.Tests = append(spec.Tests, own.Tests...)
	spec.Recognisers = append(spec.Recognisers, own.Recognisers...)
	return true
}

// include loads one included file into spec.
func (l *loader) include(src *source, inc includeSpec, spec *fileSpec, stack []string) {
	at := src.at(inc.Node)
	rel := src.resolve(inc.Path)
	switch {
	case rel == "":
		l.errs.add(at, "", "include %s: the path must be relative and inside the policy file's directory", inc.Path)
		return
	case len(stack) >= maxIncludeDepth+1:
		l.errs.add(at, "", "include %s: includes nest deeper than %d files", inc.Path, maxIncludeDepth)
		return
	}
	for i, s := range stack {
		if s == rel {
			cycle := append(append([]string(nil), stack[i:]...), rel)
			l.errs.add(at, "", "include %s: a cycle: %s", inc.Path, strings.Join(cycle, " → "))
			return
		}
	}
	if first, ok := l.from[rel]; ok {
		l.errs.add(at, "", "include %s: already included at %s:%d", inc.Path, first.file, first.line)
		return
	}
	if len(l.from) >= maxIncludes {
		l.errs.add(at, "", "include %s: a policy may include at most %d files", inc.Path, maxIncludes)
		return
	}
	l.from[rel] = at
	data, err := l.read(rel, int64(maxFileSize-l.bytes), "a policy file with what it includes")
	if err != nil {
		l.errs.add(at, "", "include %s: %v", inc.Path, err)
		return
	}
	l.bytes += len(data)
	l.load(&source{name: l.name(rel), rel: rel}, data, spec, stack)
}

// keyNode returns the key node of key in mapping n, or nil.
func keyNode(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i]
		}
	}
	return nil
}
