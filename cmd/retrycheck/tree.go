package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/faultline-go/faultline/chain"
)

// maxShown caps a message in the tree; dumps hold the whole text.
const maxShown = 160

// writeTree draws the chain as a tree, one layer a line: its type, how it
// was reached, the text it adds and its attributes.
//
//	*url.Error  Get "http://127.0.0.1:8080/a.tar.gz"  {op=Get}
//	└─ unwrap  *net.OpError  read tcp 127.0.0.1:1->127.0.0.1:2  {op=read net=tcp}
//	   └─ unwrap  syscall.Errno  connection reset by peer  {errno=104 ECONNRESET}
//
// Layers are in pre-order and every parent precedes its children (the
// reader checks it), so one pass over the children lists draws the tree.
func writeTree(w io.Writer, c chain.Chain) {
	children := make([][]int, len(c.Layers))
	var roots []int
	for i, l := range c.Layers {
		if l.Parent >= 0 && l.Parent < i {
			children[l.Parent] = append(children[l.Parent], i)
		} else {
			roots = append(roots, i)
		}
	}
	var draw func(i int, prefix string, last, root bool)
	draw = func(i int, prefix string, last, root bool) {
		l := c.Layers[i]
		branch, next := "", ""
		if !root {
			branch, next = "├─ ", "│  "
			if last {
				branch, next = "└─ ", "   "
			}
		}
		fmt.Fprintf(w, "%s%s%s\n", prefix, branch, layerLine(l, root))
		for j, k := range children[i] {
			draw(k, prefix+next, j == len(children[i])-1, false)
		}
	}
	for _, r := range roots {
		draw(r, "", true, true)
	}
	if c.Truncated != "" {
		fmt.Fprintf(w, "(walk cut short: %s)\n", c.Truncated)
	}
}

// layerLine is one layer's line in the tree, without the branch.
func layerLine(l chain.Layer, root bool) string {
	var parts []string
	if !root {
		parts = append(parts, string(l.Via))
	}
	switch {
	case l.Type != "":
		parts = append(parts, l.Type)
	case root || l.Via != chain.ViaText:
		// A layer parsed from text has no type; "text" says so once.
		parts = append(parts, "(text)")
	}
	msg := l.Own
	if msg == "" {
		msg = l.Message
	}
	parts = append(parts, shown(msg))
	if a := attrList(l.Attrs); len(a) > 0 {
		parts = append(parts, "{"+strings.Join(a, " ")+"}")
	}
	return strings.Join(parts, "  ")
}

// shown makes s fit one line of a terminal: capped, and quoted when it
// holds line breaks or other control characters.
func shown(s string) string {
	if r := []rune(s); len(r) > maxShown {
		s = string(r[:maxShown]) + "…"
	}
	if s == "" {
		return `""`
	}
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return strconv.Quote(s)
	}
	return s
}

// attrList lists the attributes that are set, as key=value.
func attrList(a chain.Attrs) []string {
	var s []string
	add := func(k string, v any) { s = append(s, fmt.Sprintf("%s=%v", k, v)) }
	if a.Errno != 0 || a.ErrnoName != "" {
		s = append(s, strings.TrimSpace(fmt.Sprintf("errno=%d %s", a.Errno, a.ErrnoName)))
	}
	for _, kv := range []struct{ k, v string }{
		{"op", a.Op}, {"net", a.Net}, {"addr", a.Addr}, {"source", a.Source}, {"host", a.Host},
	} {
		if kv.v != "" {
			add(kv.k, shown(kv.v))
		}
	}
	for _, kv := range []struct {
		k string
		v bool
	}{{"timeout", a.Timeout}, {"temporary", a.Temporary}, {"not_found", a.NotFound}} {
		if kv.v {
			s = append(s, kv.k)
		}
	}
	if a.H2Code != "" {
		add("h2_code", a.H2Code)
	}
	if a.H2StreamID != 0 {
		add("h2_stream", a.H2StreamID)
	}
	if a.H2LastStreamID != 0 {
		add("h2_last_stream", a.H2LastStreamID)
	}
	if a.H2Debug != "" {
		add("h2_debug", strconv.Quote(a.H2Debug))
	}
	if a.H2Remote {
		s = append(s, "h2_remote")
	}
	if a.HTTPStatus != 0 {
		add("http_status", a.HTTPStatus)
	}
	if a.RetryAfter != 0 {
		add("retry_after", strconv.FormatFloat(a.RetryAfter, 'f', -1, 64)+"s")
	}
	if a.Format != "" {
		add("format", a.Format)
	}
	if a.Offset != 0 {
		add("offset", a.Offset)
	}
	if a.Entry != "" {
		add("entry", shown(a.Entry))
	}
	if a.Kind != "" {
		add("kind", a.Kind)
	}
	for _, k := range slices.Sorted(maps.Keys(a.Extra)) {
		add(k, shown(a.Extra[k]))
	}
	return s
}
