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
