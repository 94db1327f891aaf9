package chain_test

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faultline-go/faultline/chain"
)

var update = flag.Bool("update", false, "update golden files")

// TestFromTextGolden parses every testdata/text/*.txt and compares the
// layers with the .golden.json beside it (go test -update rewrites them).
func TestFromTextGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/text/*.txt")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, in := range files {
		t.Run(filepath.Base(in), func(t *testing.T) {
			data, err := os.ReadFile(in)
			require.NoError(t, err)
			c := chain.FromText(string(data))
			assertTree(t, c)
			// GOOS, GOARCH and errno numbers belong to the machine that
			// parses; the golden files hold the portable part.
			c.GOOS, c.GOARCH = "", ""
			for i := range c.Layers {
				c.Layers[i].Attrs.Errno = 0
			}
			got, err := json.MarshalIndent(c, "", "  ")
			require.NoError(t, err)
			golden := strings.TrimSuffix(in, ".txt") + ".golden.json"
			if *update {
				require.NoError(t, os.WriteFile(golden, append(got, '\n'), 0o644))
				return
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "run go test -update")
			assert.JSONEq(t, string(want), string(got))
		})
	}
}

// TestSplitRule pins down where a Go message divides into layers.
func TestSplitRule(t *testing.T) {
	tests := []struct {
		in   string
		owns []string
	}{
		{"a: b: c", []string{"a", "b", "c"}},
		{"plain", []string{"plain"}},
		{"a:b: c", []string{"a:b", "c"}},
		{": leading", []string{": leading"}},
		{"trailing: ", []string{"trailing:"}},
		{`Get "http://h:80/a: b": EOF`, []string{`Get "http://h:80/a: b"`, "EOF"}},
		{`Get "http://h/\"q: x\"": EOF`, []string{`Get "http://h/\"q: x\""`, "EOF"}},
		{"read tcp [::1]:5->[::1]:80: read: connection reset by peer", []string{"read tcp [::1]:5->[::1]:80", "read", "connection reset by peer"}},
		{"x509: certificate has expired or is not yet valid: current time", []string{"x509: certificate has expired or is not yet valid", "current time"}},
		{"net/http: request canceled (Client.Timeout: x)", []string{"net/http: request canceled (Client.Timeout: x)"}},
		{"lookup h on 1.1.1.1:53: no such host", []string{"lookup h on 1.1.1.1:53: no such host"}},
		{"dial tcp: lookup h: i/o timeout", []string{"dial tcp", "lookup h: i/o timeout"}},
		{"stream error: stream ID 1; CANCEL; received from peer", []string{"stream error: stream ID 1; CANCEL; received from peer"}},
		{"stream error: stream ID 1; CANCEL; boom: bang", []string{"stream error: stream ID 1; CANCEL", "boom", "bang"}},
		{"stream error: stream ID x; CANCEL; boom", []string{"stream error: stream ID x; CANCEL; boom"}},
		{"connection error: PROTOCOL_ERROR", []string{"connection error: PROTOCOL_ERROR"}},
		{"unbalanced \"quote: here", []string{"unbalanced \"quote", "here"}},
		{"unbalanced (paren: here", []string{"unbalanced (paren", "here"}},
		{"failed to unpack `a: b`: EOF", []string{"failed to unpack `a: b`", "EOF"}},
		{`exec: "zstd": executable file not found in $PATH`, []string{`exec: "zstd"`, "executable file not found in $PATH"}},
		{"fork/exec /usr/bin/tar: permission denied", []string{"fork/exec /usr/bin/tar", "permission denied"}},
		// A trailing bare number is a status or code: it stays with its words.
		{"curl: (22) The requested URL returned error: 503", []string{"curl", "(22) The requested URL returned error: 503"}},
		{"wait: exit status: 2", []string{"wait", "exit status: 2"}},
		{"a: 503: b", []string{"a", "503", "b"}},
		{"a: 503 Service Unavailable", []string{"a", "503 Service Unavailable"}},
		{"a: 5x", []string{"a", "5x"}},
		{"a: -1", []string{"a", "-1"}},
		{"curl: (22) The requested URL returned error: 404 Not Found", []string{"curl", "(22) The requested URL returned error: 404 Not Found"}},
		{"error: RPC failed; HTTP 503 curl 22 The requested URL returned error: 503", []string{"error", "RPC failed; HTTP 503 curl 22 The requested URL returned error: 503"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			c := chain.FromText(tt.in)
			owns := make([]string, len(c.Layers))
			for i, l := range c.Layers {
				owns[i] = l.Own
				assert.True(t, strings.HasSuffix(strings.TrimSpace(tt.in), l.Message), "layer %d message is a suffix", i)
			}
			assert.Equal(t, tt.owns, owns)
		})
	}
}

func TestFromTextCaps(t *testing.T) {
	long := strings.Repeat("a: ", 500) + "end"
	c := chain.FromText(long)
	assert.Len(t, c.Layers, chain.DefaultMaxDepth)
	assert.Equal(t, chain.TruncatedDepth, c.Truncated)
	assert.Equal(t, c.Layers[len(c.Layers)-1].Own, c.Layers[len(c.Layers)-1].Message, "the last layer keeps the rest")
	assertTree(t, c)

	w := chain.Walker{MaxLayers: 3, MaxDepth: 1000}
	c = w.FromText(long)
	assert.Len(t, c.Layers, 3)
	assert.Equal(t, chain.TruncatedLayers, c.Truncated)

	w = chain.Walker{MaxMessage: 10}
	c = w.FromText("0123456789abcdef: x")
	assert.Equal(t, chain.TruncatedMessage, c.Truncated)
	assert.Equal(t, "0123456789", c.Layers[0].Message)

	lines := strings.Repeat("unexpected EOF\n", 1000)
	c = chain.FromText(lines)
	assert.Equal(t, chain.TruncatedWidth, c.Truncated)
	assertTree(t, c)

	// A log with no error in it is read as a list of its last lines.
	c = chain.FromText(strings.Repeat("x\n", 1000) + "last")
	require.NotEmpty(t, c.Layers)
	assert.Len(t, c.Layers, 1+chain.DefaultMaxWidth)
	assert.Equal(t, "last", c.Layers[len(c.Layers)-1].Message)
	assertTree(t, c)

	assert.Empty(t, chain.FromText("  \n ").Layers)
}

// TestReportShapes pins down which lines of a report are its layers.
func TestReportShapes(t *testing.T) {
	tests := []struct {
		name string
		in   string
		owns []string
	}{
		{"rustup", "error: a\ninfo: caused by: b\ninfo: caused by: c",
			[]string{"a", "b", "c"}},
		{"rustup after progress", "info: syncing\ninfo: downloading 'x'\n\nerror: a\ninfo: caused by: b",
			[]string{"a", "b"}},
		{"progress among causes", "error: a\ninfo: caused by: b\ninfo: retrying\ninfo: caused by: c",
			[]string{"a", "b", "c"}},
		{"error-chain lower case", "Error: a\n  caused by: b\n  caused by: c",
			[]string{"a", "b", "c"}},
		{"upper case", "error: a\nCAUSED BY: b", []string{"a", "b"}},
		{"warnings before cargo", "warning: spurious network error\nerror: a\n\nCaused by:\n  b",
			[]string{"a", "b"}},
		{"numbered", "Error: a\n\nCaused by:\n    0: b\n    1: c", []string{"a", "b", "c"}},
		{"numbered lower case", "Error: a\n\ncaused by:\n    0: b\n    1: c", []string{"a", "b", "c"}},
		{"indented warning is a cause", "error: a\n\nCaused by:\n  warning: b", []string{"a", "warning: b"}},
		{"only log lines before causes", "info: a\ninfo: caused by: b", []string{"info: a", "b"}},
		{"continuation", "error: a\ninfo: caused by: b\n  more of b", []string{"a", "b\nmore of b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := chain.FromText(tt.in)
			assertTree(t, c)
			owns := make([]string, len(c.Layers))
			for i, l := range c.Layers {
				owns[i] = l.Own
				assert.Equal(t, l.Own, l.Message, "layer %d", i)
				assert.Equal(t, i, l.Depth, "a report is linear")
			}
			assert.Equal(t, tt.owns, owns)
		})
	}

	// A cause marker must start a line after the first: otherwise the
	// text is a Go message or an errors.Join list, as before.
	for _, in := range []string{
		"caused by: a: b",
		"caused by: a\nb",
		"fetch: info: caused by: x\nother",
		"a\nsee what this caused by: b",
	} {
		c := chain.FromText(in)
		assert.NotEqual(t, in, c.Layers[0].Own, "%q", in)
		assert.Greater(t, len(c.Layers), 1, "%q", in)
		if strings.Contains(in, "\n") {
			assert.Equal(t, in, c.Layers[0].Message, "%q is a list: the root holds it all", in)
		}
	}
}
