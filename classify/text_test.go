package classify_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/faultline-go/faultline/chain"
	"github.com/faultline-go/faultline/classify"
)

// textLimits lists, per live case, the facts its error text cannot carry,
// and why. Every other key fact must survive err.Error() → chain.FromText.
var textLimits = map[string]map[string]string{
	// StatusError prints the status but not the Retry-After header; only
	// the type's DescribeFault reports it.
	"h1-status-503":   {"retry_after": "Retry-After is not in the message"},
	"h2-status-429":   {"retry_after": "Retry-After is not in the message"},
	"multi-join":      {"retry_after": "Retry-After is not in the message"},
	"multi-hashicorp": {"retry_after": "Retry-After is not in the message"},
}

// checkText classifies the error's text alone and compares the key facts
// with the live classification.
func checkText(t *testing.T, name string, err error, live classify.Facts) {
	t.Helper()
	text := classify.Classify(chain.FromText(err.Error()))
	limits := textLimits[name]
	check := func(field string, want, got any) {
		if _, ok := limits[field]; ok {
			return
		}
		assert.Equal(t, want, got, "from text: %s", field)
	}
	check("kind", live.Kind, text.Kind)
	check("transient", live.Transient, text.Transient)
	check("timeout", live.Timeout, text.Timeout)
	check("errno", live.Errno, text.Errno)
	check("op", live.Op, text.Op)
	check("h2", live.H2, text.H2)
	check("status", live.HTTP.Status, text.HTTP.Status)
	check("retry_after", live.HTTP.RetryAfter, text.HTTP.RetryAfter)
	check("decode", live.Decode, text.Decode)
	check("caused_by_transport", live.CausedByTransport, text.CausedByTransport)
}

// TestOtherStacksText classifies the error texts of curl, cargo, rustup,
// reqwest, hyper and rustls, as people paste them, through chain.FromText:
// the same facts as the Go errors they correspond to.
func TestOtherStacksText(t *testing.T) {
	tests := []struct {
		name      string
		text      string
		kind      classify.Kind
		transient bool
		timeout   bool
		errno     string
		transport bool // CausedByTransport
	}{
		{"curl timeout", "curl: (28) Timeout was reached", classify.Timeout, true, true, "", false},
		{"curl timeout with errno", "curl: (28) Failed to connect to example.com port 443 after 129 ms: Connection timed out",
			classify.Timeout, true, true, "ETIMEDOUT", false},
		{"curl recv reset", "curl: (56) Recv failure: Connection reset by peer", classify.ConnectionReset, true, false, "ECONNRESET", false},
		{"curl partial", "curl: (18) transfer closed with 3170 bytes remaining to read", classify.UnexpectedEOF, true, false, "", false},
		{"curl refused", "curl: (7) Failed to connect to 127.0.0.1 port 9 after 0 ms: Couldn't connect to server",
			classify.ConnectionRefused, true, false, "", false},
		{"curl unreachable", "curl: (7) Failed to connect to 10.255.255.1 port 80 after 3 ms: No route to host",
			classify.Unreachable, true, false, "EHOSTUNREACH", false},
		{"curl resolve", "curl: (6) Could not resolve host: static.example.com", classify.DNS, true, false, "", false},
		{"curl tls", "curl: (35) SSL connect error", classify.TLS, false, false, "", false},
		{"curl certificate", "curl: (60) SSL certificate problem: unable to get local issuer certificate", classify.Certificate, false, false, "", false},
		{"git over curl", "error: RPC failed; curl 18 transfer closed with outstanding read data remaining", classify.UnexpectedEOF, true, false, "", false},
		{"cargo curl timeout", "error: failed to download from `https://static.crates.io/crates/x/1.0.0/download`\n\nCaused by:\n  [28] Timeout was reached (Operation too slow. Less than 10 bytes/sec transferred the last 30 seconds)",
			classify.Timeout, true, true, "", false},
		{"rustls close_notify", "error: Request failed after 3 retries\n  Caused by: error reading a body from connection\n  Caused by: peer closed connection without sending TLS close_notify: https://docs.rs/rustls/latest/rustls/manual/_03_howto/index.html#unexpected-eof",
			classify.UnexpectedEOF, true, false, "", false},
		{"hyper incomplete", "error sending request for url (https://files.example.com/a.tar.gz): connection closed before message completed",
			classify.UnexpectedEOF, true, false, "", false},
		{"hyper incomplete debug", "reqwest::Error { kind: Request, source: hyper::Error(IncompleteMessage) }", classify.UnexpectedEOF, true, false, "", false},
		{"reqwest timeout", "error sending request for url (https://files.example.com/a.tar.gz): operation timed out", classify.Timeout, true, true, "ETIMEDOUT", false},
		{"hyper refused", "error trying to connect: tcp connect error: Connection refused (os error 111)", classify.ConnectionRefused, true, false, "ECONNREFUSED", false},
		{"hyper dns not found", "error trying to connect: dns error: failed to lookup address information: Name or service not known",
			classify.DNS, false, false, "", false},
		{"hyper dns temporary", "error trying to connect: dns error: failed to lookup address information: Temporary failure in name resolution",
			classify.DNS, true, false, "", false},
		{"rustup reset under decode", "error: component download failed for rust-docs-x86_64-unknown-linux-gnu\ninfo: caused by: error decoding response body\ninfo: caused by: connection reset by peer (os error 104)",
			classify.ConnectionReset, true, false, "ECONNRESET", true},
		{"uv reset under tar", "error: Failed to install cpython\n  Caused by: Invalid tar file\n  Caused by: error decoding response body\n  Caused by: connection reset",
			classify.ConnectionReset, true, false, "ECONNRESET", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := classify.Classify(chain.FromText(tt.text))
			assert.Equal(t, tt.kind, f.Kind, "kind")
			assert.Equal(t, tt.transient, f.Transient, "transient")
			assert.Equal(t, tt.timeout, f.Timeout, "timeout")
			assert.Equal(t, tt.errno, f.Errno, "errno")
			assert.Equal(t, tt.transport, f.CausedByTransport, "caused_by_transport")
		})
	}
}

// TestOtherStacksH2Text classifies the HTTP/2 failures of curl (nghttp2)
// and of hyper and reqwest (the h2 crate) as their tools print them. The
// code is a segment of its own after chain.FromText and must still decide
// the transience of the HTTP/2 layer above it.
func TestOtherStacksH2Text(t *testing.T) {
	tests := []struct {
		name      string
		text      string
		kind      classify.Kind
		transient bool
		code      string
		stream    int64
		remote    bool
		goaway    bool
		transport bool // CausedByTransport
	}{
		{"curl 92", "curl: (92) HTTP/2 stream 1 was not closed cleanly: INTERNAL_ERROR (err 2)",
			classify.H2Stream, true, "INTERNAL_ERROR", 1, false, false, false},
		{"cargo 92 protocol", "warning: spurious network error (2 tries remaining): [92] HTTP/2 stream 1 was not closed cleanly: PROTOCOL_ERROR (err 1)",
			classify.H2Stream, false, "PROTOCOL_ERROR", 1, false, false, false},
		{"git 92 cancel", "error: RPC failed; curl 92 HTTP/2 stream 5 was not closed cleanly: CANCEL (err 8)",
			classify.H2Stream, true, "CANCEL", 5, false, false, false},
		{"curl 92 reset", "curl: (92) HTTP/2 stream 7 was reset", classify.H2Stream, true, "", 7, false, false, false},
		{"git 16", "error: RPC failed; curl 16 Error in the HTTP2 framing layer", classify.H2Connection, true, "", 0, false, false, false},
		{"reqwest refused stream", "error sending request for url (https://files.example.org/packages/a-1.0-py3-none-any.whl): client error (SendRequest): http2 error: stream error received: refused stream before processing any application logic",
			classify.H2Stream, true, "REFUSED_STREAM", 0, true, false, false},
		{"uv stream reset under decode", "error: Failed to download `torch==2.3.0`\n  Caused by: Request failed after 3 retries\n  Caused by: error decoding response body\n  Caused by: request or response body error\n  Caused by: error reading a body from connection\n  Caused by: stream error received: unexpected internal error encountered",
			classify.H2Stream, true, "INTERNAL_ERROR", 0, true, false, true},
		{"hyper graceful goaway", "transport error: http2 error: connection error received: not a result of an error",
			classify.H2GoAway, true, "NO_ERROR", 0, true, true, false},
		{"hyper goaway internal", "error: open stream 536: transport error: http2 error: connection error received: unexpected internal error encountered",
			classify.H2GoAway, false, "INTERNAL_ERROR", 0, true, true, false},
		{"h2 detected frame size", "http2 error: connection error detected: frame with invalid size",
			classify.H2Connection, false, "FRAME_SIZE_ERROR", 0, false, false, false},
		{"h2 user cancel", "http2 error: stream error sent by user: stream no longer needed",
			classify.H2Stream, true, "CANCEL", 0, false, false, false},
		{"hyper debug reset", `reqwest::Error { kind: Request, url: "https://files.example.org/a.tar.gz", source: hyper::Error(Http2, Error { kind: Reset(StreamId(1885071), REFUSED_STREAM, Remote) }) }`,
			classify.H2Stream, true, "REFUSED_STREAM", 1885071, true, false, false},
		{"hyper debug goaway", `hyper::Error(Http2, Error { kind: GoAway(b"", INTERNAL_ERROR, Remote) })`,
			classify.H2GoAway, false, "INTERNAL_ERROR", 0, true, true, false},
		{"hyper debug goaway, code-like debug data", `hyper::Error(Http2, Error { kind: GoAway(b"shed, NO_ERROR, soon", ENHANCE_YOUR_CALM, Remote) })`,
			classify.H2GoAway, false, "ENHANCE_YOUR_CALM", 0, true, true, false},
		{"hyper debug goaway sent", `hyper::Error(Http2, Error { kind: GoAway(b"", PROTOCOL_ERROR, Library) })`,
			classify.H2Connection, false, "PROTOCOL_ERROR", 0, false, true, false},

		// A code or a description alone, or under a layer that is not
		// HTTP/2, says nothing.
		{"code alone", "CANCEL (err 8)", classify.Unknown, false, "", 0, false, false, false},
		{"description alone", "stream no longer needed", classify.Unknown, false, "", 0, false, false, false},
		{"description under other", "copy aborted: stream no longer needed", classify.Unknown, false, "", 0, false, false, false},
		{"HTTP/2 stream in prose", "upgrade: HTTP/2 stream 3 opened", classify.Unknown, false, "", 0, false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := classify.Classify(chain.FromText(tt.text))
			assert.Equal(t, tt.kind, f.Kind, "kind")
			assert.Equal(t, tt.transient, f.Transient, "transient")
			assert.Equal(t, tt.code, f.H2.Code, "h2.code")
			assert.Equal(t, tt.stream, f.H2.StreamID, "h2.stream_id")
			assert.Equal(t, tt.remote, f.H2.Remote, "h2.remote")
			assert.Equal(t, tt.goaway, f.H2.GoAway, "h2.goaway")
			assert.Equal(t, tt.transport, f.CausedByTransport, "caused_by_transport")
		})
	}
}
