package chain

// An Unwrapper sees into errors of types it knows: it reads facts from
// their fields and exposes a cause they hide. Walker consults its
// Unwrappers for every layer, before the built-in ones.
//
// Unwrap reports ok=false for an error it does not recognise; the walker
// then asks the next Unwrapper. When it recognises err, it fills in a and
// returns ok=true, and:
//   - a non-nil cause becomes the layer's only child (Via "unwrapper"),
//     and the error's own Unwrap, Cause and similar methods are not
//     followed;
//   - a nil cause leaves those methods to the walker, as usual.
//
// The walker hands the same *Attrs to every call, so an Unwrapper must not
// keep it. Write Unwrap as a type switch or a type assertion, and it costs
// no allocation; a panic inside it is recovered and treated as ok=false.
type Unwrapper interface {
	Unwrap(err error, a *Attrs) (cause error, ok bool)
}

// UnwrapperFunc adapts a function to the Unwrapper interface.
type UnwrapperFunc func(err error, a *Attrs) (cause error, ok bool)

// Unwrap calls f(err, a).
func (f UnwrapperFunc) Unwrap(err error, a *Attrs) (error, bool) { return f(err, a) }

// builtinUnwrap runs the built-in unwrappers, one per domain, in order.
// msg is err's text, from which some read what their fields would only
// give at the cost of an allocation.
func builtinUnwrap(err error, msg string, a *Attrs) (error, bool) {
	if c, ok := unwrapNet(err, msg, a); ok {
		return c, true
	}
	if c, ok := unwrapHTTP2(err, a); ok {
		return c, true
	}
	if c, ok := unwrapTLS(err, a); ok {
		return c, true
	}
	if c, ok := unwrapCodec(err, a); ok {
		return c, true
	}
	return unwrapStd(err, a)
}
