package chain

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// cleanText prepares pasted text for parsing: it drops a byte-order mark,
// turns CRLF and lone CR line ends into LF, removes ANSI escape sequences
// (CI logs are coloured) and every other control character but tab and
// line feed, and replaces invalid UTF-8. Text that needs none of it is
// returned as it is.
func cleanText(s string) string {
	s = strings.TrimPrefix(s, "\ufeff")
	dirty := !utf8.ValidString(s)
	for i := 0; i < len(s) && !dirty; i++ {
		if c := s[i]; c < 0x20 && c != '\n' && c != '\t' || c == 0x7f {
			dirty = true
		}
	}
	if !dirty {
		return s
	}
	s = strings.ToValidUTF8(s, "\ufffd")
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\r':
			if i+1 < len(s) && s[i+1] == '\n' {
				continue
			}
			b.WriteByte('\n')
		case c == 0x1b:
			i = skipEscape(s, i)
		case c < 0x20 && c != '\n' && c != '\t' || c == 0x7f:
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// skipEscape returns the index of the last byte of the ANSI escape
// sequence that starts at s[i] (ESC): a CSI sequence "ESC [ … final", an
// OSC sequence "ESC ] … BEL or ESC \", or a two-byte escape.
func skipEscape(s string, i int) int {
	if i+1 >= len(s) {
		return i
	}
	switch s[i+1] {
	case '[':
		for j := i + 2; j < len(s); j++ {
			if c := s[j]; c >= 0x40 && c <= 0x7e {
				return j
			}
		}
		return len(s) - 1
	case ']':
		for j := i + 2; j < len(s); j++ {
			if s[j] == 0x07 {
				return j
			}
			if s[j] == 0x1b && j+1 < len(s) && s[j+1] == '\\' {
				return j + 1
			}
		}
		return len(s) - 1
	}
	if c := s[i+1]; c >= 0x20 && c < 0x7f {
		return i + 1 // a two-byte escape
	}
	return i
}

// maxPrefixes bounds how many prefixes stripLogPrefix removes from one
// line: a timestamp, a level, a tool name and a thread, at most.
const maxPrefixes = 6

// stripLogPrefix removes what loggers put before a message: timestamps
// (ISO 8601 and RFC 3339, Go's log package, syslog, bare times), klog's
// "E0102 15:04:05.000000 123 file.go:12]", upper-case levels ("ERROR",
// "WARN:", "[ERROR]"), a short bracketed tag ("[npm]", "[main]",
// "[2024-01-02 …]"), npm's "npm ERR!" and "npm error", and the workflow
// commands of GitHub Actions ("##[error]", "::error::"). It keeps what
// error reports use themselves: curl's and cargo's "(28)" and "[28]",
// Python's "[Errno 104]", and the lower-case "error:" and "warning:" of
// Rust tools. It returns s unchanged when there is no prefix.
func stripLogPrefix(s string) string {
	for range maxPrefixes {
		rest, ok := cutLogPrefix(s)
		if !ok {
			return s
		}
		s = rest
	}
	return s
}

// cutLogPrefix removes one prefix from s.
func cutLogPrefix(s string) (string, bool) {
	if n := timestampLen(s); n > 0 {
		return trimOneSpace(s[n:]), true
	}
	if n := klogLen(s); n > 0 {
		return trimOneSpace(s[n:]), true
	}
	for _, p := range [...]string{"npm ERR! ", "npm error ", "npm WARN ", "npm warn ", "##[error]", "##[warning]", "::error::", "::warning::"} {
		if rest, ok := strings.CutPrefix(s, p); ok {
			return rest, true
		}
	}
	if strings.HasPrefix(s, "::error ") || strings.HasPrefix(s, "::warning ") {
		// "::error file=x,line=1::message"
		if _, rest, ok := strings.Cut(s, "::"); ok {
			if _, msg, ok := strings.Cut(rest, "::"); ok {
				return msg, true
			}
		}
	}
	if n := levelLen(s); n > 0 {
		return trimOneSpace(s[n:]), true
	}
	if n := tagLen(s); n > 0 {
		return trimOneSpace(s[n:]), true
	}
	return s, false
}

// trimOneSpace drops one leading space or tab, keeping any indentation
// after it: a report's cause lines are indented under their prefix.
func trimOneSpace(s string) string {
	if s != "" && (s[0] == ' ' || s[0] == '\t') {
		return s[1:]
	}
	return s
}

// levels are the severities loggers print in capitals.
var levels = [...]string{"FATAL", "CRITICAL", "ERROR", "ERR", "WARNING", "WARN", "INFO", "NOTICE", "DEBUG", "TRACE"}

// levelLen returns the length of a level at the start of s: "ERROR",
// "ERROR:", "[ERROR]", "<error>", "level=error" followed by a space or
// the end, or 0.
func levelLen(s string) int {
	open, close := byte(0), byte(0)
	body := s
	if s != "" && (s[0] == '[' || s[0] == '<') {
		open = s[0]
		close = map[byte]byte{'[': ']', '<': '>'}[open]
		body = s[1:]
	}
	for _, l := range levels {
		if len(body) < len(l) || !strings.EqualFold(body[:len(l)], l) {
			continue
		}
		// Bare levels must be in capitals: "Error: x" is Node's and
		// Python's error text, and "error: x" a Rust tool's report.
		if open == 0 && body[:len(l)] != l {
			continue
		}
		n := len(l)
		if open != 0 {
			if n >= len(body) || body[n] != close {
				continue
			}
			n++
		} else if n < len(body) && body[n] == ':' {
			n++
		}
		if n < len(body) && body[n] != ' ' && body[n] != '\t' {
			continue
		}
		if open == 0 && n+1 < len(body) && isDigit(body[n+1]) {
			// wget's "ERROR 503: Service Unavailable." is its report of a
			// status, not a level.
			continue
		}
		if open != 0 {
			n++
		}
		return n
	}
	if rest, ok := strings.CutPrefix(s, "level="); ok {
		v, _, _ := strings.Cut(rest, " ")
		return len("level=") + len(v)
	}
	return 0
}

// tagLen returns the length of a short bracketed tag at the start of s,
// "[npm] ", "[main] ", "[2024-01-02T03:04:05Z] ", or 0. Brackets that
// hold a number ("[28]", a curl code as cargo prints it) or start an
// error's own text ("[Errno 104]", "[WinError 10054]", "[SSL: …]") are
// not tags, nor is .NET's "[Inner Exception]" header.
func tagLen(s string) int {
	if s == "" || s[0] != '[' {
		return 0
	}
	end := strings.IndexByte(s, ']')
	if end < 2 || end > 48 || end+1 < len(s) && s[end+1] != ' ' && s[end+1] != ':' {
		return 0
	}
	inner := s[1:end]
	if isBareNumber(inner) || strings.HasPrefix(inner, "Errno") || strings.HasPrefix(inner, "WinError") ||
		strings.HasPrefix(inner, "SSL") || inner == "Inner Exception" || strings.ContainsAny(inner, "[\n") {
		return 0
	}
	n := end + 1
	if n < len(s) && s[n] == ':' {
		n++
	}
	return n
}

// timestampLen returns the length of a timestamp at the start of s, with
// the brackets around it if any, or 0: "2024-01-02T03:04:05.678Z",
// "2024-01-02 03:04:05,678", "2024/01/02 03:04:05", "03:04:05.678",
// "Jan  2 03:04:05 host prog[123]:".
func timestampLen(s string) int {
	if s != "" && s[0] == '[' {
		if n := timestampLen(s[1:]); n > 0 && n+1 < len(s) && s[n+1] == ']' {
			return n + 2
		}
		return 0
	}
	n := 0
	switch {
	case digitsAt(s, 0, 4) && len(s) > 10 && (s[4] == '-' || s[4] == '/') && digitsAt(s, 5, 2) && s[7] == s[4] && digitsAt(s, 8, 2):
		n = 10
		if n < len(s) && (s[n] == 'T' || s[n] == ' ') {
			if m := clockLen(s[n+1:]); m > 0 {
				n += 1 + m
				n += zoneLen(s[n:])
			}
		}
	case len(s) > 15 && isMonth(s[:3]) && s[3] == ' ' && (s[4] == ' ' || isDigit(s[4])) && isDigit(s[5]) && s[6] == ' ':
		m := clockLen(s[7:])
		if m == 0 {
			return 0
		}
		n = 7 + m
		// syslog: "host prog[pid]: "
		rest := s[n:]
		if host, after, ok := strings.Cut(strings.TrimPrefix(rest, " "), " "); ok && host != "" && !strings.ContainsAny(host, ":[") {
			if prog, _, ok := strings.Cut(after, ": "); ok && prog != "" && !strings.Contains(prog, " ") {
				n += len(rest) - len(after) + len(prog) + 1
			}
		}
	default:
		n = clockLen(s)
		if n == 0 {
			return 0
		}
		n += zoneLen(s[n:])
	}
	return n
}

// clockLen returns the length of "15:04:05", "15:04:05.000" or "15:04" at
// the start of s, or 0.
func clockLen(s string) int {
	if !digitsAt(s, 0, 2) || len(s) < 5 || s[2] != ':' || !digitsAt(s, 3, 2) {
		return 0
	}
	n := 5
	if len(s) >= 8 && s[5] == ':' && digitsAt(s, 6, 2) {
		n = 8
		if n+1 < len(s) && (s[n] == '.' || s[n] == ',') && isDigit(s[n+1]) {
			n++
			for n < len(s) && isDigit(s[n]) {
				n++
			}
		}
	}
	if n < len(s) && isDigit(s[n]) {
		return 0
	}
	return n
}

// zoneLen returns the length of a time zone after a clock: "Z", "+02:00",
// "-0700", " UTC", or 0.
func zoneLen(s string) int {
	switch {
	case strings.HasPrefix(s, "Z"):
		return 1
	case strings.HasPrefix(s, " UTC"):
		return 4
	case len(s) >= 5 && (s[0] == '+' || s[0] == '-') && digitsAt(s, 1, 2):
		if s[3] == ':' && len(s) >= 6 && digitsAt(s, 4, 2) {
			return 6
		}
		if digitsAt(s, 3, 2) {
			return 5
		}
	}
	return 0
}

// klogLen returns the length of a klog header, "E0102 15:04:05.000000
// 12345 file.go:67]", or 0.
func klogLen(s string) int {
	if len(s) < 22 || !strings.ContainsRune("IWEF", rune(s[0])) || !digitsAt(s, 1, 4) || s[5] != ' ' {
		return 0
	}
	m := clockLen(s[6:])
	if m == 0 {
		return 0
	}
	end := strings.Index(s, "] ")
	if end < 0 || end > 80 {
		return 0
	}
	return end + 1
}

func isMonth(s string) bool {
	switch s {
	case "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec":
		return true
	}
	return false
}

// digitsAt reports whether s holds n decimal digits at i.
func digitsAt(s string, i, n int) bool {
	if i+n > len(s) {
		return false
	}
	for j := i; j < i+n; j++ {
		if !isDigit(s[j]) {
			return false
		}
	}
	return true
}

// logfmtError reads a logfmt line — `time=… level=error msg="download
// failed" err="read tcp …: connection reset by peer"` — into the message
// it carries, "download failed: read tcp …", and reports whether s was
// one. Quoted values are unquoted as Go quotes them.
func logfmtError(s string) (string, bool) {
	if !strings.Contains(s, "=") || !(strings.Contains(s, "msg=") || strings.Contains(s, "err=") || strings.Contains(s, "error=")) {
		return "", false
	}
	var msg, errText string
	pairs := 0
	for rest := strings.TrimSpace(s); rest != ""; rest = strings.TrimLeft(rest, " ") {
		key, after, ok := strings.Cut(rest, "=")
		if !ok || key == "" || strings.ContainsAny(key, " \"") {
			return "", false
		}
		var val string
		val, rest, ok = logfmtValue(after)
		if !ok {
			return "", false
		}
		pairs++
		switch key {
		case "msg", "message":
			msg = val
		case "err", "error":
			errText = val
		}
	}
	if pairs < 2 || msg == "" && errText == "" {
		return "", false
	}
	switch {
	case msg == "":
		return errText, true
	case errText == "":
		return msg, true
	}
	return msg + ": " + errText, true
}

// logfmtValue reads one value, quoted or bare, and returns it with the
// rest of the line.
func logfmtValue(s string) (val, rest string, ok bool) {
	if s == "" || s[0] != '"' {
		v, r, _ := strings.Cut(s, " ")
		return v, r, true
	}
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			v, err := strconv.Unquote(s[:i+1])
			if err != nil {
				return "", "", false
			}
			return v, s[i+1:], true
		}
	}
	return "", "", false
}
