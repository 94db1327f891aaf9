package httpx

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"0", 0, true},
		{"120", 2 * time.Minute, true},
		{" 3 ", 3 * time.Second, true},
		{"Tue, 04 Mar 2025 05:06:17 GMT", 10 * time.Second, true},
		{"Tuesday, 04-Mar-25 05:06:17 GMT", 10 * time.Second, true}, // RFC 850, obsolete but allowed
		{"Tue Mar  4 05:06:17 2025", 10 * time.Second, true},        // asctime
		{"Tue, 04 Mar 2025 05:00:00 GMT", 0, true},                  // in the past
		// Too long to wait, however long: the ceiling, which every
		// max_retry_after refuses (it used to be ignored as malformed).
		{"4294967296", RetryAfterCeiling, true},
		{"99999999999999999999", RetryAfterCeiling, true},
		{"100000000000000000000000", RetryAfterCeiling, true},
		{"1" + strings.Repeat("0", 1000), RetryAfterCeiling, true},
		{"4294967295", RetryAfterCeiling - time.Second, true},
		{"Fri, 31 Dec 9999 23:59:59 GMT", RetryAfterCeiling, true},
		{"12a", 0, false},
		{"-1", 0, false},
		{"1.5", 0, false},
		{"soon", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		got, ok := ParseRetryAfter(tt.in, now)
		assert.Equal(t, tt.ok, ok, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"120", "0", "Tue, 04 Mar 2025 05:06:17 GMT", "Tuesday, 04-Mar-25 05:06:17 GMT", "x", "18446744073709551615"} {
		f.Add(s)
	}
	now := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		d, ok := ParseRetryAfter(v, now)
		if d < 0 || d > RetryAfterCeiling || !ok && d != 0 {
			t.Fatalf("ParseRetryAfter(%q) = %v, %v", v, d, ok)
		}
	})
}

func TestParseContentRange(t *testing.T) {
	tests := []struct {
		in                 string
		first, last, total int64
		ok                 bool
	}{
		{"bytes 0-9/10", 0, 9, 10, true},
		{"bytes 100-199/1000", 100, 199, 1000, true},
		{"bytes 5-9/*", 5, 9, -1, true},
		{"bytes */10", 0, 0, 0, false},
		{"bytes 9-5/10", 0, 0, 0, false},
		{"bytes 0-10/10", 0, 0, 0, false}, // last must be inside the total
		{"bytes -1-5/10", 0, 0, 0, false},
		{"items 0-9/10", 0, 0, 0, false},
		{"bytes 0-9", 0, 0, 0, false},
		{"", 0, 0, 0, false},
	}
	for _, tt := range tests {
		first, last, total, ok := parseContentRange(tt.in)
		assert.Equal(t, []any{tt.first, tt.last, tt.total, tt.ok}, []any{first, last, total, ok}, tt.in)
	}
}

func FuzzParseContentRange(f *testing.F) {
	for _, s := range []string{"bytes 0-9/10", "bytes 5-9/*", "bytes */10", "bytes 98304-196607/196608"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		first, last, total, ok := parseContentRange(v)
		if !ok {
			return
		}
		if first < 0 || last < first || total >= 0 && total <= last {
			t.Fatalf("parseContentRange(%q) = %d, %d, %d: not a range inside the representation", v, first, last, total)
		}
		if !strings.HasPrefix(v, "bytes ") {
			t.Fatalf("accepted %q", v)
		}
	})
}

func TestValidator(t *testing.T) {
	date := "Wed, 05 Mar 2025 00:00:00 GMT"
	tests := []struct {
		name string
		h    http.Header
		want string
	}{
		{"strong etag", http.Header{"Etag": {`"abc"`}, "Last-Modified": {"Tue, 04 Mar 2025 00:00:00 GMT"}}, `"abc"`},
		{"weak etag falls back to date", http.Header{"Etag": {`W/"abc"`}, "Last-Modified": {"Tue, 04 Mar 2025 00:00:00 GMT"}, "Date": {date}}, "Tue, 04 Mar 2025 00:00:00 GMT"},
		{"date too recent to be strong", http.Header{"Last-Modified": {date}, "Date": {date}}, ""},
		{"date without Date", http.Header{"Last-Modified": {date}}, ""},
		{"nothing", http.Header{}, ""},
		{"malformed etag", http.Header{"Etag": {`abc`}}, ""},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, validator(tt.h), tt.name)
	}
	assert.True(t, validatorChanged(`"a"`, http.Header{"Etag": {`"b"`}}))
	assert.False(t, validatorChanged(`"a"`, http.Header{"Etag": {`"a"`}}))
	assert.False(t, validatorChanged(`"a"`, http.Header{}), "no validator: nothing says it changed")
	assert.True(t, validatorChanged(date, http.Header{"Last-Modified": {"Thu, 06 Mar 2025 00:00:00 GMT"}}))
}

func TestIdempotencyKey(t *testing.T) {
	assert.False(t, hasIdempotencyKey(http.Header{}))
	assert.True(t, hasIdempotencyKey(http.Header{"Idempotency-Key": {"k"}}))
	assert.True(t, hasIdempotencyKey(http.Header{"X-Idempotency-Key": {"k"}}))
}
