package chain

import "runtime"

// SchemaVersion is the version of the JSON form of a Chain. Readers accept
// every version up to and including this one; fields added later default to
// the behaviour of older versions.
//
// Version 2 added the attributes transient, retryable, h2_goaway,
// h2_unprocessed, error_code and grpc_code;
// in a version 2 chain, the layers parsed from text (Via "text") carry what
// the built-in recognisers of their time found, so classify does not read
// their text again with the built-ins.
const SchemaVersion = 2

// Via says how the walker reached a layer from its parent.
type Via string

// The ways a layer can be reached.
const (
	ViaRoot      Via = "root"      // the error handed to Walk
	ViaUnwrap    Via = "unwrap"    // Unwrap() error
	ViaMulti     Via = "multi"     // Unwrap() []error or go-multierror's WrappedErrors()
	ViaCause     Via = "cause"     // Cause() error
	ViaField     Via = "field"     // a struct field of type error, found by reflection
	ViaUnwrapper Via = "unwrapper" // a registered Unwrapper (e.g. http2.StreamError.Cause)
	ViaText      Via = "text"      // parsed from the parent's message; no Go value behind it
)

// Chain is a failure turned into plain data: every layer of an error tree in
// pre-order (a parent before its children), with the platform the errno
// numbers belong to. A Chain holds no live error, so it can be stored,
// compared and replayed.
type Chain struct {
	Schema int     `json:"schema"`
	GOOS   string  `json:"goos,omitempty"`
	GOARCH string  `json:"goarch,omitempty"`
	Layers []Layer `json:"layers"`
	// Truncated reports that a cap (depth, width, layer count, message
	// length) cut the walk short; it names the first cap hit.
	Truncated string `json:"truncated,omitempty"`
}

// Layer is one error in the tree.
type Layer struct {
	// Type is the dynamic Go type with its full package path, such as
	// "*net.OpError" printed as "*net.OpError" for the standard library and
	// "golang.org/x/net/http2.StreamError" elsewhere. Layers parsed from
	// text have Type "" .
	Type string `json:"type,omitempty"`
	// Message is the layer's whole Error() text.
	Message string `json:"message"`
	// Own is the part of Message that this layer adds, when the message
	// ends with its child's text (": " + child) and so can be split.
	Own string `json:"own,omitempty"`
	// Via says how the layer was reached from Parent.
	Via Via `json:"via"`
	// Parent is the index of the parent layer in Chain.Layers, or -1 for
	// the root.
	Parent int `json:"parent"`
	// Depth is the distance from the root (0 for the root).
	Depth int `json:"depth,omitempty"`
	// Attrs holds the facts an unwrapper extracted from this layer.
	Attrs Attrs `json:"attrs,omitzero"`
}

// Attrs are facts an unwrapper found in a layer's fields. The zero value
// means "nothing known".
type Attrs struct {
	// Errno is the system error number, recorded with its name because
	// numbers differ between platforms (ECONNRESET is 104 on Linux, 54 on
	// macOS).
	Errno     int    `json:"errno,omitempty"`
	ErrnoName string `json:"errno_name,omitempty"`

	// Net: *net.OpError, *os.SyscallError, *net.DNSError, *url.Error.
	Op     string `json:"op,omitempty"`     // "dial", "read", "write", or a syscall name; url.Error's method
	Net    string `json:"net,omitempty"`    // "tcp", "tcp4", "udp"
	Addr   string `json:"addr,omitempty"`   // remote address, or the URL for *url.Error
	Source string `json:"source,omitempty"` // local address
	Host   string `json:"host,omitempty"`   // DNS name looked up

	Timeout   bool `json:"timeout,omitempty"`   // Timeout() reported true
	Temporary bool `json:"temporary,omitempty"` // Temporary() reported true
	// Retryable is the error's own RetryableError() answer, as SDKs
	// (aws-sdk-go-v2's retry.RetryableError) expose it; nil when it has no
	// such method.
	Retryable *bool `json:"retryable,omitempty"`
	NotFound  bool  `json:"not_found,omitempty"` // *net.DNSError.IsNotFound

	// HTTP/2 (x/net's types and net/http's bundled copies).
	H2Code         string `json:"h2_code,omitempty"` // e.g. "INTERNAL_ERROR", "REFUSED_STREAM"
	H2StreamID     uint32 `json:"h2_stream_id,omitempty"`
	H2LastStreamID uint32 `json:"h2_last_stream_id,omitempty"`
	H2Debug        string `json:"h2_debug,omitempty"`  // GOAWAY debug data
	H2Remote       bool   `json:"h2_remote,omitempty"` // the peer sent it (RST_STREAM/GOAWAY received)
	H2GoAway       bool   `json:"h2_goaway,omitempty"` // a GOAWAY was involved
	// H2Unprocessed reports that the peer said it never processed the
	// stream (a graceful GOAWAY, or one whose last stream ID excludes it).
	H2Unprocessed bool `json:"h2_unprocessed,omitempty"`

	// HTTP responses turned into errors (adapters/httpx.StatusError and the like).
	HTTPStatus int `json:"http_status,omitempty"`
	// RetryAfter is the server's Retry-After, in seconds from when the
	// response was received (0: none).
	RetryAfter float64 `json:"retry_after,omitempty"`

	// ErrorCode is an API's own error code, whatever the status it came
	// with: an SDK's ErrorCode() ("ThrottlingException", "SlowDown"), the
	// "code" of a JSON or XML error body, a Node.js error's code property
	// that names no errno ("UND_ERR_SOCKET", "ENOTFOUND").
	ErrorCode string `json:"error_code,omitempty"`
	// GRPCCode is a gRPC status code by its canonical name
	// ("UNAVAILABLE"), from GRPCStatus() or a body that names one.
	GRPCCode string `json:"grpc_code,omitempty"`

	// Decoders and archives.
	Format string `json:"format,omitempty"` // "gzip", "flate", "zstd", "tar", "xz"
	Offset int64  `json:"offset,omitempty"` // input offset where decoding failed, when known
	Entry  string `json:"entry,omitempty"`  // archive entry being processed

	// Kind is a classification hint set by errors that know what they are
	// (via the Describer interface) or by a recogniser that knows the text,
	// e.g. "unsafe_archive" or "checksum". classify treats it as
	// authoritative for the layer.
	Kind string `json:"kind,omitempty"`
	// Transient, when set, is the retry hint that goes with Kind: the
	// error's own claim (an SDK's RetryableError) or a recogniser's, such
	// as net/http's per-request Client.Timeout, a deadline worth another
	// try. nil leaves the kind's default.
	Transient *bool `json:"transient,omitempty"`

	// Extra carries attributes from user unwrappers and describers. Keys
	// should be namespaced ("grpc.code", "aws.throttle").
	Extra map[string]string `json:"extra,omitempty"`
}

// IsZero reports whether no attribute is set.
func (a Attrs) IsZero() bool {
	return a.Errno == 0 && a.ErrnoName == "" && a.Op == "" && a.Net == "" && a.Addr == "" &&
		a.Source == "" && a.Host == "" && !a.Timeout && !a.Temporary && !a.NotFound &&
		a.H2Code == "" && a.H2StreamID == 0 && a.H2LastStreamID == 0 && a.H2Debug == "" &&
		!a.H2Remote && !a.H2GoAway && !a.H2Unprocessed && a.HTTPStatus == 0 &&
		a.ErrorCode == "" && a.GRPCCode == "" && a.RetryAfter == 0 && a.Format == "" &&
		a.Offset == 0 && a.Entry == "" && a.Kind == "" && a.Transient == nil && a.Retryable == nil && len(a.Extra) == 0
}

// Describer is implemented by errors that describe themselves to the walker:
// the walker calls DescribeFault with the layer's Attrs so the error can fill
// in what it knows (an HTTP status, a Retry-After, a kind hint). faultline's
// own adapters implement it; so can any user type.
type Describer interface {
	DescribeFault(a *Attrs)
}

// platform returns the GOOS and GOARCH a live chain is recorded on.
func platform() (string, string) { return runtime.GOOS, runtime.GOARCH }
