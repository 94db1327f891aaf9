package chain

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// The automaton agrees with a scan per needle, ignoring ASCII case.
func TestLiteralSet(t *testing.T) {
	needles := []string{"connection reset", "reset", "Set", "he", "she", "his", "hers", "ÉTÉ", "a b", ""}
	ls := newLiteralSet(needles)
	texts := []string{"", "ushers", "Connection RESET by peer", "été", "ÉTÉ", "a  b a b", "hishe", "xyz", "rese", "\xff\x00set"}
	for _, s := range texts {
		hits := make([]uint64, 1)
		ls.scan(s, hits)
		for id, n := range needles {
			want := n != "" && strings.Contains(asciiLower(s), asciiLower(n))
			assert.Equal(t, want, has(hits, id), "%q in %q", n, s)
		}
	}
}

func FuzzLiteralSet(f *testing.F) {
	f.Add("connection reset by peer", "reset")
	f.Add("aaaa", "aa")
	f.Fuzz(func(t *testing.T, s, n string) {
		if len(n) > 64 {
			return
		}
		ls := newLiteralSet([]string{n, "x" + n, n + "y"})
		hits := make([]uint64, 1)
		ls.scan(s, hits)
		lower := asciiLower(s)
		for id, needle := range []string{n, "x" + n, n + "y"} {
			want := needle != "" && strings.Contains(lower, asciiLower(needle))
			if has(hits, id) != want {
				t.Fatalf("%q in %q: got %v", needle, s, !want)
			}
		}
	})
}
