package classify

import "time"

// Kind names the root cause of a failure. The set is small and stable:
// policies are written against it.
type Kind string

// The vocabulary of kinds. See the package documentation for what each means.
const (
	ConnectionReset   Kind = "connection_reset"
	ConnectionRefused Kind = "connection_refused"
	ConnectionAborted Kind = "connection_aborted"
	Unreachable       Kind = "unreachable"
	BrokenPipe        Kind = "broken_pipe"
	UnexpectedEOF     Kind = "unexpected_eof"
	Timeout           Kind = "timeout"
	Stall             Kind = "stall"
	DNS               Kind = "dns"
	TLS               Kind = "tls"
	Certificate       Kind = "certificate"
	H2Stream          Kind = "h2_stream"
	H2GoAway          Kind = "h2_goaway"
	H2Connection      Kind = "h2_connection"
	HTTPStatus        Kind = "http_status"
	Decode            Kind = "decode"
	Checksum          Kind = "checksum"
	Archive           Kind = "archive"
	UnsafeArchive     Kind = "unsafe_archive"
	Limit             Kind = "limit"
	DiskFull          Kind = "disk_full"
	Permission        Kind = "permission"
	NotFound          Kind = "not_found"
	Exists            Kind = "exists"
	Canceled          Kind = "canceled"
	Deadline          Kind = "deadline"
	// RateLimited: the server throttled the client (an API's throttling
	// code, a rate limit named in a body); retry after the wait it gives.
	RateLimited Kind = "rate_limited"
	// ServerError: the server reported its own failure by an API code
	// ("InternalError", "ServiceUnavailable") rather than a status.
	ServerError Kind = "server_error"
	// GRPCStatus: a gRPC status code other than the ones that are
	// cancellation and deadlines.
	GRPCStatus Kind = "grpc_status"
	// Connection: a connection could not be made or was lost and nothing
	// names why (an SDK's ConnectionError(), a dial whose cause no
	// recogniser knows): the request never reached the server.
	Connection Kind = "connection"
	Unknown    Kind = "unknown"
)

// Kinds returns the vocabulary: every kind Classify names, in the order
// of the documentation.
func Kinds() []Kind {
	return []Kind{ConnectionReset, ConnectionRefused, ConnectionAborted, BrokenPipe, Unreachable, Connection,
		UnexpectedEOF, Timeout, Stall, DNS, TLS, Certificate, H2Stream, H2GoAway, H2Connection, HTTPStatus, RateLimited,
		ServerError, GRPCStatus, Decode, Checksum, Archive, UnsafeArchive, Limit, DiskFull, Permission, NotFound,
		Exists, Canceled, Deadline, Unknown}
}

// Caps on the size of Facts. Policies are CEL programs whose cost limit is
// checked when they load; the checker can only bound an expression over
// error.layers or error.message if the sizes are bounded, so Classify
// enforces these caps on every Facts it returns.
const (
	MaxLayers  = 32   // len(Facts.Layers)
	MaxMessage = 1024 // bytes in Facts.Message and in every other string field
	MaxLabels  = 16   // len(Facts.Labels)
)

// Facts are the normalized, documented facts about one failure: the
// contract CEL policies are written against (as the variable "error").
// Every field has a CEL name in its cel tag.
type Facts struct {
	// Kind is the root cause, chosen from the deepest layer that speaks.
	Kind Kind `json:"kind" cel:"kind"`
	// Transient is the classifiers' hint that the same operation may
	// succeed if tried again. Policies decide; this only informs.
	Transient bool `json:"transient" cel:"transient"`
	// Timeout reports that some layer timed out (a net timeout, a
	// deadline), whatever the kind.
	Timeout bool `json:"timeout" cel:"timeout"`
	// Errno is the symbolic errno of the root cause ("ECONNRESET"), or "".
	Errno string `json:"errno,omitempty" cel:"errno"`
	// Op is the network operation that failed ("dial", "read", "write").
	Op string `json:"op,omitempty" cel:"op"`
	// H2 holds HTTP/2 details when an HTTP/2 layer is in the chain.
	H2 H2 `json:"h2" cel:"h2"`
	// HTTP holds the HTTP response details when the failure is a status.
	HTTP HTTP `json:"http" cel:"http"`
	// GRPC holds the gRPC status when a layer carries one.
	GRPC GRPC `json:"grpc" cel:"grpc"`
	// Code is an API's own error code ("ThrottlingException", "SlowDown",
	// a Node.js error's code), from the deepest layer that carries one.
	Code string `json:"code,omitempty" cel:"code"`
	// Retryable is what the error itself claims through an SDK's
	// RetryableError() method: "yes", "no", or "" when nothing claims.
	// The outermost claim counts. It informs; the kind still decides.
	Retryable string `json:"retryable,omitempty" cel:"retryable"`
	// Decode holds decoder details for decode, checksum and archive kinds.
	Decode Codec `json:"decode" cel:"decode"`
	// CausedByTransport reports a decode or archive failure whose chain
	// contains a transport failure: truncated by the network, not corrupt
	// at the source.
	CausedByTransport bool `json:"caused_by_transport" cel:"caused_by_transport"`
	// Labels are set by user classifiers ("throttled": "true").
	Labels map[string]string `json:"labels,omitempty" cel:"labels"`
	// Layers lists the chain's layers, outermost first.
	Layers []Layer `json:"layers,omitempty" cel:"layers"`
	// Layer is the index (in Layers) of the layer that decided Kind, or -1
	// when no layer spoke or the deciding layer lies beyond MaxLayers.
	Layer int `json:"layer" cel:"layer"`
	// Message is the outermost message, capped in length.
	Message string `json:"message,omitempty" cel:"message"`
}

// H2 are the HTTP/2 facts (RFC 9113).
type H2 struct {
	Code         string `json:"code,omitempty" cel:"code"` // "REFUSED_STREAM", "INTERNAL_ERROR", …
	StreamID     int64  `json:"stream_id,omitempty" cel:"stream_id"`
	LastStreamID int64  `json:"last_stream_id,omitempty" cel:"last_stream_id"`
	GoAway       bool   `json:"goaway,omitempty" cel:"goaway"` // a GOAWAY was involved
	Remote       bool   `json:"remote,omitempty" cel:"remote"` // the peer sent the frame
	Debug        string `json:"debug,omitempty" cel:"debug"`
	// Unprocessed reports that the server said it did not process the
	// request, so that sending it again is safe whatever its method: a
	// RST_STREAM with REFUSED_STREAM (RFC 9113 §8.7), or a GOAWAY whose
	// last stream ID is below the request's stream (§6.8).
	Unprocessed bool `json:"unprocessed,omitempty" cel:"unprocessed"`
}

// HTTP are the facts of an HTTP response that became an error.
type HTTP struct {
	Status int `json:"status,omitempty" cel:"status"`
	// Equivalent is the status a client treats Status as: Status itself
	// when it is registered, else the x00 of its class (RFC 9110 §15: a
	// client must treat an unrecognized status code as the x00 status
	// code of its class), so that Cloudflare's 520 reads as a 500.
	Equivalent int `json:"equivalent,omitempty" cel:"equivalent"`
	// RetryAfter is the wait the server asked for: the Retry-After
	// header, or a wait an error body gives.
	RetryAfter time.Duration `json:"retry_after,omitempty" cel:"retry_after"`
}

// GRPC are the facts of a gRPC status.
type GRPC struct {
	Code string `json:"code,omitempty" cel:"code"` // "UNAVAILABLE", "RESOURCE_EXHAUSTED", …
}

// Codec are the facts of a decoder or archive failure. (The type cannot be
// called Decode: that name is the Kind constant.)
type Codec struct {
	Format string `json:"format,omitempty" cel:"format"` // "gzip", "flate", "zstd", "tar"
	Offset int64  `json:"offset,omitempty" cel:"offset"`
	Entry  string `json:"entry,omitempty" cel:"entry"`
}

// Layer is one layer of the chain as policies see it.
type Layer struct {
	Type    string `json:"type" cel:"type"`
	Message string `json:"message" cel:"message"`
	Via     string `json:"via" cel:"via"`
}
