package httpx

import (
	"encoding/json"
	"unicode/utf8"

	"github.com/faultline-go/faultline/chain"
	"github.com/faultline-go/faultline/policy"
)

// Bounds on what httpx takes from the network and writes down. Every
// input a server controls has one:
//
//   - Response headers: MaxResponseHeaderBytes (1 MiB) on the transports
//     NewTransport makes, HTTP/1.1 and HTTP/2 alike; a larger header
//     fails the request.
//   - Redirects: the Client's default HTTP client stops after 10
//     consecutive requests, 9 redirects followed (net/http's default),
//     and the request fails; the default policy does not retry it.
//   - Body length: with Content-Length (or a 206's Content-Range),
//     exactly the announced bytes are delivered — fewer is a broken body,
//     resumed; net/http ignores any beyond. Without one, Options.Size
//     bounds it: a byte past Size fails the body at once. With neither,
//     the body is bounded in time only, by the policy's max_elapsed and
//     the caller's deadline.
//   - Retry-After: RetryAfterCeiling.
//   - Dumps: at most MaxDumpBytes each (see fitChain).
const (
	// MaxResponseHeaderBytes bounds a response's header.
	MaxResponseHeaderBytes = 1 << 20
	// MaxDumpBytes bounds the size of one dump file.
	MaxDumpBytes = 1 << 20
)

// Limits on the parts of a dump other than the chain, which fitChain
// sizes to what is left.
const (
	// maxHistory is how many earlier kinds State.History keeps: the most
	// recent ones, as many as a policy sees (policy caps its input the
	// same way).
	maxHistory = 32
	// maxStateText bounds the strings of State that come from the
	// network (host, validator, protocol), as policy clips them for its
	// rules.
	maxStateText = 512
	// maxSourceURL bounds the URL quoted in a dump's Source.
	maxSourceURL = 2048
	// maxReason bounds the decision's reason recorded in a dump (a
	// reason_expr may build a long one).
	maxReason = 4096
	// maxDumpTrail is how many earlier decisions a dump records: the
	// most recent ones. The trail of a long operation grows with its
	// attempts; the dump must not.
	maxDumpTrail = 32
	// chainBudget is what the encoded chain of a dump may take: the
	// dump less room for the rest at its worst, every character escaped
	// in six bytes: the trail (32 reasons of 512 bytes), the decision's
	// reason, the state's strings and the source.
	chainBudget = MaxDumpBytes - 192<<10
)

// clipText shortens s to at most n bytes without splitting a character.
func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// dumpTrail returns the most recent maxDumpTrail steps of trail, their
// reasons clipped.
func dumpTrail(trail []policy.Step) []policy.Step {
	if len(trail) > maxDumpTrail {
		trail = trail[len(trail)-maxDumpTrail:]
	}
	out := make([]policy.Step, len(trail))
	for i, s := range trail {
		s.Reason = clipText(s.Reason, maxStateText)
		out[i] = s
	}
	return out
}

// boundState applies the limits above to a State before anything sees
// it, so that the live decision and one replayed from the dump see the
// same.
func boundState(s *policy.State) {
	if len(s.History) > maxHistory {
		s.History = s.History[len(s.History)-maxHistory:]
	}
	s.Request.Host = clipText(s.Request.Host, maxStateText)
	s.Response.Validator = clipText(s.Response.Validator, maxStateText)
	s.Response.Protocol = clipText(s.Response.Protocol, maxStateText)
}

// fitChain makes c's JSON fit chainBudget, before it is classified, so
// that a dump replays the decision made live: messages are cut shorter
// and shorter, then the last layers (the deepest, in pre-order) are
// dropped. c.Truncated says which cap was hit first. A chain from
// chain.Walk is already bounded (256 layers of 4 KiB messages); text
// that JSON must escape can still make it several megabytes.
func fitChain(c *chain.Chain) {
	size := func() int {
		b, err := json.Marshal(c)
		if err != nil {
			return 0
		}
		return len(b)
	}
	if size() <= chainBudget {
		return
	}
	mark := func(why string) {
		if c.Truncated == "" {
			c.Truncated = why
		}
	}
	for _, n := range []int{1024, 256, 64} {
		for i := range c.Layers {
			l := &c.Layers[i]
			l.Message, l.Own = clipText(l.Message, n), clipText(l.Own, n)
		}
		mark(chain.TruncatedMessage)
		if size() <= chainBudget {
			return
		}
	}
	for len(c.Layers) > 1 && size() > chainBudget {
		c.Layers = c.Layers[:len(c.Layers)/2]
		mark(chain.TruncatedLayers)
	}
}
