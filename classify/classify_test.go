package classify_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faultline-go/faultline/chain"
	"github.com/faultline-go/faultline/classify"
)

// linear builds a chain whose layers wrap each other, outermost first.
func linear(layers ...chain.Layer) chain.Chain {
	for i := range layers {
		layers[i].Parent, layers[i].Depth = i-1, i
		layers[i].Via = chain.ViaUnwrap
	}
	if len(layers) > 0 {
		layers[0].Via = chain.ViaRoot
	}
	return chain.Chain{Schema: chain.SchemaVersion, Layers: layers}
}

// lay is a typed layer with attributes.
func lay(typ, msg string, a chain.Attrs) chain.Layer {
	return chain.Layer{Type: typ, Message: msg, Own: msg, Attrs: a}
}

// txt is a layer parsed from text.
func txt(msg string) chain.Layer { return chain.Layer{Message: msg, Own: msg, Via: chain.ViaText} }

func TestKinds(t *testing.T) {
	tests := []struct {
		name      string
		c         chain.Chain
		kind      classify.Kind
		transient bool
		check     func(t *testing.T, f classify.Facts)
	}{
		{"errno reset", linear(lay("syscall.Errno", "connection reset by peer", chain.Attrs{Errno: 104, ErrnoName: "ECONNRESET"})), classify.ConnectionReset, true, nil},
		{"errno refused", linear(lay("syscall.Errno", "connection refused", chain.Attrs{ErrnoName: "ECONNREFUSED"})), classify.ConnectionRefused, true, nil},
		{"errno aborted", linear(txt("software caused connection abort")), classify.ConnectionAborted, true, nil},
		{"net.ErrClosed", linear(txt("use of closed network connection")), classify.ConnectionAborted, true, nil},
		{"errno pipe", linear(txt("broken pipe")), classify.BrokenPipe, true, nil},
		{"errno unreachable", linear(lay("syscall.Errno", "no route to host", chain.Attrs{ErrnoName: "EHOSTUNREACH"})), classify.Unreachable, true, nil},
		{"errno timedout", linear(txt("connection timed out")), classify.Timeout, true,
			func(t *testing.T, f classify.Facts) { assert.True(t, f.Timeout); assert.Equal(t, "ETIMEDOUT", f.Errno) }},
		{"enospc", linear(txt("write /x"), txt("no space left on device")), classify.DiskFull, false, nil},
		{"edquot", linear(lay("syscall.Errno", "disk quota exceeded", chain.Attrs{ErrnoName: "EDQUOT"})), classify.DiskFull, false, nil},
		{"eacces", linear(txt("permission denied")), classify.Permission, false, nil},
		{"eperm", linear(txt("operation not permitted")), classify.Permission, false, nil},
		{"erofs", linear(txt("read-only file system")), classify.Permission, false,
			func(t *testing.T, f classify.Facts) { assert.Equal(t, "EROFS", f.Errno) }},
		{"enoent", linear(txt("no such file or directory")), classify.NotFound, false, nil},
		{"fs.ErrNotExist", linear(txt("file does not exist")), classify.NotFound, false, nil},
		{"bare unexpected EOF", linear(lay("*errors.errorString", "unexpected EOF", chain.Attrs{})), classify.UnexpectedEOF, true, nil},
		{"bare EOF", linear(txt("EOF")), classify.UnexpectedEOF, true, nil},
		{"i/o timeout", linear(lay("*net.OpError", "read tcp a->b: i/o timeout", chain.Attrs{Op: "read", Net: "tcp", Timeout: true}),
			lay("*internal/poll.DeadlineExceededError", "i/o timeout", chain.Attrs{Timeout: true})), classify.Timeout, true,
			func(t *testing.T, f classify.Facts) { assert.Equal(t, "read", f.Op); assert.True(t, f.Timeout) }},
		{"dial timeout, net.timeoutError", linear(lay("*net.timeoutError", "i/o timeout", chain.Attrs{})), classify.Timeout, true, nil},
		{"timeout attribute only", linear(lay("*example.com/sdk.Err", "took too long", chain.Attrs{Timeout: true})), classify.Timeout, true, nil},
		{"url.Error timeout alone is not a kind", linear(lay("*net/url.Error", "Get \"x\": boom", chain.Attrs{Op: "Get", Timeout: true})), classify.Unknown, false,
			func(t *testing.T, f classify.Facts) { assert.True(t, f.Timeout); assert.Empty(t, f.Op) }},
		{"context canceled", linear(txt("context canceled")), classify.Canceled, false, nil},
		{"context deadline", linear(lay("context.deadlineExceededError", "context deadline exceeded", chain.Attrs{})), classify.Deadline, false,
			func(t *testing.T, f classify.Facts) { assert.True(t, f.Timeout) }},
		{"Client.Timeout headers", linear(txt("context deadline exceeded (Client.Timeout exceeded while awaiting headers)")), classify.Deadline, true, nil},
		{"Client.Timeout body canceled", linear(txt("context canceled (Client.Timeout or context cancellation while reading body)")), classify.Canceled, false,
			func(t *testing.T, f classify.Facts) { assert.False(t, f.Timeout) }},
		{"request canceled", linear(txt("net/http: request canceled while waiting for connection")), classify.Canceled, false, nil},
		{"dns not found", linear(lay("*net.DNSError", "lookup x on y: no such host", chain.Attrs{NotFound: true})), classify.DNS, false, nil},
		{"dns servfail", linear(lay("*net.DNSError", "lookup x on y: server misbehaving", chain.Attrs{Temporary: true})), classify.DNS, true, nil},
		{"dns text not found", linear(txt("lookup x on y: no such host")), classify.DNS, false, nil},
		{"x509", linear(lay("*crypto/tls.CertificateVerificationError", "tls: failed to verify certificate: x509: expired", chain.Attrs{}),
			lay("crypto/x509.CertificateInvalidError", "x509: certificate has expired", chain.Attrs{})), classify.Certificate, false, nil},
		{"tls alert", linear(txt("remote error: tls: handshake failure")), classify.TLS, false, nil},
		{"tls record header", linear(lay("crypto/tls.RecordHeaderError", "tls: first record does not look like a TLS handshake", chain.Attrs{})), classify.TLS, false, nil},
		{"h2 refused stream", linear(txt("stream error: stream ID 5; REFUSED_STREAM")), classify.H2Stream, true,
			func(t *testing.T, f classify.Facts) {
				assert.Equal(t, classify.H2{Code: "REFUSED_STREAM", StreamID: 5, Unprocessed: true}, f.H2)
			}},
		{"h2 stream protocol error", linear(lay("golang.org/x/net/http2.StreamError", "stream error: stream ID 3; PROTOCOL_ERROR",
			chain.Attrs{H2Code: "PROTOCOL_ERROR", H2StreamID: 3})), classify.H2Stream, false, nil},
		{"h2 goaway no error", linear(txt(`http2: server sent GOAWAY and closed the connection; LastStreamID=7, ErrCode=NO_ERROR, debug="bye"`)), classify.H2GoAway, true,
			func(t *testing.T, f classify.Facts) {
				assert.Equal(t, classify.H2{Code: "NO_ERROR", LastStreamID: 7, GoAway: true, Remote: true, Debug: "bye"}, f.H2)
			}},
		{"h2 goaway error, processed", linear(lay("net/http.http2GoAwayError", "http2: server sent GOAWAY …",
			chain.Attrs{H2Code: "INTERNAL_ERROR", H2LastStreamID: 3, H2StreamID: 3})), classify.H2GoAway, false,
			func(t *testing.T, f classify.Facts) { assert.False(t, f.H2.Unprocessed) }},
		{"h2 goaway error, not processed", linear(lay("net/http.http2GoAwayError", "http2: server sent GOAWAY …",
			chain.Attrs{H2Code: "INTERNAL_ERROR", H2LastStreamID: 1, H2StreamID: 3})), classify.H2GoAway, true,
			func(t *testing.T, f classify.Facts) { assert.True(t, f.H2.Unprocessed) }},
		{"h2 graceful goaway string", linear(txt("http2: Transport received Server's graceful shutdown GOAWAY")), classify.H2GoAway, true,
			func(t *testing.T, f classify.Facts) { assert.True(t, f.H2.Unprocessed) }},
		{"h2 connection lost", linear(txt("http2: client connection lost")), classify.H2Connection, true, nil},
		{"h2 connection error", linear(txt("connection error: FLOW_CONTROL_ERROR")), classify.H2Connection, false, nil},
		{"status attr", linear(lay("*x.StatusError", "boom", chain.Attrs{HTTPStatus: 503, RetryAfter: 1.5})), classify.HTTPStatus, true,
			func(t *testing.T, f classify.Facts) { assert.Equal(t, 1500*time.Millisecond, f.HTTP.RetryAfter) }},
		// A Describer naming the kind must not leave the kind's default
		// (not transient) on a retryable status; the status decides.
		{"status hinted 503", linear(lay("*x.StatusError", "upstream said no", chain.Attrs{Kind: "http_status", HTTPStatus: 503})), classify.HTTPStatus, true, nil},
		{"status hinted 404", linear(lay("*x.StatusError", "upstream said no", chain.Attrs{Kind: "http_status", HTTPStatus: 404})), classify.HTTPStatus, false, nil},
		{"status 404", linear(txt("unexpected status code: 404")), classify.HTTPStatus, false,
			func(t *testing.T, f classify.Facts) { assert.Equal(t, 404, f.HTTP.Status) }},
		{"status reason phrase", linear(txt("server said 502 Bad Gateway")), classify.HTTPStatus, true, nil},
		{"port is not a status", linear(txt("dial tcp 10.0.0.1:443 went sideways")), classify.Unknown, false, nil},
		{"flate", linear(txt("flate: corrupt input before offset 77")), classify.Decode, false,
			func(t *testing.T, f classify.Facts) {
				assert.Equal(t, classify.Codec{Format: "flate", Offset: 77}, f.Decode)
			}},
		{"gzip header", linear(txt("gzip: invalid header")), classify.Decode, false, nil},
		{"gzip checksum", linear(txt("gzip: invalid checksum")), classify.Checksum, false, nil},
		{"zstd crc", linear(txt("CRC check failed")), classify.Checksum, false,
			func(t *testing.T, f classify.Facts) { assert.Equal(t, "zstd", f.Decode.Format) }},
		{"tar header", linear(txt("archive/tar: invalid tar header")), classify.Archive, false, nil},
		{"tar insecure", linear(txt("archive/tar: insecure file path")), classify.UnsafeArchive, false, nil},
		{"max bytes", linear(lay("*net/http.MaxBytesError", "http: request body too large", chain.Attrs{})), classify.Limit, false, nil},
		{"format attr", linear(lay("*x.ZipErr", "zip trouble", chain.Attrs{Format: "zip"})), classify.Archive, false, nil},
		{"unknown", linear(txt("something odd")), classify.Unknown, false,
			func(t *testing.T, f classify.Facts) { assert.Equal(t, -1, f.Layer) }},
		{"custom hint kind", linear(lay("*x.Quota", "quota", chain.Attrs{Kind: "quota"})), classify.Kind("quota"), false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := classify.Classify(tt.c)
			assert.Equal(t, tt.kind, f.Kind)
			assert.Equal(t, tt.transient, f.Transient)
			if tt.check != nil {
				tt.check(t, f)
			}
		})
	}
}

// reset is the usual bottom of a reset: *net.OpError → *os.SyscallError →
// syscall.Errno.
func reset() []chain.Layer {
	return []chain.Layer{
		lay("*net.OpError", "read tcp a->b: read: connection reset by peer", chain.Attrs{Op: "read", Net: "tcp"}),
		lay("*os.SyscallError", "read: connection reset by peer", chain.Attrs{Op: "read"}),
		lay("syscall.Errno", "connection reset by peer", chain.Attrs{Errno: 104, ErrnoName: "ECONNRESET"}),
	}
}

func TestPrecedence(t *testing.T) {
	tar := lay("*x.UnpackError", "tar: unpack \"a\": …", chain.Attrs{Format: "tar", Entry: "a"})
	tests := []struct {
		name  string
		c     chain.Chain
		kind  classify.Kind
		layer int
		cbt   bool
	}{
		{"deepest transport cause under an extractor", linear(append([]chain.Layer{tar}, reset()...)...), classify.ConnectionReset, 3, true},
		{"decode above a transport cause", linear(txt("flate: corrupt input before offset 3"), txt("connection reset")), classify.ConnectionReset, 1, true},
		{"eof under an extractor is not transport", linear(tar, txt("unexpected EOF")), classify.UnexpectedEOF, 1, false},
		{"checksum hint beats a deeper reset", linear(lay("*x.Verify", "sha256 mismatch", chain.Attrs{Kind: "checksum"}), txt("connection reset")), classify.Checksum, 0, true},
		{"unsafe archive beats deeper errors", linear(lay("*x.Escape", "escape", chain.Attrs{Kind: "unsafe_archive"}), txt("permission denied")), classify.UnsafeArchive, 0, false},
		{"limit hint", linear(lay("*x.Limit", "too big", chain.Attrs{Kind: "limit"}), txt("unexpected EOF")), classify.Limit, 0, false},
		{"cancel beats the reset it caused", linear(txt("context canceled"), txt("use of closed network connection")), classify.Canceled, 0, false},
		{"outermost cancel decides", linear(txt("context deadline exceeded (Client.Timeout exceeded while awaiting headers)"), txt("context deadline exceeded")), classify.Deadline, 0, false},
		{"transport below a non-speaking wrapper", linear(txt("request failed"), txt("connection refused")), classify.ConnectionRefused, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := classify.Classify(tt.c)
			assert.Equal(t, tt.kind, f.Kind)
			assert.Equal(t, tt.layer, f.Layer)
			assert.Equal(t, tt.cbt, f.CausedByTransport)
		})
	}
	t.Run("outermost cancel keeps its transience", func(t *testing.T) {
		f := classify.Classify(linear(txt("context deadline exceeded (Client.Timeout exceeded while awaiting headers)"), txt("context deadline exceeded")))
		assert.True(t, f.Transient, "Client.Timeout is a per-attempt limit")
	})
}

// TestMultiError checks a tree: errors.Join(reset under an extractor, 503).
func TestMultiError(t *testing.T) {
	layers := []chain.Layer{{Type: "*errors.joinError", Message: "…\nunexpected status 503 Service Unavailable", Via: chain.ViaRoot, Parent: -1}}
	for i, l := range append([]chain.Layer{lay("*x.UnpackError", "tar.gz: unpack …", chain.Attrs{Format: "tar.gz"})}, reset()...) {
		l.Parent, l.Depth, l.Via = i, i+1, chain.ViaUnwrap
		layers = append(layers, l)
	}
	layers[1].Via = chain.ViaMulti
	layers = append(layers, chain.Layer{Type: "*x.StatusError", Message: "unexpected status 503 Service Unavailable",
		Own: "unexpected status 503 Service Unavailable", Via: chain.ViaMulti, Parent: 0, Depth: 1,
		Attrs: chain.Attrs{HTTPStatus: 503, RetryAfter: 7}})
	f := classify.Classify(chain.Chain{Schema: 1, Layers: layers})
	assert.Equal(t, classify.ConnectionReset, f.Kind)
	assert.Equal(t, 4, f.Layer)
	assert.True(t, f.CausedByTransport)
	assert.Equal(t, classify.HTTP{Status: 503, Equivalent: 503, RetryAfter: 7 * time.Second}, f.HTTP)
	assert.Equal(t, "ECONNRESET", f.Errno)
	assert.Equal(t, "read", f.Op)
}

// The chain from uv issue 14171, pasted from a terminal.
const uv14171 = "error: Failed to install cpython-3.10.18-linux-x86_64-gnu\n" +
	"  Caused by: Failed to extract archive: cpython-3.10.18-20250708-x86_64-unknown-linux-gnu-install_only_stripped.tar.gz\n" +
	"  Caused by: Invalid tar file\n" +
	"  Caused by: failed to unpack `python/bin/python3.10` into `/home/user/.local/share/uv/python/.tmpXYZ/python/bin/python3.10`\n" +
	"  Caused by: error decoding response body\n" +
	"  Caused by: request or response body error\n" +
	"  Caused by: error reading a body from connection\n" +
	"  Caused by: connection reset\n"

func TestUV14171(t *testing.T) {
	c := chain.FromText(uv14171)
	require.GreaterOrEqual(t, len(c.Layers), 8, "FromText should split the Caused by: lines")
	f := classify.Classify(c)
	assert.Equal(t, classify.ConnectionReset, f.Kind)
	assert.True(t, f.Transient)
	assert.True(t, f.CausedByTransport)
	assert.Equal(t, "ECONNRESET", f.Errno)
	assert.Equal(t, "python/bin/python3.10", f.Decode.Entry)
	assert.Equal(t, "connection reset", f.Layers[f.Layer].Message)
}

func TestUserClassifier(t *testing.T) {
	throttle := classify.ClassifierFunc(func(l chain.Layer) classify.Verdict {
		if l.Attrs.Extra["aws.code"] == "ThrottlingException" {
			return classify.Verdict{Kind: classify.HTTPStatus, Transient: true, Labels: map[string]string{"throttled": "true"}}
		}
		return classify.Verdict{}
	})
	region := classify.ClassifierFunc(func(l chain.Layer) classify.Verdict {
		if r := l.Attrs.Extra["aws.region"]; r != "" {
			return classify.Verdict{Labels: map[string]string{"region": r, "throttled": "overridden?"}}
		}
		return classify.Verdict{}
	})
	sdk := lay("*smithy.OperationError", "operation GetObject: throttled", chain.Attrs{
		Extra: map[string]string{"aws.code": "ThrottlingException", "aws.region": "eu-west-1"}})
	c := linear(sdk, txt("permission denied"))

	s := classify.Set{Classifiers: []classify.Classifier{throttle, region}}
	f := s.Classify(c)
	assert.Equal(t, classify.Permission, f.Kind, "a deeper built-in kind still wins by depth")
	assert.Equal(t, map[string]string{"throttled": "true", "region": "eu-west-1"}, f.Labels)

	f = s.Classify(linear(sdk))
	assert.Equal(t, classify.HTTPStatus, f.Kind)
	assert.True(t, f.Transient)

	// A user classifier is consulted before the built-ins on the same layer.
	mine := classify.ClassifierFunc(func(l chain.Layer) classify.Verdict {
		if l.Message == "connection reset by peer" {
			return classify.Verdict{Kind: "flaky_peer"}
		}
		return classify.Verdict{}
	})
	f = (&classify.Set{Classifiers: []classify.Classifier{mine}}).Classify(linear(reset()...))
	assert.Equal(t, classify.Kind("flaky_peer"), f.Kind)
	assert.False(t, f.Transient)

	// The zero Set is the built-ins.
	var zero classify.Set
	assert.Equal(t, classify.Classify(linear(reset()...)), zero.Classify(linear(reset()...)))
}

func TestCaps(t *testing.T) {
	var layers []chain.Layer
	for range classify.MaxLayers + 10 {
		layers = append(layers, txt(strings.Repeat("é", classify.MaxMessage)))
	}
	layers = append(layers, txt("connection reset"))
	many := classify.ClassifierFunc(func(l chain.Layer) classify.Verdict {
		labels := map[string]string{}
		for i := range 40 {
			labels[string(rune('a'+i%26))+strings.Repeat("x", i/26)] = "v"
		}
		return classify.Verdict{Labels: labels}
	})
	f := (&classify.Set{Classifiers: []classify.Classifier{many}}).Classify(linear(layers...))
	assert.Len(t, f.Layers, classify.MaxLayers)
	assert.LessOrEqual(t, len(f.Message), classify.MaxMessage)
	assert.True(t, strings.HasPrefix(strings.Repeat("é", classify.MaxMessage), f.Message), "cut on a rune boundary")
	assert.LessOrEqual(t, len(f.Labels), classify.MaxLabels)
	for _, l := range f.Layers {
		assert.LessOrEqual(t, len(l.Message), classify.MaxMessage)
	}
	assert.Equal(t, classify.ConnectionReset, f.Kind, "the deciding layer may lie beyond the cap")
	assert.Equal(t, -1, f.Layer, "and then has no index in Layers")
}

func TestEmpty(t *testing.T) {
	f := classify.Classify(chain.Chain{})
	assert.Equal(t, classify.Unknown, f.Kind)
	assert.Equal(t, -1, f.Layer)
}

// TestHostileParents: a malformed chain (parents after children, cycles)
// must not hang or panic.
func TestHostileParents(t *testing.T) {
	c := chain.Chain{Layers: []chain.Layer{
		{Message: "flate: corrupt input before offset 1", Parent: 1},
		{Message: "connection reset", Parent: 0, Depth: 1},
		{Message: "x", Parent: 99, Depth: -5},
	}}
	assert.NotPanics(t, func() { classify.Classify(c) })
}

// One vocabulary: a shape chain's recognisers know is read the same in a
// hand-built layer with no attributes as in text chain parsed, and a
// Set's recognisers teach classify new words without a classifier.
func TestOneVocabulary(t *testing.T) {
	for _, msg := range []string{"(28) Timeout was reached", "curl: (56) Recv failure: Connection reset by peer", "http2: client connection lost"} {
		hand := classify.Classify(linear(lay("*errors.errorString", msg, chain.Attrs{})))
		parsed := classify.Classify(chain.FromText(msg))
		assert.NotEqual(t, classify.Unknown, hand.Kind, msg)
		assert.Equal(t, parsed.Kind, hand.Kind, msg)
		assert.Equal(t, parsed.Transient, hand.Transient, msg)
	}

	npm := chain.RecogniserFunc(func(s string, a *chain.Attrs) bool {
		if !strings.Contains(s, "ESOCKETTIMEDOUT") {
			return false
		}
		if a.Kind == "" {
			a.Kind = "timeout"
		}
		return true
	})
	c := linear(lay("", "npm ERR! code ESOCKETTIMEDOUT", chain.Attrs{}))
	assert.Equal(t, classify.Unknown, classify.Classify(c).Kind)
	set := classify.Set{Recognisers: chain.Recognisers{npm}}
	f := set.Classify(c)
	assert.Equal(t, classify.Timeout, f.Kind)
	assert.True(t, f.Transient)
	assert.Empty(t, c.Layers[0].Attrs, "recognisers read into a copy, never into the chain")
}

// The facts an SDK's error, an error body or a runtime's code give, and
// how they decide the kind: a gRPC code and an API's error code name the
// failure more precisely than the status they came with.
func TestCodesAndStatuses(t *testing.T) {
	yes, no := true, false
	tests := []struct {
		name      string
		c         chain.Chain
		kind      classify.Kind
		transient bool
		check     func(t *testing.T, f classify.Facts)
	}{
		{"throttling on a 400", linear(lay("*smithy.GenericAPIError", "api error ThrottlingException: Rate exceeded",
			chain.Attrs{HTTPStatus: 400, ErrorCode: "ThrottlingException"})), classify.RateLimited, true,
			func(t *testing.T, f classify.Facts) {
				assert.Equal(t, "ThrottlingException", f.Code)
				assert.Equal(t, 400, f.HTTP.Status)
			}},
		{"S3 SlowDown on a 503", linear(lay("", "SlowDown", chain.Attrs{HTTPStatus: 503, ErrorCode: "SlowDown"})), classify.RateLimited, true, nil},
		{"an unknown code leaves the status", linear(lay("", "x", chain.Attrs{HTTPStatus: 404, ErrorCode: "NoSuchKey"})), classify.HTTPStatus, false,
			func(t *testing.T, f classify.Facts) { assert.Equal(t, "NoSuchKey", f.Code) }},
		{"server error code", linear(lay("", "x", chain.Attrs{ErrorCode: "InternalError"})), classify.ServerError, true, nil},
		{"grpc unavailable", linear(lay("*status.Error", "rpc error: code = Unavailable desc = x", chain.Attrs{GRPCCode: "UNAVAILABLE"})), classify.GRPCStatus, true,
			func(t *testing.T, f classify.Facts) { assert.Equal(t, "UNAVAILABLE", f.GRPC.Code) }},
		{"grpc permission denied", linear(lay("", "x", chain.Attrs{GRPCCode: "PERMISSION_DENIED"})), classify.GRPCStatus, false, nil},
		{"grpc resource exhausted", linear(lay("", "x", chain.Attrs{GRPCCode: "RESOURCE_EXHAUSTED"})), classify.GRPCStatus, true, nil},
		{"grpc deadline", linear(lay("", "x", chain.Attrs{GRPCCode: "DEADLINE_EXCEEDED"})), classify.Deadline, false, nil},
		{"grpc cancelled", linear(lay("", "x", chain.Attrs{GRPCCode: "CANCELLED"})), classify.Canceled, false, nil},
		// RFC 9110 §15: an unregistered status is the x00 of its class.
		{"unregistered 5xx", linear(lay("", "x", chain.Attrs{HTTPStatus: 520})), classify.HTTPStatus, true,
			func(t *testing.T, f classify.Facts) {
				assert.Equal(t, 520, f.HTTP.Status)
				assert.Equal(t, 500, f.HTTP.Equivalent)
			}},
		{"unregistered 4xx", linear(lay("", "x", chain.Attrs{HTTPStatus: 499})), classify.HTTPStatus, false,
			func(t *testing.T, f classify.Facts) { assert.Equal(t, 400, f.HTTP.Equivalent) }},
		{"a wait without a status", linear(lay("", "rate limited", chain.Attrs{ErrorCode: "TooManyRequests"}), lay("", "try again in 30s", chain.Attrs{RetryAfter: 30})),
			classify.RateLimited, true, func(t *testing.T, f classify.Facts) { assert.Equal(t, 30*time.Second, f.HTTP.RetryAfter) }},
		{"node ENOTFOUND", linear(txt("TypeError: fetch failed"), lay("", "Error: getaddrinfo ENOTFOUND nope.invalid", chain.Attrs{ErrorCode: "ENOTFOUND"})),
			classify.DNS, false, nil},
		{"node EAI_AGAIN", linear(lay("", "getaddrinfo EAI_AGAIN registry.npmjs.org", chain.Attrs{ErrorCode: "EAI_AGAIN"})), classify.DNS, true, nil},
		// A dial that never reached the server, for a reason nothing
		// recognises: the request was not sent.
		{"dial, unknown cause", linear(lay("*url.Error", `Get "https://x": dial tcp 10.0.0.1:443: weird`, chain.Attrs{Op: "Get", Addr: "https://x"}),
			lay("*net.OpError", "dial tcp 10.0.0.1:443: weird", chain.Attrs{Op: "dial", Net: "tcp", Addr: "10.0.0.1:443"}),
			lay("*x.weirdError", "weird", chain.Attrs{})), classify.Connection, true,
			func(t *testing.T, f classify.Facts) { assert.Equal(t, "dial", f.Op) }},
		{"read, unknown cause, stays unknown", linear(lay("*net.OpError", "read tcp 10.0.0.1:443: weird", chain.Attrs{Op: "read", Net: "tcp"}),
			lay("*x.weirdError", "weird", chain.Attrs{})), classify.Unknown, false, nil},
		{"the SDK's claim is a fact, not the kind", linear(lay("*x.Error", "boom", chain.Attrs{Retryable: &yes}),
			lay("syscall.Errno", "no space left on device", chain.Attrs{ErrnoName: "ENOSPC"})), classify.DiskFull, false,
			func(t *testing.T, f classify.Facts) { assert.Equal(t, "yes", f.Retryable) }},
		{"the outermost claim counts", linear(lay("*x.Outer", "a", chain.Attrs{Retryable: &no}), lay("*x.Inner", "b", chain.Attrs{Retryable: &yes})),
			classify.Unknown, false, func(t *testing.T, f classify.Facts) { assert.Equal(t, "no", f.Retryable) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := classify.Classify(tt.c)
			assert.Equal(t, tt.kind, f.Kind)
			assert.Equal(t, tt.transient, f.Transient, "transient")
			if tt.check != nil {
				tt.check(t, f)
			}
		})
	}
}

// Kinds lists the documented vocabulary once each, unknown last.
func TestKindsList(t *testing.T) {
	seen := map[classify.Kind]bool{}
	for _, k := range classify.Kinds() {
		assert.False(t, seen[k], "%s twice", k)
		seen[k] = true
	}
	assert.Equal(t, classify.Unknown, classify.Kinds()[len(classify.Kinds())-1])
	assert.Len(t, seen, 31)
}
