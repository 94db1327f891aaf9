package httpx

import (
	"net/http"
	"strings"
	"time"
)

// RetryAfterCeiling is the longest delay ParseRetryAfter returns: a
// Retry-After beyond it, however many digits it has, is read as this
// ceiling (2^32 seconds, some 136 years), far above any policy's
// max_retry_after, so that the policy fails the operation as it would for
// any wait that is too long. A number too large for an integer is still a
// server asking to wait, not a malformed value to ignore.
const RetryAfterCeiling = (1 << 32) * time.Second

// ParseRetryAfter parses a Retry-After value (RFC 9110 §10.2.3): a number
// of seconds, or an HTTP-date taken relative to now. A date in the past
// gives 0; a delay beyond RetryAfterCeiling, RetryAfterCeiling. ok is
// false for an empty or malformed value.
func ParseRetryAfter(v string, now time.Time) (d time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if v[0] >= '0' && v[0] <= '9' {
		// delay-seconds = 1*DIGIT: accumulate, saturating at the ceiling
		// instead of overflowing.
		const ceiling = uint64(RetryAfterCeiling / time.Second)
		var n uint64
		for i := 0; i < len(v); i++ {
			c := v[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			if n <= ceiling {
				n = n*10 + uint64(c-'0')
			}
		}
		return time.Duration(min(n, ceiling)) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return min(max(t.Sub(now), 0), RetryAfterCeiling), true
}
