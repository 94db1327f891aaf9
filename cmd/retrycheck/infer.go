package main

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/faultline-go/faultline/policy"
)

// A phaseClue is a phrase in error text that shows where the operation
// was when it failed.
type phaseClue struct {
	phase   policy.Phase
	phrases []string // lower case
}

// phaseClues are tried in order and the first phrase found wins. The order
// matters: text from a streamed unpack names the extractor first and the
// body read last ("failed to unpack ...: error decoding response body:
// connection reset"), and the deeper cause is the phase a live adapter
// records, so body clues are tried before unpack clues. Connection set-up
// clues come first because they only appear when nothing was received.
func phaseClues() []phaseClue {
	return []phaseClue{
		{policy.PhaseConnect, []string{
			"dial tcp", "dial udp", "dial unix", "connect: ", "connection refused",
			"no such host", "lookup ", "dns error", "failed to lookup address",
			"tls handshake", "tls: ", "x509: ", "certificate", "network is unreachable",
			"no route to host", "client error (connect)",
		}},
		{policy.PhaseHeaders, []string{
			"awaiting headers", "awaiting response headers", "malformed http response",
			"status code", "http status", "unexpected status", "too many requests",
			"service unavailable", "bad gateway", "gateway timeout", "refused_stream",
		}},
		{policy.PhaseBody, []string{
			"response body", "reading body", "body error", "error decoding", "read tcp",
			"read udp", "connection reset", "reset by peer", "unexpected eof",
			"stream error", "goaway", "client connection lost", "close_notify",
			"connection closed", "body",
		}},
		{policy.PhaseCommit, []string{"rename ", "failed to persist", "commit"}},
		{policy.PhaseUnpack, []string{
			"unpack", "extract", "archive", "tar file", "tar header", "gzip", "zstd",
			"flate", "checksum", "decompress", "no space left", "disk quota",
			"permission denied", "insecure path",
		}},
	}
}

// clues are phaseClues, built once.
var clues = phaseClues()

// h2Phrases show that the failure happened over HTTP/2.
var h2Phrases = []string{"http2", "stream error", "goaway", "rst_stream", "refused_stream", "h2 protocol"}

var (
	// statusRE finds an HTTP status in text: "unexpected status code
	// 503", "HTTP status client error (429 Too Many Requests)", "HTTP/1.1
	// 404". It insists on a space after "http" so URLs do not match.
	statusRE = regexp.MustCompile(`(?i)\b(?:status(?:\s+code)?|http(?:/[0-9.]+)?\s)[^0-9\n]{0,24}\b([1-5][0-9]{2})\b`)
	// urlErrorRE matches text that starts with a *url.Error.
	urlErrorRE = regexp.MustCompile(`^(Get|Head|Post|Put|Patch|Delete|Options) "`)
	// methodRE finds the method *url.Error prints: Get "https://...".
	methodRE = regexp.MustCompile(`(?m)(?:^|: |\s)(Get|Head|Post|Put|Patch|Delete|Options) "`)
)

// inferState builds the state of an operation that only left text behind.
// It returns the state and, for every field it did not read from the text
// literally, why it has its value; the output shows those notes.
func inferState(text string) (policy.State, map[string]string) {
	lower := strings.ToLower(text)
	st := policy.State{
		Attempt:       1,
		TotalExpected: -1,
		Request:       policy.Request{Method: "GET", Idempotent: true},
	}
	notes := map[string]string{
		"attempt":        "default",
		"total_expected": "unknown",
	}

	notes["phase"] = "unknown: no clue in the text"
	// *url.Error ("Get \"https://...\": ...") comes from http.Client.Do,
	// which returns once headers arrive; body reads are not wrapped in it.
	// So a read error under it happened before the body.
	fromDo := urlErrorRE.MatchString(text)
phases:
	for _, c := range clues {
		if fromDo && c.phase == policy.PhaseBody {
			c.phase = policy.PhaseHeaders
		}
		for _, p := range c.phrases {
			if strings.Contains(lower, p) {
				st.Phase = c.phase
				notes["phase"] = fmt.Sprintf("inferred from %q", p)
				break phases
			}
		}
	}

	// The regular expressions cost more than the words that must be there
	// for them to match; look for those first.
	if m := findIf(strings.Contains(text, ` "`), methodRE, text); m != nil {
		st.Request.Method = strings.ToUpper(m[1])
		st.Request.Idempotent = policy.IdempotentMethod(st.Request.Method)
		notes["request.method"] = fmt.Sprintf("inferred from %q", strings.TrimSpace(m[0]))
	} else {
		notes["request.method"] = "default for a download"
	}

	if m := findIf((strings.Contains(lower, "status") || strings.Contains(lower, "http")) && hasThreeDigits(text), statusRE, text); m != nil {
		st.Response.Status, _ = strconv.Atoi(m[1])
		notes["response.status"] = fmt.Sprintf("inferred from %q", strings.TrimSpace(m[0]))
	}

	for _, p := range h2Phrases {
		if strings.Contains(lower, p) {
			st.Response.Protocol = "HTTP/2.0"
			notes["response.protocol"] = fmt.Sprintf("inferred from %q", p)
			break
		}
	}
	return st, notes
}

// findIf runs re on text when may says it can match.
func findIf(may bool, re *regexp.Regexp, text string) []string {
	if !may {
		return nil
	}
	return re.FindStringSubmatch(text)
}

// hasThreeDigits reports whether s holds a run of three decimal digits,
// which a status needs.
func hasThreeDigits(s string) bool {
	run := 0
	for i := 0; i < len(s); i++ {
		if '0' <= s[i] && s[i] <= '9' {
			if run++; run == 3 {
				return true
			}
		} else {
			run = 0
		}
	}
	return false
}
