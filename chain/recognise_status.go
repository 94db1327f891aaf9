package chain

import (
	"net/http"
	"strings"
)

// "unexpected status code 503", "HTTP status server error (503 Service
// Unavailable)", "bad response: 429 Too Many Requests": a 4xx or 5xx code
// after "status" or "HTTP", or followed by its reason phrase. The status
// alone names no kind: classify names it, and whether it is transient,
// from the number.
func recogniseStatus(t text, a *Attrs) bool {
	s := t.s
	if a.HTTPStatus != 0 {
		return false
	}
	for i := 0; i+3 <= len(s); i++ {
		if c := s[i]; (c != '4' && c != '5') || !isStatusAt(s, i) {
			continue
		}
		code := int(s[i]-'0')*100 + int(s[i+1]-'0')*10 + int(s[i+2]-'0')
		before := strings.TrimRight(s[:i], " :=(")
		after := s[i+3:]
		reason := http.StatusText(code)
		if hasSuffixFold(before, "status") || hasSuffixFold(before, "status code") ||
			strings.HasSuffix(before, "HTTP") ||
			reason != "" && len(after) > len(reason) && after[0] == ' ' && strings.HasPrefix(after[1:], reason) {
			a.HTTPStatus = code
			return true
		}
	}
	return false
}

// isStatusAt reports whether s holds exactly three digits at i, starting
// with 4 or 5.
func isStatusAt(s string, i int) bool {
	if s[i] != '4' && s[i] != '5' {
		return false
	}
	if i > 0 && isDigit(s[i-1]) || i+3 < len(s) && isDigit(s[i+3]) {
		return false
	}
	return isDigit(s[i+1]) && isDigit(s[i+2])
}

func isDigit(b byte) bool { return '0' <= b && b <= '9' }

// hasSuffixFold is strings.HasSuffix ignoring ASCII case.
func hasSuffixFold(s, suffix string) bool {
	return len(s) >= len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix)
}

// hasPrefixFold is strings.HasPrefix ignoring ASCII case.
func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
