package chain

// A literalSet finds, in one pass over a text, which of a fixed set of
// needles it contains, ignoring ASCII case: an Aho–Corasick automaton
// compiled into a table. The recognisers ask it instead of scanning the
// text once per needle, which keeps the cost of a layer's text flat however
// many wordings the vocabulary knows. A literalSet is immutable once built
// and safe for concurrent use.
type literalSet struct {
	class  [256]uint8 // byte → column of next; 0 for bytes in no needle
	width  int        // columns: distinct needle bytes + 1
	next   []uint16   // state*width + class → state
	out    []int32    // out[outAt[s]:outAt[s+1]]: needles that end at state s
	outAt  []int32
	needle []string // lower case, by id
}

// newLiteralSet compiles needles; their ids are their indexes. Needles are
// matched ignoring ASCII case; an empty needle never matches.
func newLiteralSet(needles []string) *literalSet {
	ls := &literalSet{needle: make([]string, len(needles))}
	for i, n := range needles {
		ls.needle[i] = asciiLower(n)
	}
	// Columns: one per distinct (lowered) byte that occurs in a needle.
	ls.width = 1
	for _, n := range ls.needle {
		for i := 0; i < len(n); i++ {
			if ls.class[n[i]] == 0 {
				if ls.width == 256 {
					break
				}
				ls.class[n[i]] = uint8(ls.width)
				ls.width++
			}
		}
	}
	for c := 'A'; c <= 'Z'; c++ {
		ls.class[c] = ls.class[c+'a'-'A']
	}
	// The trie, then failure links breadth first, folded into the table so
	// that matching is one lookup per byte.
	type node struct {
		kids map[uint8]int32
		out  []int32
		fail int32
	}
	nodes := []node{{kids: map[uint8]int32{}}}
	for id, n := range ls.needle {
		if n == "" {
			continue
		}
		s := int32(0)
		for i := 0; i < len(n); i++ {
			c := ls.class[n[i]]
			t, ok := nodes[s].kids[c]
			if !ok {
				t = int32(len(nodes))
				nodes = append(nodes, node{kids: map[uint8]int32{}})
				nodes[s].kids[c] = t
			}
			s = t
		}
		nodes[s].out = append(nodes[s].out, int32(id))
	}
	if len(nodes) > 1<<16 {
		panic("chain: literal set too large")
	}
	ls.next = make([]uint16, len(nodes)*ls.width)
	queue := make([]int32, 0, len(nodes))
	for c := 1; c < ls.width; c++ {
		if t, ok := nodes[0].kids[uint8(c)]; ok {
			ls.next[c] = uint16(t)
			queue = append(queue, t)
		}
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		f := nodes[s].fail
		nodes[s].out = append(nodes[s].out, nodes[f].out...)
		for c := 1; c < ls.width; c++ {
			if t, ok := nodes[s].kids[uint8(c)]; ok {
				nodes[t].fail = int32(ls.next[int(f)*ls.width+c])
				ls.next[int(s)*ls.width+c] = uint16(t)
				queue = append(queue, t)
			} else {
				ls.next[int(s)*ls.width+c] = ls.next[int(f)*ls.width+c]
			}
		}
	}
	ls.outAt = make([]int32, len(nodes)+1)
	for s := range nodes {
		ls.outAt[s] = int32(len(ls.out))
		ls.out = append(ls.out, nodes[s].out...)
	}
	ls.outAt[len(nodes)] = int32(len(ls.out))
	return ls
}

// scan marks in hits, a bit per needle id, every needle s contains. hits
// must hold a bit for every needle.
func (ls *literalSet) scan(s string, hits []uint64) {
	var st int
	w := ls.width
	for i := 0; i < len(s); i++ {
		st = int(ls.next[st*w+int(ls.class[s[i]])])
		if a, b := ls.outAt[st], ls.outAt[st+1]; a != b {
			for _, id := range ls.out[a:b] {
				hits[id>>6] |= 1 << (id & 63)
			}
		}
	}
}

// has reports whether needle id is marked in hits.
func has(hits []uint64, id int) bool { return hits[id>>6]&(1<<(id&63)) != 0 }

// asciiLower lowers the ASCII letters of s, leaving other bytes as they are.
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
