package chain

import (
	"reflect"
	"sync"
)

// Default caps, used when the corresponding Walker field is zero.
const (
	DefaultMaxDepth   = 64   // layers from the root to the deepest leaf
	DefaultMaxLayers  = 256  // layers in one Chain
	DefaultMaxWidth   = 64   // children followed per layer
	DefaultMaxMessage = 4096 // bytes kept of each Message and Own
)

// Values of Chain.Truncated: the first cap that cut a walk short.
const (
	TruncatedDepth   = "depth"   // a layer deeper than MaxDepth was dropped
	TruncatedLayers  = "layers"  // the walk stopped at MaxLayers layers
	TruncatedWidth   = "width"   // a layer had more than MaxWidth children
	TruncatedMessage = "message" // a message was cut to MaxMessage bytes
	TruncatedCycle   = "cycle"   // an error led back to one of its ancestors
)

// A Walker turns errors into Chains. The zero value uses the built-in
// unwrappers, both fallbacks and the default caps. A Walker is not modified
// by walking, so one value may be shared by many goroutines.
type Walker struct {
	// Unwrappers are consulted, in order, before the built-in ones; the
	// first that recognises an error decides its attributes and hidden
	// cause. Use them to see into your own error types.
	Unwrappers []Unwrapper

	// Recognisers read facts from the text of the layers the text
	// fallback and FromText parse, before the built-in recognisers.
	Recognisers Recognisers

	// NoBuiltins skips the built-in unwrappers, leaving only the standard
	// methods (Unwrap, Cause, WrappedErrors), Describer and Unwrappers.
	NoBuiltins bool
	// NoFieldFallback turns off the reflection fallback that follows struct
	// fields of error type in errors that declare no way to unwrap them.
	NoFieldFallback bool
	// NoTextFallback turns off the layers parsed from the message of a leaf
	// that no unwrapper recognised.
	NoTextFallback bool

	// Caps; zero means the Default value of the same name.
	MaxDepth   int
	MaxLayers  int
	MaxWidth   int
	MaxMessage int
}

// Walk turns err into a Chain with the zero Walker: built-in unwrappers,
// both fallbacks and the default caps. A nil error gives a Chain with no
// layers.
func Walk(err error) Chain {
	var w Walker
	return w.Walk(err)
}

// pending is an error waiting on the walk stack. When its parent's format
// is known to print it verbatim, msg already holds its text.
type pending struct {
	err    error
	msg    string
	hasMsg bool
	parent int
	depth  int
	via    Via
}

// walk is the state of one Walk. Its small arrays are the first backing
// stores of its slices, and the state is reused from walks, so a typical
// chain costs its Layers and what the errors' own Error methods allocate.
type walk struct {
	unwrappers                    []Unwrapper
	recognisers                   Recognisers
	maxDepth, maxLayers, maxWidth int
	maxMessage                    int
	textFallback, fieldFallback   bool
	builtins                      bool
	c                             Chain
	errs                          []error // live error of each layer, for cycle checks; nil for text layers
	stack                         []pending
	kids                          []error
	scratch                       *Attrs // handed to Unwrappers, allocated on first use
	errsArr                       [16]error
	stackArr                      [8]pending
	kidsArr                       [8]error
}

// Walk turns err into a Chain: every layer reachable from err, in pre-order,
// with the attributes the unwrappers and describers found. It never panics:
// a panic in an error's methods or in an Unwrapper is recovered (and an
// Error method's panic recorded as the layer's message). A nil error gives
// a Chain with no layers.
func (w *Walker) Walk(err error) Chain {
	if err == nil {
		c := Chain{Schema: SchemaVersion}
		c.GOOS, c.GOARCH = platform()
		return c
	}
	st := walks.Get().(*walk)
	st.unwrappers = w.Unwrappers
	st.recognisers = w.Recognisers
	st.maxDepth = capOr(w.MaxDepth, DefaultMaxDepth)
	st.maxLayers = capOr(w.MaxLayers, DefaultMaxLayers)
	st.maxWidth = capOr(w.MaxWidth, DefaultMaxWidth)
	st.maxMessage = capOr(w.MaxMessage, DefaultMaxMessage)
	st.textFallback = !w.NoTextFallback
	st.fieldFallback = !w.NoFieldFallback
	st.builtins = !w.NoBuiltins
	st.c.Schema = SchemaVersion
	st.c.GOOS, st.c.GOARCH = platform()
	// Most chains have fewer than 8 layers; Layer is large, so start small.
	st.c.Layers = make([]Layer, 0, min(st.maxLayers, 8))
	st.errs = st.errsArr[:0]
	st.stack = append(st.stackArr[:0], pending{err: err, parent: -1, via: ViaRoot})
	st.kids = st.kidsArr[:0]
	st.run()
	st.finish()
	c := st.c
	st.release()
	return c
}

// walks holds walk states for reuse: one is over a kilobyte, and a walk
// would otherwise allocate it every time.
var walks = sync.Pool{New: func() any { return new(walk) }}

// release returns st to walks, dropping every reference it holds to the
// errors and the Chain of the walk just done.
func (st *walk) release() {
	scratch := st.scratch
	if scratch != nil {
		*scratch = Attrs{}
	}
	*st = walk{scratch: scratch}
	walks.Put(st)
}

func capOr(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}

func (st *walk) truncate(why string) {
	if st.c.Truncated == "" {
		st.c.Truncated = why
	}
}

func (st *walk) run() {
	for len(st.stack) > 0 {
		p := st.stack[len(st.stack)-1]
		st.stack = st.stack[:len(st.stack)-1]
		if len(st.c.Layers) >= st.maxLayers {
			st.truncate(TruncatedLayers)
			return
		}
		if p.depth >= st.maxDepth {
			st.truncate(TruncatedDepth)
			continue
		}
		if p.parent >= 0 && st.isAncestor(p.err, p.parent) {
			st.truncate(TruncatedCycle)
			continue
		}
		st.visit(p)
	}
}

// isAncestor reports whether err is the layer at index i or one of its
// ancestors: following it again would loop.
func (st *walk) isAncestor(err error, i int) bool {
	for ; i >= 0; i = st.c.Layers[i].Parent {
		if sameError(err, st.errs[i]) {
			return true
		}
	}
	return false
}

// visit records one layer and pushes its children.
func (st *walk) visit(p pending) {
	idx := len(st.c.Layers)
	msg := p.msg
	if !p.hasMsg {
		msg = errorText(p.err)
	}
	st.c.Layers = append(st.c.Layers, Layer{
		Type:    typeName(p.err),
		Message: msg,
		Own:     msg,
		Via:     p.via,
		Parent:  p.parent,
		Depth:   p.depth,
	})
	st.errs = append(st.errs, p.err)
	st.linkParent(idx)

	// Nothing appends to Layers until the attributes are in.
	a := &st.c.Layers[idx].Attrs
	hidden, recognised := st.unwrap(p.err, msg, a)
	describe(p.err, a)
	methodFacts(p.err, a)
	timeoutFlags(p.err, a)

	st.kids = st.kids[:0]
	via := ViaUnwrapper
	if hidden != nil {
		st.kids = append(st.kids, hidden)
	} else {
		var declared bool
		via, declared = st.children(p.err)
		if !declared && !recognised && st.fieldFallback {
			via = ViaField
			st.kids = fieldErrors(p.err, st.kids)
		}
	}
	switch len(st.kids) {
	case 0:
		if !recognised && st.textFallback && st.c.Layers[idx].Attrs.IsZero() {
			st.addText(idx)
		}
		return
	case 1:
		child := pending{err: st.kids[0], parent: idx, depth: p.depth + 1, via: via}
		child.msg, child.hasMsg = childText(p.err, msg, child.err)
		st.stack = append(st.stack, child)
		st.kids[0] = nil
		return
	}
	if len(st.kids) > st.maxWidth {
		st.truncate(TruncatedWidth)
		st.kids = st.kids[:st.maxWidth]
	}
	// Push in reverse so the first child is visited first (pre-order).
	for i := len(st.kids) - 1; i >= 0; i-- {
		st.stack = append(st.stack, pending{err: st.kids[i], parent: idx, depth: p.depth + 1, via: via})
	}
	clear(st.kids)
}

// linkParent settles the parent's Own now that the child at idx is known.
// In pre-order a first child sits right after its parent; a later child
// means the parent has several, and its message cannot be split.
func (st *walk) linkParent(idx int) {
	l := &st.c.Layers[idx]
	if l.Parent < 0 {
		return
	}
	parent := &st.c.Layers[l.Parent]
	if idx != l.Parent+1 {
		parent.Own = ""
		return
	}
	parent.Own = ownText(parent.Message, l.Message)
}

// ownText is the part of msg its child's message does not account for:
// msg minus a trailing ": "+child (fmt.Errorf's "%s: %w") or "; "+child
// (http2.StreamError's cause), "" when msg is the child's text, and msg
// itself when it does not end with the child's text.
func ownText(msg, child string) string {
	if msg == child {
		return ""
	}
	n := len(msg) - len(child) - 2
	if n > 0 && msg[n+2:] == child && (msg[n:n+2] == ": " || msg[n:n+2] == "; ") {
		return msg[:n]
	}
	return msg
}

// unwrap consults the Unwrappers, then the built-ins, which record in a
// what they find. It reports the hidden cause an unwrapper exposed and
// whether any recognised err.
func (st *walk) unwrap(err error, msg string, a *Attrs) (cause error, ok bool) {
	for _, u := range st.unwrappers {
		// The interface call lets the scratch escape; allocate it only
		// for walkers that have Unwrappers.
		if st.scratch == nil {
			st.scratch = new(Attrs)
		}
		*st.scratch = Attrs{}
		if cause, ok = callUnwrapper(u, err, st.scratch); ok {
			*a = *st.scratch
			return cause, true
		}
	}
	if st.builtins {
		return builtinUnwrap(err, msg, a)
	}
	return nil, false
}

// children appends err's declared children to st.kids, preferring a tree
// (Unwrap() []error, WrappedErrors) over a single cause. declared reports
// whether err has any of the unwrapping methods at all, even if they
// returned nothing: such a type has said what its causes are.
func (st *walk) children(err error) (via Via, declared bool) {
	switch e := err.(type) {
	case interface{ Unwrap() []error }:
		st.kids = appendNonNil(st.kids, callMulti(e.Unwrap), st.maxWidth+1)
		return ViaMulti, true
	case interface{ WrappedErrors() []error }:
		// go-multierror: its Unwrap() error fakes a linear chain through
		// the siblings, so the list is the truth.
		st.kids = appendNonNil(st.kids, callMulti(e.WrappedErrors), st.maxWidth+1)
		return ViaMulti, true
	case interface{ Unwrap() error }:
		if c := callSingle(e.Unwrap); c != nil {
			st.kids = append(st.kids, c)
		}
		return ViaUnwrap, true
	case interface{ Cause() error }:
		if c := callSingle(e.Cause); c != nil {
			st.kids = append(st.kids, c)
		}
		return ViaCause, true
	}
	return "", false
}

// appendNonNil appends up to limit non-nil errors of list to dst. Stopping
// at the limit keeps a million-wide multi-error cheap; one more than the
// width cap is enough to know the cap was hit.
func appendNonNil(dst, list []error, limit int) []error {
	for _, e := range list {
		if len(dst) >= limit {
			break
		}
		if e != nil {
			dst = append(dst, e)
		}
	}
	return dst
}

// addText attaches the layers parsed from the message of the leaf at idx,
// when the text names a cause that no Go value exposed.
func (st *walk) addText(idx int) {
	leaf := st.c.Layers[idx]
	tc := parseText(leaf.Message, textCaps{
		maxLayers:   st.maxLayers - len(st.c.Layers),
		maxDepth:    st.maxDepth - leaf.Depth - 1,
		recognisers: st.recognisers,
	})
	if !tc.recognised {
		return
	}
	if len(tc.layers) == 1 && tc.layers[0].Message == leaf.Message {
		// The text is one error, the leaf's own: its facts belong to the
		// leaf, not to a layer that would repeat it.
		st.c.Layers[idx].Attrs = tc.layers[0].Attrs
		return
	}
	base := len(st.c.Layers)
	for _, l := range tc.layers {
		if l.Parent < 0 {
			l.Parent = idx
		} else {
			l.Parent += base
		}
		l.Via = ViaText
		l.Depth += leaf.Depth + 1
		st.c.Layers = append(st.c.Layers, l)
		st.errs = append(st.errs, nil)
	}
	st.c.Layers[idx].Own = ownText(leaf.Message, tc.layers[0].Message)
	if tc.truncated != "" {
		st.truncate(tc.truncated)
	}
}

// finish applies the message cap.
func (st *walk) finish() {
	for i := range st.c.Layers {
		l := &st.c.Layers[i]
		if len(l.Message) > st.maxMessage {
			l.Message = cutUTF8(l.Message, st.maxMessage)
			st.truncate(TruncatedMessage)
		}
		if len(l.Own) > st.maxMessage {
			l.Own = cutUTF8(l.Own, st.maxMessage)
			st.truncate(TruncatedMessage)
		}
	}
}

// cutUTF8 cuts s to at most n bytes without splitting a UTF-8 sequence.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// sameError reports whether a and b are the same error value, without the
// panic that == gives on identical uncomparable dynamic types.
func sameError(a, b error) bool {
	if a == nil || b == nil {
		return false
	}
	ta := reflect.TypeOf(a)
	if ta != reflect.TypeOf(b) {
		return false
	}
	if ta.Kind() == reflect.Pointer {
		// Most errors are pointers, whose comparison cannot panic.
		return a == b
	}
	return ta.Comparable() && safeEqual(a, b)
}
