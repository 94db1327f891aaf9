package chain_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faultline-go/faultline/chain"
)

// hasAttr reports whether some layer's attributes satisfy ok.
func hasAttr(c chain.Chain, ok func(chain.Attrs) bool) bool {
	for _, l := range c.Layers {
		if ok(l.Attrs) {
			return true
		}
	}
	return false
}

// A long log is read, not refused: the error block at its end is found
// however much came before, and each form inside it is read as such.
func TestLongLog(t *testing.T) {
	noise := func(n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "2024-05-01T10:%02d:%02d.000Z INFO step %d: compiled module %d of %d\n", i/60%60, i%60, i, i, n)
		}
		return b.String()
	}
	reset := func(a chain.Attrs) bool { return a.ErrnoName == "ECONNRESET" }
	tests := []struct {
		name  string
		tail  string
		root  string
		check func(chain.Attrs) bool
	}{
		{"cargo report", "error: failed to download `x`\n\nCaused by:\n  [56] Failure when receiving data from the peer (Recv failure: Connection reset by peer)\n",
			"failed to download `x`", reset},
		{"java trace", "Exception in thread \"main\" java.io.IOException: download failed\n\tat A.b(A.java:1)\nCaused by: java.net.SocketException: Connection reset\n\tat C.d(C.java:2)\n\t... 3 more\n",
			"java.io.IOException: download failed", reset},
		{"python traceback", "Traceback (most recent call last):\n  File \"x.py\", line 1, in <module>\n    get()\nConnectionResetError: [Errno 104] Connection reset by peer\n",
			"ConnectionResetError: [Errno 104] Connection reset by peer", reset},
		{"node error", "Error: read ECONNRESET\n    at TCP.onStreamRead (node:internal/stream_base_commons:218:20) {\n  errno: -104,\n  code: 'ECONNRESET',\n  syscall: 'read'\n}\n",
			"Error: read ECONNRESET", reset},
		{"go line", "2024-05-01T11:00:00.000Z ERROR fetch: read tcp 10.0.0.1:5->10.0.0.2:443: read: connection reset by peer\n",
			"fetch: read tcp 10.0.0.1:5->10.0.0.2:443: read: connection reset by peer", reset},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := noise(20000) + tt.tail + "2024-05-01T11:00:01.000Z INFO cleaning up\n"
			require.Greater(t, len(text), 1<<20, "a log longer than a mebibyte")
			c := chain.FromText(text)
			require.NotEmpty(t, c.Layers)
			assertTree(t, c)
			assert.Equal(t, tt.root, c.Layers[0].Message)
			assert.True(t, hasAttr(c, tt.check), "%+v", c.Layers)
		})
	}
}

// The readers of other ecosystems' text give the facts their fields and
// words say.
func TestForms(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		check func(t *testing.T, c chain.Chain)
	}{
		{"JSON that is no error body is text", `{"hello": "world"}`, func(t *testing.T, c chain.Chain) {
			require.Len(t, c.Layers, 1)
		}},
		{"JSON error with a wait", `{"error":{"code":429,"message":"slow down","details":[{"retryDelay":"1.5s"}]}}`, func(t *testing.T, c chain.Chain) {
			assert.Equal(t, 429, c.Layers[0].Attrs.HTTPStatus)
			assert.Equal(t, 1.5, c.Layers[0].Attrs.RetryAfter)
			assert.Equal(t, "slow down", c.Layers[1].Message)
		}},
		{"JSON list of errors", `{"errors":[{"code":"TOOMANYREQUESTS","message":"You have reached your pull rate limit."}]}`, func(t *testing.T, c chain.Chain) {
			assert.Equal(t, "TOOMANYREQUESTS", c.Layers[0].Attrs.ErrorCode)
		}},
		{"JSON log line", `{"level":"error","ts":1714557600,"msg":"download failed","error":"unexpected EOF"}`, func(t *testing.T, c chain.Chain) {
			assert.True(t, hasAttr(c, func(a chain.Attrs) bool { return a.Kind == "unexpected_eof" }), "%+v", c.Layers)
		}},
		{"XML with a numeric code", `<Error><Code>503</Code><Message>busy</Message></Error>`, func(t *testing.T, c chain.Chain) {
			assert.Equal(t, 503, c.Layers[0].Attrs.HTTPStatus)
		}},
		{"HTML without a status", `<html><head><title>Gateway problem</title></head></html>`, func(t *testing.T, c chain.Chain) {
			assert.Zero(t, c.Layers[0].Attrs.HTTPStatus)
			assert.Equal(t, "Gateway problem", c.Layers[1].Message)
		}},
		{"Python with a blank line after the exception", "Traceback (most recent call last):\n  File \"a.py\", line 1\nOSError: [Errno 28] No space left on device\n\nsomething else entirely\n", func(t *testing.T, c chain.Chain) {
			require.Len(t, c.Layers, 1)
			assert.Equal(t, "ENOSPC", c.Layers[0].Attrs.ErrnoName)
		}},
		{"Node AggregateError", "AggregateError [ECONNREFUSED]: \n    at internalConnectMultiple (node:net:1118:18) {\n  code: 'ECONNREFUSED',\n  [errors]: [\n    Error: connect ECONNREFUSED ::1:8080\n        at createConnectionError (node:net:1648:14) {\n      errno: -111,\n      code: 'ECONNREFUSED',\n      syscall: 'connect',\n      address: '::1',\n      port: 8080\n    },\n    Error: connect ECONNREFUSED 127.0.0.1:8080\n        at createConnectionError (node:net:1648:14) {\n      errno: -111,\n      code: 'ECONNREFUSED',\n      syscall: 'connect'\n    }\n  ]\n}\n", func(t *testing.T, c chain.Chain) {
			require.Len(t, c.Layers, 3, "%+v", c.Layers)
			assert.Equal(t, chain.ViaMulti, c.Layers[1].Via)
			assert.Equal(t, "connect", c.Layers[2].Attrs.Op)
		}},
		{"syslog prefix", "May  1 10:00:00 build-7 fetcher[812]: GET https://x: context deadline exceeded", func(t *testing.T, c chain.Chain) {
			assert.Equal(t, "GET https://x: context deadline exceeded", c.Layers[0].Message)
		}},
		{"bracketed curl code is no tag", "[28] Timeout was reached", func(t *testing.T, c chain.Chain) {
			assert.Equal(t, "timeout", c.Layers[0].Attrs.Kind)
		}},
		{"advice after the error: the recognised block before it is the error", "curl: (60) SSL certificate problem: self-signed certificate\nMore details here: https://curl.se/docs/sslcerts.html\n\ncurl failed to verify the legitimacy of the server and therefore could not\nestablish a secure connection to it.\n", func(t *testing.T, c chain.Chain) {
			assert.Equal(t, "curl: (60) SSL certificate problem: self-signed certificate", c.Layers[0].Message)
			assert.True(t, hasAttr(c, func(a chain.Attrs) bool { return a.Kind == "certificate" }), "%+v", c.Layers)
		}},
		{"a recognised warning before an unrecognised error stays history", "warning: spurious network error (2 tries remaining): [56] Recv failure: Connection reset by peer\nUpdating crates.io index\nerror: no matching package named `nosuch` found\nlocation searched: registry `crates-io`\n", func(t *testing.T, c chain.Chain) {
			assert.Equal(t, "error: no matching package named `nosuch` found", c.Layers[0].Message)
			assert.False(t, hasAttr(c, func(a chain.Attrs) bool { return a.ErrnoName != "" || a.Kind != "" }), "%+v", c.Layers)
		}},
		{"a warning by its level, too", "2024-05-01T10:00:00Z WARN retrying: read: connection reset by peer\n2024-05-01T10:00:01Z INFO reading the package index\n2024-05-01T10:00:01Z ERROR the package index lists no such version\n", func(t *testing.T, c chain.Chain) {
			assert.Equal(t, "the package index lists no such version", c.Layers[0].Message)
		}},
		{".NET inner exceptions as Visual Studio lays them out", "System.Net.Http.HttpRequestException\n  HResult=0x80131620\n  Message=Error while copying content to a stream.\n  StackTrace:\n   at System.Net.Http.HttpContent.<LoadIntoBufferAsyncCore>d__52.MoveNext()\n\nInner Exception 1:\nIOException: Unable to read data from the transport connection: An existing connection was forcibly closed by the remote host.\n\nInner Exception 2:\nSocketException: An existing connection was forcibly closed by the remote host\n", func(t *testing.T, c chain.Chain) {
			require.Len(t, c.Layers, 3, "%+v", c.Layers)
			assert.Equal(t, "SocketException: An existing connection was forcibly closed by the remote host", c.Layers[2].Message)
			assert.Equal(t, "ECONNRESET", c.Layers[2].Attrs.ErrnoName)
		}},
		{".NET's [Inner Exception] without frames", "System.Net.Http.HttpRequestException: No connection could be made because the target machine actively refused it. (127.0.0.1:9666)\n\n[Inner Exception]\nSystem.Net.Sockets.SocketException: No connection could be made because the target machine actively refused it.\n", func(t *testing.T, c chain.Chain) {
			require.Len(t, c.Layers, 2, "%+v", c.Layers)
			assert.True(t, strings.HasPrefix(c.Layers[1].Message, "System.Net.Sockets.SocketException: "), c.Layers[1].Message)
		}},
		{"a block of error lines wider than a list: the last ones are read", strings.Repeat("ERROR retrying: the mirror answered slowly\n", 100) + "ERROR read tcp 10.0.0.1:5->10.0.0.2:443: read: connection reset by peer\n", func(t *testing.T, c chain.Chain) {
			assert.True(t, hasAttr(c, func(a chain.Attrs) bool { return a.ErrnoName == "ECONNRESET" }), "%+v", c.Layers)
		}},
		{"UTF-16 text is cleaned, not parsed as is", "e\x00r\x00r\x00", func(t *testing.T, c chain.Chain) {
			assert.Equal(t, "err", c.Layers[0].Message)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := chain.FromText(tt.in)
			require.NotEmpty(t, c.Layers)
			assertTree(t, c)
			tt.check(t, c)
		})
	}
}

// Every reader of the text forms, fuzzed: whatever the input, FromText
// returns a well-formed, bounded chain of valid UTF-8 without control
// characters, quickly.
func FuzzForms(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s)
	}
	for _, s := range corpusTexts(f) {
		f.Add(s)
	}
	for _, s := range []string{`{"error":{"code":429}}`, `<Error><Code>x</Code></Error>`, `<html><title>503</title>`,
		"Traceback (most recent call last):\n  x\nE: y", "Error: x\n    at f (a.js:1:2) {\n  [cause]: Error: y\n}",
		"\x1b[31mERROR\x1b[0m x", "time=1 level=error err=\"x\"", "├─▶ x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c := chain.FromText(s)
		if len(c.Layers) > chain.DefaultMaxLayers {
			t.Fatalf("%d layers", len(c.Layers))
		}
		for i, l := range c.Layers {
			if i > 0 && (l.Parent < 0 || l.Parent >= i || l.Depth != c.Layers[l.Parent].Depth+1) {
				t.Fatalf("layer %d: parent %d depth %d", i, l.Parent, l.Depth)
			}
			if !utf8.ValidString(l.Message) || strings.ContainsAny(l.Message, "\r\x00\x1b") {
				t.Fatalf("layer %d: message %q", i, l.Message)
			}
			if len(l.Message) > chain.DefaultMaxMessage {
				t.Fatalf("layer %d: message of %d bytes", i, len(l.Message))
			}
		}
	})
}

// corpusTexts returns the error texts of testdata/corpus without their
// headers: what real clients printed (Java and .NET traces, Python
// tracebacks, Node errors, JSON and XML bodies) and what people posted.
func corpusTexts(f *testing.F) []string {
	files, err := filepath.Glob("../testdata/corpus/*.txt")
	if err != nil || len(files) == 0 {
		f.Fatalf("no corpus texts: %v", err)
	}
	var out []string
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		var body strings.Builder
		header := true
		for line := range strings.Lines(string(data)) {
			if header && strings.HasPrefix(line, "#") {
				continue
			}
			header = false
			body.WriteString(line)
		}
		out = append(out, body.String())
	}
	return out
}
