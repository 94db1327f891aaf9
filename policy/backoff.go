package policy

import (
	"math"
	"math/rand/v2"
	"time"
)

// Jitter is how a backoff delay is randomized.
type Jitter string

// The jitters. Randomizing delays spreads out clients that failed together
// so that they do not retry together.
const (
	JitterNone  Jitter = "none"  // the exponential delay itself
	JitterFull  Jitter = "full"  // uniform in [0, d]
	JitterEqual Jitter = "equal" // uniform in [d/2, d]
	// JitterDecorrelated is uniform in [initial, 3×previous delay], capped
	// at max: each delay grows from the one actually slept.
	JitterDecorrelated Jitter = "decorrelated"
)

// Backoff is exponential backoff with jitter. The engine computes it in Go
// (CEL durations cannot be multiplied) and rules see the result as the CEL
// variable "backoff". It grows with the attempts in a row that made no
// progress (State.Progress.NoProgress), not with every attempt: after an
// attempt that moved the download forward, the next wait is Initial
// again. A state without progress facts counts every attempt.
type Backoff struct {
	Initial    time.Duration `yaml:"initial" json:"initial"`
	Max        time.Duration `yaml:"max" json:"max"`
	Multiplier float64       `yaml:"multiplier" json:"multiplier"`
	Jitter     Jitter        `yaml:"jitter" json:"jitter"`
}

var defaultBackoff = Backoff{
	Initial:    250 * time.Millisecond,
	Max:        30 * time.Second,
	Multiplier: 2,
	Jitter:     JitterFull,
}

func (b Backoff) validate(errs *ErrorList, at func(key string) pos) {
	switch b.Jitter {
	case JitterNone, JitterFull, JitterEqual, JitterDecorrelated:
	default:
		errs.add(at("jitter"), "", "backoff: unknown jitter %q (want none, full, equal or decorrelated)", b.Jitter)
	}
	if b.Initial < 0 {
		errs.add(at("initial"), "", "backoff: initial must not be negative")
	}
	if b.Max < b.Initial {
		errs.add(at("max"), "", "backoff: max %v is below initial %v", b.Max, b.Initial)
	}
	if b.Multiplier < 1 || math.IsInf(b.Multiplier, 0) || math.IsNaN(b.Multiplier) {
		errs.add(at("multiplier"), "", "backoff: multiplier %v must be at least 1", b.Multiplier)
	}
}

// Base returns the delay before the attempt after attempt number n
// without jitter: Initial×Multiplier^(n-1), capped at Max.
func (b Backoff) Base(n int) time.Duration {
	if n < 1 {
		n = 1
	}
	d := float64(b.Initial) * math.Pow(b.Multiplier, float64(n-1))
	if d >= float64(b.Max) || math.IsInf(d, 0) || math.IsNaN(d) {
		return b.Max
	}
	return time.Duration(d)
}

// Delay returns the jittered delay after attempt number n failed, drawing
// from r. last is the delay slept before attempt n (0 if unknown), which
// only decorrelated jitter uses. With r nil, Delay returns Base(n).
func (b Backoff) Delay(n int, last time.Duration, r *rand.Rand) time.Duration {
	if r == nil {
		return b.Base(n)
	}
	lo, hi := b.Range(n, last)
	return uniform(r, lo, hi)
}

// Range returns the least and the greatest delay Delay can draw after
// attempt number n failed.
func (b Backoff) Range(n int, last time.Duration) (lo, hi time.Duration) {
	d := b.Base(n)
	switch b.Jitter {
	case JitterFull:
		return 0, d
	case JitterEqual:
		return d / 2, d
	case JitterDecorrelated:
		if last <= 0 {
			last = b.Base(n - 1)
		}
		hi := min(3*last, b.Max)
		if hi < 0 { // 3×last overflowed
			hi = b.Max
		}
		return min(b.Initial, hi), hi
	}
	return d, d
}

// uniform returns a duration uniform in [lo, hi].
func uniform(r *rand.Rand, lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(r.Int64N(int64(hi-lo)+1))
}
