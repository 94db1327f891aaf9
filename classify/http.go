package classify

import (
	"net/http"
	"strings"
)

// statusTransient reports whether an HTTP status is worth another try
// (RFC 9110 §15): a timeout, a rate limit or a server-side failure that
// says nothing about the request itself.
func statusTransient(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusTooEarly, http.StatusTooManyRequests,
		http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable,
		http.StatusGatewayTimeout:
		return true
	}
	return false
}

// statusText finds an HTTP error status in a message: a 4xx or 5xx code
// after "status" or "HTTP", or followed by its reason phrase ("503 Service
// Unavailable"). It reports whether it found one.
func statusText(s string, in *layerInfo) bool {
	for i := 0; i+3 <= len(s); i++ {
		if c := s[i]; (c != '4' && c != '5') || !isStatusAt(s, i) {
			continue
		}
		code := int(s[i]-'0')*100 + int(s[i+1]-'0')*10 + int(s[i+2]-'0')
		before := strings.TrimRight(s[:i], " :=")
		after := s[i+3:]
		reason := http.StatusText(code)
		if hasSuffixFold(before, "status") || hasSuffixFold(before, "status code") ||
			strings.HasSuffix(before, "HTTP") ||
			reason != "" && len(after) > len(reason) && after[0] == ' ' && strings.HasPrefix(after[1:], reason) {
			if in.status == 0 {
				in.status = code
			}
			in.kind, in.transient = HTTPStatus, statusTransient(code)
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
