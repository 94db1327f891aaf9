package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faultline-go/faultline/chain"
	"github.com/faultline-go/faultline/classify"
	"github.com/faultline-go/faultline/policy"
)

// asStd checks that whatever fastUnmarshal accepts, encoding/json accepts
// and decodes to the same value, and that unmarshal fails exactly when
// encoding/json does, with its error.
func asStd[T any](t *testing.T, data []byte) {
	t.Helper()
	var fast, std, both T
	ok := fastUnmarshal(data, &fast)
	stdErr := json.Unmarshal(data, &std)
	if ok {
		require.NoError(t, stdErr, "accepted where encoding/json refuses: %q", data)
		require.Equal(t, std, fast, "decoded otherwise than encoding/json: %q", data)
	}
	err := unmarshal(data, &both)
	if stdErr != nil {
		require.Error(t, err)
		assert.Equal(t, stdErr.Error(), err.Error())
		return
	}
	require.NoError(t, err)
	require.Equal(t, std, both)
}

// The edges where JSON decoders are known to part: invalid UTF-8 in a
// string, escapes, duplicate and differently cased keys, numbers out of
// range or of the wrong type, null, trailing data.
func TestUnmarshalAsStd(t *testing.T) {
	for _, in := range []string{
		`{"schema":4,"chain":{"schema":2,"layers":[{"message":"a\u00e9\ud83d\ude00 \"q\" \\","parent":-1}]}}`,
		"{\"schema\":4,\"chain\":{\"layers\":[{\"message\":\"bad \xff\xfe utf-8\",\"parent\":-1}]}}",
		`{"schema":4,"chain":{"layers":[{"message":"lone \ud800 surrogate","parent":-1}]}}`,
		`{"Schema":4,"CHAIN":{"Layers":[{"Message":"cased","Parent":-1}]}}`,
		`{"schema":1,"schema":4,"chain":{"layers":[{"message":"a","parent":-1}],"layers":[{"message":"b","parent":-1}]}}`,
		`{"schema":1e400}`,
		`{"schema":4.5}`,
		`{"schema":"4"}`,
		`{"schema":99999999999999999999}`,
		`{"schema":null,"chain":null,"state":null}`,
		`{"state":{"attempt":-1,"elapsed":"10s"}}`,
		`{"chain":{"layers":[{"attrs":{"transient":true,"retryable":false,"extra":{"a":"b","a":"c"}}}]}}`,
		`{"chain":{"layers":[{"attrs":{"h2_stream_id":-1}}]}}`,
		`{"chain":{"layers":[{"attrs":{"h2_stream_id":4294967296}}]}}`,
		`{"unknown":[1,{"x":null}],"schema":4}`,
		`{"schema":4} trailing`,
		`{"schema":4}{}`,
		`{"schema":4,}`,
		`{"schema":04}`,
		`{"schema":4`,
		`[]`, `null`, ``, ` `, `"x"`,
	} {
		asStd[policy.Dump](t, []byte(in))
		asStd[chain.Chain](t, []byte(in))
	}
}

// FuzzUnmarshalAsStd holds unmarshal to encoding/json on any input,
// seeded with every corpus dump.
func FuzzUnmarshalAsStd(f *testing.F) {
	seedInputs(f)
	f.Add([]byte(`{"chain":{"layers":[{"message":"\u00e9","parent":-1,"attrs":{"extra":{"k":"v"}}}]},"state":{"history":[{"phase":"body"}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		asStd[policy.Dump](t, data)
		asStd[chain.Chain](t, data)
	})
}

// stdJSON is what decide wrote before appendJSON: an encoding/json
// Encoder with SetEscapeHTML(false).
func stdJSON(t testing.TB, v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	require.NoError(t, enc.Encode(v))
	return buf.Bytes()
}

// decide's JSON line for every case of the corpus, dumps and texts, is
// the same bytes either way.
func TestAppendJSONAsStd(t *testing.T) {
	pol, err := policy.Load("../../policies/default.yaml")
	require.NoError(t, err)
	paths, err := filepath.Glob("../../testdata/corpus/*")
	require.NoError(t, err)
	ctx := context.Background()
	n := 0
	for _, p := range paths {
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		rd := &reader{flags: &stateFlags{}, onError: func(err error) { t.Errorf("%s: %v", p, err) }}
		require.NoError(t, rd.read(p, bytes.NewReader(data), func(f *failure) error {
			in := pol.Input(f.dump)
			d, err := pol.Decide(ctx, in)
			require.NoError(t, err)
			line := decideLine{Input: f.name, Form: f.form, Action: d.Action, Delay: d.Delay.String(),
				Rule: d.Rule, Guard: d.Guard, Reason: d.Reason, Policy: pol.Name(),
				PolicyVersion: d.Policy.Version, PolicyDigest: d.Policy.Digest,
				Facts: in.Error, State: in.State, Inferred: f.notes}
			got, err := appendJSON(nil, &line)
			require.NoError(t, err)
			require.Equal(t, string(stdJSON(t, &line)), string(got), p)
			n++
			return nil
		}))
	}
	assert.Greater(t, n, 300)
}

// FuzzAppendJSONAsStd puts any string in every kind of place decide's
// line has one (values, map keys, list items), and any number where it
// has a float, and wants the bytes encoding/json writes.
func FuzzAppendJSONAsStd(f *testing.F) {
	for _, s := range []string{"", "plain", `"quoted" \ back`, "<a&b>", "\u2028\u2029", "\x00\x1f\x7f",
		"bad \xff utf-8", "é😀", "\ufffd", "\\u0041"} {
		f.Add(s, 1.5, int64(-1))
	}
	f.Add("x", 1e21, int64(1)<<62)
	f.Add("x", 1e-7, int64(0))
	f.Add("x", 123456789.123456789, int64(42))
	f.Fuzz(func(t *testing.T, s string, x float64, n int64) {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return // encoding/json refuses them; decide never has one
		}
		line := decideLine{Input: s, Form: s, Action: policy.Action(s), Delay: s, Rule: s, Guard: s, Reason: s,
			Error: s, Policy: s, PolicyVersion: s, PolicyDigest: s,
			Facts: classify.Facts{Kind: classify.Kind(s), Message: s, Errno: s, Retryable: s, CausedByTransport: n%2 == 0,
				Labels: map[string]string{s: s, "k": s}, Layers: []classify.Layer{{Type: s, Message: s, Via: s}},
				H2: classify.H2{Code: s, StreamID: n, Debug: s}, HTTP: classify.HTTP{Status: int(n), RetryAfter: time.Duration(n)}},
			State: policy.State{Phase: policy.Phase(s), Attempt: int(n), Elapsed: time.Duration(n), BytesReceived: n,
				TotalExpected: n, History: []string{s, ""}, Progress: &policy.Progress{Gained: n, Rate: x, Duration: time.Duration(n)},
				Request: policy.Request{Method: s, Host: s}},
			Inferred: map[string]string{s: s, "phase": s},
		}
		got, err := appendJSON(nil, &line)
		require.NoError(t, err)
		require.Equal(t, string(stdJSON(t, &line)), string(got))
	})
}
