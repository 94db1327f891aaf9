package policy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faultline-go/faultline/chain"
	"github.com/faultline-go/faultline/classify"
)

func readAll(t testing.TB, data string) ([]Dump, error) {
	var out []Dump
	err := ReadDumps(strings.NewReader(data), func(d Dump) error {
		out = append(out, d)
		return nil
	})
	return out, err
}

func TestWriteReadDump(t *testing.T) {
	src, err := os.ReadFile("testdata/dumps/reset.json")
	require.NoError(t, err)
	dumps, err := readAll(t, string(src))
	require.NoError(t, err)
	require.Len(t, dumps, 1)
	d := dumps[0]
	assert.Equal(t, 1, d.Schema)
	require.Len(t, d.Chain.Layers, 4)
	assert.Equal(t, "ECONNRESET", d.Chain.Layers[3].Attrs.ErrnoName)
	assert.Equal(t, &Expect{Action: Retry, Rule: "transport"}, d.Expect)

	dir := t.TempDir()
	paths := map[string]bool{}
	for range 5 {
		path, err := WriteDump(dir, d)
		require.NoError(t, err)
		paths[path] = true
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		back, err := readAll(t, string(data))
		require.NoError(t, err)
		require.Len(t, back, 1)
		assert.Equal(t, d.Chain, back[0].Chain)
		assert.Equal(t, d.State, back[0].State)
		assert.True(t, d.Time.Equal(back[0].Time))
	}
	assert.Len(t, paths, 5, "unique names")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 5, "no temporary files left")

	// The chain classifies the same after the round trip.
	assert.Equal(t, d.Input(), dumps[0].Input())

	_, err = WriteDump(filepath.Join(dir, "missing"), d)
	require.ErrorIs(t, err, os.ErrNotExist)

	// A zero Time and Schema are filled in: the schema is the oldest
	// that holds the dump, so that older readers read what they can.
	c := chain.Chain{Schema: 1, Layers: []chain.Layer{{Message: "x", Via: chain.ViaRoot, Parent: -1}}}
	path, err := WriteDump(dir, Dump{Chain: c})
	require.NoError(t, err)
	data, _ := os.ReadFile(path)
	back, err := readAll(t, string(data))
	require.NoError(t, err)
	assert.Equal(t, 1, back[0].Schema)
	assert.WithinDuration(t, time.Now(), back[0].Time, time.Minute)

	// A recorded decision needs schema 2, and comes back whole.
	rec := &Decision{Action: Retry, Delay: time.Second, Rule: "transport", Policy: ID{Name: "p", Version: "3", Digest: "sha256:00"}}
	path, err = WriteDump(dir, Dump{Chain: c, Decision: rec})
	require.NoError(t, err)
	data, _ = os.ReadFile(path)
	back, err = readAll(t, string(data))
	require.NoError(t, err)
	assert.Equal(t, 2, back[0].Schema)
	assert.Equal(t, rec, back[0].Decision)

	// Progress facts need schema 3, and come back whole.
	st := State{Attempt: 2, Progress: &Progress{Gained: 1 << 20, Duration: time.Second, Rate: 1 << 20}}
	path, err = WriteDump(dir, Dump{Chain: c, Decision: rec, State: st})
	require.NoError(t, err)
	data, _ = os.ReadFile(path)
	back, err = readAll(t, string(data))
	require.NoError(t, err)
	assert.Equal(t, 3, back[0].Schema)
	assert.Equal(t, st.Progress, back[0].State.Progress)
	_, known := back[0].State.Total()
	assert.False(t, known, "the zero value is an unknown length, written as -1 for every reader")
	assert.Contains(t, string(data), `"total_expected": -1`)

	// An announced length of 0 needs schema 4.
	path, err = WriteDump(dir, Dump{Chain: c, State: State{Attempt: 1, TotalKnown: true}})
	require.NoError(t, err)
	data, _ = os.ReadFile(path)
	back, err = readAll(t, string(data))
	require.NoError(t, err)
	assert.Equal(t, DumpSchema, back[0].Schema)
	n, known := back[0].State.Total()
	assert.True(t, known)
	assert.Zero(t, n)
}

// The zero State says nothing about the length: an unexpected EOF on it
// is a truncation, not a source shorter than nothing; dumps written before
// version 4 keep their meaning, where a total_expected of 0 was announced.
func TestZeroStateLength(t *testing.T) {
	p, err := Parse("eof.yaml", []byte(`name: eof
rules:
  - name: eof-at-full-length
    when: >
      error.kind == 'unexpected_eof' && attempt.total_expected >= 0
      && attempt.bytes_received >= attempt.total_expected
    action: fail
  - name: truncated
    when: error.kind == 'unexpected_eof'
    action: retry
`))
	require.NoError(t, err)
	eof := classify.Facts{Kind: classify.UnexpectedEOF, Transient: true}
	d, err := p.Decide(context.Background(), Input{Error: eof, State: State{Phase: PhaseBody, Attempt: 1}})
	require.NoError(t, err)
	assert.Equal(t, "truncated", d.Rule)
	d, err = p.Decide(context.Background(), Input{Error: eof, State: State{Phase: PhaseBody, Attempt: 1, TotalKnown: true}})
	require.NoError(t, err)
	assert.Equal(t, "eof-at-full-length", d.Rule, "an announced 0 is a length")
	d, err = p.Decide(context.Background(), Input{Error: eof, State: State{Phase: PhaseBody, Attempt: 1}})
	require.NoError(t, err)
	assert.Equal(t, Retry, d.Action, "%s: %s", d.Rule, d.Reason)

	old := `{"schema":3,"chain":{"schema":2,"layers":[{"message":"unexpected EOF","via":"root","parent":-1,"attrs":{"kind":"unexpected_eof"}}]},` +
		`"state":{"phase":"unpack","attempt":1,"bytes_received":0,"total_expected":0}}`
	dumps, err := readAll(t, old)
	require.NoError(t, err)
	d, err = p.Decide(context.Background(), dumps[0].Input())
	require.NoError(t, err)
	assert.Equal(t, Fail, d.Action, "a version 3 dump's 0 was an announced length: %s", d.Rule)
	assert.Equal(t, "eof-at-full-length", d.Rule)
}

func TestReadDumpsJSONLines(t *testing.T) {
	src, err := os.ReadFile("testdata/dumps/reset.json")
	require.NoError(t, err)
	var compact bytes.Buffer
	require.NoError(t, json.Compact(&compact, src))
	line := compact.String()
	dumps, err := readAll(t, line+"\n"+line+"\n\n"+line)
	require.NoError(t, err)
	assert.Len(t, dumps, 3)

	stop := errors.New("stop")
	n := 0
	err = ReadDumps(strings.NewReader(line+"\n"+line), func(Dump) error { n++; return stop })
	require.ErrorIs(t, err, stop)
	assert.Equal(t, 1, n)

	dumps, err = readAll(t, "")
	require.NoError(t, err)
	assert.Empty(t, dumps)
}

func TestReadDumpsErrors(t *testing.T) {
	good := `{"schema":1,"chain":{"schema":1,"layers":[{"message":"x","via":"root","parent":-1}]},"state":{"phase":"body","attempt":1}}`
	tests := []struct {
		name      string
		in        string
		line, col int
		is        error
		contains  string
	}{
		{"syntax on line 2", good + "\n{\"schema\": 1,, }", 2, 14, nil, "invalid character ','"},
		{"not an object", good + "\n  [1]", 2, 3, nil, "expected a JSON object"},
		{"newer schema", good + "\n" + `{"schema": 9}`, 2, 1, ErrDumpSchema, ""},
		{"no schema", `{"chain": {}}`, 1, 1, ErrDumpSchema, ""},
		{"unknown field", `{"schema":1,"colour":"red"}`, 1, 13, nil, `unknown field "colour"`},
		{"wrong type", "{\"schema\":1,\n \"state\":{\"attempt\":\"one\"}}", 2, 21, nil, "cannot unmarshal"},
		{"bad chain", `{"schema":1,"chain":{"schema":1,"layers":[{"message":"x","via":"sideways","parent":-1}]}}`, 1, 43, nil, "sideways"},
		{"truncated", good[:40], 1, 41, nil, "unexpected EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := readAll(t, tt.in)
			require.Error(t, err)
			var de *DumpError
			require.ErrorAs(t, err, &de)
			assert.Equal(t, tt.line, de.Line, "line: %v", err)
			assert.Equal(t, tt.col, de.Col, "col: %v", err)
			if tt.is != nil {
				require.ErrorIs(t, err, tt.is)
			}
			if tt.contains != "" {
				assert.Contains(t, err.Error(), tt.contains)
			}
		})
	}
}

// FuzzReadDumps feeds arbitrary bytes to the reader, seeded with a real
// dump in both forms. The reader must not panic, and every dump it accepts
// must survive a write and a read unchanged.
func FuzzReadDumps(f *testing.F) {
	src, err := os.ReadFile("testdata/dumps/reset.json")
	require.NoError(f, err)
	f.Add(src)
	var compact bytes.Buffer
	require.NoError(f, json.Compact(&compact, src))
	f.Add(append(append(compact.Bytes(), '\n'), compact.Bytes()...))
	f.Add([]byte(`{"schema":1,"chain":{"schema":1,"layers":[]},"state":{}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = ReadDumps(bytes.NewReader(data), func(d Dump) error {
			out, err := json.Marshal(d)
			if err != nil {
				t.Fatalf("accepted dump does not encode: %v", err)
			}
			var back []Dump
			if err := ReadDumps(bytes.NewReader(out), func(d Dump) error { back = append(back, d); return nil }); err != nil {
				t.Fatalf("re-reading %s: %v", out, err)
			}
			if len(back) != 1 {
				t.Fatalf("re-read %d dumps", len(back))
			}
			_ = d.Input() // classifying must not panic
			return nil
		})
	})
}
