package policy

import (
	"fmt"
	"sort"
	"strings"
)

// Error is one problem found while loading a policy, positioned in the
// policy file. Line and Col are 1-based; Col counts characters (runes), not
// bytes. Rule names the rule the problem belongs to, or is "".
type Error struct {
	File string
	Line int
	Col  int
	Rule string
	Msg  string
}

// Error formats the problem as "file:line:col: rule "name": msg", leaving
// out the parts that are unknown.
func (e Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteByte(':')
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, "%d:", e.Line)
		if e.Col > 0 {
			fmt.Fprintf(&b, "%d:", e.Col)
		}
	}
	if b.Len() > 0 {
		b.WriteByte(' ')
	}
	if e.Rule != "" {
		fmt.Fprintf(&b, "rule %q: ", e.Rule)
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ErrorList is every problem found in a policy, sorted by position. A
// non-empty ErrorList returned as an error is always an ErrorList value, so
// callers can range over it with errors.As.
type ErrorList []Error

// Error prints the first problem and how many more there are; print the
// list element by element to see them all.
func (l ErrorList) Error() string {
	switch len(l) {
	case 0:
		return "no errors"
	case 1:
		return l[0].Error()
	}
	return fmt.Sprintf("%s (and %d more errors)", l[0].Error(), len(l)-1)
}

// Err returns l as an error, or nil when l is empty.
func (l ErrorList) Err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}

// Sort orders the list by file, line, column, then message.
func (l ErrorList) Sort() {
	sort.SliceStable(l, func(i, j int) bool {
		a, b := l[i], l[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Col != b.Col {
			return a.Col < b.Col
		}
		return a.Msg < b.Msg
	})
}

// add appends a problem at p.
func (l *ErrorList) add(p pos, rule, format string, args ...any) {
	*l = append(*l, Error{File: p.file, Line: p.line, Col: p.col, Rule: rule, Msg: fmt.Sprintf(format, args...)})
}

// pos is a position in a policy file.
type pos struct {
	file      string
	line, col int
}
