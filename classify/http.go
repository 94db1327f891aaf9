package classify

import "net/http"

// statusTransient reports whether an HTTP status is worth another try
// (RFC 9110 §15): a timeout, a rate limit or a server-side failure that
// says nothing about the request itself. An unregistered status counts as
// the x00 of its class: 520 as 500, 499 as 400.
func statusTransient(code int) bool {
	switch EquivalentStatus(code) {
	case http.StatusRequestTimeout, http.StatusTooEarly, http.StatusTooManyRequests,
		http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable,
		http.StatusGatewayTimeout:
		return true
	}
	return false
}
