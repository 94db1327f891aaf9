package policy

import (
	"strings"

	"go.yaml.in/yaml/v3"
)

// exprPositions maps every character offset of a scalar's value (and the
// offset just past its end) to its position in the file, so that CEL's
// issues, located in the expression, can be reported in the policy file.
//
// It walks the file's text from where the scalar starts, matching the
// value character by character and following YAML's folding: a plain,
// quoted or ">" scalar turns line breaks and the next line's indentation
// into one space; a "|" scalar keeps the break and drops the block's
// indentation; a blank line turns into a line break. A "|" or ">" node
// points at its indicator, and its text starts on the next line. Where the
// walk cannot match (escape sequences it does not model), the remaining
// offsets keep the last position matched: approximate, never wrong lines
// ahead.
func exprPositions(lines [][]rune, n *yaml.Node, value string) []pos {
	type lc struct{ line, col int } // 0-based
	block := n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0
	cur := lc{n.Line - 1, n.Column - 1}
	indent := -1 // block scalars: the content indentation
	switch {
	case block:
		cur.line++
		for cur.line < len(lines) && isBlank(lines[cur.line]) {
			cur.line++
		}
		if cur.line < len(lines) {
			indent = leadingSpace(lines[cur.line])
		}
		cur.col = max(indent, 0)
	case n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0:
		cur.col++
	}
	nextLine := func() {
		cur.line++
		cur.col = 0
		if cur.line >= len(lines) {
			return
		}
		ws := leadingSpace(lines[cur.line])
		if block {
			cur.col = min(ws, max(indent, 0))
		} else {
			cur.col = ws
		}
	}
	var out []pos
	record := func(p lc) { out = append(out, pos{line: p.line + 1, col: p.col + 1}) }
	lost := false
	for _, r := range value {
		if lost || cur.line >= len(lines) {
			record(cur)
			continue
		}
		for {
			line := lines[cur.line]
			if cur.col < len(line) {
				c := line[cur.col]
				switch {
				case c == r:
					record(cur)
					cur.col++
				case n.Style&yaml.DoubleQuotedStyle != 0 && c == '\\':
					record(cur)
					cur.col += 2
				case n.Style&yaml.SingleQuotedStyle != 0 && c == '\'' && r == '\'':
					record(cur)
					cur.col += 2
				case strings.TrimSpace(string(line[cur.col:])) == "" && !block:
					// Trailing spaces before a fold are not part of the value.
					cur.col = len(line)
					continue
				default:
					lost = true
					record(cur)
				}
				break
			}
			// At the end of a line: a fold or a kept line break.
			if r == ' ' || r == '\n' {
				record(cur)
				nextLine()
				break
			}
			// A blank line already consumed by a fold.
			nextLine()
			if cur.line >= len(lines) {
				record(cur)
				break
			}
		}
	}
	record(cur)
	return out
}

func isBlank(line []rune) bool { return strings.TrimSpace(string(line)) == "" }

func leadingSpace(line []rune) int {
	n := 0
	for n < len(line) && (line[n] == ' ' || line[n] == '\t') {
		n++
	}
	return n
}

// splitLines splits a file into lines of characters.
func splitLines(data []byte) [][]rune {
	parts := strings.Split(string(data), "\n")
	lines := make([][]rune, len(parts))
	for i, p := range parts {
		lines[i] = []rune(strings.TrimSuffix(p, "\r"))
	}
	return lines
}

// exprOffset converts CEL's location (1-based line, 0-based column, both
// in characters of the expression) into a character offset.
func exprOffset(text string, line, col int) int {
	off, l := 0, 1
	for _, r := range text {
		if l == line {
			break
		}
		off++
		if r == '\n' {
			l++
		}
	}
	return off + max(col, 0)
}
