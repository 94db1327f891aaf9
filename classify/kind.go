package classify

// kindClass groups kinds by the precedence rules of Set.Classify.
type kindClass uint8

const (
	classNone      kindClass = iota // unknown, or a kind with no special role
	classTransport                  // the network failed under us
	classCodec                      // a decoder or an archive reader failed
	classSticky                     // a definite verdict no deeper layer overrides
	classCancel                     // the operation was stopped from above
)

// class reports the precedence class of k.
func (k Kind) class() kindClass {
	switch k {
	case ConnectionReset, ConnectionRefused, ConnectionAborted, BrokenPipe, Unreachable, Connection,
		Timeout, Stall, H2Stream, H2GoAway, H2Connection:
		return classTransport
	case Decode, Archive:
		return classCodec
	case Checksum, UnsafeArchive, Limit:
		return classSticky
	case Canceled, Deadline:
		return classCancel
	}
	return classNone
}

// Transport reports whether k is a failure of the network path itself
// (a reset, a refused or unreachable peer, a timeout, an HTTP/2 stream or
// connection error), as opposed to the payload, the local system, or the
// caller. unexpected_eof is not a transport kind: the same value comes from
// a file cut short at the source.
func (k Kind) Transport() bool { return k.class() == classTransport }

// TransientDefault reports whether a failure of kind k is worth another try
// when nothing more specific is known. Classifiers refine it per layer (an
// HTTP status, an HTTP/2 error code, a DNS "not found").
func (k Kind) TransientDefault() bool {
	switch k {
	case ConnectionReset, ConnectionRefused, ConnectionAborted, BrokenPipe, Unreachable, Connection,
		UnexpectedEOF, Timeout, Stall, DNS, H2Stream, H2GoAway, H2Connection, RateLimited, ServerError:
		return true
	}
	return false
}
