package chain

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Every recogniser in the table has at least one case here, and a text
// none of them should claim.
func TestRecognisers(t *testing.T) {
	cases := recogniserCases()
	for _, r := range recognisers {
		t.Run(r.name, func(t *testing.T) {
			cs := cases[r.name]
			if len(cs) == 0 {
				t.Fatalf("recogniser %q has no test case", r.name)
			}
			for _, c := range cs {
				var a Attrs
				assert.True(t, r.match(newText(c.in), &a), "%q", c.in)
				var all Attrs
				recognise(c.in, &all)
				assert.Equal(t, c.want, all, "all recognisers on %q", c.in)
			}
		})
	}
	for _, s := range []string{"something went wrong", "read error", "stream error: stream ID 1; NOT_A_CODE", "Get http://x", "lookup", "fork/exec failed",
		"(1) step failed", "[28]", "(28) ", "curl 999 x", "libcurl 28 x", "(2a) x",
		// "curl n" in prose is not a code: it needs an error's context.
		"retrying curl 5 times", "ran curl 6 times", "step 3 (curl 7 attempts) ok", "RPC ok; curl 56 x", "notcurl: (6) x",
		"RPC failed; HTTP x curl 56 Recv failure",
		// Errno names are words in capitals.
		"XECONNRESET", "ECONNRESETS", "econnreset happened", "EFOO",
		// Code 22 names its kind only through a status.
		"(22) The requested URL returned error", "(22) The requested URL returned error: 5030", "(22) The requested URL returned error: 999",
		"(22) HTTP response code said error"} {
		var a Attrs
		assert.False(t, recognise(s, &a), "%q", s)
		assert.True(t, a.IsZero(), "%q", s)
	}
}

type recogniserCase struct {
	in   string
	want Attrs
}

// recogniserCases has, for every recogniser in the table, texts it reads
// and the attributes all the recognisers together find in them.
func recogniserCases() map[string][]recogniserCase {
	return map[string][]recogniserCase{
		"h2-stream": {
			{"stream error: stream ID 3; INTERNAL_ERROR; received from peer", Attrs{H2StreamID: 3, H2Code: "INTERNAL_ERROR", H2Remote: true, Kind: "h2_stream"}},
			{"stream error: stream ID 9; REFUSED_STREAM", Attrs{H2StreamID: 9, H2Code: "REFUSED_STREAM", Kind: "h2_stream"}},
		},
		"h2-goaway": {{`http2: server sent GOAWAY and closed the connection; LastStreamID=5, ErrCode=ENHANCE_YOUR_CALM, debug="calm"`,
			Attrs{H2LastStreamID: 5, H2Code: "ENHANCE_YOUR_CALM", H2Debug: "calm", H2Remote: true, H2GoAway: true, Kind: "h2_goaway"}}},
		"h2-goaway-received": {{"http2: Transport received GOAWAY from server ErrCode:INTERNAL_ERROR",
			Attrs{H2Code: "INTERNAL_ERROR", H2Remote: true, H2GoAway: true, H2Unprocessed: true, Kind: "h2_goaway"}}},
		"h2-connection": {{"connection error: FLOW_CONTROL_ERROR", Attrs{H2Code: "FLOW_CONTROL_ERROR", Kind: "h2_connection"}}},
		"h2-net-http": {
			{"http2: client connection lost", Attrs{Kind: "h2_connection"}},
			{"http2: client conn not usable", Attrs{Kind: "h2_connection"}},
			{"http2: Transport received Server's graceful shutdown GOAWAY",
				Attrs{Kind: "h2_goaway", H2Code: "NO_ERROR", H2GoAway: true, H2Unprocessed: true, H2Remote: true}},
			{"received from peer", Attrs{H2Remote: true}},
		},
		"h2-other": {
			{"HTTP/2 stream 1 was not closed cleanly: INTERNAL_ERROR (err 2)", Attrs{Kind: "h2_stream", H2StreamID: 1, H2Code: "INTERNAL_ERROR"}},
			{"Error in the HTTP2 framing layer", Attrs{Kind: "h2_connection"}},
			{"stream error received: refused stream before processing any application logic", Attrs{Kind: "h2_stream", H2Remote: true, H2Code: "REFUSED_STREAM"}},
			{"connection error received: not a result of an error", Attrs{Kind: "h2_goaway", H2Remote: true, H2GoAway: true, H2Code: "NO_ERROR"}},
			{"hyper::Error(Http2, Error { kind: Reset(StreamId(1), REFUSED_STREAM, Remote) })", Attrs{Kind: "h2_stream", H2StreamID: 1, H2Code: "REFUSED_STREAM", H2Remote: true}},
		},
		"h2-reason": {{"INTERNAL_ERROR (err 2)", Attrs{H2Code: "INTERNAL_ERROR"}}, {"stream no longer needed", Attrs{H2Code: "CANCEL"}}},
		"dns": {
			{"lookup a.example on 10.0.0.1:53: no such host", Attrs{Host: "a.example", Addr: "10.0.0.1:53", NotFound: true, Kind: "dns"}},
			{"lookup a.example: i/o timeout", Attrs{Host: "a.example", Timeout: true, Kind: "dns"}},
			{"no such host", Attrs{NotFound: true, Kind: "dns"}},
			{"dns error: failed to lookup address information: Name or service not known", Attrs{NotFound: true, Kind: "dns"}},
			{"failed to lookup address information: Temporary failure in name resolution", Attrs{Kind: "dns"}},
		},
		"url":     {{`Post "https://a/b?c=d"`, Attrs{Op: "Post", Addr: "https://a/b?c=d"}}},
		"net-op":  {{"write tcp 10.0.0.1:5->10.0.0.2:443", Attrs{Op: "write", Net: "tcp", Source: "10.0.0.1:5", Addr: "10.0.0.2:443"}}, {"dial tcp 1.2.3.4:80", Attrs{Op: "dial", Net: "tcp", Addr: "1.2.3.4:80"}}},
		"path-op": {{"open /etc/shadow", Attrs{Op: "open", Addr: "/etc/shadow"}}, {"fork/exec /opt/my tools/unpack", Attrs{Op: "fork/exec", Addr: "/opt/my tools/unpack"}}},
		"syscall": {{"connect", Attrs{Op: "connect"}}},
		"errno": {
			{"connection reset by peer", Attrs{Errno: int(errnoNumber("ECONNRESET")), ErrnoName: "ECONNRESET"}},
			{"Connection refused (os error 111)", Attrs{Errno: int(errnoNumber("ECONNREFUSED")), ErrnoName: "ECONNREFUSED"}},
			{"too many open files in system", Attrs{Errno: int(errnoNumber("ENFILE")), ErrnoName: "ENFILE"}},
			{"no space left on device", Attrs{Errno: int(errnoNumber("ENOSPC")), ErrnoName: "ENOSPC"}},
		},
		"errno-name": {
			{"read ECONNRESET", Attrs{Errno: errnoNumber("ECONNRESET"), ErrnoName: "ECONNRESET"}},
			{"connect ETIMEDOUT 10.0.0.1:443", Attrs{Errno: errnoNumber("ETIMEDOUT"), ErrnoName: "ETIMEDOUT"}},
			{"An existing connection was closed (WSAECONNRESET)", Attrs{Errno: errnoNumber("ECONNRESET"), ErrnoName: "ECONNRESET"}},
		},
		"curl": {
			{"(28) Timeout was reached", Attrs{Timeout: true, Kind: "timeout"}},
			{"[28] Timeout was reached (Operation too slow. Less than 10 bytes/sec transferred the last 30 seconds)", Attrs{Timeout: true, Kind: "timeout"}},
			{"curl: (18) transfer closed with 1024 bytes remaining to read", Attrs{Kind: "unexpected_eof"}},
			{"RPC failed; curl 18 transfer closed with outstanding read data remaining", Attrs{Kind: "unexpected_eof"}},
			{"(7) Failed to connect to example.com port 443 after 2 ms", Attrs{Kind: "connection_refused"}},
			{"(6) Could not resolve host", Attrs{Kind: "dns"}},
			{"(35) SSL connect error", Attrs{Kind: "tls"}},
			// Recorded from cargo by internal/realclients: TLS spoken to a
			// plain server, whose reply ended the handshake.
			{"[35] SSL connect error (TLS connect error: error:0A000126:SSL routines::unexpected eof while reading)", Attrs{Kind: "connection"}},
			{"curl: (35) OpenSSL SSL_connect: SSL_ERROR_SYSCALL in connection to github.com:443", Attrs{Kind: "connection"}},
			{"curl: (35) error:0A00010B:SSL routines::wrong version number", Attrs{Kind: "tls"}},
			{"(60) SSL certificate problem", Attrs{Kind: "certificate"}},
			{"(52) Empty reply from server", Attrs{Kind: "unexpected_eof"}},
			{"(56) Recv failure", Attrs{Kind: "connection_reset"}},
			{"(22) The requested URL returned error: 503", Attrs{HTTPStatus: 503}},
			{"(22) The requested URL returned error: 404 Not Found", Attrs{HTTPStatus: 404}},
			{"The requested URL returned error: 429", Attrs{HTTPStatus: 429}},
			{"RPC failed; HTTP 502 curl 22 The requested URL returned error: 502", Attrs{HTTPStatus: 502}},
			{"error: RPC failed; curl 56 GnuTLS recv error (-9): A TLS packet with unexpected length was received.", Attrs{Kind: "connection_reset"}},
			{"curl 6 Could not resolve host", Attrs{Kind: "dns"}},
			{"download failed (curl: (28) Timeout was reached)", Attrs{Timeout: true, Kind: "timeout"}},
			// The errno in the text is more precise than the code.
			{"[7] Failed to connect to example.com port 443: No route to host", Attrs{Errno: errnoNumber("EHOSTUNREACH"), ErrnoName: "EHOSTUNREACH"}},
		},
		"certificate": {{"x509: certificate signed by unknown authority", Attrs{Kind: "certificate"}}, {"invalid peer certificate: UnknownIssuer", Attrs{Kind: "certificate"}}},
		"tls":         {{"tls: first record does not look like a TLS handshake", Attrs{Kind: "tls"}}},
		"net-http": {
			{"net/http: request canceled (Client.Timeout exceeded while awaiting headers)", Attrs{Kind: "deadline", Timeout: true, Transient: ptr(true)}},
			{"context canceled (Client.Timeout or context cancellation while reading body)", Attrs{Kind: "canceled"}},
			{"use of closed network connection", Attrs{Kind: "connection_aborted"}},
			{"http: server gave HTTP response to HTTPS client", Attrs{Kind: "tls"}},
		},
		"not-found":    {{"file does not exist", Attrs{Kind: "not_found"}}, {`exec: "tar": executable file not found in $PATH`, Attrs{Kind: "not_found"}}},
		"codec-prefix": {{"tar.gz: reading \"lib/x.so\"", Attrs{Kind: "archive", Format: "tar.gz", Entry: "lib/x.so"}}, {"failed to unpack `bin/python3`", Attrs{Kind: "archive", Entry: "bin/python3"}}, {"gzip", Attrs{Kind: "decode", Format: "gzip"}}},
		"http-status": {
			{"unexpected status code 503", Attrs{HTTPStatus: 503}},
			{"HTTP status client error (429 Too Many Requests) for url (https://x/y)", Attrs{HTTPStatus: 429}},
			{"bad response: 502 Bad Gateway", Attrs{HTTPStatus: 502}},
		},
		"flate":          {{"flate: corrupt input before offset 77", Attrs{Format: "flate", Offset: 77, Kind: "decode"}}},
		"codec-sentinel": {{"gzip: invalid checksum", Attrs{Format: "gzip", Kind: "checksum"}}, {"archive/tar: insecure file path", Attrs{Format: "tar", Kind: "unsafe_archive"}}},
		"context":        {{"context deadline exceeded", Attrs{Timeout: true, Kind: "deadline"}}, {"context canceled", Attrs{Kind: "canceled"}}},
		"eof": {
			{"unexpected EOF", Attrs{Kind: "unexpected_eof"}},
			{"EOF", Attrs{Kind: "unexpected_eof"}},
			{"peer closed connection without sending TLS close_notify", Attrs{Kind: "unexpected_eof"}},
			{"connection closed before message completed", Attrs{Kind: "unexpected_eof"}},
			{"hyper::Error(IncompleteMessage)", Attrs{Kind: "unexpected_eof"}},
		},
		"timeout": {{"i/o timeout", Attrs{Timeout: true}}, {"net/http: TLS handshake timeout", Attrs{Timeout: true}}, {"Timeout was reached", Attrs{Timeout: true}}},
	}
}

func ptr[T any](v T) *T { return &v }

func errnoNumber(name string) int {
	e, _ := ErrnoByName(name)
	return int(e)
}

func TestContainsFold(t *testing.T) {
	tests := []struct {
		s, sub string
		want   bool
	}{
		{"Connection Reset by peer", "connection reset", true},
		{"[28] Timeout was reached", "timeout WAS reached", true},
		{"read: connection refused", "connection reset", false},
		{"abc", "", true},
		{"", "a", false},
		{"ab", "abc", false},
		{"x@y", "@Y", true},                // a non-letter first byte matches only itself
		{"x`y", "@y", false},               // '`' is '@'|0x20, not its case
		{"x \u212a IS", "\u212a is", true}, // sub starting with the Kelvin sign, slow path
		{"\u212a is", "k is", false},       // a 3-byte rune is not a 1-byte window
		{"naïve Naïve", "NAÏVE", true},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, containsFold(tt.s, tt.sub), "containsFold(%q, %q)", tt.s, tt.sub)
		assert.Equal(t, containsFoldSlow(tt.s, tt.sub), containsFold(tt.s, tt.sub), "agrees with the plain scan on (%q, %q)", tt.s, tt.sub)
	}
}

// recogniseUngated runs every recogniser, whatever its triggers.
func recogniseUngated(s string, a *Attrs) bool {
	t := newText(s)
	found := false
	for _, r := range recognisers {
		if r.match(t, a) {
			found = true
		}
	}
	return found
}

// The triggers only save work: a recogniser they keep from running would
// have found nothing. Checked on every text the tests know, and fuzzed.
func FuzzRecogniseTriggers(f *testing.F) {
	for _, cs := range recogniserCases() {
		for _, c := range cs {
			f.Add(c.in)
		}
	}
	texts, _ := filepath.Glob("testdata/text/*.txt")
	for _, name := range texts {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			for seg := range strings.SplitSeq(line, ": ") {
				f.Add(seg)
			}
			f.Add(line)
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		s = cutUTF8(s, RecogniseLimit)
		var gated, all Attrs
		g := recognise(s, &gated)
		u := recogniseUngated(s, &all)
		if g != u || !reflect.DeepEqual(gated, all) {
			t.Fatalf("%q: gated %v %+v, ungated %v %+v", s, g, gated, u, all)
		}
	})
}
