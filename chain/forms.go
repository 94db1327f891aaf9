package chain

import (
	"strconv"
	"strings"
)

// parseForm parses s under parent as whatever form it has: an error
// body (JSON, HTML, XML), a Python traceback, a Node.js error with its
// stack and properties, a report that names its causes (Rust tools, Java
// stack traces, Gradle, box-drawn chains), a list of errors (errors.Join,
// go-multierror), a log in which the error has to be found, or one line
// of Go "a: b: c". Log prefixes are removed from every line first.
func parseForm(tc *textChain, s string, parent, depth int, via Via, caps textCaps) {
	s = strings.TrimSpace(s)
	if s == "" || !tc.room(caps, depth) {
		return
	}
	if looksLikeBody(s) && parseBody(tc, s, parent, depth, via, caps) {
		return
	}
	if !strings.Contains(s, "\n") {
		line := strings.TrimSpace(stripLogPrefix(s))
		if m, ok := logfmtError(line); ok {
			line = m
		}
		if line == "" {
			line = s
		}
		if line != s && looksLikeBody(line) && parseBody(tc, line, parent, depth, via, caps) {
			return
		}
		parseGo(tc, line, parent, depth, via, caps)
		return
	}
	lines, marked, warned := logLines(s)
	parseLinesForm(tc, lines, marked, warned, false, parent, depth, via, caps)
}

// maxErrorLines is how many lines a text may have and still be read as
// one error as a whole; a longer one is a log, whose error block is found
// first (parseLog) and then read by its form.
const maxErrorLines = 40

// parseLinesForm parses lines already freed of their log prefixes;
// marked says which had an error level, warned which a lesser one (nil
// when selected), and selected that they are the block parseLog chose.
func parseLinesForm(tc *textChain, lines []string, marked, warned []bool, selected bool, parent, depth int, via Via, caps textCaps) {
	s := strings.Join(lines, "\n")
	switch {
	case !selected && len(lines) > maxErrorLines && !isMultierrorHeader(strings.TrimSpace(lines[0])):
		parseLog(tc, lines, marked, warned, parent, depth, via, caps)
	case strings.Contains(s, "Traceback (most recent call last):"):
		parsePython(tc, lines, parent, depth, via, caps)
	case isNodeError(lines):
		parseNode(tc, lines, parent, depth, via, caps)
	case isReport(s):
		parseReport(tc, s, parent, depth, via, caps)
	case isErrorList(lines, marked) || selected:
		if selected && !isMultierrorHeader(strings.TrimSpace(lines[0])) {
			// A log's block of error lines wider than a list may be:
			// the last lines are the failure that ended the run, the
			// first ones what it went through before.
			if last := lastLines(lines, DefaultMaxWidth); len(last) < len(lines) {
				tc.truncate(TruncatedWidth)
				s = strings.Join(last, "\n")
			}
		}
		parseLines(tc, s, parent, depth, via, caps)
	default:
		parseLog(tc, lines, marked, warned, parent, depth, via, caps)
	}
}

// logLines splits s into lines without their log prefixes, and reports
// for each whether its prefix gave it an error level (marked), or a
// warning's or lesser one (warned, as do Rust tools' "warning:" and
// "info:", which stay in the line).
func logLines(s string) (lines []string, marked, warned []bool) {
	raw := strings.Split(s, "\n")
	marked, warned = make([]bool, len(raw)), make([]bool, len(raw))
	for i, line := range raw {
		stripped := stripLogPrefix(line)
		warned[i] = isLogLine(strings.TrimSpace(stripped))
		if stripped != line {
			prefix := line[:len(line)-len(stripped)]
			marked[i] = errorLevel(prefix)
			warned[i] = warned[i] || !marked[i] && lesserLevel(prefix)
			if m, ok := logfmtError(stripped); ok {
				stripped = m
			}
			raw[i] = strings.TrimRight(stripped, " \t")
		}
	}
	return raw, marked, warned
}

// lesserLevel reports whether a log prefix says the line is a warning,
// a notice or less.
func lesserLevel(prefix string) bool {
	for _, w := range [...]string{"WARN", "warn", "INFO", "info", "NOTICE", "DEBUG", "TRACE"} {
		if strings.Contains(prefix, w) {
			return true
		}
	}
	return false
}

// errorLevel reports whether a log prefix says the line is an error.
func errorLevel(prefix string) bool {
	for _, w := range [...]string{"ERROR", "ERR", "FATAL", "CRITICAL", "error", "fatal"} {
		if strings.Contains(prefix, w) {
			return true
		}
	}
	return false
}

// isErrorList recognises errors.Join's and go-multierror's output: a
// header "N errors occurred:", or a handful of lines that are every one
// an error.
func isErrorList(lines []string, marked []bool) bool {
	if isMultierrorHeader(strings.TrimSpace(lines[0])) {
		return true
	}
	n := 0
	for i, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		n++
		if n > DefaultMaxWidth || !marked[i] && !looksLikeError(l) {
			return false
		}
	}
	return true
}

// errorWords are words that, in a line of a log, mark an error.
var errorWords = [...]string{"error", "Error", "ERROR", "fatal", "Fatal", "FATAL", "panic:", "Exception", "failed", "Failed",
	"FAILED", "ERR!", "refused", "timed out", "Timeout", "timeout", "unreachable", "unexpected EOF", "reset by peer"}

// looksLikeError reports whether a line reads as an error: it has an
// error word, or the recognisers find a failure in it.
func looksLikeError(line string) bool {
	for _, w := range errorWords {
		if strings.Contains(line, w) {
			return true
		}
	}
	var a Attrs
	Recognise(line, &a)
	return a.Kind != "" || a.ErrnoName != "" || a.HTTPStatus != 0 || a.ErrorCode != ""
}

// isContinuation recognises a line that belongs to the error before it:
// indented (causes, frames, properties), a frame, a cause or chaining
// marker, a box-drawn cause, or a closing bracket.
func isContinuation(line string) bool {
	if line == "" {
		return false
	}
	if line[0] == ' ' || line[0] == '\t' {
		return true
	}
	t := strings.TrimSpace(line)
	if _, ok := cutCause(t); ok || isArrow(t) || isJavaFrame(t) || strings.HasPrefix(t, "at ") {
		return true
	}
	switch strings.Trim(t, "}]);,") {
	case "":
		return true
	}
	return strings.HasPrefix(t, "During handling of the above exception") ||
		strings.HasPrefix(t, "The above exception was the direct cause") ||
		strings.HasPrefix(t, "Traceback (most recent call last)") || strings.HasPrefix(t, "> ")
}

// maxLogBlock bounds the lines of a log's error block that are parsed.
const maxLogBlock = 512

// maxLogCandidates bounds how many blocks of a log parseLog tries, from
// the last, before it settles for the last one.
const maxLogCandidates = 4

// parseLog finds the error in a log — the last run of lines that mark
// an error, with the lines that continue it — and parses that block as a
// text of its own. Tools print the failure that ended them last; the
// warnings and retries before it are history. But when nothing in that
// block is recognised and a block before it is, the earlier one is the
// error and the last is advice about it, as curl prints after "curl:
// (60) SSL certificate problem" ("curl failed to verify the legitimacy of
// the server…"). A log with no error line is read as a list of its last
// lines.
func parseLog(tc *textChain, lines []string, marked, warned []bool, parent, depth int, via Via, caps textCaps) {
	first, firstEnd, ok := logBlock(lines, marked, len(lines))
	if !ok {
		from := max(0, len(lines)-DefaultMaxWidth)
		parseLines(tc, strings.Join(lines[from:], "\n"), parent, depth, via, caps)
		return
	}
	n, recognised, truncated := len(tc.layers), tc.recognised, tc.truncated
	start, end := first, firstEnd
	for range maxLogCandidates {
		if start != first && warned[start] {
			// A warning is history, whatever it names: "warning: spurious
			// network error" before a failure nothing recognises.
			if start, end, ok = logBlock(lines, marked, start); !ok {
				break
			}
			continue
		}
		tc.recognised = false
		parseLogBlock(tc, lines[start:end], marked[start:end], parent, depth, via, caps)
		if tc.recognised {
			tc.recognised = true
			return
		}
		tc.layers, tc.truncated = tc.layers[:n], truncated
		if start, end, ok = logBlock(lines, marked, start); !ok {
			break
		}
	}
	tc.recognised = recognised
	parseLogBlock(tc, lines[first:firstEnd], marked[first:firstEnd], parent, depth, via, caps)
}

// logBlock finds the last error block that ends before line before: its
// first line and the line after its last, without blank lines at either
// end.
func logBlock(lines []string, marked []bool, before int) (start, end int, ok bool) {
	last := -1
	for i := before - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" && (marked[i] || !isContinuation(lines[i]) && looksLikeError(l)) {
			last = i
			break
		}
	}
	if last < 0 {
		return 0, 0, false
	}
	start = last
	for start > 0 {
		prev := lines[start-1]
		p := strings.TrimSpace(prev)
		switch {
		case p == "" && start > 1 && (isContinuation(lines[start]) || marked[start-2] || looksLikeError(strings.TrimSpace(lines[start-2]))):
			// A blank line inside a report: "error: x", "", "Caused by:".
		case p == "":
			goto found
		case marked[start-1] || isContinuation(prev) || looksLikeError(p):
		default:
			goto found
		}
		start--
	}
found:
	end = last + 1
	for end < before && (isContinuation(lines[end]) || marked[end] ||
		strings.TrimSpace(lines[end]) == "" && end+1 < before && isContinuation(lines[end+1])) {
		end++
	}
	if end-start > maxLogBlock {
		start = end - maxLogBlock
	}
	for start < end && strings.TrimSpace(lines[start]) == "" {
		start++
	}
	return start, end, start < end
}

// parseLogBlock parses the error block of a log.
func parseLogBlock(tc *textChain, lines []string, marked []bool, parent, depth int, via Via, caps textCaps) {
	if len(lines) == 1 {
		parseGo(tc, strings.TrimSpace(lines[0]), parent, depth, via, caps)
		return
	}
	parseLinesForm(tc, lines, marked, nil, true, parent, depth, via, caps)
}

// maxMessageLines bounds the lines of one exception's message.
const maxMessageLines = 20

// parsePython reads a Python traceback. Python prints the first cause
// first: each "Traceback (most recent call last):" block ends with its
// exception, and "During handling of the above exception…" or "The above
// exception was the direct cause…" leads to the one raised while handling
// it. So the last exception is the root and the first the deepest cause.
// The frames ("File …, line n, in f", the source line, carets) are
// dropped.
func parsePython(tc *textChain, lines []string, parent, depth int, via Via, caps textCaps) {
	var excs []string
	cur := ""
	inTrace, ended := false, false
	flush := func() {
		if c := strings.TrimSpace(cur); c != "" {
			excs = append(excs, c)
		}
		cur = ""
	}
	for _, raw := range lines {
		line := strings.TrimRight(raw, " \t")
		t := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(t, "Traceback (most recent call last)"):
			flush()
			inTrace, ended = true, false
		case strings.HasPrefix(t, "During handling of the above exception") ||
			strings.HasPrefix(t, "The above exception was the direct cause"):
			flush()
			inTrace, ended = false, false
		case t == "":
			// A blank line ends an exception's message.
			ended = cur != ""
		case inTrace && (line[0] == ' ' || line[0] == '\t'):
			// A frame, its source line or its carets.
		case inTrace || cur != "" && !ended && strings.Count(cur, "\n") < maxMessageLines:
			// The exception ends the block; its message may go on.
			inTrace = false
			if cur != "" {
				cur += "\n"
			}
			cur += t
		}
	}
	flush()
	if len(excs) == 0 {
		parseLines(tc, strings.Join(lines, "\n"), parent, depth, via, caps)
		return
	}
	for i := len(excs) - 1; i >= 0; i-- {
		p, v := len(tc.layers)-1, ViaText
		if i == len(excs)-1 {
			p, v = parent, via
		}
		d := depth + len(excs) - 1 - i
		if !tc.room(caps, d) {
			return
		}
		tc.add(excs[i], excs[i], p, d, v)
	}
}

// isNodeError recognises a Node.js error as node prints it: "Name:
// message", frames "    at f (file.js:1:2)", and the error's own
// properties in braces ("code: 'ECONNRESET'", "[cause]: …").
func isNodeError(lines []string) bool {
	frames := 0
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if isNodeFrame(t) {
			frames++
		}
		if frames > 0 && (strings.HasPrefix(t, "code: '") || strings.HasPrefix(t, "[cause]: ") || strings.HasPrefix(t, "cause: ")) {
			return true
		}
	}
	return frames > 0
}

// isNodeFrame recognises a V8 stack frame: "at f (node:net:1:2)", "at
// node:internal/x:1:2", "at async f (file:///x.mjs:3:4)".
func isNodeFrame(t string) bool {
	rest, ok := strings.CutPrefix(strings.TrimSuffix(t, " {"), "at ")
	if !ok || isJavaFrame(t) {
		return false
	}
	if i := strings.LastIndexByte(rest, '('); i >= 0 && strings.HasSuffix(rest, ")") {
		rest = rest[i+1 : len(rest)-1]
	}
	if rest == "<anonymous>" || rest == "native" {
		return true
	}
	// file:line:column
	j := strings.LastIndexByte(rest, ':')
	if j < 0 || !isBareNumber(rest[j+1:]) {
		return false
	}
	k := strings.LastIndexByte(rest[:j], ':')
	return k >= 0 && isBareNumber(rest[k+1:j])
}

// parseNode reads a Node.js error: the error line (after what node
// prints above it: the source line and a caret), and the error's
// properties. code names an errno (ECONNRESET) or, when it is not one, an
// API code (ENOTFOUND, UND_ERR_SOCKET, ERR_STREAM_PREMATURE_CLOSE);
// syscall is the operation, hostname the host looked up. A "[cause]:" (or
// "cause:") property is the error's cause, read the same way, and the
// errors of an AggregateError are its children.
func parseNode(tc *textChain, lines []string, parent, depth int, via Via, caps textCaps) {
	i := 0
	// The error line is the first line right before a frame.
	for j := 0; j+1 < len(lines); j++ {
		if isNodeFrame(strings.TrimSpace(lines[j+1])) && !isNodeFrame(strings.TrimSpace(lines[j])) && strings.TrimSpace(lines[j]) != "" {
			i = j
			break
		}
	}
	parseNodeError(tc, lines, i, parent, depth, via, caps)
}

// parseNodeError reads the error whose line is lines[i] under parent and
// returns the index of the line after it.
func parseNodeError(tc *textChain, lines []string, i, parent, depth int, via Via, caps textCaps) int {
	head := strings.TrimSpace(lines[i])
	for _, p := range [...]string{"[cause]: ", "cause: "} {
		head = strings.TrimPrefix(head, p)
	}
	head = strings.TrimSuffix(strings.TrimSpace(strings.TrimSuffix(head, "{")), " {")
	if !tc.room(caps, depth) {
		return len(lines)
	}
	tc.add(head, head, parent, depth, via)
	at := len(tc.layers) - 1
	base := indentOf(lines[i])
	j := i + 1
	for ; j < len(lines); j++ {
		line := lines[j]
		t := strings.TrimSpace(line)
		if t == "" {
			continue
		}
		if indentOf(line) <= base && !isNodeFrame(t) {
			if strings.Trim(t, "}]") == "" {
				j++
			}
			break
		}
		switch {
		case isNodeFrame(t):
		case strings.HasPrefix(t, "[cause]: ") || strings.HasPrefix(t, "cause: "):
			j = parseNodeError(tc, lines, j, at, depth+1, ViaText, caps) - 1
		case isNodeErrorLine(t):
			// An element of an AggregateError's [errors].
			j = parseNodeError(tc, lines, j, at, depth+1, ViaMulti, caps) - 1
		default:
			nodeProperty(t, &tc.layers[at].Attrs)
		}
	}
	if !tc.layers[at].Attrs.IsZero() {
		tc.recognised = true
	}
	return j
}

// isNodeErrorLine recognises "Name: message" or "Name [CODE]: message"
// where Name is an error class.
func isNodeErrorLine(t string) bool {
	name, _, ok := strings.Cut(t, ": ")
	if !ok {
		return false
	}
	name, _, _ = strings.Cut(name, " [")
	return strings.HasSuffix(name, "Error") && !strings.ContainsAny(name, " '\"")
}

func indentOf(s string) int { return len(s) - len(strings.TrimLeft(s, " \t")) }

// nodeProperty reads one "key: value," line of a Node.js error's
// properties into a.
func nodeProperty(t string, a *Attrs) {
	key, val, ok := strings.Cut(strings.TrimSuffix(t, ","), ": ")
	if !ok {
		return
	}
	val = strings.Trim(val, "'\"`")
	switch key {
	case "code":
		if e, ok := ErrnoByName(val); ok && a.ErrnoName == "" {
			a.Errno, a.ErrnoName = int(e), val
		} else if a.ErrorCode == "" && val != "" && !strings.Contains(val, " ") {
			a.ErrorCode = val
		}
	case "syscall":
		if a.Op == "" {
			a.Op = val
		}
	case "hostname":
		if a.Host == "" {
			a.Host = val
		}
	case "status", "statusCode":
		if n, err := strconv.Atoi(val); err == nil && n >= 100 && n <= 599 && a.HTTPStatus == 0 {
			a.HTTPStatus = n
		}
	}
}

// lastLines returns lines from the n-th non-blank line before the end.
func lastLines(lines []string, n int) []string {
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.TrimSpace(lines[i]) == "" {
			continue
		}
		if n--; n == 0 {
			return lines[i:]
		}
	}
	return lines
}
