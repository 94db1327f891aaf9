package classify

import (
	"maps"
	"strings"
	"unicode/utf8"

	"github.com/faultline-go/faultline/chain"
)

// layerInfo is what the classifiers found in one layer.
type layerInfo struct {
	kind      Kind
	transient bool
	user      bool // a user classifier claimed the kind

	timeout  bool
	notFound bool // a DNS name does not exist
	errno    string
	op       string
	netOp    bool // op is a network operation (*net.OpError's), not a syscall name

	h2          bool // some HTTP/2 detail is known
	goaway      bool
	unprocessed bool // the peer said it never processed the stream
	h2Remote    bool
	h2Code      string
	h2Debug     string
	h2Stream    uint32
	h2Last      uint32

	status     int
	retryAfter float64
	grpc       string // a gRPC code name
	code       string // an API's error code
	retryable  *bool  // the error's own RetryableError()

	// hint is the retry hint that came with the kind (Attrs.Transient);
	// it overrides the kind's default and the refinements.
	hint *bool
	// reason is an HTTP/2 code this layer only names, for its parent.
	reason string

	format string
	offset int64
	entry  string
}

// setKind records k with its default transience, unless a kind is known.
func (in *layerInfo) setKind(k Kind) {
	if in.kind == "" && k != "" {
		in.kind, in.transient = k, k.TransientDefault()
	}
}

// setKindHint records k and the retry hint that came with it, unless a
// kind is known.
func (in *layerInfo) setKindHint(k Kind, transient *bool) {
	if in.kind == "" && k != "" {
		in.setKind(k)
		in.hint = transient
	}
}

// builtinLayer classifies one layer from its attributes and its Go type,
// and from what the recognisers read in its own text: the user's (rs) and,
// unless the layer was parsed from text by a walker that already ran them
// (builtinsDone), chain's built-in vocabulary. classify matches no text
// itself: chain owns the words, classify maps the facts they give to kinds.
//
// hasChild reports that the layer has a child in the chain.
// scratch holds the attributes read from the text; it is reused from
// layer to layer.
func builtinLayer(l *chain.Layer, hasChild bool, in *layerInfo, rs chain.Recognisers, builtinsDone bool, scratch *chain.Attrs, budget *int) {
	tk := typeKey(l.Type)
	a := &l.Attrs
	readText := !addressOnly(tk)
	if readText && len(rs) > 0 && textFacts(l, tk, hasChild, &builtinsDone, scratch) {
		// The layer's attributes are only what chain's built-in recognisers
		// read in its text: the user's read it first, on nothing but the
		// text, and what they name stands; the built-ins' reading only adds
		// to it. That is how a deployment re-reads a shape the built-in
		// vocabulary knows.
		read := scratch
		*read = chain.Attrs{}
		recogniseText(userText(l, hasChild), ownText(l, hasChild), read, rs, !builtinsDone, budget)
		addAttrs(read, &l.Attrs)
		a, readText = read, false
	}
	hint := a.Kind
	if hint != "" {
		in.setKindHint(Kind(hint), a.Transient)
	}
	byType(tk, in)
	if a.ErrnoName != "" {
		in.setKind(errnoKind(a.ErrnoName))
	}
	// Text adds nothing to a layer whose type or errno already named the
	// kind, nor to the wrappers whose own text is only an operation and an
	// address; skipping them keeps Classify cheap. A kind hinted in Attrs
	// does not skip the text, which may carry details the hint lacks (a
	// GOAWAY the server never processed, a Client.Timeout).
	if readText && (in.kind == "" || hint != "") && (len(rs) > 0 || !builtinsDone) {
		read := scratch
		*read = l.Attrs // a copy: recognisers add to it, never to the chain
		if recogniseText(userText(l, hasChild), ownText(l, hasChild), read, rs, !builtinsDone, budget) {
			if read.Kind != hint {
				in.setKindHint(Kind(read.Kind), read.Transient)
			}
			if read.ErrnoName != "" {
				in.setKind(errnoKind(read.ErrnoName))
			}
			a = read
		}
	}
	in.timeout, in.notFound = a.Timeout, a.NotFound
	in.errno = a.ErrnoName
	switch {
	case a.Op == "":
	case a.Net != "":
		in.op, in.netOp = a.Op, true // *net.OpError's "read", "dial"
	case isLower(a.Op[0]) && !strings.Contains(a.Op, " "):
		// A syscall or file operation ("connect", "open", "fork/exec"),
		// kept as a fallback; not *url.Error's HTTP method ("Get") nor
		// *net.OpError's "remote error" of a TLS alert.
		in.op = a.Op
	}
	if a.H2Code != "" || a.H2StreamID != 0 || a.H2LastStreamID != 0 || a.H2Debug != "" || a.H2Remote || a.H2GoAway {
		in.h2 = true
		in.h2Code, in.h2Stream, in.h2Last = a.H2Code, a.H2StreamID, a.H2LastStreamID
		in.h2Debug, in.h2Remote = a.H2Debug, a.H2Remote
	}
	in.goaway = in.goaway || a.H2GoAway
	in.unprocessed = a.H2Unprocessed
	in.status, in.retryAfter = a.HTTPStatus, a.RetryAfter
	in.grpc, in.code, in.retryable = a.GRPCCode, a.ErrorCode, l.Attrs.Retryable
	in.format, in.offset, in.entry = a.Format, a.Offset, a.Entry
	if codeNotFound(in.code) {
		in.notFound = true
	}

	// Attributes that imply a kind when nothing more specific spoke. A
	// gRPC code or an API's error code names the failure more precisely
	// than the HTTP status it came with (throttling on a 400).
	switch {
	case in.kind != "":
	case in.grpc != "":
		in.setKind(grpcKind(in.grpc))
	case codeKind(in.code) != "":
		in.setKind(codeKind(in.code))
	case in.status != 0:
		in.setKind(HTTPStatus)
	case in.format != "":
		in.setKind(formatKind(in.format))
	case in.timeout && tk != "url.Error":
		// *url.Error reports its cause's Timeout(); only the layer that
		// actually timed out speaks.
		in.setKind(Timeout)
	}
	switch {
	case in.kind == H2Stream, in.kind == H2GoAway, in.kind == H2Connection:
		in.h2 = true
	case in.kind == "" && in.h2 && in.h2Code != "" && in.h2Stream == 0 && in.h2Last == 0 &&
		in.h2Debug == "" && !in.h2Remote && !in.goaway:
		// Text that only names an HTTP/2 code ("INTERNAL_ERROR (err 2)"):
		// the code of the HTTP/2 layer above, given to it by
		// adoptH2Reasons.
		in.reason, in.h2, in.h2Code = in.h2Code, false, ""
	}
	if in.kind != "" && !in.user {
		refineTransient(in)
		if in.hint != nil {
			in.transient = *in.hint
		}
	}
}

// budgeted is a recogniser that draws its work from a budget shared
// across the layers of a chain, as chain.PatternSet does.
type budgeted interface {
	RecogniseWithin(text string, a *chain.Attrs, budget *int) bool
}

// recogniseText runs the user's recognisers on text (the root's whole
// message, another layer's own words) and, when builtins is set, chain's
// built-in ones on the layer's own text.
func recogniseText(message, own string, a *chain.Attrs, rs chain.Recognisers, builtins bool, budget *int) bool {
	found := false
	if len(rs) > 0 && message != "" {
		message = capText(message, chain.RecogniseLimit)
		for _, r := range rs {
			if r == nil {
				continue
			}
			if rw, ok := r.(budgeted); ok {
				found = rw.RecogniseWithin(message, a, budget) || found
			} else if r.Recognise(message, a) {
				found = true
			}
		}
	}
	if builtins && own != "" && chain.Recognise(own, a) {
		found = true
	}
	return found
}

// userText is the text the user's recognisers read in a layer: the
// root's whole message, so that a pattern may span the ": " between
// layers; below it, each layer's own words, so that a text is read about
// twice, not once per layer.
func userText(l *chain.Layer, hasChild bool) string {
	if l.Parent < 0 {
		return l.Message
	}
	return ownText(l, hasChild)
}

// textFacts reports whether l's attributes are only what chain's built-in
// recognisers read in its text, so that the user's recognisers may read it
// first: a layer parsed from text (it has no Go type), or a Go value that
// says nothing but its text (an errors.New leaf, whose facts the walker's
// text fallback read). Facts a Go value carries itself — a type classify
// knows, an errno value, what its methods or an unwrapper report — differ
// from what its text alone gives and are not text. When it re-reads the
// text to tell, it sets *builtinsDone: the reading need not be repeated.
// It reads into scratch.
func textFacts(l *chain.Layer, tk string, hasChild bool, builtinsDone *bool, scratch *chain.Attrs) bool {
	if l.Type == "" {
		return true
	}
	if hasChild || l.Attrs.IsZero() || l.Own != "" && l.Own != l.Message || strings.HasSuffix(tk, "Errno") {
		return false
	}
	var typed layerInfo
	if byType(tk, &typed); typed.kind != "" || typed.timeout {
		return false
	}
	*scratch = chain.Attrs{}
	chain.Recognise(l.Message, scratch)
	if !sameAttrs(scratch, &l.Attrs) {
		return false
	}
	*builtinsDone = true
	return true
}

// addAttrs adds to a what b sets that a does not, as a recogniser would:
// a field already set stays as it is, and a Transient only comes with
// its Kind.
func addAttrs(a, b *chain.Attrs) {
	if a.Errno == 0 && a.ErrnoName == "" {
		a.Errno, a.ErrnoName = b.Errno, b.ErrnoName
	}
	addString(&a.Op, b.Op)
	addString(&a.Net, b.Net)
	addString(&a.Addr, b.Addr)
	addString(&a.Source, b.Source)
	addString(&a.Host, b.Host)
	a.Timeout = a.Timeout || b.Timeout
	a.Temporary = a.Temporary || b.Temporary
	if a.Retryable == nil {
		a.Retryable = b.Retryable
	}
	a.NotFound = a.NotFound || b.NotFound
	addString(&a.H2Code, b.H2Code)
	if a.H2StreamID == 0 {
		a.H2StreamID = b.H2StreamID
	}
	if a.H2LastStreamID == 0 {
		a.H2LastStreamID = b.H2LastStreamID
	}
	addString(&a.H2Debug, b.H2Debug)
	a.H2Remote = a.H2Remote || b.H2Remote
	a.H2GoAway = a.H2GoAway || b.H2GoAway
	a.H2Unprocessed = a.H2Unprocessed || b.H2Unprocessed
	if a.HTTPStatus == 0 {
		a.HTTPStatus = b.HTTPStatus
	}
	if a.RetryAfter == 0 {
		a.RetryAfter = b.RetryAfter
	}
	addString(&a.ErrorCode, b.ErrorCode)
	addString(&a.GRPCCode, b.GRPCCode)
	addString(&a.Format, b.Format)
	if a.Offset == 0 {
		a.Offset = b.Offset
	}
	addString(&a.Entry, b.Entry)
	if a.Kind == "" {
		a.Kind, a.Transient = b.Kind, b.Transient
	}
	if len(a.Extra) == 0 {
		a.Extra = b.Extra // read only from here on
	}
}

func addString(a *string, b string) {
	if *a == "" {
		*a = b
	}
}

// sameAttrs reports whether a and b set the same attributes.
func sameAttrs(a, b *chain.Attrs) bool {
	if !sameBool(a.Transient, b.Transient) || !sameBool(a.Retryable, b.Retryable) || !maps.Equal(a.Extra, b.Extra) {
		return false
	}
	return a.Errno == b.Errno && a.ErrnoName == b.ErrnoName && a.Op == b.Op && a.Net == b.Net &&
		a.Addr == b.Addr && a.Source == b.Source && a.Host == b.Host && a.Timeout == b.Timeout &&
		a.Temporary == b.Temporary && a.NotFound == b.NotFound && a.H2Code == b.H2Code &&
		a.H2StreamID == b.H2StreamID && a.H2LastStreamID == b.H2LastStreamID && a.H2Debug == b.H2Debug &&
		a.H2Remote == b.H2Remote && a.H2GoAway == b.H2GoAway && a.H2Unprocessed == b.H2Unprocessed &&
		a.HTTPStatus == b.HTTPStatus && a.RetryAfter == b.RetryAfter && a.ErrorCode == b.ErrorCode &&
		a.GRPCCode == b.GRPCCode && a.Format == b.Format && a.Offset == b.Offset && a.Entry == b.Entry &&
		a.Kind == b.Kind
}

func sameBool(a, b *bool) bool {
	return a == nil && b == nil || a != nil && b != nil && *a == *b
}

// ownText is the text a layer adds to its children's. The walker leaves
// Own empty when the layer adds nothing (its message is its child's) or
// when it has several children (errors.Join): either way there is nothing
// of its own to read, and reading the whole message would classify a
// multi-error by its children's text.
func ownText(l *chain.Layer, hasChild bool) string {
	if l.Own != "" || hasChild {
		return l.Own
	}
	return l.Message
}

// addressOnly reports whether a type's own text is only an operation and
// a path or address ("read tcp a->b", "open /x", `Get "https://…"`), its
// facts being in the attributes the walker extracted.
func addressOnly(tk string) bool {
	switch tk {
	case "net.OpError", "os.SyscallError", "url.Error", "fs.PathError", "os.LinkError":
		return true
	}
	return false
}

// isLower reports whether b is an ASCII lower-case letter.
func isLower(b byte) bool { return 'a' <= b && b <= 'z' }

// typeKey reduces a type name to package.Name, without pointer star or
// import path, so that "*net.OpError", "net.OpError" and
// "golang.org/x/net/http2.StreamError" compare simply.
func typeKey(t string) string {
	t = strings.TrimLeft(t, "*")
	if i := strings.LastIndexByte(t, '/'); i >= 0 {
		t = t[i+1:]
	}
	return t
}

// byType classifies by the layer's Go type.
func byType(tk string, in *layerInfo) {
	switch tk {
	case "":
		return
	case "net.DNSError":
		in.setKind(DNS)
	case "tls.CertificateVerificationError":
		in.setKind(Certificate)
	case "flate.CorruptInputError", "flate.InternalError", "flate.ReadError":
		in.setKind(Decode)
		if in.format == "" {
			in.format = "flate"
		}
	case "tar.headerError":
		in.setKind(Archive)
		if in.format == "" {
			in.format = "tar"
		}
	case "poll.DeadlineExceededError", "net.timeoutError":
		in.timeout = true
		in.setKind(Timeout)
	case "context.deadlineExceededError":
		in.timeout = true
		in.setKind(Deadline)
	case "http2.StreamError", "http.http2StreamError":
		in.h2 = true
		in.setKind(H2Stream)
	case "http2.GoAwayError", "http.http2GoAwayError":
		in.h2, in.goaway = true, true
		in.setKind(H2GoAway)
	case "http2.ConnectionError", "http.http2ConnectionError":
		in.h2 = true
		in.setKind(H2Connection)
	case "http.MaxBytesError":
		in.setKind(Limit)
	default:
		switch {
		case strings.HasPrefix(tk, "x509."):
			in.setKind(Certificate)
		case strings.HasPrefix(tk, "tls."):
			in.setKind(TLS)
		}
	}
}

// refineTransient adjusts the default transience with the layer's details.
func refineTransient(in *layerInfo) {
	switch in.kind {
	case DNS:
		// "no such host" will not change by retrying; a timeout or a
		// SERVFAIL may.
		if in.notFound {
			in.transient = false
		}
	case HTTPStatus:
		// Whichever way the kind was named (a Describer's hint, the
		// attribute, the text), the status decides: a hint alone would
		// leave the kind's default, not transient, on a 503.
		if in.status != 0 {
			in.transient = statusTransient(in.status)
		}
	case GRPCStatus:
		in.transient = grpcTransient(in.grpc)
	case H2Stream, H2Connection:
		in.transient = h2CodeTransient(in.h2Code)
	case H2GoAway:
		// RFC 9113 §6.8: a graceful GOAWAY (NO_ERROR) or one whose last
		// stream ID excludes ours means the request was not processed and
		// may be retried on a new connection.
		unprocessed := in.unprocessed || (in.h2Stream != 0 && in.h2Stream > in.h2Last)
		in.transient = in.h2Code == "" || in.h2Code == "NO_ERROR" || unprocessed
	}
}

// errnoKind maps a symbolic errno to a kind.
func errnoKind(name string) Kind {
	switch name {
	case "ECONNRESET", "WSAECONNRESET":
		return ConnectionReset
	case "ECONNREFUSED", "WSAECONNREFUSED":
		return ConnectionRefused
	case "ECONNABORTED", "WSAECONNABORTED":
		return ConnectionAborted
	case "EPIPE":
		return BrokenPipe
	case "ETIMEDOUT", "WSAETIMEDOUT":
		return Timeout
	case "ENETUNREACH", "EHOSTUNREACH", "ENETDOWN", "EHOSTDOWN":
		return Unreachable
	case "ENOSPC", "EDQUOT":
		return DiskFull
	case "EACCES", "EPERM", "EROFS":
		return Permission
	case "ENOENT":
		return NotFound
	case "EEXIST":
		return Exists
	}
	return ""
}

// capText cuts s to at most n bytes on a UTF-8 boundary.
func capText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
