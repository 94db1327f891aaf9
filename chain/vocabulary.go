package chain

import (
	"math/bits"
	"sync"
)

// text is one layer's text as the built-in recognisers see it: the words,
// and which of the vocabulary's fixed wordings they contain, found in one
// pass by the vocabulary's literalSet.
type text struct {
	s    string
	v    *vocabulary
	hits [8]uint64
}

// has reports whether the text contains needle id (of vocab().set).
func (t *text) has(id int) bool { return has(t.hits[:], id) }

// hasAny reports whether the text contains any of the needles ids.
func (t *text) hasAny(ids []int) bool {
	for _, id := range ids {
		if t.has(id) {
			return true
		}
	}
	return false
}

// newText scans s for the vocabulary's wordings.
func newText(s string) text {
	t := text{s: s, v: vocab()}
	t.v.set.scan(s, t.hits[:])
	return t
}

// vocabulary indexes the fixed wordings the built-in recognisers look for
// anywhere in a text, ignoring case: errno texts, resolver failures,
// truncations, timeouts and certificate rejections.
type vocabulary struct {
	set     *literalSet
	errno   [len(errnos)][]int
	dns     [len(dnsTexts)]int
	eof     [len(eofTexts)]int
	timeout [len(timeoutTexts)]int
	cert    [len(certificateTexts)]int
	noHost  int // "no such host"
	timeOut int // "timeout"
	// mask holds, for each needle, the recognisers (a bit for each index
	// in recognisers) it triggers; always, those that run on every text.
	mask   []uint64
	always uint64
}

// active returns the recognisers the text's wordings trigger.
func (t *text) active() uint64 {
	act := t.v.always
	for w, word := range t.hits {
		for word != 0 {
			b := bits.TrailingZeros64(word)
			word &= word - 1
			act |= t.v.mask[w*64+b]
		}
	}
	return act
}

// vocab is built once: it is derived from the tables above and never
// changes.
var vocab = sync.OnceValue(func() *vocabulary {
	v := &vocabulary{}
	var needles []string
	add := func(s string) int {
		needles = append(needles, s)
		return len(needles) - 1
	}
	for i, e := range errnos {
		for _, t := range e.texts {
			v.errno[i] = append(v.errno[i], add(t))
		}
	}
	for i, t := range dnsTexts {
		v.dns[i] = add(t.text)
	}
	for i, t := range eofTexts {
		v.eof[i] = add(t)
	}
	for i, t := range timeoutTexts {
		v.timeout[i] = add(t)
	}
	for i, t := range certificateTexts {
		v.cert[i] = add(t)
	}
	v.noHost = add("no such host")
	v.timeOut = add("timeout")
	if len(recognisers) > 64 {
		panic("chain: more recognisers than a mask holds")
	}
	triggered := map[int]uint64{}
	for i, r := range recognisers {
		if r.triggers == nil {
			v.always |= 1 << i
			continue
		}
		for _, w := range r.triggers() {
			triggered[add(w)] |= 1 << i
		}
	}
	v.mask = make([]uint64, len(needles))
	for id, m := range triggered {
		v.mask[id] = m
	}
	if len(needles) > 64*len(text{}.hits) {
		panic("chain: the built-in vocabulary outgrew text.hits")
	}
	v.set = newLiteralSet(needles)
	return v
})
