package main

import (
	"fmt"
	"regexp"
	"slices"
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

// inferPhrases are the phrases of clues, in order, then h2Phrases: one
// pass over a text finds which of them it holds.
var inferPhrases = func() *phraseSet {
	var all []string
	for _, c := range clues {
		all = append(all, c.phrases...)
	}
	return newPhraseSet(append(all, h2Phrases...))
}()

// maxPhrases is how many phrases a phraseSet holds.
const maxPhrases = 128

// A phraseSet finds which of a few lower-case ASCII phrases (at least
// four bytes each) a text holds, in one pass and ignoring ASCII case:
// strings.Contains for each phrase over strings.ToLower(text) cost a pass
// per phrase and a copy of the text, and a long trace (a Java report, a
// Python traceback) made that most of a pasted text's decision. Each
// place in the text is passed over after one lookup of its next four
// bytes, folded and hashed, in a bitmap of the phrases' first four.
type phraseSet struct {
	phrases []string
	quads   [1 << quadBits / 64]uint64
	byFirst [256][]uint8 // phrases by their first byte
}

const quadBits = 16

// quadHash hashes four lower-case bytes, the first in the high byte.
func quadHash(q uint32) uint32 { return q * 0x9E3779B1 >> (32 - quadBits) }

// lowerASCII maps A-Z to a-z and every other byte to itself.
var lowerASCII = func() (t [256]byte) {
	for i := range t {
		t[i] = byte(i)
		if 'A' <= i && i <= 'Z' {
			t[i] = byte(i + 'a' - 'A')
		}
	}
	return t
}()

func newPhraseSet(phrases []string) *phraseSet {
	if len(phrases) > maxPhrases {
		panic("too many phrases")
	}
	ps := &phraseSet{phrases: phrases}
	for i, p := range phrases {
		if len(p) < 4 || strings.ToLower(p) != p || !isASCII(p) {
			panic("not a lower-case ASCII phrase of four bytes or more: " + p)
		}
		h := quadHash(uint32(p[0])<<24 | uint32(p[1])<<16 | uint32(p[2])<<8 | uint32(p[3]))
		ps.quads[h/64] |= 1 << (h % 64)
		ps.byFirst[p[0]] = append(ps.byFirst[p[0]], uint8(i))
	}
	return ps
}

// phraseBits has bit i set when phrase i was found.
type phraseBits [maxPhrases / 64]uint64

func (b *phraseBits) has(i int) bool { return b[i/64]&(1<<(i%64)) != 0 }

// find returns which phrases strings.ToLower(s) holds. Only two runes
// that are not ASCII lower-case to ASCII letters (U+0130 to i, the
// Kelvin sign U+212A to k); elsewhere an ASCII phrase lies within a run
// of ASCII bytes, which folding their case alone reads the same.
func (ps *phraseSet) find(s string) phraseBits {
	if strings.Contains(s, "\u0130") || strings.Contains(s, "\u212a") {
		s = strings.ToLower(s)
	}
	var found phraseBits
	var q uint32
	for i := 0; i < len(s); i++ {
		q = q<<8 | uint32(lowerASCII[s[i]])
		if i < 3 {
			continue
		}
		h := quadHash(q)
		if ps.quads[h/64]&(1<<(h%64)) == 0 {
			continue
		}
		at := s[i-3:]
		for _, j := range ps.byFirst[lowerASCII[at[0]]] {
			if hasPrefixLower(at, ps.phrases[j]) {
				found[j/64] |= 1 << (j % 64)
			}
		}
	}
	return found
}

// hasPrefixLower reports whether s starts with the lower-case prefix,
// folding only the case of s's ASCII letters.
func hasPrefixLower(s, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		if lowerASCII[s[i]] != prefix[i] {
			return false
		}
	}
	return true
}

// isASCII reports whether s is all ASCII.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

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
	found := inferPhrases.find(text)
	n := 0 // where the clue's phrases start in inferPhrases
phases:
	for _, c := range clues {
		if fromDo && c.phase == policy.PhaseBody {
			c.phase = policy.PhaseHeaders
		}
		for i, p := range c.phrases {
			if found.has(n + i) {
				st.Phase = c.phase
				notes["phase"] = fmt.Sprintf("inferred from %q", p)
				break phases
			}
		}
		n += len(c.phrases)
	}

	if m := findMethod(text); m != nil {
		st.Request.Method = strings.ToUpper(m[1])
		st.Request.Idempotent = policy.IdempotentMethod(st.Request.Method)
		notes["request.method"] = fmt.Sprintf("inferred from %q", strings.TrimSpace(m[0]))
	} else {
		notes["request.method"] = "default for a download"
	}

	if m := findStatus(text); m != nil {
		st.Response.Status, _ = strconv.Atoi(m[1])
		notes["response.status"] = fmt.Sprintf("inferred from %q", strings.TrimSpace(m[0]))
	}

	h2 := len(inferPhrases.phrases) - len(h2Phrases)
	for i, p := range h2Phrases {
		if found.has(h2 + i) {
			st.Response.Protocol = "HTTP/2.0"
			notes["response.protocol"] = fmt.Sprintf("inferred from %q", p)
			break
		}
	}
	return st, notes
}

// statusAt is statusRE anchored where its words start.
var statusAt = regexp.MustCompile(`^(?i)(?:status(?:\s+code)?|http(?:/[0-9.]+)?\s)[^0-9\n]{0,24}\b([1-5][0-9]{2})\b`)

// statusWindow bounds the text statusAt reads from each place a status
// may start: its longest plausible match is some fifty bytes.
const statusWindow = 256

// findStatus is statusRE.FindStringSubmatch(text), found faster: an
// unanchored regular expression over a long trace costs a pass of the
// matcher over all of it (a Java trace of fifty frames, a Python
// traceback), where the words a status follows ("status", "http", in any
// case) are rare. So the words are found first, and the expression is
// tried, anchored, on a window from each in turn; the first that matches
// is the leftmost match. It reads ASCII case only (not the Kelvin sign and
// long s that (?i) folds too), and a match longer than the window (a run
// of hundreds of spaces after "status") is not found.
func findStatus(text string) []string {
	for i := 0; i < len(text); i++ {
		c := text[i] | 0x20
		if c != 's' && c != 'h' || i > 0 && isWordByte(text[i-1]) {
			continue
		}
		if !hasPrefixFold(text[i:], "status") && !hasPrefixFold(text[i:], "http") {
			continue
		}
		end := min(len(text), i+statusWindow)
		if m := statusAt.FindStringSubmatchIndex(text[i:end]); m != nil && (m[1] < end-i || end == len(text)) {
			return []string{text[i : i+m[1]], text[i+m[2] : i+m[3]]}
		}
	}
	return nil
}

// methods are the methods *url.Error prints.
var methods = [...]string{"Get", "Head", "Post", "Put", "Patch", "Delete", "Options"}

// findMethod is methodRE.FindStringSubmatch(text), found from the ` "`
// that ends every match rather than by running the expression over the
// whole text.
func findMethod(text string) []string {
	for from := 0; ; {
		q := strings.Index(text[from:], ` "`)
		if q < 0 {
			return nil
		}
		q += from
		from = q + 1
		w := q
		for w > 0 && ('a' <= text[w-1] && text[w-1] <= 'z' || 'A' <= text[w-1] && text[w-1] <= 'Z') {
			w--
		}
		word := text[w:q]
		if !slices.Contains(methods[:], word) {
			continue
		}
		// (?m)(?:^|: |\s): the match starts at the ": " or the space
		// before the word, or with it at the start of a line.
		start := w
		switch {
		case w >= 2 && text[w-2] == ':' && text[w-1] == ' ':
			start = w - 2
		case w >= 1 && isRESpace(text[w-1]):
			start = w - 1
		case w == 0:
		default:
			continue // the word is part of a longer one, or follows punctuation
		}
		return []string{text[start : q+2], word}
	}
}

// isRESpace is regexp's \s: ASCII white space.
func isRESpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'
}

// isWordByte is regexp's \w: an ASCII letter, digit or underscore.
func isWordByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_'
}

// hasPrefixFold reports whether s starts with the lower-case ASCII word
// prefix, in any ASCII case.
func hasPrefixFold(s, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		if s[i]|0x20 != prefix[i] {
			return false
		}
	}
	return true
}
