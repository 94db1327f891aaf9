package classify

import "net/http"

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
