package chain

import (
	"strings"
	"unicode/utf8"
)

// FromText builds a Chain from an error message alone, with the default
// caps: a Go message "a: b: c", a multi-line errors.Join or go-multierror
// message, a report ("error: …" then "Caused by: …" lines, as anyhow,
// cargo and uv print, or "info: caused by: …" lines, as rustup prints), a
// JVM or Gradle report, a Python traceback, a Node.js error, a JSON, HTML
// or XML error body, or a log in which the error is to be found.
// See the package documentation for the splitting rule. Every layer has
// Type "" and, below the root, Via "text"; the recognisers fill in Attrs
// from the words. Errno numbers are this platform's, recorded in GOOS and
// GOARCH.
func FromText(s string) Chain {
	var w Walker
	return w.FromText(s)
}

// FromText is the package function FromText with w's caps.
func (w *Walker) FromText(s string) Chain {
	c := Chain{Schema: SchemaVersion}
	c.GOOS, c.GOARCH = platform()
	maxMessage := capOr(w.MaxMessage, DefaultMaxMessage)
	tc := parseText(s, textCaps{
		maxLayers:   capOr(w.MaxLayers, DefaultMaxLayers),
		maxDepth:    capOr(w.MaxDepth, DefaultMaxDepth),
		recognisers: w.Recognisers,
	})
	c.Layers, c.Truncated = tc.layers, tc.truncated
	for i := range c.Layers {
		l := &c.Layers[i]
		if len(l.Message) > maxMessage || len(l.Own) > maxMessage {
			l.Message, l.Own = cutUTF8(l.Message, maxMessage), cutUTF8(l.Own, maxMessage)
			if c.Truncated == "" {
				c.Truncated = TruncatedMessage
			}
		}
	}
	return c
}

type textCaps struct {
	maxLayers   int // at least 1 layer is always produced for non-empty text
	maxDepth    int
	recognisers Recognisers // the user's, consulted before the built-ins
}

// textChain is the result of parsing one message: layers in pre-order with
// Parent indices relative to the slice (the root's is -1).
type textChain struct {
	rec        Recognisers
	layers     []Layer
	recognised bool   // some recogniser set an attribute
	truncated  string // the first cap hit
}

func (tc *textChain) truncate(why string) {
	if tc.truncated == "" {
		tc.truncated = why
	}
}

// room reports whether another layer at depth fits under the caps.
func (tc *textChain) room(caps textCaps, depth int) bool {
	switch {
	case len(tc.layers) >= caps.maxLayers:
		tc.truncate(TruncatedLayers)
		return false
	case depth >= caps.maxDepth:
		tc.truncate(TruncatedDepth)
		return false
	}
	return true
}

// add appends a layer whose attributes are recognised from own.
func (tc *textChain) add(msg, own string, parent, depth int, via Via) {
	tc.layers = append(tc.layers, Layer{Message: msg, Own: own, Via: via, Parent: parent, Depth: depth})
	if tc.rec.Recognise(own, &tc.layers[len(tc.layers)-1].Attrs) {
		tc.recognised = true
	}
}

// parseText parses s into layers, choosing the form by its shape.
func parseText(s string, caps textCaps) textChain {
	tc := textChain{rec: caps.recognisers}
	s = strings.TrimSpace(cleanText(s))
	if s == "" || caps.maxLayers <= 0 || caps.maxDepth <= 0 {
		if s != "" {
			tc.truncate(TruncatedLayers)
		}
		return tc
	}
	parseForm(&tc, s, -1, 0, ViaRoot, caps)
	return tc
}

// parseGo appends the layers of one Go message "a: b: c" under parent.
// Layer i's Message is the text from segment i to the end, as Error()
// would print it; its Own is segment i.
func parseGo(tc *textChain, s string, parent, depth int, via Via, caps textCaps) {
	if !tc.room(caps, depth) {
		return
	}
	cuts := splitPoints(s)
	start := 0
	for i := 0; ; i++ {
		own := s[start:]
		last := i >= len(cuts)
		// The last layer the caps allow keeps the rest of the text unsplit.
		if !last && (len(tc.layers)+1 >= caps.maxLayers || depth+1 >= caps.maxDepth) {
			if len(tc.layers)+1 >= caps.maxLayers {
				tc.truncate(TruncatedLayers)
			} else {
				tc.truncate(TruncatedDepth)
			}
			last = true
		}
		if !last {
			own = s[start:cuts[i]]
		}
		tc.add(s[start:], own, parent, depth, via)
		if last {
			return
		}
		parent, depth, via = len(tc.layers)-1, depth+1, ViaText
		start = cuts[i] + sepLen(s[cuts[i]:])
	}
}

// parseLines reads a multi-line message as a list of sibling errors, the
// way errors.Join ("a\nb") and go-multierror ("2 errors occurred:\n\t* a")
// print them: a layer holding the whole text, and each line parsed as a
// Go message below it.
func parseLines(tc *textChain, s string, parent, depth int, via Via, caps textCaps) {
	if !tc.room(caps, depth) {
		return
	}
	// The layer speaks only through its children: its Own is never
	// recognised.
	tc.add(s, "", parent, depth, via)
	at := len(tc.layers) - 1
	lines := strings.Split(s, "\n")
	header := ""
	if isMultierrorHeader(strings.TrimSpace(lines[0])) {
		header, lines = strings.TrimSpace(lines[0]), lines[1:]
	}
	kids := 0
	for _, line := range lines {
		line = strings.TrimSpace(line)
		line = strings.TrimPrefix(line, "* ")
		if line == "" {
			continue
		}
		if kids >= DefaultMaxWidth {
			tc.truncate(TruncatedWidth)
			break
		}
		if !tc.room(caps, depth+1) {
			break
		}
		parseGo(tc, line, at, depth+1, ViaMulti, caps)
		kids++
	}
	switch {
	case kids == 1 && header == "":
		tc.layers[at].Own = ownText(s, tc.layers[at+1].Message)
	case kids == 1 || header != "":
		tc.layers[at].Own = header
	}
}

// isMultierrorHeader recognises go-multierror's "N errors occurred:".
func isMultierrorHeader(s string) bool {
	n, rest, ok := strings.Cut(s, " ")
	if !ok || n == "" || strings.Trim(n, "0123456789") != "" {
		return false
	}
	return rest == "errors occurred:" || rest == "error occurred:"
}

// isReport recognises a report that names its causes: a "Caused by:"
// (anyhow, cargo, uv, Java) anywhere, miette's tree arrows (uv's newer
// output) or other box-drawn cause lines, Gradle's "What went wrong:", a
// Java stack trace, or a line after the first that starts with "caused
// by:" in any case, possibly after "info: " (rustup's older output).
func isReport(s string) bool {
	if strings.Contains(s, "Caused by:") || strings.Contains(s, "╰─▶") || strings.Contains(s, "* What went wrong:") {
		return true
	}
	first, rest, ok := strings.Cut(s, "\n")
	if !ok || first == "" {
		// A cause marker on the first line names no cause of anything.
		return false
	}
	for line := range strings.SplitSeq(rest, "\n") {
		line = strings.TrimSpace(line)
		if _, ok := cutCause(line); ok {
			return true
		}
		if isJavaFrame(line) || isInnerHeader(line) {
			return true
		}
		if _, ok := cutArrow(line); ok {
			return true
		}
	}
	return false
}

// isInnerHeader recognises the line Visual Studio and .NET loggers print
// above an inner exception, which follows on the next line: "Inner
// Exception 1:", "[Inner Exception]", "InnerException:".
func isInnerHeader(line string) bool {
	switch line {
	case "[Inner Exception]", "Inner Exception:", "InnerException:", "Inner exception:":
		return true
	}
	n, ok := strings.CutPrefix(line, "Inner Exception ")
	return ok && strings.HasSuffix(n, ":") && isBareNumber(strings.TrimSuffix(n, ":"))
}

// isDotNetFrame recognises a .NET stack frame: "at Ns.Type.Method(Type
// arg) in /src/File.cs:line 12", or without the source.
func isDotNetFrame(line string) bool {
	rest, ok := strings.CutPrefix(line, "at ")
	if !ok {
		return false
	}
	i := strings.IndexByte(rest, '(')
	if i <= 0 || strings.Contains(rest[:i], " ") || !strings.Contains(rest[:i], ".") {
		return false
	}
	j := strings.LastIndexByte(rest, ')')
	if j < i {
		return false
	}
	tail := rest[j+1:]
	return tail == "" && !strings.Contains(rest[i:], ".js:") && !strings.Contains(rest[i:], "node:") ||
		strings.HasPrefix(tail, " in ") && strings.Contains(tail, ":line ")
}

// isJavaFrame recognises a JVM stack frame, "at pkg.Class.method(File.java:12)",
// and the "... 12 more" that stands for frames already printed.
func isJavaFrame(line string) bool {
	if rest, ok := strings.CutPrefix(line, "... "); ok {
		return strings.HasSuffix(rest, " more") || strings.HasSuffix(rest, " omitted")
	}
	if strings.HasPrefix(line, "--- End of ") && strings.HasSuffix(line, " ---") {
		// .NET: "--- End of inner exception stack trace ---".
		return true
	}
	if isDotNetFrame(line) {
		return true
	}
	rest, ok := strings.CutPrefix(line, "at ")
	if !ok || !strings.HasSuffix(rest, ")") {
		return false
	}
	i := strings.IndexByte(rest, '(')
	if i <= 0 || strings.Contains(rest[:i], " ") {
		return false
	}
	frame := rest[i:]
	return strings.Contains(frame, ".java:") || strings.Contains(frame, ".kt:") || strings.Contains(frame, ".scala:") ||
		frame == "(Native Method)" || frame == "(Unknown Source)" || strings.Contains(frame, ".groovy:")
}

// parseReport reads a report into a linear chain. The root is its first
// line (without "error: "), after any "info:" and "warning:" log lines
// printed before it; each cause is one layer with its text as both
// Message and Own, since a Rust error's Display prints only its own part.
// Causes come as "Caused by: x" lines (in any case, and as rustup's
// "info: caused by: x"), as a "Caused by:" header followed by indented
// lines (numbered "0: x" by anyhow's {:?}, or one per header as cargo
// prints them), as miette's "├─▶ x" arrows, or as the line after .NET's
// "Inner Exception 1:". A cause's continuation
// lines are joined to it with "\n"; "help:", "note:" and "hint:" lines,
// and unindented "info:" and "warning:" lines that name no cause, are
// dropped.
func parseReport(tc *textChain, s string, parent, depth int, via Via, caps textCaps) {
	var (
		texts      []string
		inHeader   bool // after a bare "Caused by:"
		open       bool // the last cause may take continuation lines
		suppressed = -1 // the indentation of a Java "Suppressed:" being skipped
		gradle     bool // "> " marks a cause
		inner      bool // after .NET's "Inner Exception 1:", the next line is a cause
	)
	if _, after, ok := strings.Cut(s, "* What went wrong:"); ok {
		gradle = true
		// Gradle: the failure and its "> " causes, up to the advice.
		s = after
		for _, end := range [...]string{"\n* Try:", "\n* Exception is:", "\n* Get more help", "\nBUILD FAILED"} {
			if i := strings.Index(s, end); i >= 0 {
				s = s[:i]
			}
		}
		s = strings.TrimSpace(s)
	}
	skip := leadingLogLines(s)
	for raw := range strings.SplitSeq(s, "\n") {
		if skip > 0 {
			skip--
			continue
		}
		line := strings.TrimSpace(raw)
		indent := len(raw) - len(strings.TrimLeft(raw, " \t"))
		indented := line != "" && indent > 0
		if suppressed >= 0 {
			if line == "" || indent > suppressed {
				continue
			}
			suppressed = -1
		}
		switch {
		case line == "":
			open = false
			continue
		case isJavaFrame(line):
			// Where, not what: the frames say nothing a retry depends on.
			open = false
			continue
		case strings.HasPrefix(line, "Suppressed: "):
			suppressed, open = indent, false
			continue
		case isInnerHeader(line):
			inner, open = len(texts) > 0, false
			continue
		case inner:
			texts = append(texts, line)
			inner, open = false, true
			continue
		case len(texts) == 0:
			texts = append(texts, stripReportPrefix(line))
			open = true
			continue
		}
		if rest, ok := cutCause(line); ok {
			inHeader = rest == ""
			if !inHeader {
				texts = append(texts, rest)
			}
			open = !inHeader
			continue
		}
		if isNoteLine(line) || !indented && isLogLine(line) {
			open = false
			continue
		}
		if rest, ok := cutArrow(line); ok {
			texts = append(texts, rest)
			inHeader, open = false, true
			continue
		}
		if rest, ok := strings.CutPrefix(line, "> "); ok && gradle {
			texts = append(texts, strings.TrimSpace(rest))
			inHeader, open = false, true
			continue
		}
		if inHeader && indented {
			if rest, ok := cutNumbered(line); ok {
				texts = append(texts, rest)
				open = true
				continue
			}
			if !open {
				texts = append(texts, line)
				open = true
				continue
			}
		}
		if open {
			texts[len(texts)-1] += "\n" + strings.TrimLeft(line, "│ ")
		}
	}
	for i, t := range texts {
		v, p := ViaText, len(tc.layers)-1
		if i == 0 {
			v, p = via, parent
		}
		if !tc.room(caps, depth+i) {
			return
		}
		tc.add(t, t, p, depth+i, v)
	}
}

// leadingLogLines counts the lines before a report's root that a tool
// logged while it worked ("info: downloading component 'rustc'",
// "warning: spurious network error"). It is 0 when no other line comes
// before the first cause: then the first line is the root after all.
func leadingLogLines(s string) int {
	n := 0
	for raw := range strings.SplitSeq(s, "\n") {
		line := strings.TrimSpace(raw)
		switch _, cause := cutCause(line); {
		case line == "" || isLogLine(line) && !cause:
			n++
		case cause, isArrow(line):
			return 0
		default:
			return n
		}
	}
	return 0
}

// isLogLine recognises the progress lines rustup and cargo print around
// a report.
func isLogLine(line string) bool {
	return strings.HasPrefix(line, "info:") || strings.HasPrefix(line, "warning:")
}

// isNoteLine recognises the advice after a report's causes.
func isNoteLine(line string) bool {
	return strings.HasPrefix(line, "help:") || strings.HasPrefix(line, "note:") || strings.HasPrefix(line, "hint:")
}

// cutCause strips a cause marker: "Caused by:" in any case, after an
// optional "info: ". The rest is "" for a bare header.
func cutCause(line string) (string, bool) {
	line = strings.TrimPrefix(line, "info: ")
	const marker = "caused by:"
	if len(line) < len(marker) || !strings.EqualFold(line[:len(marker)], marker) {
		return "", false
	}
	return strings.TrimSpace(line[len(marker):]), true
}

// stripReportPrefix removes the severity that starts a report's first
// line, and the JVM's "Exception in thread "main" ".
func stripReportPrefix(line string) string {
	line = strings.TrimPrefix(line, "Unhandled exception. ") // .NET
	if rest, ok := strings.CutPrefix(line, "Exception in thread \""); ok {
		if _, after, ok := strings.Cut(rest, "\" "); ok {
			return strings.TrimSpace(after)
		}
	}
	for _, p := range []string{"error: ", "Error: ", "ERROR: ", "× ", "x "} {
		if rest, ok := strings.CutPrefix(line, p); ok {
			return strings.TrimSpace(rest)
		}
	}
	return line
}

// isArrow recognises a cause line drawn as a tree.
func isArrow(line string) bool {
	_, ok := cutArrow(line)
	return ok
}

// cutArrow strips the marks that draw causes as a tree: miette's "├─▶"
// and "╰─▶", box-drawing characters with dashes and arrows after them
// ("└─ ", "╰──> "), .NET's "---> " before an inner exception, and a
// "caused by:" after them.
func cutArrow(line string) (string, bool) {
	rest := line
	if r, size := utf8.DecodeRuneInString(rest); r >= 0x2500 && r <= 0x257f {
		rest = rest[size:]
		for rest != "" {
			r, size := utf8.DecodeRuneInString(rest)
			if r >= 0x2500 && r <= 0x257f || r == '▶' || r == '►' || r == '→' || r == '>' || r == '-' {
				rest = rest[size:]
				continue
			}
			break
		}
	} else if after, ok := strings.CutPrefix(rest, "---> "); ok {
		// .NET's inner exception, on a line of its own.
		rest = after
	} else {
		return "", false
	}
	rest = strings.TrimSpace(rest)
	if c, ok := cutCause(rest); ok {
		rest = c
	}
	return rest, rest != ""
}

// cutNumbered strips anyhow's "0: " cause numbering.
func cutNumbered(line string) (string, bool) {
	n, rest, ok := strings.Cut(line, ": ")
	if !ok || n == "" || len(n) > 4 || strings.Trim(n, "0123456789") != "" {
		return "", false
	}
	return strings.TrimSpace(rest), true
}

// splitPoints returns the offsets of the separators that divide a Go
// message into layers: ": ", and the "; " before the cause of an
// http2.StreamError ("stream error: stream ID 1; CANCEL; cause"), except
// its "received from peer" marker. A ": " does not divide
//   - inside "double quotes" or `backquotes` (url.Error quotes its URL),
//     or inside (parentheses), [brackets] or {braces};
//   - after a package prefix that is part of one error's text ("x509: ",
//     "tls: ", "http2: ", "gzip: ", "net/http: ", "exec: ", …), after
//     "stream error" and "connection error" (HTTP/2), or after "lookup
//     host [on server]" (a *net.DNSError prints its cause inline);
//   - before a bare number that ends the text ("returned error: 503",
//     "exit status: 2"): a status or code means nothing as a layer of its
//     own, only with the words before it;
//   - after curl's "URL returned error", whose status may be followed by
//     its reason ("returned error: 404 Not Found", as older curls print);
//   - at the very start or end of the text.
//
// When quotes or brackets do not balance, the text is split again
// ignoring them, so a stray quote cannot hide the rest of a message.
func splitPoints(s string) []int {
	if cuts, ok := scanSplits(s, true); ok {
		return cuts
	}
	cuts, _ := scanSplits(s, false)
	return cuts
}

func scanSplits(s string, nesting bool) (cuts []int, balanced bool) {
	var quote byte
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if nesting && quote != 0 {
			switch {
			case c == '\\' && quote == '"':
				i++
			case c == quote:
				quote = 0
			}
			continue
		}
		switch c {
		case '"', '`':
			if nesting {
				quote = c
			}
		case '(', '[', '{':
			if nesting {
				depth++
			}
		case ')', ']', '}':
			if nesting && depth > 0 {
				depth--
			}
		case ':':
			if depth == 0 && i > start && i+2 < len(s) && s[i+1] == ' ' && !joinsColon(s[start:i]) &&
				!isBareNumber(s[i+2:]) {
				cuts = append(cuts, i)
				start = i + 2
			}
		case ' ':
			// .NET prints an inner exception after " ---> ".
			if depth == 0 && i > start && strings.HasPrefix(s[i:], dotnetInner) && i+len(dotnetInner) < len(s) {
				cuts = append(cuts, i)
				start = i + len(dotnetInner)
				i = start - 1
			}
		case ';':
			// http2.StreamError prints its cause after "; ".
			if depth == 0 && i+2 < len(s) && s[i+1] == ' ' && isStreamErrorHead(s[start:i]) &&
				s[i+2:] != "received from peer" {
				cuts = append(cuts, i)
				start = i + 2
			}
		}
	}
	return cuts, quote == 0 && depth == 0
}

// dotnetInner separates a .NET exception from its inner exception.
const dotnetInner = " ---> "

// sepLen returns the length of the separator at the start of s.
func sepLen(s string) int {
	if strings.HasPrefix(s, dotnetInner) {
		return len(dotnetInner)
	}
	return 2 // ": " or "; "
}

// messagePrefixes are the prefixes Go packages put at the start of their
// own error texts: the ": " after them belongs to the same error.
var messagePrefixes = [...]string{
	"x509", "tls", "crypto/tls", "crypto/x509", "http2", "http", "net/http",
	"gzip", "flate", "zlib", "zstd", "archive/tar", "archive/zip",
	"exec", "stream error", "connection error",
}

// isStreamErrorHead recognises "stream error: stream ID 3; INTERNAL_ERROR",
// the part of an http2.StreamError's text before its cause.
func isStreamErrorHead(seg string) bool {
	head, _, ok := cutStreamError(seg + "; x")
	return ok && head == seg
}

// joinsColon reports whether the ": " after seg belongs to seg's error.
func joinsColon(seg string) bool {
	for _, p := range messagePrefixes {
		if seg == p {
			return true
		}
	}
	if strings.HasSuffix(seg, "URL returned error") {
		return true
	}
	// *net.DNSError: "lookup example.com on 127.0.0.53:53: no such host".
	return strings.HasPrefix(seg, "lookup ") && !strings.Contains(seg, ": ") && !strings.ContainsAny(seg, "\"`")
}

// isBareNumber reports whether s is only decimal digits.
func isBareNumber(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}
