// Package chain turns a Go error into plain data: a Chain of every layer in
// the error tree, each with its Go type, its message, how the walker reached
// it and the facts (errno, network operation, HTTP/2 code, decoder offset…)
// that deciding a retry needs.
//
// Failures hide their causes. A download streamed into a tar extractor
// fails with "failed to unpack x: error decoding response body: connection
// reset"; the reset is layers down, behind types that errors.Is and
// errors.As cannot see through: an http2.StreamError keeps its cause in a
// field with no Unwrap, net/http's bundled HTTP/2 errors are unexported, and
// many layers keep their cause only as text. Walk sees through all of them,
// and the result holds no live error, so classify and policy decide on data
// that can be stored, replayed from JSON and compared exactly.
//
// # Walking
//
// Walk (or Walker.Walk, to configure it) visits the tree in pre-order. For
// each error it
//
//  1. records the dynamic type, Error() text and the part of it the layer
//     adds (Own);
//  2. asks the Walker's Unwrappers, then the built-in ones, for attributes
//     and for a cause the error hides;
//  3. lets an error that implements Describer fill in its own attributes,
//     then reads the method sets Go libraries expose facts through —
//     HTTPStatusCode(), StatusCode() and status fields (aws-sdk-go-v2,
//     Azure's azcore, googleapi, Kubernetes' StatusError), ErrorCode(),
//     GRPCStatus() (grpc-go, read by reflection, without importing it),
//     RetryableError(), ConnectionError() — and records Timeout() and
//     Temporary(); a fact an Unwrapper or Describer gave is kept;
//  4. follows, in order of preference, the cause an unwrapper exposed,
//     Unwrap() []error, go-multierror's WrappedErrors() (its Unwrap() error
//     fakes a linear chain through the siblings, so it is not used),
//     Unwrap() error, and Cause() error;
//  5. when none of those exist and no unwrapper recognised the error,
//     follows the struct fields of error type, exported or not (the field
//     fallback), and when the error is a leaf that nothing recognised,
//     parses its message into text layers (the text fallback) when the
//     recognisers find something in it; a text that is a single error
//     gives its attributes to the leaf itself instead of repeating it as a
//     layer.
//
// The built-in unwrappers cover *net.OpError, *os.SyscallError,
// syscall.Errno (number and name), *url.Error (Op is the method, Addr the
// URL), *net.DNSError, *fs.PathError (Addr is the path), the HTTP/2
// StreamError, GoAwayError and ConnectionError of golang.org/x/net/http2 and
// their unexported copies in net/http (matched by type name and read by
// reflection), crypto/tls and crypto/x509 errors, flate.CorruptInputError,
// the gzip, zlib, zstd, tar and zip sentinels, the context errors,
// io.ErrUnexpectedEOF and io.EOF. Where a type or sentinel makes it certain,
// they set Attrs.Kind to one of classify's kinds ("h2_stream", "checksum",
// "unsafe_archive", "certificate", "deadline", …); io.EOF is marked
// "unexpected_eof", since inside a failure it means a stream ended early.
//
// # Via
//
// Layer.Via says how a layer was reached from its parent: "root" (the error
// given to Walk), "unwrap" (Unwrap() error), "multi" (Unwrap() []error or
// WrappedErrors), "cause" (Cause() error), "unwrapper" (an Unwrapper exposed
// it, such as StreamError.Cause), "field" (the field fallback) or "text"
// (parsed from a message; no Go value stands behind it, and its Type is "").
//
// # Type names
//
// Layer.Type is the dynamic type with its full package path: one "*" per
// pointer indirection, then the import path, a dot and the type name, as in
// "*net.OpError", "*net/url.Error", "syscall.Errno",
// "golang.org/x/net/http2.StreamError" and "net/http.http2GoAwayError".
// Unnamed types print as the reflect package prints them.
//
// # Own
//
// Own is the text a layer adds to its child's: Message without a trailing
// ": " + the child's message (fmt.Errorf's "%s: %w"), or "; " + it (a
// StreamError's cause). It is "" when Message is exactly the child's, and
// for a layer with several children; it is the whole Message for a leaf and
// for a layer whose text does not end with its child's.
//
// # Text
//
// FromText builds a Chain from a message alone, and the text fallback uses
// the same parser. Pasted text is cleaned first: a byte-order mark, CR
// line ends, ANSI colours and other control characters go. Then each
// line loses what loggers put before a message: timestamps (RFC 3339,
// Go's log package, syslog), klog headers, levels in capitals ("ERROR",
// "[WARN]"), short bracketed tags ("[main]"), npm's "npm ERR!", GitHub
// Actions' "##[error]"; a logfmt line becomes its msg and err. Curl's and
// cargo's "[28]" and Python's "[Errno 104]" are kept.
//
// The text is then read by its form:
//
//   - An error body: a JSON error object (its status, code, gRPC status,
//     retryDelay or retryAfter, message — also inside "error", "errors"
//     and Google's "details"), an HTML error page (its title and first
//     heading, the status they name: "503 Service Temporarily
//     Unavailable", Cloudflare's "Error code 522") or an XML error (S3's
//     and Azure's <Code> and <Message>). The body's layer carries what its
//     fields say in Attrs, and its message is parsed as a child. JSON that
//     names no error is a text like any other.
//   - A Python traceback: each "Traceback (most recent call last):" block
//     ends with an exception; the last is the root and the first, which
//     Python prints first, the deepest cause ("During handling of the
//     above exception…", "The above exception was the direct cause…").
//     Frames are dropped.
//   - A Node.js error: its "Name: message" line, frames dropped, and the
//     properties node prints in braces: code (an errno name, or an API
//     code such as ENOTFOUND or UND_ERR_SOCKET), syscall, hostname,
//     status; a "[cause]:" is a child, and so are an AggregateError's
//     errors.
//   - A report that names its causes. A text that has a "Caused by:"
//     line, a JVM stack trace, Gradle's "What went wrong:" (its "> "
//     lines are the causes), box-drawn cause lines ("├─▶", "└── caused
//     by:"), or a line after the first that starts with "caused by:" in
//     any case or with rustup's "info: caused by:", is read as anyhow,
//     cargo, uv, rustup and the JVM print them: the first line, without
//     "error: " or "Exception in thread "main" ", is the root, and each
//     cause is a layer whose Message and Own are its text. Frames ("at
//     …(File.java:12)", "... 3 more") and "Suppressed:" exceptions are
//     dropped, and so are the unindented "info:" and "warning:" lines a
//     tool logs around a report and its "help:", "note:" and "hint:" lines.
//   - A list: errors.Join and go-multierror print one error a line; a
//     root holds the whole text, and each line is a child.
//   - A log: a text of more than 40 lines, or of lines that are not all
//     errors, is searched from its end for the last block of error lines
//     (an error level, an error word, or something the recognisers know)
//     with the lines that continue it (indented lines, frames, causes),
//     and that block is read by its form. A log with no error line is read
//     as a list of its last lines.
//   - One line: a Go message, divided at ": " into layers, where layer i's
//     Message is the text from its segment to the end and its Own is the
//     segment.
//
// A ": " does not divide inside double quotes, backquotes, parentheses,
// brackets or braces (url.Error quotes its URL); after a package prefix
// that is part of one error's text ("x509", "tls", "http2", "http",
// "net/http", "gzip", "flate", "zlib", "zstd", "archive/tar",
// "archive/zip", and "exec", as in *exec.Error's `exec: "tar": executable
// file not found in $PATH`); after "stream error" or "connection error";
// or after "lookup host [on server]", the text of a *net.DNSError. The
// "; " before an http2.StreamError's cause divides too, except before its
// "received from peer" marker. A ": " before a bare number that ends the
// text does not divide: the number is a status or code ("exit status: 2",
// curl's "The requested URL returned error: 503") and says nothing as a
// layer of its own; nor does one after curl's "URL returned error", which
// older curls follow with the status and its reason ("404 Not Found").
// Unbalanced quotes or brackets are ignored rather than allowed to hide
// the rest of a message. Colons in addresses ("127.0.0.1:80", "[::1]:80")
// are not followed by a space and never divide.
//
// # Recognisers
//
// Reading facts out of message text belongs to this package alone: one
// vocabulary, Recognise, turns a layer's own text into Attrs, and classify
// maps attributes to kinds without matching any text itself. A new wording
// is added to the vocabulary once, tested once (TestRecognisers), and
// read the same wherever text appears: the text fallback, FromText, and
// classify reading the own text of layers whose type says nothing.
//
// The built-in recognisers read errno texts (Linux, BSD and Windows
// wordings; the number recorded is this platform's), *net.OpError's "op
// net src->dst", *fs.PathError's "op path" (including os.StartProcess's
// "fork/exec /bin/x"), url.Error's `Get "URL"`, DNS lookups, HTTP/2 stream
// errors, GOAWAYs (net/http's graceful shutdown and "received GOAWAY from
// server" mark the stream unprocessed) and lost connections, net/http's
// Client.Timeout (a deadline worth another try: Attrs.Transient), TLS and
// certificate failures, decoder and archive sentinels and the format names
// extractors put before their errors, context errors, EOFs, timeouts and
// HTTP statuses after "status" or "HTTP" or before their reason phrase.
// They also read the texts of other HTTP stacks that show up in pasted
// reports: curl's error codes ("(28) Timeout was reached", cargo's "[28]
// …", git's "RPC failed; curl 56 …"; an errno in the same text takes
// precedence over the code; code 22, curl --fail's "The requested URL
// returned error: 503", is read as the HTTP status; code 35 whose detail
// says the handshake was cut short, not refused ("unexpected eof while
// reading", SSL_ERROR_SYSCALL), is a connection failure; a "curl n" in other
// words, as in "retrying curl 5 times", is not a code), curl's and the h2
// crate's HTTP/2 errors and codes, hyper's and reqwest's "connection
// closed before message completed", IncompleteMessage and "dns error",
// getaddrinfo's texts ("Name or service not known" is a name that does
// not exist) and rustls' "peer closed connection without sending TLS
// close_notify", which means a truncated stream.
//
// A text is scanned once for every fixed wording the vocabulary knows (an
// Aho–Corasick automaton, ignoring ASCII case); each recogniser runs only
// when a wording it needs is present, so the cost of a layer is flat in
// the size of the vocabulary. Recognisers read at most RecogniseLimit
// bytes of a text.
//
// A deployment adds its own wordings as Recognisers: in Walker.Recognisers
// for the text fallback and FromText, or in classify.Set.Recognisers for
// every layer when classifying, which is where a policy file's recognisers
// go, so that a decision made live and one replayed from a dump read the
// same words. They run before the built-ins; the first to name a kind
// decides it. A walker without them records what the built-ins read;
// classify then has the Set's recognisers read those layers first, so
// that a policy re-reads a shape the built-in vocabulary knows.
//
// # Caps
//
// A hostile error cannot hang the walk or exhaust memory. Walker's caps, with
// their defaults: MaxDepth 64 (layers from the root to a leaf), MaxLayers
// 256, MaxWidth 64 (children followed per layer), MaxMessage 4096 (bytes
// kept of each Message and Own, cut on a UTF-8 boundary). An error that
// leads back to itself or an ancestor is not followed again. The first cap
// hit is named in Chain.Truncated ("depth", "layers", "width", "message",
// "cycle"). A panic in an error's Error, Unwrap, Cause, WrappedErrors,
// Timeout, Temporary or DescribeFault method, or in an Unwrapper, is
// recovered: a panicking Error leaves its description as the message, a
// panicking Unwrap counts as no children. The walker cannot interrupt an
// Error method that never returns.
//
// # JSON
//
// json.Marshal writes a Chain; Decode reads one back, strictly: an unknown
// schema version (ErrSchema), an unknown field, an unknown Via, or layers
// that are not a tree in pre-order are a *DecodeError carrying the byte
// offset and the field at fault.
package chain
