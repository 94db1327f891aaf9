package chain

import (
	"encoding/json"
	"html"
	"strconv"
	"strings"
	"time"
)

// A body is what an error response's JSON, HTML or XML said: the facts it
// names in fields (status, code, wait) and the message it gives.
type body struct {
	status  int
	code    string // an API's error code
	grpc    string // a gRPC code name
	wait    float64
	message string
}

// maxBodyDepth bounds how deep parseJSON looks into nested error objects.
const maxBodyDepth = 8

// parseBody reads s as an error body — a JSON error object, an HTML error
// page or an XML error document — and reports whether it was one. The
// layer for the body holds its facts in Attrs and no Own text; the
// message it gives, when there is one, is parsed as a child.
func parseBody(tc *textChain, s string, parent, depth int, via Via, caps textCaps) bool {
	var b body
	var ok bool
	switch s[0] {
	case '{', '[':
		b, ok = readJSONBody(s)
	case '<':
		b, ok = readMarkupBody(s)
	}
	if !ok || !tc.room(caps, depth) {
		return false
	}
	tc.layers = append(tc.layers, Layer{Message: s, Via: via, Parent: parent, Depth: depth})
	idx := len(tc.layers) - 1
	a := &tc.layers[idx].Attrs
	a.HTTPStatus, a.ErrorCode, a.GRPCCode, a.RetryAfter = b.status, b.code, b.grpc, b.wait
	if !a.IsZero() {
		tc.recognised = true
	}
	msg := strings.TrimSpace(b.message)
	if msg == "" || msg == s {
		tc.layers[idx].Own = s
		if tc.rec.Recognise(s, a) {
			tc.recognised = true
		}
		return true
	}
	parseForm(tc, msg, idx, depth+1, ViaText, caps)
	return true
}

// readJSONBody reads a JSON error object: the first of "error",
// "errors" (its first element), "Error" or the object itself that carries
// an error's fields.
func readJSONBody(s string) (body, bool) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return body{}, false
	}
	if _, err := dec.Token(); err == nil {
		return body{}, false // more than one value: not a body
	}
	var b body
	if !jsonFields(v, &b, 0) {
		return body{}, false
	}
	return b, true
}

// jsonFields gathers the error fields of v into b, descending into nested
// error objects, and reports whether it found any.
func jsonFields(v any, b *body, depth int) bool {
	if depth > maxBodyDepth {
		return false
	}
	switch v := v.(type) {
	case []any:
		for _, e := range v {
			if jsonFields(e, b, depth+1) {
				return true
			}
		}
		return false
	case map[string]any:
		found := false
		for _, k := range [...]string{"error", "errors", "Error", "err", "fault"} {
			if e, ok := v[k]; ok {
				switch e.(type) {
				case map[string]any, []any:
					found = jsonFields(e, b, depth+1) || found
				}
			}
		}
		for k, e := range v {
			found = jsonField(k, e, b, depth) || found
		}
		return found
	}
	return false
}

// jsonField reads one field of an error object.
func jsonField(key string, v any, b *body, depth int) bool {
	switch strings.ToLower(strings.ReplaceAll(key, "_", "")) {
	case "status", "statuscode", "httpstatus", "httpstatuscode", "code", "errorcode", "type", "reason":
		switch v := v.(type) {
		case json.Number:
			if n, err := v.Int64(); err == nil && n >= 100 && n <= 599 && b.status == 0 {
				b.status = int(n)
				return true
			}
		case string:
			v = strings.TrimSpace(v)
			if n, err := strconv.Atoi(v); err == nil && n >= 100 && n <= 599 {
				if b.status == 0 {
					b.status = n
				}
				return true
			}
			if i := strings.LastIndexByte(v, '#'); i >= 0 && key == "__type" {
				v = v[i+1:] // AWS: "com.amazon.coral.service#ThrottlingException"
			}
			if v == "" || len(v) > 128 || strings.Contains(v, " ") {
				return false
			}
			if isGRPCCodeName(v) {
				if b.grpc == "" {
					b.grpc = v
				}
				return true
			}
			if b.code == "" {
				b.code = v
			}
			return true
		}
	case "message", "msg", "errormessage", "errordescription", "detail", "details", "description", "title", "error":
		if s, ok := v.(string); ok && strings.TrimSpace(s) != "" {
			if b.message == "" {
				b.message = s
			} else if !strings.Contains(b.message, s) && len(b.message)+len(s) < 2048 {
				b.message += ": " + s
			}
			return true
		}
		if d, ok := v.([]any); ok {
			for _, e := range d {
				if m, ok := e.(map[string]any); ok && jsonDetail(m, b, depth+1) {
					return true
				}
			}
		}
	case "retryafter", "retryafterseconds", "retryin", "retrydelay", "wait":
		return jsonWait(v, b)
	}
	if key == "__type" {
		return jsonField("code", v, b, depth)
	}
	return false
}

// jsonDetail reads an entry of Google's "details": a RetryInfo's
// retryDelay, an ErrorInfo's reason.
func jsonDetail(m map[string]any, b *body, depth int) bool {
	if depth > maxBodyDepth {
		return false
	}
	found := false
	if d, ok := m["retryDelay"]; ok {
		found = jsonWait(d, b) || found
	}
	if r, ok := m["reason"].(string); ok && b.code == "" && r != "" && !strings.Contains(r, " ") {
		b.code = r
		found = true
	}
	return found
}

// jsonWait reads a wait: seconds as a number, or a duration string ("30s",
// "1.5s", Google's Duration form).
func jsonWait(v any, b *body) bool {
	var secs float64
	switch v := v.(type) {
	case json.Number:
		f, err := v.Float64()
		if err != nil {
			return false
		}
		secs = f
	case string:
		d, ok := parseWait(v)
		if !ok {
			return false
		}
		secs = d.Seconds()
	default:
		return false
	}
	if secs <= 0 {
		return false
	}
	if b.wait == 0 {
		b.wait = secs
	}
	return true
}

// parseWait reads a wait written as a Go duration ("30s", "1m30s"), a
// bare number of seconds, or a number and a unit in words ("30 seconds",
// "2 minutes", "1500 ms").
func parseWait(s string) (time.Duration, bool) {
	s = strings.TrimSpace(s)
	if d, err := time.ParseDuration(s); err == nil {
		return d, d > 0
	}
	num, unit, _ := strings.Cut(s, " ")
	if unit == "" {
		i := len(num)
		for i > 0 && !isDigit(num[i-1]) {
			i--
		}
		num, unit = num[:i], num[i:]
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f <= 0 || f > 1e9 {
		return 0, false
	}
	scale := time.Second
	switch strings.TrimSuffix(strings.ToLower(strings.TrimSpace(unit)), ".") {
	case "", "s", "sec", "secs", "second", "seconds":
	case "ms", "millisecond", "milliseconds":
		scale = time.Millisecond
	case "m", "min", "mins", "minute", "minutes":
		scale = time.Minute
	case "h", "hr", "hour", "hours":
		scale = time.Hour
	default:
		return 0, false
	}
	return time.Duration(f * float64(scale)), true
}

// grpcCodeNames are the canonical names of gRPC's status codes, by number.
var grpcCodeNames = [...]string{"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
	"ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
	"UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"}

// GRPCCodeByName returns the number of the gRPC code named name
// ("UNAVAILABLE": 14), or -1.
func GRPCCodeByName(name string) int {
	for i, n := range grpcCodeNames {
		if n == name {
			return i
		}
	}
	return -1
}

// isGRPCCodeName reports whether s is a gRPC code's canonical name, other
// than OK.
func isGRPCCodeName(s string) bool {
	for _, n := range grpcCodeNames[1:] {
		if s == n {
			return true
		}
	}
	return false
}

// GRPCCodeName returns the canonical name of gRPC status code c
// ("UNAVAILABLE" for 14), or "" for a code gRPC does not define.
func GRPCCodeName(c uint64) string {
	if c < uint64(len(grpcCodeNames)) {
		return grpcCodeNames[c]
	}
	return ""
}

// maxMarkup bounds how much of an HTML or XML body is searched.
const maxMarkup = 64 << 10

// readMarkupBody reads an HTML error page (its title and first heading, a
// status in them) or an XML error document (S3's and Azure's <Code> and
// <Message>).
func readMarkupBody(s string) (body, bool) {
	if len(s) > maxMarkup {
		s = cutUTF8(s, maxMarkup)
	}
	lower := strings.ToLower(s)
	var b body
	switch {
	case strings.HasPrefix(lower, "<?xml") || strings.Contains(lower, "<error>") || strings.Contains(lower, "<errorresponse"):
		b.code = strings.TrimSpace(element(s, lower, "code"))
		b.message = strings.TrimSpace(html.UnescapeString(element(s, lower, "message")))
		if b.code == "" && b.message == "" {
			return body{}, false
		}
		if n, err := strconv.Atoi(b.code); err == nil && n >= 100 && n <= 599 {
			b.status, b.code = n, ""
		}
		if b.code != "" && b.message != "" {
			b.message = b.code + ": " + b.message
		}
		return b, true
	case strings.HasPrefix(lower, "<!doctype html") || strings.HasPrefix(lower, "<html") ||
		strings.Contains(lower, "<title>") || strings.Contains(lower, "<h1"):
		title := collapse(html.UnescapeString(stripTags(element(s, lower, "title"))))
		h1 := collapse(html.UnescapeString(stripTags(element(s, lower, "h1"))))
		b.message = title
		if h1 != "" && !strings.Contains(title, h1) {
			if b.message != "" {
				b.message += ": "
			}
			b.message += h1
		}
		if b.message == "" {
			return body{}, false
		}
		b.status = pageStatus(title)
		if b.status == 0 {
			b.status = pageStatus(h1)
		}
		return b, true
	}
	return body{}, false
}

// element returns the text inside the first <name …>…</name> of s
// (lower is s in lower case), or "".
func element(s, lower, name string) string {
	start := strings.Index(lower, "<"+name)
	for start >= 0 {
		after := start + 1 + len(name)
		if after < len(lower) && (lower[after] == '>' || lower[after] == ' ') {
			break
		}
		next := strings.Index(lower[after:], "<"+name)
		if next < 0 {
			return ""
		}
		start = after + next
	}
	if start < 0 {
		return ""
	}
	open := strings.IndexByte(lower[start:], '>')
	if open < 0 {
		return ""
	}
	from := start + open + 1
	end := strings.Index(lower[from:], "</"+name)
	if end < 0 {
		return ""
	}
	return s[from : from+end]
}

// stripTags removes the markup from a fragment.
func stripTags(s string) string {
	if !strings.Contains(s, "<") {
		return s
	}
	var b strings.Builder
	in := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '<':
			in = true
		case c == '>':
			in = false
			b.WriteByte(' ')
		case !in:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// collapse turns runs of white space into single spaces.
func collapse(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// pageStatus finds the status an error page's title or heading names:
// "503 Service Temporarily Unavailable", "Error 522", "example.com | 522:
// Connection timed out", "Error code 520".
func pageStatus(s string) int {
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '|' || r == ':' || r == '(' || r == ')' }) {
		if len(f) == 3 && (f[0] == '4' || f[0] == '5') && isDigit(f[1]) && isDigit(f[2]) {
			n, _ := strconv.Atoi(f)
			return n
		}
	}
	return 0
}

// looksLikeBody reports whether s may be a JSON, HTML or XML error body,
// cheaply: parseBody decides.
func looksLikeBody(s string) bool {
	switch s[0] {
	case '{', '[':
		return s[len(s)-1] == '}' || s[len(s)-1] == ']'
	case '<':
		return strings.IndexByte(s[:min(len(s), 256)], '>') > 0
	}
	return false
}
