package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faultline-go/faultline/classify"
	"github.com/faultline-go/faultline/policy"
)

// readAll reads one input file and returns the failures and the errors.
func readAll(t *testing.T, name string, content string) ([]*failure, []error) {
	t.Helper()
	var fs []*failure
	var errs []error
	rd := &reader{onError: func(err error) { errs = append(errs, err) }}
	err := rd.read(name, strings.NewReader(content), func(f *failure) error {
		fs = append(fs, f)
		return nil
	})
	require.NoError(t, err)
	return fs, errs
}

func readFile(t *testing.T, path string) ([]*failure, []error) {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	return readAll(t, path, string(data))
}

func TestDetectForms(t *testing.T) {
	tests := []struct {
		file  string
		forms []string
		names []string
	}{
		{"testdata/inputs/reset-dump.json", []string{formDump}, []string{"testdata/inputs/reset-dump.json"}},
		{"testdata/inputs/three.jsonl", []string{formDump, formDump, formDump},
			[]string{"testdata/inputs/three.jsonl:1", "testdata/inputs/three.jsonl:3", "testdata/inputs/three.jsonl:4"}},
		{"testdata/inputs/bare-chain.json", []string{formChain}, []string{"testdata/inputs/bare-chain.json"}},
		{"../../testdata/corpus/uv-14171-streamed-unpack.txt", []string{formText}, []string{"../../testdata/corpus/uv-14171-streamed-unpack.txt"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			fs, errs := readFile(t, tt.file)
			require.Empty(t, errs)
			require.Len(t, fs, len(tt.forms))
			for i, f := range fs {
				assert.Equal(t, tt.forms[i], f.form)
				assert.Equal(t, tt.names[i], f.name)
				assert.NotEmpty(t, f.dump.Chain.Layers)
			}
		})
	}
}

// TestDetectByContent: the file name says nothing; the same bytes read
// the same under any name.
func TestDetectByContent(t *testing.T) {
	dump, err := os.ReadFile("testdata/inputs/reset-dump.json")
	require.NoError(t, err)
	for _, name := range []string{"x.txt", "x", "x.log"} {
		fs, errs := readAll(t, name, string(dump))
		require.Empty(t, errs)
		require.Len(t, fs, 1)
		assert.Equal(t, formDump, fs[0].form)
		require.NotNil(t, fs[0].expect)
		assert.Equal(t, policy.Resume, fs[0].expect.Action)
	}
	fs, errs := readAll(t, "x.json", "read: connection reset by peer\n")
	require.Empty(t, errs)
	require.Len(t, fs, 1)
	assert.Equal(t, formText, fs[0].form)
}

func TestDocumentOfSeveralDumps(t *testing.T) {
	dump, err := os.ReadFile("testdata/inputs/reset-dump.json")
	require.NoError(t, err)
	two := "\n" + string(dump) + string(dump)
	fs, errs := readAll(t, "two.json", two)
	require.Empty(t, errs)
	require.Len(t, fs, 2)
	assert.Equal(t, "two.json:2", fs[0].name)
	assert.Equal(t, fmt.Sprintf("two.json:%d", 2+strings.Count(string(dump), "\n")), fs[1].name)
}

// TestLocatedErrors checks that every unreadable record is reported with
// the input's name and, for JSON, the line and column, and that reading
// goes on after a bad line of JSON Lines.
func TestLocatedErrors(t *testing.T) {
	tests := []struct {
		file   string
		good   int
		errors []string
	}{
		{"testdata/inputs/broken.jsonl", 2, []string{
			`testdata/inputs/broken.jsonl:2:`,
			`testdata/inputs/broken.jsonl:3: chain layer 1: parent 5 is not an earlier layer`,
			`testdata/inputs/broken.jsonl:4:`,
			`testdata/inputs/broken.jsonl:5: unsupported dump schema 7`,
		}},
		{"testdata/inputs/broken-doc.json", 0, []string{
			`testdata/inputs/broken-doc.json:6:75: invalid JSON: invalid character '}' looking for beginning of object key string`,
		}},
		// JSON that is no dump or chain is text: an API's error body.
		{"testdata/inputs/not-a-dump.json", 1, nil},
		{"testdata/inputs/empty.txt", 0, []string{"testdata/inputs/empty.txt: empty input"}},
		{"testdata/inputs/bad-header.txt", 0, []string{`testdata/inputs/bad-header.txt:1: header: expect "sideways"`}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			fs, errs := readFile(t, tt.file)
			assert.Len(t, fs, tt.good)
			require.Len(t, errs, len(tt.errors))
			for i, want := range tt.errors {
				assert.True(t, strings.HasPrefix(errs[i].Error(), want), "error %d:\n got %s\nwant %s...", i, errs[i], want)
				var ie *inputError
				assert.True(t, errors.As(errs[i], &ie), "error %d is an *inputError", i)
			}
		})
	}
}

func TestLocatedColumn(t *testing.T) {
	_, errs := readAll(t, "in.jsonl", "{\"schema\":1,\"chain\":{\"layers\":[{\"message\":\"x\",\"parent\":-1}]},\"state\":{}}\n{\"schema\": 1, \"state\": {\"attempt\": \"two\"}}\n")
	require.Len(t, errs, 1)
	var ie *inputError
	require.ErrorAs(t, errs[0], &ie)
	assert.Equal(t, 2, ie.Line)
	assert.Equal(t, 36, ie.Col, "%v: the column of \"two\"", errs[0])
	assert.Contains(t, errs[0].Error(), "attempt")
}

func TestHeader(t *testing.T) {
	tests := []struct {
		text    string
		body    string
		expect  *policy.Expect
		flags   []string // flags that must be set
		wantErr string
	}{
		{"boom\n", "boom\n", nil, nil, ""},
		{"# just a comment\nboom", "boom", nil, nil, ""},
		{"# expect: retry\n# rule: transport\nboom", "boom", &policy.Expect{Action: policy.Retry, Rule: "transport"}, nil, ""},
		{"# EXPECT: fail\n# flags: --phase body --bytes 5\nboom", "boom", &policy.Expect{Action: policy.Fail}, []string{"phase", "bytes"}, ""},
		{"# expect: maybe\nboom", "", nil, nil, `expect "maybe"`},
		{"# rule: x\nboom", "", nil, nil, `"rule:" without "expect:"`},
		{"# flags: --phase sideways\nboom", "", nil, nil, `invalid --phase "sideways"`},
		{"# flags: --nope\nboom", "", nil, nil, "flag provided but not defined"},
		{"# flags: body\nboom", "", nil, nil, `unexpected argument "body"`},
	}
	for _, tt := range tests {
		h, body, err := parseHeader(tt.text)
		if tt.wantErr != "" {
			assert.ErrorContains(t, err, tt.wantErr, "%q", tt.text)
			assert.Positive(t, h.errLine, "%q: error line", tt.text)
			continue
		}
		require.NoError(t, err, "%q", tt.text)
		assert.Equal(t, tt.body, body, "%q", tt.text)
		assert.Equal(t, tt.expect, h.expect, "%q", tt.text)
		for _, f := range tt.flags {
			assert.True(t, h.flags.set(f), "%q: flag %s", tt.text, f)
		}
	}
}

func TestInferState(t *testing.T) {
	tests := []struct {
		text     string
		phase    policy.Phase
		method   string
		status   int
		protocol string
	}{
		{"dial tcp 127.0.0.1:8080: connect: connection refused", policy.PhaseConnect, "GET", 0, ""},
		{`Get "https://x/a.zip": read tcp 1.2.3.4:5->6.7.8.9:443: read: connection reset by peer`, policy.PhaseHeaders, "GET", 0, ""},
		{"read tcp 1.2.3.4:5->6.7.8.9:443: read: connection reset by peer", policy.PhaseBody, "GET", 0, ""},
		{"failed to unpack `x`: error decoding response body: connection reset", policy.PhaseBody, "GET", 0, ""},
		{"archive/tar: invalid tar header", policy.PhaseUnpack, "GET", 0, ""},
		{"gzip: invalid checksum", policy.PhaseUnpack, "GET", 0, ""},
		{"write /x: no space left on device", policy.PhaseUnpack, "GET", 0, ""},
		{"rename /x/.staging /x/python: permission denied", policy.PhaseCommit, "GET", 0, ""},
		{"unexpected status code 503 Service Unavailable", policy.PhaseHeaders, "GET", 503, ""},
		{"HTTP status client error (429 Too Many Requests) for url (https://x/)", policy.PhaseHeaders, "GET", 429, ""},
		{`Put "http://127.0.0.1:443/x": EOF`, "", "PUT", 0, ""},
		{"stream error: stream ID 3; REFUSED_STREAM; received from peer", policy.PhaseHeaders, "GET", 0, "HTTP/2.0"},
		{"http2: server sent GOAWAY and closed the connection", policy.PhaseBody, "GET", 0, "HTTP/2.0"},
		{"something odd", "", "GET", 0, ""},
	}
	for _, tt := range tests {
		st, notes := inferState(tt.text)
		assert.Equal(t, tt.phase, st.Phase, "%q", tt.text)
		assert.Equal(t, tt.method, st.Request.Method, "%q", tt.text)
		assert.Equal(t, tt.status, st.Response.Status, "%q", tt.text)
		assert.Equal(t, tt.protocol, st.Response.Protocol, "%q", tt.text)
		assert.Equal(t, 1, st.Attempt)
		assert.Equal(t, int64(-1), st.TotalExpected)
		assert.Contains(t, notes, "phase", "the phase is always explained")
		if tt.phase != "" {
			assert.Contains(t, notes["phase"], "inferred from")
		}
	}
}

// TestFlagsOverride: flags beat the header, which beats inference, and
// they drop the "inferred" note of what they set.
func TestFlagsOverride(t *testing.T) {
	sf := &stateFlags{}
	fs := newFlagSet("t")
	sf.register(fs)
	require.NoError(t, fs.Parse([]string{"--phase", "unpack", "--attempt", "3", "--resumable", "--method", "post", "--retry-after", "2s"}))
	require.NoError(t, sf.check())
	var got []*failure
	rd := &reader{flags: sf, onError: func(err error) { t.Error(err) }}
	require.NoError(t, rd.read("in", strings.NewReader("# flags: --phase body --attempt 2 --bytes 7\nread: connection reset by peer\n"), func(f *failure) error {
		got = append(got, f)
		return nil
	}))
	require.Len(t, got, 1)
	st := got[0].dump.State
	assert.Equal(t, policy.PhaseUnpack, st.Phase)
	assert.Equal(t, 3, st.Attempt)
	assert.Equal(t, int64(7), st.BytesReceived, "from the header")
	assert.True(t, st.Response.Resumable)
	assert.Equal(t, "POST", st.Request.Method)
	assert.False(t, st.Request.Idempotent, "POST is not idempotent")
	assert.NotContains(t, got[0].notes, "phase")
	assert.NotContains(t, got[0].notes, "attempt")
	assert.Equal(t, 2.0, got[0].dump.Chain.Layers[0].Attrs.RetryAfter)
}

func TestStateFlagsCheck(t *testing.T) {
	for _, args := range [][]string{
		{"--phase", "later"}, {"--attempt", "0"}, {"--bytes", "-1"}, {"--total", "-2"},
		{"--status", "99"}, {"--status", "600"}, {"--elapsed", "-1s"}, {"--retry-after", "-1s"},
	} {
		sf := &stateFlags{}
		fs := newFlagSet("t")
		sf.register(fs)
		require.NoError(t, fs.Parse(args))
		assert.Error(t, sf.check(), "%q", args)
	}
}

// utf16 encodes s as UTF-16 with a byte-order mark, as PowerShell's
// redirections save text.
func utf16Text(s string, big bool) string {
	var b []byte
	if big {
		b = []byte{0xfe, 0xff}
	} else {
		b = []byte{0xff, 0xfe}
	}
	for _, u := range utf16.Encode([]rune(s)) {
		if big {
			b = append(b, byte(u>>8), byte(u))
		} else {
			b = append(b, byte(u), byte(u>>8))
		}
	}
	return string(b)
}

// TestTextEncodings: what is text is read whatever its dress — a
// byte-order mark, UTF-16, an error body in JSON — and what is not text
// is refused, saying so.
func TestTextEncodings(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		kind  string
		err   string
		check func(t *testing.T, f *failure)
	}{
		{"UTF-8 byte-order mark", "\ufeffunexpected EOF\n", "unexpected_eof", "", nil},
		{"UTF-16LE", utf16Text("An existing connection was forcibly closed by the remote host.\r\n", false), "connection_reset", "", nil},
		{"UTF-16BE", utf16Text("connection refused", true), "connection_refused", "", nil},
		{"JSON error body", `{"error":{"code":503,"message":"The service is currently unavailable."}}`, "http_status", "", func(t *testing.T, f *failure) {
			assert.Equal(t, 503, classify.Classify(f.dump.Chain).HTTP.Status)
		}},
		{"JSON body over lines", "{\n  \"message\": \"upstream connect error or disconnect/reset before headers. reset reason: connection termination\"\n}\n", "", "", nil},
		{"NUL bytes", "PK\x03\x04\x14\x00\x00\x00", "", "binary input (a NUL byte at offset 5)", nil},
		{"gzip", "\x1f\x8b\x08\x00\xb3\xf4\xc1\xe6\x02\xff\xed\xd2\x31\x0e\xc2\x30\x0c\x05\xd0", "", "binary input", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, errs := readAll(t, "in", tt.in)
			if tt.err != "" {
				require.Len(t, errs, 1)
				assert.ErrorContains(t, errs[0], tt.err)
				assert.Empty(t, fs)
				return
			}
			require.Empty(t, errs)
			require.Len(t, fs, 1)
			assert.Equal(t, formText, fs[0].form)
			if tt.kind != "" {
				assert.Equal(t, tt.kind, string(classify.Classify(fs[0].dump.Chain).Kind))
			}
			if tt.check != nil {
				tt.check(t, fs[0])
			}
		})
	}
}

// --retry-after reaches the status wherever it sits in the chain, and
// takes the header's own form, seconds, as well as a duration.
func TestRetryAfterFlag(t *testing.T) {
	t.Setenv(policyEnv, "")
	wrapped := "fetch index: unexpected status 503 Service Unavailable\n"
	for _, tt := range []struct {
		flag, delay string
	}{{"20s", "20s"}, {"120", "2m0s"}, {"1.5m", "1m30s"}} {
		r := runCLI(t, wrapped, "decide", "--json", "--retry-after", tt.flag, "-")
		require.Equal(t, exitOK, r.code, r.stderr)
		var line struct {
			Delay string `json:"delay"`
			Rule  string `json:"rule"`
		}
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &line), r.stdout)
		assert.Equal(t, "http-retryable", line.Rule, tt.flag)
		assert.Equal(t, tt.delay, line.Delay, tt.flag)
	}
	r := runCLI(t, wrapped, "decide", "--retry-after", "soon", "-")
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, "want seconds (120) or a duration (2m)")
}

// findStatus and findMethod find what statusRE and methodRE find, on every
// text of the corpus and on the shapes around their edges.
func TestInferFindersMatchRegexps(t *testing.T) {
	texts := []string{
		"unexpected status code 503 Service Unavailable", "HTTPStatus 503", "http 503", "HTTP/1.1 404 Not Found",
		"xstatus 503", "status\n503", "Status Code:   429", "https://x/503", "http/2.0 500", "status 5034",
		"status 1999 and status 404", "_status 500", "ſtatus 503 status 404",
		`Get "https://x"`, `: Get "x"`, `xGet "x"`, `Forget "x"`, "a\nPost \"x\"", "\tDelete \"x\"", `1Get "x"`,
		`get "x"`, `Options "x" Head "y"`, `x,Get "a" Put "b"`, ` "`, `Get"x"`,
	}
	paths, err := filepath.Glob(filepath.Join(corpusDir, "*.txt"))
	require.NoError(t, err)
	require.NotEmpty(t, paths)
	for _, p := range paths {
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		texts = append(texts, string(data))
	}
	for _, text := range texts {
		checkFinders(t, text)
	}
}

func FuzzInferFinders(f *testing.F) {
	for _, s := range []string{"unexpected status code 503", `Get "https://x": EOF`, "HTTP/1.1 404", ": Put \"x\""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkFinders(t, s)
	})
}

// checkFinders compares the finders with the expressions they stand for,
// within what findStatus documents: ASCII case, a match inside its window.
func checkFinders(t *testing.T, text string) {
	t.Helper()
	assert.Equal(t, methodRE.FindStringSubmatch(text), findMethod(text), "%q", text)
	want := statusRE.FindStringSubmatch(text)
	if strings.ContainsAny(text, "\u017f\u212a") || want != nil && len(want[0]) >= statusWindow/2 {
		return
	}
	assert.Equal(t, want, findStatus(text), "%q", text)
}

// The phrase set finds what strings.Contains finds in strings.ToLower of
// a text, phrase by phrase, on every text of the corpus in its own case
// and in upper case, and on the edges: phrases at the start and the end,
// overlapping, cut short, in any case, beside runes that lower-case to
// ASCII or change length, punctuation that a careless fold confuses.
func TestPhraseSetIsContains(t *testing.T) {
	texts := []string{"", "b", "body", "bod", "xbody", "bodybody", "read tcpread udp", "connection reset by peer",
		"reset by pee", "goawayrst_stream", "http2http2", "h2 protoco", "tls: x509: ", "\xff\xfebody\xff",
		"BODY", "Read TCP", "GOAWAY é RST_STREAM", "CLOSE_NOTIFY", "close\x7fnotify", "tls\x1a x509\x1a ",
		"CHEC\u212aSUM", "L\u0130NK disk quota", "\u0130nsecure path", "ÀBODYÀ", "Ⱥbody", "bo\u0301dy",
		"\xc4body", "dial tcp\xe2\x84", "lookup\u00a0x", "lookup "}
	texts = append(texts, inferPhrases.phrases...)
	paths, err := filepath.Glob(filepath.Join(corpusDir, "*"))
	require.NoError(t, err)
	require.NotEmpty(t, paths)
	for _, p := range paths {
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		texts = append(texts, string(data), strings.ToUpper(string(data)))
	}
	for _, text := range texts {
		checkPhrases(t, text)
	}
}

func FuzzPhraseSet(f *testing.F) {
	for _, s := range []string{"connection reset by peer", "read tcp 1.2.3.4: body", "goaway http2 stream error"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkPhrases(t, s)
		checkPhrases(t, strings.ToUpper(s))
	})
}

func checkPhrases(t *testing.T, text string) {
	t.Helper()
	found := inferPhrases.find(text)
	lower := strings.ToLower(text)
	for i, p := range inferPhrases.phrases {
		if found.has(i) != strings.Contains(lower, p) {
			t.Errorf("phrase %q in %q: found %v", p, text, found.has(i))
		}
	}
}
