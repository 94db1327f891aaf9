package policy

import (
	"math"
	"sync/atomic"
)

// Budget is a retry budget shared by every operation of an Engine, in the
// manner of gRPC retry throttling: a bucket of MaxTokens tokens, from which
// every failure takes one and every success returns TokenRatio. While the
// bucket holds no more than half of MaxTokens, failures are not retried, so
// a fleet of clients stops multiplying the load on a struggling server.
type Budget struct {
	MaxTokens  float64 `yaml:"max_tokens" json:"max_tokens"`
	TokenRatio float64 `yaml:"token_ratio" json:"token_ratio"`
}

func (b Budget) validate(errs *ErrorList, at func(key string) pos) {
	if !(b.MaxTokens > 0 && b.MaxTokens <= 1e6) {
		errs.add(at("max_tokens"), "", "budget: max_tokens must be in (0, 1000000]")
	}
	if !(b.TokenRatio > 0 && b.TokenRatio <= b.MaxTokens) {
		errs.add(at("token_ratio"), "", "budget: token_ratio must be positive and at most max_tokens")
	}
}

// tokenScale keeps tokens in thousandths, as gRPC does, so the bucket is
// one atomic integer.
const tokenScale = 1000

// bucket is a Budget's live state.
type bucket struct {
	max, ratio int64 // thousandths of a token
	tokens     atomic.Int64
}

func newBucket(b Budget) *bucket {
	k := &bucket{max: scaleTokens(b.MaxTokens), ratio: scaleTokens(b.TokenRatio)}
	k.tokens.Store(k.max)
	return k
}

func scaleTokens(f float64) int64 { return int64(math.Round(f * tokenScale)) }

// fail takes a token for a failure and reports whether a retry is still
// allowed: the bucket must hold more than half its capacity.
func (k *bucket) fail() bool {
	for {
		old := k.tokens.Load()
		n := max(old-tokenScale, 0)
		if k.tokens.CompareAndSwap(old, n) {
			return n > k.max/2
		}
	}
}

// succeed returns TokenRatio tokens, up to the capacity.
func (k *bucket) succeed() {
	for {
		old := k.tokens.Load()
		n := min(old+k.ratio, k.max)
		if k.tokens.CompareAndSwap(old, n) {
			return
		}
	}
}

// level is the number of tokens left.
func (k *bucket) level() float64 { return float64(k.tokens.Load()) / tokenScale }
