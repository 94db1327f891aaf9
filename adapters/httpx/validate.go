package httpx

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// validator returns the validator a resume may send in If-Range: the
// strong ETag, else Last-Modified when it is a strong validator, that is
// at least a second older than the response's Date (RFC 9110 §13.1.5,
// §8.8.2.2). A weak ETag never qualifies.
func validator(h http.Header) string {
	if etag := h.Get("ETag"); strings.HasPrefix(etag, `"`) && len(etag) >= 2 && strings.HasSuffix(etag, `"`) {
		return etag
	}
	lm := h.Get("Last-Modified")
	if lm == "" {
		return ""
	}
	t, err := http.ParseTime(lm)
	if err != nil {
		return ""
	}
	date, err := http.ParseTime(h.Get("Date"))
	if err != nil || date.Sub(t) < time.Second {
		return ""
	}
	return lm
}

// validatorChanged reports whether h names a validator of the kind v is
// that differs from v. A response without one has not changed as far as
// anyone can tell.
func validatorChanged(v string, h http.Header) bool {
	if v == "" {
		return false
	}
	field := "Last-Modified"
	if strings.HasPrefix(v, `"`) {
		field = "ETag"
	}
	got := h.Get(field)
	return got != "" && got != v
}

// parseContentRange parses a 206's "Content-Range: bytes first-last/complete"
// (RFC 9110 §14.4); total is -1 for "*".
func parseContentRange(v string) (first, last, total int64, ok bool) {
	rest, found := strings.CutPrefix(v, "bytes ")
	if !found {
		return 0, 0, 0, false
	}
	rng, size, found := strings.Cut(rest, "/")
	if !found {
		return 0, 0, 0, false
	}
	a, b, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, 0, false
	}
	first, err1 := strconv.ParseInt(a, 10, 64)
	last, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || first < 0 || last < first {
		return 0, 0, 0, false
	}
	total = -1
	if size != "*" {
		t, err := strconv.ParseInt(size, 10, 64)
		if err != nil || t <= last {
			return 0, 0, 0, false
		}
		total = t
	}
	return first, last, total, true
}

// hasIdempotencyKey reports whether h carries an idempotency key, under
// either of the names net/http also honours.
func hasIdempotencyKey(h http.Header) bool {
	_, ok := h["Idempotency-Key"]
	if !ok {
		_, ok = h["X-Idempotency-Key"]
	}
	return ok
}
