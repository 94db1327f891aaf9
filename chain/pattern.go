package chain

import (
	"errors"
	"fmt"
	"math/bits"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// A Pattern is a recogniser written as data: when its regular expression
// matches the text of a layer — or, for a pattern without one, when its
// Match function does — it sets the attributes in Set, and those its
// named groups read from the text. A deployment declares them in a policy
// file (package policy compiles them); the recognisers shipped for other
// ecosystems are written the same way.
type Pattern struct {
	// Name identifies the pattern in errors and in tests.
	Name string
	// Regexp is RE2 syntax (package regexp); "(?i)" makes it ignore case.
	// Its named groups read values from the text: "status" an HTTP
	// status, "wait" how long to wait ("30", "1.5s", "2 minutes"),
	// "errno" an errno name or number (Linux's, as Python prints them, or
	// Winsock's), "code" an API's error code, "grpc" a gRPC code (by name
	// in any of the stacks' spellings, or number), "host" a host name.
	// Other names are refused; a name may be used in several
	// alternatives, and the first that took part in the match counts.
	Regexp string
	// Match decides instead when Regexp is "": a function of the text and
	// the attributes read so far (package policy compiles CEL into one).
	// It must be safe for concurrent use and must not modify a.
	Match func(text string, a *Attrs) bool
	// Set is what a match sets: Kind (with Transient, the retry hint that
	// goes with it), HTTPStatus, ErrnoName, ErrorCode, GRPCCode,
	// RetryAfter (seconds), Host, and Timeout and NotFound when true. A
	// match only adds: a field already set stays as it is.
	Set Attrs
}

// Bounds on a PatternSet, which keep the cost of reading one layer's text
// bounded whatever the patterns: at most MaxPatterns patterns of at most
// MaxPatternLen bytes, each compiling to at most MaxPatternInsts RE2
// instructions, MaxPatternSetInsts in all. RE2 runs in time linear in the
// text (at most RecogniseLimit bytes) times the instructions; no pattern,
// however catastrophic it looks, backtracks.
const (
	MaxPatterns        = 512
	MaxPatternLen      = 1024
	MaxPatternInsts    = 2000
	MaxPatternSetInsts = 40000
	// MaxPatternWork bounds the work regular expressions may do for one
	// reading (Recognise) or one budget (RecogniseWithin): each pattern run
	// costs its instructions times the bytes of the text. A pattern that
	// would overrun what is left is not run. Counted in units, not time,
	// so a replay skips exactly what the live reading skipped; at worst
	// about 0.1–0.2 s of CPU.
	MaxPatternWork = 8 << 20
)

// groupNames are the named groups a pattern may use.
var groupNames = [...]string{"status", "wait", "errno", "code", "grpc", "host"}

// A PatternSet is a compiled list of patterns: a Recogniser that tries
// them in order, the first to name a kind deciding it. The text is scanned
// once for the words each pattern cannot match without (found from the
// regular expression), and a pattern runs only where its words are. A
// PatternSet is immutable and safe for concurrent use.
type PatternSet struct {
	patterns []compiledPattern
	words    *literalSet
	// byWord lists, for each word, the patterns it lets run; always the
	// patterns that run on every text.
	byWord [][]int32
	always []int32
	insts  int
}

type compiledPattern struct {
	p      Pattern
	re     *regexp.Regexp
	insts  int                    // the instructions re compiles to
	groups [len(groupNames)][]int // indexes of the groups of each name
	// alts are, for each alternative at the top of the expression, the
	// words a match of it must contain: each clause a list of word
	// indexes in the set, one of which the text holds. A pattern whose
	// trigger word is present runs only when some alternative has all its
	// clauses met (nil: no such test).
	alts [][][]int32
}

// A PatternError is a pattern that does not compile, by its index.
type PatternError struct {
	Index int
	Name  string
	Err   error
}

func (e *PatternError) Error() string {
	return fmt.Sprintf("pattern %d (%s): %v", e.Index, e.Name, e.Err)
}

func (e *PatternError) Unwrap() error { return e.Err }

// CompilePatterns compiles ps into a PatternSet. A problem with any
// pattern is reported as a *PatternError; all of them, joined with
// errors.Join, so that a policy can place each in its file.
func CompilePatterns(ps []Pattern) (*PatternSet, error) {
	if len(ps) > MaxPatterns {
		return nil, fmt.Errorf("%d patterns; the limit is %d", len(ps), MaxPatterns)
	}
	s := &PatternSet{patterns: make([]compiledPattern, len(ps))}
	var errs []error
	var words []string
	triggers := map[string][]int32{}
	index := map[string]int32{}
	wordIndex := func(w string) int32 {
		w = asciiLower(w)
		i, ok := index[w]
		if !ok {
			i = int32(len(words))
			index[w] = i
			words = append(words, w)
		}
		return i
	}
	for i, p := range ps {
		cp, req, err := compilePattern(p)
		if err != nil {
			errs = append(errs, &PatternError{Index: i, Name: p.Name, Err: err})
			continue
		}
		if req == nil {
			s.patterns[i] = cp
			s.insts += cp.insts
			s.always = append(s.always, int32(i))
			continue
		}
		for _, w := range req {
			wordIndex(w)
			triggers[asciiLower(w)] = append(triggers[asciiLower(w)], int32(i))
		}
		if p.Regexp != "" {
			if parsed, err := syntax.Parse(p.Regexp, syntax.Perl); err == nil {
				for _, alt := range requiredAlts(parsed.Simplify()) {
					clauses := make([][]int32, len(alt))
					for j, clause := range alt {
						for _, w := range clause {
							clauses[j] = append(clauses[j], wordIndex(w))
						}
					}
					cp.alts = append(cp.alts, clauses)
				}
			}
		}
		s.patterns[i] = cp
		s.insts += cp.insts
	}
	if s.insts > MaxPatternSetInsts {
		errs = append(errs, fmt.Errorf("the patterns compile to %d instructions; the limit is %d", s.insts, MaxPatternSetInsts))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	s.words = newLiteralSet(words)
	s.byWord = make([][]int32, len(words))
	for i, w := range words {
		s.byWord[i] = triggers[w]
	}
	return s, nil
}

// possible reports whether the words found (hits) let some alternative of
// the pattern match: one word of each of its clauses is in the text.
func (cp *compiledPattern) possible(hits []uint64) bool {
alts:
	for _, alt := range cp.alts {
		for _, clause := range alt {
			met := false
			for _, w := range clause {
				if hits[w>>6]&(1<<(w&63)) != 0 {
					met = true
					break
				}
			}
			if !met {
				continue alts
			}
		}
		return true
	}
	return false
}

// requiredAlts returns, for each alternative at the top of re, the words
// its match must contain, as clauses: a match holds one word of every
// clause, each clause being what requiredWords finds in one part of the
// alternative's concatenation. Nil when some alternative requires no word.
func requiredAlts(re *syntax.Regexp) [][][]string {
	for re.Op == syntax.OpCapture {
		re = re.Sub[0]
	}
	subs := []*syntax.Regexp{re}
	if re.Op == syntax.OpAlternate {
		subs = re.Sub
	}
	var alts [][][]string
	for _, sub := range subs {
		for sub.Op == syntax.OpCapture {
			sub = sub.Sub[0]
		}
		parts := []*syntax.Regexp{sub}
		if sub.Op == syntax.OpConcat {
			parts = sub.Sub
		}
		var clauses [][]string
		for _, part := range parts {
			if w := requiredWords(part); w != nil {
				clauses = append(clauses, w)
			}
		}
		if len(clauses) == 0 {
			return nil
		}
		alts = append(alts, clauses)
	}
	return alts
}

// compilePattern compiles one pattern and finds the words it requires
// (nil: none, it runs on every text).
func compilePattern(p Pattern) (compiledPattern, []string, error) {
	cp := compiledPattern{p: p}
	if err := checkSet(p.Set); err != nil {
		return cp, nil, err
	}
	switch {
	case p.Regexp == "" && p.Match == nil:
		return cp, nil, errors.New("neither a regular expression nor a match")
	case p.Regexp == "":
		return cp, nil, nil
	case len(p.Regexp) > MaxPatternLen:
		return cp, nil, fmt.Errorf("the regular expression is %d bytes long; the limit is %d", len(p.Regexp), MaxPatternLen)
	}
	parsed, err := syntax.Parse(p.Regexp, syntax.Perl)
	if err != nil {
		return cp, nil, err
	}
	re, err := regexp.Compile(p.Regexp)
	if err != nil {
		return cp, nil, err
	}
	if n := progSize(re); n > MaxPatternInsts {
		return cp, nil, fmt.Errorf("the regular expression compiles to %d instructions; the limit is %d", n, MaxPatternInsts)
	}
	cp.re, cp.insts = re, progSize(re)
	for i, name := range re.SubexpNames() {
		if name == "" {
			continue
		}
		known := false
		for j, g := range groupNames {
			if g == name {
				cp.groups[j], known = append(cp.groups[j], i), true
			}
		}
		if !known {
			return cp, nil, fmt.Errorf("unknown group name %q (want one of %s)", name, strings.Join(groupNames[:], ", "))
		}
	}
	return cp, requiredWords(parsed.Simplify()), nil
}

// checkSet refuses what a match cannot set.
func checkSet(a Attrs) error {
	if a.ErrnoName != "" {
		if _, ok := ErrnoByName(a.ErrnoName); !ok {
			return fmt.Errorf("unknown errno %q", a.ErrnoName)
		}
	}
	if a.GRPCCode != "" && !isGRPCCodeName(a.GRPCCode) {
		return fmt.Errorf("unknown gRPC code %q", a.GRPCCode)
	}
	if a.HTTPStatus != 0 && (a.HTTPStatus < 100 || a.HTTPStatus > 599) {
		return fmt.Errorf("status %d is not an HTTP status", a.HTTPStatus)
	}
	if a.RetryAfter < 0 {
		return errors.New("a negative wait")
	}
	if a.Transient != nil && a.Kind == "" {
		return errors.New("transient goes with a kind")
	}
	return nil
}

// progSize returns the instructions re compiles to.
func progSize(re *regexp.Regexp) int {
	parsed, err := syntax.Parse(re.String(), syntax.Perl)
	if err != nil {
		return 0
	}
	prog, err := syntax.Compile(parsed.Simplify())
	if err != nil {
		return 0
	}
	return len(prog.Inst)
}

// requiredWords returns words one of which, ignoring ASCII case, every
// text re matches contains, or nil when there are none to rely on. Only
// the ASCII parts of literals count: the automaton that finds the words
// folds ASCII case alone.
func requiredWords(re *syntax.Regexp) []string {
	switch re.Op {
	case syntax.OpLiteral:
		w := literalWord(re.Rune, re.Flags&syntax.FoldCase != 0)
		if w == "" {
			return nil
		}
		return []string{w}
	case syntax.OpCapture:
		return requiredWords(re.Sub[0])
	case syntax.OpPlus:
		return requiredWords(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return requiredWords(re.Sub[0])
		}
	case syntax.OpConcat:
		var best []string
		for _, sub := range re.Sub {
			if w := requiredWords(sub); w != nil && (best == nil || shortest(w) > shortest(best)) {
				best = w
			}
		}
		return best
	case syntax.OpAlternate:
		var all []string
		for _, sub := range re.Sub {
			w := requiredWords(sub)
			if w == nil {
				return nil
			}
			all = append(all, w...)
		}
		return all
	}
	return nil
}

// literalWord returns the word a literal requires, as the automaton can
// find it: the whole literal when it is matched exactly, its bytes being
// compared ignoring ASCII case only; under case folding, the longest run
// of runes that fold to no other rune than their ASCII case (ASCII, and
// scripts without case such as CJK).
func literalWord(rs []rune, fold bool) string {
	if !fold {
		return string(rs)
	}
	best, start := "", 0
	for i := 0; i <= len(rs); i++ {
		if i == len(rs) || !foldsSimply(rs[i]) {
			if w := string(rs[start:i]); len(w) > len(best) {
				best = w
			}
			start = i + 1
		}
	}
	return best
}

// foldsSimply reports whether r folds to nothing but itself and, for an
// ASCII letter, its other case.
func foldsSimply(r rune) bool {
	if r < utf8.RuneSelf {
		return r != 'k' && r != 'K' && r != 's' && r != 'S' // K folds to the Kelvin sign, S to ſ
	}
	return unicode.SimpleFold(r) == r
}

// shortest returns the length of the shortest word.
func shortest(ws []string) int {
	n := -1
	for _, w := range ws {
		if n < 0 || len(w) < n {
			n = len(w)
		}
	}
	return n
}

// Len returns the number of patterns.
func (s *PatternSet) Len() int { return len(s.patterns) }

// Recognise runs the patterns on text, in order, and reports whether any
// matched. It reads at most RecogniseLimit bytes of text, and does at most
// MaxPatternWork of regular-expression work.
func (s *PatternSet) Recognise(text string, a *Attrs) bool {
	budget := MaxPatternWork
	return s.RecogniseWithin(text, a, &budget)
}

// RecogniseWithin is Recognise drawing its regular-expression work from
// *budget, shared by the caller across texts (classify shares one across
// the layers of a chain): a pattern whose work would overrun what is left
// is not run, and the work done is taken from *budget.
func (s *PatternSet) RecogniseWithin(text string, a *Attrs, budget *int) bool {
	if s == nil || len(s.patterns) == 0 || text == "" {
		return false
	}
	text = cutUTF8(text, RecogniseLimit)
	var candArr [MaxPatterns / 64]uint64
	cand := candArr[:(len(s.patterns)+63)/64]
	for _, i := range s.always {
		cand[i>>6] |= 1 << (i & 63)
	}
	var hitsArr [16]uint64
	var hits []uint64
	if len(s.byWord) > 0 {
		hits = hitsArr[:]
		if need := (len(s.byWord) + 63) / 64; need > len(hits) {
			hits = make([]uint64, need)
		}
		s.words.scan(text, hits)
		for w, word := range hits {
			for word != 0 {
				b := bits.TrailingZeros64(word)
				word &= word - 1
				for _, i := range s.byWord[w*64+b] {
					cand[i>>6] |= 1 << (i & 63)
				}
			}
		}
	}
	found := false
	for w, word := range cand {
		for word != 0 {
			b := bits.TrailingZeros64(word)
			word &= word - 1
			cp := &s.patterns[w*64+b]
			if cp.alts != nil && !cp.possible(hits) {
				continue
			}
			if cp.re != nil {
				work := cp.insts * len(text)
				if work > *budget {
					continue
				}
				*budget -= work
			}
			if cp.try(text, a) {
				found = true
			}
		}
	}
	return found
}

// try runs one pattern on text and applies it when it matches.
func (cp *compiledPattern) try(text string, a *Attrs) bool {
	if cp.re == nil {
		if cp.p.Match == nil || !cp.p.Match(text, a) {
			return false
		}
		cp.apply(a, nil, text)
		return true
	}
	m := cp.re.FindStringSubmatchIndex(text)
	if m == nil {
		return false
	}
	cp.apply(a, m, text)
	return true
}

// group returns the text of the first group named groupNames[g] that took
// part in match m, or "". A name may serve several groups, one in each
// alternative.
func (cp *compiledPattern) group(m []int, text string, g int) string {
	for _, i := range cp.groups[g] {
		if m != nil && 2*i+1 < len(m) && m[2*i] >= 0 {
			return text[m[2*i]:m[2*i+1]]
		}
	}
	return ""
}

// apply sets what the pattern sets, and what its groups read, where a
// holds nothing yet.
func (cp *compiledPattern) apply(a *Attrs, m []int, text string) {
	set := &cp.p.Set
	if a.Kind == "" && set.Kind != "" {
		a.Kind, a.Transient = set.Kind, set.Transient
	}
	if a.HTTPStatus == 0 {
		if v, err := strconv.Atoi(cp.group(m, text, 0)); err == nil && v >= 100 && v <= 599 {
			a.HTTPStatus = v
		} else {
			a.HTTPStatus = set.HTTPStatus
		}
	}
	if a.RetryAfter == 0 {
		if d, ok := parseWait(cp.group(m, text, 1)); ok {
			a.RetryAfter = d.Seconds()
		} else {
			a.RetryAfter = set.RetryAfter
		}
	}
	if a.ErrnoName == "" {
		name := set.ErrnoName
		if g := errnoGroup(cp.group(m, text, 2)); g != "" {
			name = g
		}
		if e, ok := ErrnoByName(name); ok {
			a.Errno, a.ErrnoName = int(e), name
		}
	}
	if a.ErrorCode == "" {
		a.ErrorCode = orDefault(cp.group(m, text, 3), set.ErrorCode)
	}
	if a.GRPCCode == "" {
		if g := grpcName(cp.group(m, text, 4)); isGRPCCodeName(g) {
			a.GRPCCode = g
		} else {
			a.GRPCCode = set.GRPCCode
		}
	}
	if a.Host == "" {
		a.Host = orDefault(cp.group(m, text, 5), set.Host)
	}
	a.Timeout = a.Timeout || set.Timeout
	a.NotFound = a.NotFound || set.NotFound
}

// errnoNumbers are errno numbers as texts print them whatever platform
// reads them: Linux's (Python's "[Errno 104]") and Winsock's ("[WinError
// 10054]", "SocketException (10054)").
var errnoNumbers = map[string]string{
	"104": "ECONNRESET", "111": "ECONNREFUSED", "110": "ETIMEDOUT", "113": "EHOSTUNREACH", "101": "ENETUNREACH",
	"103": "ECONNABORTED", "32": "EPIPE", "28": "ENOSPC", "13": "EACCES", "1": "EPERM", "2": "ENOENT",
	"10054": "ECONNRESET", "10053": "ECONNABORTED", "10060": "ETIMEDOUT", "10061": "ECONNREFUSED",
	"10065": "EHOSTUNREACH", "10051": "ENETUNREACH", "10050": "ENETDOWN", "10064": "EHOSTDOWN",
}

// errnoGroup reads an errno group: a name in any case, or a number of
// errnoNumbers.
func errnoGroup(s string) string {
	if s == "" {
		return ""
	}
	if name, ok := errnoNumbers[s]; ok {
		return name
	}
	return strings.ToUpper(s)
}

// grpcName turns a gRPC code as the stacks print it — Go's "Unavailable",
// "ResourceExhausted", Python's "UNAVAILABLE", a number — into its
// canonical name.
func grpcName(s string) string {
	if n, err := strconv.Atoi(s); err == nil {
		return GRPCCodeName(uint64(n))
	}
	var b strings.Builder
	for i, r := range s {
		if i > 0 && 'A' <= r && r <= 'Z' && s[i-1] >= 'a' && s[i-1] <= 'z' {
			b.WriteByte('_')
		}
		b.WriteRune(r)
	}
	name := strings.ToUpper(b.String())
	if name == "CANCELED" {
		name = "CANCELLED" // Go's codes.Canceled
	}
	return name
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
