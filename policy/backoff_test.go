package policy

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestBackoffBase(t *testing.T) {
	b := Backoff{Initial: 100 * time.Millisecond, Max: time.Second, Multiplier: 2, Jitter: JitterNone}
	want := []time.Duration{100, 100, 200, 400, 800, 1000, 1000}
	for n, w := range want {
		assert.Equal(t, w*time.Millisecond, b.Base(n), "attempt %d", n)
	}
	assert.Equal(t, time.Second, b.Base(10_000), "no overflow")
	assert.Equal(t, b.Base(3), b.Delay(3, 0, nil), "no source: no jitter")
}

// TestJitterBounds is a property test: over many seeds and attempts, every
// jittered delay stays within the bounds of its kind, and the delays are
// actually spread out.
func TestJitterBounds(t *testing.T) {
	for _, j := range []Jitter{JitterNone, JitterFull, JitterEqual, JitterDecorrelated} {
		t.Run(string(j), func(t *testing.T) {
			b := Backoff{Initial: 100 * time.Millisecond, Max: 5 * time.Second, Multiplier: 2, Jitter: j}
			seen := map[time.Duration]bool{}
			for seed := range uint64(500) {
				r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
				last := time.Duration(0)
				for n := 1; n <= 12; n++ {
					d := b.Delay(n, last, r)
					base := b.Base(n)
					switch j {
					case JitterNone:
						assert.Equal(t, base, d)
					case JitterFull:
						assert.True(t, d >= 0 && d <= base, "full: %v not in [0, %v]", d, base)
					case JitterEqual:
						assert.True(t, d >= base/2 && d <= base, "equal: %v not in [%v, %v]", d, base/2, base)
					case JitterDecorrelated:
						prev := last
						if prev == 0 {
							prev = b.Base(n - 1)
						}
						hi := min(3*prev, b.Max)
						assert.True(t, d >= min(b.Initial, hi) && d <= hi, "decorrelated: %v not in [%v, %v]", d, b.Initial, hi)
					}
					assert.LessOrEqual(t, d, b.Max)
					lo, hi := b.Range(n, last)
					assert.True(t, d >= lo && d <= hi, "%v not in Range [%v, %v]", d, lo, hi)
					seen[d] = true
					last = d
				}
			}
			if j == JitterNone {
				assert.Len(t, seen, 7) // 100ms … 3.2s, then the 5s cap
			} else {
				assert.Greater(t, len(seen), 1000, "jitter spreads delays")
			}
		})
	}
}

// TestJitterDeterministic: the same seed gives the same delays.
func TestJitterDeterministic(t *testing.T) {
	b := defaultBackoff
	r1 := rand.New(rand.NewPCG(1, 2))
	r2 := rand.New(rand.NewPCG(1, 2))
	for n := 1; n < 10; n++ {
		assert.Equal(t, b.Delay(n, 0, r1), b.Delay(n, 0, r2))
	}
}
