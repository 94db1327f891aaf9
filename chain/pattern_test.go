package chain_test

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faultline-go/faultline/chain"
)

func ptr[T any](v T) *T { return &v }

func TestPatterns(t *testing.T) {
	ps, err := chain.CompilePatterns([]chain.Pattern{
		{Name: "npm-timeout", Regexp: `\bESOCKETTIMEDOUT\b`, Set: chain.Attrs{Kind: "timeout", Timeout: true}},
		{Name: "rate-limit", Regexp: `(?i)rate limit(?:ed| exceeded)?.*?(?:try again|retry) (?:in|after) (?P<wait>\d+(?:\.\d+)?\s*(?:ms|s|seconds?|m|minutes?)?)`,
			Set: chain.Attrs{Kind: "rate_limited", Transient: ptr(true)}},
		{Name: "python-status", Regexp: `(?P<status>[45]\d\d) (?:Client|Server) Error`},
		{Name: "winerror", Regexp: `\[WinError 10054\]`, Set: chain.Attrs{ErrnoName: "ECONNRESET"}},
		{Name: "aws-code", Regexp: `api error (?P<code>[A-Za-z]+):`},
		{Name: "grpc", Regexp: `code = (?P<grpc>[A-Za-z]+) desc`},
		{Name: "func", Match: func(s string, a *chain.Attrs) bool { return a.Kind == "" && strings.HasSuffix(s, "!!") },
			Set: chain.Attrs{Kind: "unknown_but_loud"}},
	})
	require.NoError(t, err)
	tests := []struct {
		in   string
		want chain.Attrs
		ok   bool
	}{
		{"npm ERR! code ESOCKETTIMEDOUT", chain.Attrs{Kind: "timeout", Timeout: true}, true},
		{"Rate limit exceeded. Please try again in 20s.", chain.Attrs{Kind: "rate_limited", Transient: ptr(true), RetryAfter: 20}, true},
		{"RATE LIMITED: retry after 2 minutes", chain.Attrs{Kind: "rate_limited", Transient: ptr(true), RetryAfter: 120}, true},
		{"503 Server Error: Service Unavailable for url: https://x", chain.Attrs{HTTPStatus: 503}, true},
		{"ConnectionResetError: [WinError 10054] An existing connection was forcibly closed by the remote host",
			chain.Attrs{ErrnoName: "ECONNRESET"}, true},
		{"operation error S3: GetObject, https response error StatusCode: 503, api error SlowDown: Please reduce your request rate.",
			chain.Attrs{ErrorCode: "SlowDown"}, true},
		{"rpc error: code = Unavailable desc = connection refused", chain.Attrs{GRPCCode: "UNAVAILABLE"}, true},
		{"boom!!", chain.Attrs{Kind: "unknown_but_loud"}, true},
		{"esockettimedout", chain.Attrs{}, false},
		{"nothing here", chain.Attrs{}, false},
	}
	for _, tt := range tests {
		var a chain.Attrs
		got := ps.Recognise(tt.in, &a)
		assert.Equal(t, tt.ok, got, "%q", tt.in)
		a.Errno = 0
		assert.Equal(t, tt.want, a, "%q", tt.in)
	}

	// A match only adds, and the first kind decides.
	a := chain.Attrs{Kind: "connection_reset", HTTPStatus: 429}
	require.True(t, ps.Recognise("rate limited, try again in 5s; 503 Server Error", &a))
	assert.Equal(t, "connection_reset", a.Kind)
	assert.Nil(t, a.Transient, "the hint goes with the kind, which was not taken")
	assert.Equal(t, 429, a.HTTPStatus)
	assert.Equal(t, 5.0, a.RetryAfter)
}

func TestPatternErrors(t *testing.T) {
	_, err := chain.CompilePatterns([]chain.Pattern{
		{Name: "ok", Regexp: `x`},
		{Name: "bad-syntax", Regexp: `(unclosed`},
		{Name: "bad-group", Regexp: `(?P<sttaus>\d+)`},
		{Name: "nothing", Set: chain.Attrs{Kind: "x"}},
		{Name: "bad-errno", Regexp: `x`, Set: chain.Attrs{ErrnoName: "ENOPE"}},
		{Name: "bad-grpc", Regexp: `x`, Set: chain.Attrs{GRPCCode: "MAYBE"}},
		{Name: "lone-transient", Regexp: `x`, Set: chain.Attrs{Transient: ptr(true)}},
		{Name: "too-long", Regexp: strings.Repeat("a", chain.MaxPatternLen+1)},
		{Name: "too-big", Regexp: `[a-z]{1000}[0-9]{1000}`},
	})
	require.Error(t, err)
	var indexes []int
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var pe *chain.PatternError
		require.True(t, errors.As(e, &pe), "%v", e)
		indexes = append(indexes, pe.Index)
	}
	assert.Equal(t, []int{1, 2, 3, 4, 5, 6, 7, 8}, indexes)
	assert.ErrorContains(t, err, `unknown group name "sttaus"`)

	many := make([]chain.Pattern, chain.MaxPatterns+1)
	for i := range many {
		many[i] = chain.Pattern{Regexp: "x"}
	}
	_, err = chain.CompilePatterns(many)
	assert.ErrorContains(t, err, "the limit is 512")
}

// A hostile set — patterns that backtrack catastrophically in other
// engines, at the size bounds, all of them run (the text holds every word
// they need, and none matches) — on a hostile text stays bounded: RE2
// does not backtrack, and the text is cut.
func TestPatternsHostile(t *testing.T) {
	var ps []chain.Pattern
	for range 20 {
		ps = append(ps, chain.Pattern{Regexp: `(a+)+$b`}, chain.Pattern{Regexp: `(a|aa)*b$`}, chain.Pattern{Regexp: `(.*a){20}z`})
	}
	set, err := chain.CompilePatterns(ps)
	require.NoError(t, err)
	text := "b z " + strings.Repeat("a", 1<<20)
	start := time.Now()
	var a chain.Attrs
	budget := chain.MaxPatternWork
	assert.False(t, set.RecogniseWithin(text, &a, &budget))
	assert.GreaterOrEqual(t, budget, 0, "the work stays within the budget")
	assert.Less(t, budget, chain.MaxPatternWork/2, "and the hostile patterns used it")
	// A guard against a hang only: the bound is the work, counted above.
	assert.Less(t, time.Since(start), time.Minute)
}

// The words found in a pattern only save work: every text a pattern
// matches contains one of them, and one of each clause of one of its
// alternatives. Fuzzed against the unfiltered regexp.
func FuzzPatternWords(f *testing.F) {
	f.Add(`(?i)rate limit.*try again`, "RATE LIMIT, please try again")
	f.Add(`\bcode E(?P<status>[45]\d\d)\b|^(?P<status>[45]\d\d) [A-Za-z ]+ - (?:GET|HEAD) https?://`, "404 Not Found - GET http://x")
	f.Add(`(?:a(b|c)d|xy)z`, "acdz")
	f.Add(`foo|bar(baz)+`, "xbarbazbaz")
	f.Add(`é+x`, "éééx")
	f.Add(`(?i)straße`, "STRASSE")
	f.Fuzz(func(t *testing.T, pattern, text string) {
		re, err := regexp.Compile(pattern)
		if err != nil || len(pattern) > 64 {
			return
		}
		set, err := chain.CompilePatterns([]chain.Pattern{{Regexp: pattern, Set: chain.Attrs{Kind: "x"}}})
		if err != nil {
			return
		}
		text = string([]rune(text))                         // valid UTF-8, as texts are
		if text == "" || len(text) > chain.RecogniseLimit { // an empty text is never read
			return
		}
		var a chain.Attrs
		if got, want := set.Recognise(text, &a), re.MatchString(text); got != want {
			t.Fatalf("%q on %q: %v, want %v", pattern, text, got, want)
		}
	})
}

// The work of regular expressions is drawn from a budget: a pattern that
// would overrun what is left is skipped, the same way every time.
func TestPatternWorkBudget(t *testing.T) {
	set, err := chain.CompilePatterns([]chain.Pattern{
		{Name: "first", Regexp: `(.*a){8}z`, Set: chain.Attrs{Kind: "timeout"}},
		{Name: "second", Regexp: `a+`, Set: chain.Attrs{ErrorCode: "SEEN"}},
	})
	require.NoError(t, err)
	text := strings.Repeat("a", 2000)
	var a chain.Attrs
	budget := chain.MaxPatternWork
	assert.True(t, set.RecogniseWithin(text, &a, &budget))
	assert.Equal(t, "SEEN", a.ErrorCode)
	assert.Less(t, budget, chain.MaxPatternWork, "the work done is taken")

	a, budget = chain.Attrs{}, 100
	assert.False(t, set.RecogniseWithin(text, &a, &budget), "no room: nothing runs")
	assert.Equal(t, 100, budget)
}
