package classify

import (
	"time"
	"unicode/utf8"

	"github.com/faultline-go/faultline/chain"
)

// Verdict is what a classifier says about one layer of a chain.
// The zero Verdict says nothing.
type Verdict struct {
	// Kind is the kind the layer claims, or "" to claim none. A kind
	// outside the documented vocabulary is passed through to policies
	// unchanged.
	Kind Kind
	// Transient is the layer's retry hint; it counts only with a Kind.
	Transient bool
	// Labels are added to Facts.Labels whether or not Kind is set. When
	// two verdicts set the same key, the outer layer (or, on one layer,
	// the earlier classifier) wins.
	Labels map[string]string
}

// A Classifier recognises layers of its own error types: a cloud SDK's
// throttling error, a gRPC status carried in Attrs.Extra["grpc.code"].
// ClassifyLayer sees one layer at a time — its Type, Message, Own text and
// Attrs (including Attrs.Extra) — and must not modify it.
type Classifier interface {
	ClassifyLayer(l chain.Layer) Verdict
}

// ClassifierFunc adapts a function to the Classifier interface.
type ClassifierFunc func(l chain.Layer) Verdict

// ClassifyLayer returns f(l).
func (f ClassifierFunc) ClassifyLayer(l chain.Layer) Verdict { return f(l) }

// Set is a list of user classifiers consulted before the built-in ones.
// The zero value classifies with the built-in classifiers only. A Set is
// safe for concurrent use as long as its classifiers are and it is not
// modified.
type Set struct {
	// Classifiers are asked about every layer, in order. The first one
	// that claims a Kind decides the layer's kind and transience in place
	// of the built-in classifiers (which still read the layer's details:
	// errno, HTTP/2 code, status); every classifier's Labels are kept.
	Classifiers []Classifier

	// Recognisers read facts from the root's whole message — so that a
	// pattern may span the ": " between layers — and from every other
	// layer's own words, before chain's built-in recognisers read them:
	// the way a deployment teaches classify its own error texts (a policy
	// file's recognisers are compiled into these).
	Recognisers chain.Recognisers
}

// Classify classifies c with the built-in classifiers. It is
// (*Set).Classify on the zero Set.
func Classify(c chain.Chain) Facts {
	var s Set
	return s.Classify(c)
}

// stackLayers is how many layers Classify analyses without allocating.
const stackLayers = 16

// Classify turns c into Facts. It reads only c: the same chain, walked live
// or decoded from a dump, always gives the same Facts.
//
// Precedence, which decides Kind when several layers speak:
//
//  1. A sticky kind — checksum, unsafe_archive or limit, whether hinted by
//     Attrs.Kind or recognised — wins over everything; the deepest one
//     decides. These are definite verdicts on the payload or the
//     operation that no retry changes, even when a transport error was also
//     seen on the way.
//  2. Otherwise caller cancellation — canceled or deadline — wins over any
//     transport error beneath it, because a cancelled operation tears its
//     connections down and the reset or EOF that follows is an effect, not
//     the cause. The outermost such layer decides: wrappers like net/http's
//     "(Client.Timeout exceeded …)" say who set the limit, the bare
//     context error beneath them does not.
//  3. Otherwise the deepest layer that speaks decides: the transport cause
//     under a decompressor's or extractor's error, not the outermost
//     wrapper. Among layers at the same depth (branches of a multi-error),
//     the first in the chain's pre-order decides.
//
// Facts.CausedByTransport is set when a decode, archive or checksum layer
// has a transport layer beneath it, whatever decided Kind.
func (s *Set) Classify(c chain.Chain) Facts {
	n := len(c.Layers)
	if n == 0 {
		return Facts{Kind: Unknown, Layer: -1}
	}
	var buf [stackLayers]layerInfo
	infos := buf[:0]
	if n > stackLayers {
		infos = make([]layerInfo, 0, n)
	}
	f := Facts{Kind: Unknown, Layer: -1}
	scratch := new(chain.Attrs)
	// The user's pattern recognisers share one budget across the layers,
	// so that the work of one Classify is bounded whatever the chain.
	budget := chain.MaxPatternWork
	for i := range c.Layers {
		l := &c.Layers[i]
		var in layerInfo
		var rs chain.Recognisers
		if s != nil {
			rs = s.Recognisers
		}
		// A version 2 walker recorded what the built-in recognisers read in
		// the layers it parsed from text.
		parsed := c.Schema >= 2 && l.Via == chain.ViaText && l.Type == "" && !l.Attrs.IsZero()
		builtinLayer(l, i+1 < n && c.Layers[i+1].Parent == i, &in, rs, parsed, scratch, &budget)
		if s != nil && len(s.Classifiers) > 0 {
			s.consult(l, &in, &f)
		}
		infos = append(infos, in)
	}
	adoptH2Reasons(c.Layers, infos)

	decider := decide(c.Layers, infos)
	if decider < 0 {
		decider = dialFallback(c.Layers, infos)
	}
	if decider >= 0 {
		in := &infos[decider]
		f.Kind = in.kind
		f.Transient = in.transient
		if decider < MaxLayers {
			f.Layer = decider
		}
		f.Errno, f.Op = pathDetails(c.Layers, infos, decider)
	}
	f.CausedByTransport = causedByTransport(c.Layers, infos)
	gatherDetails(c.Layers, infos, &f)

	f.Message = capString(c.Layers[0].Message)
	f.Layers = make([]Layer, min(n, MaxLayers))
	for i := range f.Layers {
		l := &c.Layers[i]
		f.Layers[i] = Layer{Type: capString(l.Type), Message: capString(l.Message), Via: string(l.Via)}
	}
	return f
}

// consult asks the user classifiers about l, overriding the built-in kind
// when one claims a kind, and merges their labels into f.
func (s *Set) consult(l *chain.Layer, in *layerInfo, f *Facts) {
	claimed := false
	for _, cl := range s.Classifiers {
		v := cl.ClassifyLayer(*l)
		for k, val := range v.Labels {
			addLabel(f, k, val)
		}
		if !claimed && v.Kind != "" {
			claimed = true
			in.kind, in.transient, in.user = v.Kind, v.Transient, true
		}
	}
}

// addLabel adds one label unless the key is taken or the cap is reached.
func addLabel(f *Facts, k, v string) {
	if _, ok := f.Labels[k]; ok || len(f.Labels) >= MaxLabels {
		return
	}
	if f.Labels == nil {
		f.Labels = make(map[string]string)
	}
	f.Labels[capString(k)] = capString(v)
}

// decide returns the index of the layer that decides Kind, or -1.
func decide(layers []chain.Layer, infos []layerInfo) int {
	sticky, cancel, deepest := -1, -1, -1
	for i := range infos {
		k := infos[i].kind
		if k == "" || k == Unknown {
			continue
		}
		d := layers[i].Depth
		switch k.class() {
		case classSticky:
			if sticky < 0 || d > layers[sticky].Depth {
				sticky = i
			}
		case classCancel:
			if cancel < 0 || d < layers[cancel].Depth {
				cancel = i
			}
		default:
			if deepest < 0 || d > layers[deepest].Depth {
				deepest = i
			}
		}
	}
	switch {
	case sticky >= 0:
		return sticky
	case cancel >= 0:
		return cancel
	}
	return deepest
}

// adoptH2Reasons gives an HTTP/2 layer that names no code the code its
// child names: other stacks print the code as the last segment of their
// message ("stream error received: stream no longer needed"), which
// chain.FromText splits into a layer of its own. Such a child sets no kind;
// its code decides the parent's transience as it would have in one piece.
func adoptH2Reasons(layers []chain.Layer, infos []layerInfo) {
	for i := 1; i < len(infos); i++ {
		p := layers[i].Parent
		if p < 0 || p >= i || infos[i].reason == "" || !infos[p].h2 || infos[p].h2Code != "" {
			continue
		}
		parent := &infos[p]
		parent.h2Code = infos[i].reason
		if parent.kind != "" && !parent.user {
			refineTransient(parent)
			if parent.hint != nil {
				parent.transient = *parent.hint
			}
		}
	}
}

// dialFallback gives a chain in which no layer spoke the kind connection
// when a layer is a failed dial: whatever its unrecognised cause, the
// request never reached the server, so trying again cannot do it twice.
// It returns the dial's layer, or -1.
func dialFallback(layers []chain.Layer, infos []layerInfo) int {
	for i := range infos {
		if infos[i].netOp && infos[i].op == "dial" {
			infos[i].setKind(Connection)
			return i
		}
	}
	return -1
}

// pathDetails finds the errno and network operation of the root cause: on
// the deciding layer or the nearest of its ancestors that has them.
// *net.OpError's operation ("read", "dial") is preferred to the syscall
// name below it and to *url.Error's HTTP method above it.
func pathDetails(layers []chain.Layer, infos []layerInfo, i int) (errno, op string) {
	fallbackOp := ""
	for i >= 0 && i < len(layers) {
		in := &infos[i]
		if errno == "" {
			errno = in.errno
		}
		if op == "" && in.op != "" {
			if in.netOp {
				op = in.op
			} else if fallbackOp == "" {
				fallbackOp = in.op
			}
		}
		if errno != "" && op != "" {
			break
		}
		p := layers[i].Parent
		if p >= i { // a well-formed chain lists parents first; stop on anything else
			break
		}
		i = p
	}
	if op == "" {
		op = fallbackOp
	}
	return errno, op
}

// causedByTransport reports whether a decode, archive or checksum layer has
// a transport layer beneath it.
func causedByTransport(layers []chain.Layer, infos []layerInfo) bool {
	for i := range infos {
		if !infos[i].kind.Transport() {
			continue
		}
		child, p := i, layers[i].Parent
		for p >= 0 && p < child { // parents come first; this also bounds the loop
			switch infos[p].kind {
			case Decode, Archive, Checksum:
				return true
			}
			child, p = p, layers[p].Parent
		}
	}
	return false
}

// gatherDetails fills the facts that may come from any layer: timeouts,
// HTTP/2, HTTP and decoder details. Where several layers carry the same
// detail, the deepest wins (the first of equals in pre-order), except the
// archive entry, which the outermost extractor layer names best.
func gatherDetails(layers []chain.Layer, infos []layerInfo, f *Facts) {
	h2Depth, statusDepth, fmtDepth, offDepth, waitDepth, grpcDepth, codeDepth := -1, -1, -1, -1, -1, -1, -1
	for i := range infos {
		in := &infos[i]
		d := layers[i].Depth
		if in.timeout || in.kind == Timeout || in.kind == Deadline {
			f.Timeout = true
		}
		if in.goaway {
			f.H2.GoAway = true
		}
		if in.h2 && (in.unprocessed || in.h2Code == "REFUSED_STREAM" ||
			in.goaway && in.h2Stream != 0 && in.h2Stream > in.h2Last) {
			f.H2.Unprocessed = true
		}
		if in.h2 && d > h2Depth {
			h2Depth = d
			f.H2.Code = capString(in.h2Code)
			f.H2.StreamID = int64(in.h2Stream)
			f.H2.LastStreamID = int64(in.h2Last)
			f.H2.Remote = in.h2Remote
			f.H2.Debug = capString(in.h2Debug)
		}
		if in.status != 0 && d > statusDepth {
			statusDepth = d
			f.HTTP.Status = in.status
			f.HTTP.Equivalent = EquivalentStatus(in.status)
		}
		// A wait may come from the layer with the status (Retry-After)
		// or from one that only says how long (an error body's wait).
		if in.retryAfter > 0 && d > waitDepth {
			waitDepth = d
			f.HTTP.RetryAfter = seconds(in.retryAfter)
		}
		if in.grpc != "" && d > grpcDepth {
			grpcDepth = d
			f.GRPC.Code = capString(in.grpc)
		}
		if in.code != "" && d > codeDepth {
			codeDepth = d
			f.Code = capString(in.code)
		}
		if in.retryable != nil && f.Retryable == "" {
			// The outermost claim: what the SDK the caller used says.
			f.Retryable = "no"
			if *in.retryable {
				f.Retryable = "yes"
			}
		}
		if in.format != "" && d > fmtDepth {
			fmtDepth = d
			f.Decode.Format = capString(in.format)
		}
		if in.offset != 0 && d > offDepth {
			offDepth = d
			f.Decode.Offset = in.offset
		}
		if in.entry != "" && f.Decode.Entry == "" {
			f.Decode.Entry = capString(in.entry)
		}
	}
}

// seconds converts a Retry-After in seconds to a Duration, saturating
// instead of overflowing on absurd values.
func seconds(s float64) time.Duration {
	const maxSeconds = float64(1<<63-1) / float64(time.Second)
	switch {
	case s <= 0 || s != s: // also NaN
		return 0
	case s >= maxSeconds:
		return time.Duration(1<<63 - 1)
	}
	return time.Duration(s * float64(time.Second))
}

// capString cuts s to at most MaxMessage bytes on a UTF-8 boundary.
func capString(s string) string {
	if len(s) <= MaxMessage {
		return s
	}
	i := MaxMessage
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}
