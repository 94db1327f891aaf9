// Package classify turns a failure, recorded as a chain.Chain, into Facts:
// a small, stable vocabulary of root causes and the details that decide
// whether to retry, resume or give up. Policies are CEL programs written
// against Facts, so the vocabulary below is a contract.
//
// Classify reads only the chain — never a live error — so a failure
// classified live and the same failure replayed from a JSON dump or from
// pasted error text give the same Facts wherever the data carries them.
//
//	facts := classify.Classify(chain.Walk(err))
//	if facts.Kind == classify.ConnectionReset && facts.CausedByTransport { … }
//
// Classify matches no message text itself. The words belong to chain: its
// recognisers (chain.Recognise, and a Set's Recognisers) turn a layer's own
// text into attributes, and classify maps attributes — errno, HTTP/2
// code, status, format, a kind hint and the retry hint that goes with it —
// and Go types to kinds. A layer parsed from text by a version 2 walker
// already carries what the built-in recognisers read in it; the others
// (typed layers whose type says nothing, chains recorded by version 1) are
// read when classified.
//
// # Kinds
//
// Kind names the root cause. Transient is the default hint for the kind;
// classifiers refine it per layer as noted.
//
//	kind                transient  meaning; typical source
//	connection_reset    yes        the peer reset the connection; ECONNRESET under *net.OpError,
//	                               "connection reset" in anyhow-style chains
//	connection_refused  yes        nobody listens; ECONNREFUSED from dial
//	connection_aborted  yes        our side aborted the connection; ECONNABORTED, net.ErrClosed
//	broken_pipe         yes        writing to a connection the peer closed; EPIPE
//	unreachable         yes        no route; ENETUNREACH, EHOSTUNREACH, ENETDOWN, EHOSTDOWN
//	connection          yes        a connection failed and nothing names why: an SDK's
//	                               ConnectionError(), a dial whose cause nothing recognises
//	unexpected_eof      yes        a stream ended early: io.ErrUnexpectedEOF or io.EOF. Whether the
//	                               network cut it or the file was short at the source is for the
//	                               policy to tell, from bytes received against bytes expected
//	timeout             yes        a per-operation limit: i/o timeout, ETIMEDOUT, net/http's
//	                               response-header and TLS-handshake timeouts, Timeout() attributes
//	stall               yes        a body that was flowing went silent past its stall limit, or
//	                               ran under a minimum rate (httpx.StallError, a Describer)
//	dns                 yes        a lookup failed (*net.DNSError); not transient when the name
//	                               does not exist ("no such host")
//	tls                 no         a TLS handshake failed: alerts, version or cipher mismatch
//	certificate         no         the peer's certificate was rejected (x509 errors)
//	h2_stream           yes        RST_STREAM (http2.StreamError); not transient for codes that
//	                               say the protocol was broken (PROTOCOL_ERROR, FLOW_CONTROL_ERROR,
//	                               FRAME_SIZE_ERROR, COMPRESSION_ERROR, HTTP_1_1_REQUIRED,
//	                               INADEQUATE_SECURITY). Also curl's and hyper's texts, whose
//	                               code, split off as a child layer, counts for this layer
//	h2_goaway           yes        the server sent GOAWAY; transient only when its code is
//	                               NO_ERROR or the stream was not processed (stream ID above the
//	                               last stream ID, RFC 9113 §6.8)
//	h2_connection       yes        the HTTP/2 connection failed: "client connection lost" (PING
//	                               health check), http2.ConnectionError; protocol codes as for
//	                               h2_stream
//	http_status         varies     an HTTP error status carried by an error; transient for 408,
//	                               425, 429, 500, 502, 503 and 504, and for unregistered 5xx,
//	                               which count as the x00 of their class (RFC 9110 §15)
//	rate_limited        yes        the server throttled the client: an API's throttling code
//	                               whatever its status (ThrottlingException on a 400, SlowDown)
//	server_error        yes        the server's own failure named by an API code (InternalError)
//	grpc_status         varies     a gRPC status; transient for UNAVAILABLE, RESOURCE_EXHAUSTED
//	                               and ABORTED (CANCELLED is canceled, DEADLINE_EXCEEDED deadline)
//	decode              no         a decompressor rejected its input: flate.CorruptInputError,
//	                               "gzip: invalid header", zstd errors
//	checksum            no         decoded data failed its check: gzip/zlib/zip CRC, zstd CRC, a
//	                               hinted digest mismatch
//	archive             no         an archive reader rejected its input: tar.ErrHeader, an
//	                               extractor's "failed to unpack"
//	unsafe_archive      no         an archive entry would escape its destination
//	                               (tar.ErrInsecurePath, or a hint)
//	limit               no         a size or count limit was reached (http.MaxBytesError, a hint)
//	disk_full           no         ENOSPC, EDQUOT
//	permission          no         EACCES, EPERM, EROFS
//	not_found           no         ENOENT, fs.ErrNotExist, exec.ErrNotFound
//	exists              no         something is already where a file or tree was to be put:
//	                               EEXIST, an extractor's destination (tarx.ErrExist, hinted)
//	canceled            no         the caller cancelled: context.Canceled, "operation was canceled"
//	deadline            no         a context deadline passed: context.DeadlineExceeded. Transient
//	                               when net/http says its Client.Timeout (a per-request limit)
//	                               expired; otherwise whether it was the caller's own deadline is
//	                               operation state (policy.State.CallerDone), not in the chain
//	unknown             no         no layer spoke
//
// An Attrs.Kind hint from a chain.Describer, or a user classifier, may name
// a kind outside this list; it is passed through unchanged.
//
// # Precedence
//
// Several layers may speak; see Set.Classify for the rules. In short: the
// deepest layer decides (the reset under the extractor's error), except that
// checksum, unsafe_archive and limit always win, and that canceled and
// deadline win over the transport errors a cancellation causes.
// CausedByTransport marks a decode, archive or checksum layer with a
// transport failure beneath it.
//
// # Facts
//
// Policies see Facts as the CEL variable "error". Strings are capped at
// MaxMessage bytes, Layers at MaxLayers entries and Labels at MaxLabels, so
// the cost of a policy can be bounded when it loads.
//
//	field              CEL name                   meaning
//	Kind               error.kind                 the root cause, above
//	Transient          error.transient            the classifiers' retry hint for the deciding layer
//	Timeout            error.timeout              some layer timed out (timeout or deadline kinds,
//	                                              or a Timeout() attribute), whatever the kind
//	Errno              error.errno                symbolic errno of the root cause ("ECONNRESET"),
//	                                              from the deciding layer or its nearest ancestor
//	Op                 error.op                   the failed operation: *net.OpError's "read",
//	                                              "dial", "write", else a syscall or file operation
//	H2.Code            error.h2.code              HTTP/2 error code ("REFUSED_STREAM")
//	H2.StreamID        error.h2.stream_id         the stream the error concerns, when known
//	H2.LastStreamID    error.h2.last_stream_id    a GOAWAY's last processed stream
//	H2.GoAway          error.h2.goaway            a GOAWAY was involved
//	H2.Remote          error.h2.remote            the peer sent the frame
//	H2.Debug           error.h2.debug             a GOAWAY's debug data
//	H2.Unprocessed     error.h2.unprocessed       the server did not process the request:
//	                                              REFUSED_STREAM, or a GOAWAY below its stream
//	HTTP.Status        error.http.status          HTTP status carried by the chain
//	HTTP.Equivalent    error.http.equivalent      the status a client treats it as (unregistered:
//	                                              the x00 of its class)
//	HTTP.RetryAfter    error.http.retry_after     the wait the server asked for: Retry-After, or
//	                                              a wait an error body gives
//	GRPC.Code          error.grpc.code            gRPC status code by name ("UNAVAILABLE")
//	Code               error.code                 an API's or runtime's error code ("SlowDown")
//	Retryable          error.retryable            the error's own RetryableError() claim: "yes",
//	                                              "no" or ""
//	Decode.Format      error.decode.format        the failing decoder's format ("flate", "gzip",
//	                                              "tar", "tar.gz")
//	Decode.Offset      error.decode.offset        input offset of the failure, when known
//	Decode.Entry       error.decode.entry         the archive entry being processed
//	CausedByTransport  error.caused_by_transport  a decode, archive or checksum layer has a
//	                                              transport failure beneath it
//	Labels             error.labels               labels set by user classifiers
//	Layers             error.layers               the chain's layers, outermost first (type,
//	                                              message, via)
//	Layer              error.layer                index in Layers of the deciding layer; -1 when
//	                                              no layer spoke or it lies beyond MaxLayers
//	Message            error.message              the outermost message
//
// Where several layers carry the same detail (H2, HTTP, Decode format and
// offset), the deepest wins; the archive entry comes from the outermost
// layer that names one.
//
// # Extending
//
// A Set holds user recognisers, which read a deployment's own error texts
// into attributes before chain's built-in ones — also in a layer whose
// text a walker already read with the built-ins (pasted text, an
// errors.New leaf): what the user's name stands, and the built-ins' reading
// only adds to it — and user classifiers,
// consulted for every layer before the built-in ones: an SDK's throttling
// error, a gRPC code carried in Attrs.Extra. A classifier may claim a
// Kind, set Transient, and add Labels that policies test as error.labels.
// There is no global registry; build a Set and pass it where it is needed.
// A policy file's recognisers are compiled into the Set its policy
// classifies with.
package classify
