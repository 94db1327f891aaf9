package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

var validEdges = []string{
	``, ` `, `0`, `-0`, `-`, `01`, `1.`, `1.5`, `.5`, `1e`, `1e+`, `1E-7`, `1e07`, `-01`, `2.0e+10 `, `1x`,
	`true`, `tru`, `truex`, `false`, `null`, `nul`, `"`, `""`, `"\"`, `"\\"`, `"\u12"`, `"\u12g4"`, `"\u1234"`,
	`"\uABCD"`, `"\x"`, `"\/\b\f\n\r\t"`, "\"\x1f\"", "\"\x7f\xff\"", "\"\t\"", `[`, `]`, `[]`, `[ ]`, `[,]`,
	`[1,]`, `[1 2]`, `[1,2]`, `{}`, `{ }`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{"a":1 "b":2}`, `{"a":1,"b":[{}]}`,
	`{1:2}`, `{"a" : [ true , false , null ] }`, `[}`, `{]`, `{"a":1]`, `[1}`, `1 2`, `{} {}`, "\r\n\t1\r\n\t",
	"\v1", `{"a":{"b":{"c":[[[]]]}}}`, `[[[[`, `]]]]`, `"a" :`, `{"a":1}}`,
}

func TestValidJSON(t *testing.T) {
	for _, s := range validEdges {
		assert.Equal(t, json.Valid([]byte(s)), validJSON([]byte(s)), "%q", s)
	}
	// The depth bound, and one past it.
	for _, d := range []int{maxJSONDepth, maxJSONDepth + 1} {
		for _, open := range []string{"[", `{"a":`} {
			close := map[string]string{"[": "]", `{"a":`: "}"}[open]
			s := []byte(strings.Repeat(open, d) + "1" + strings.Repeat(close, d))
			assert.Equal(t, d <= maxJSONDepth, validJSON(s), "depth %d %s", d, open)
			assert.Equal(t, json.Valid(s), validJSON(s), "depth %d %s", d, open)
		}
	}
}

// FuzzValidJSON holds validJSON to json.Valid on any input, seeded with
// every corpus file.
func FuzzValidJSON(f *testing.F) {
	seedInputs(f)
	for _, s := range validEdges {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if json.Valid(data) != validJSON(data) {
			t.Errorf("json.Valid %v, validJSON %v: %q", json.Valid(data), validJSON(data), data)
		}
	})
}

// BenchmarkValidJSON compares validJSON with json.Valid on the corpus's
// dumps as decide reads them, one a line.
func BenchmarkValidJSON(b *testing.B) {
	lines := bytes.Split(bytes.TrimSpace(benchLines(b, 62)), []byte("\n"))
	for _, v := range []struct {
		name  string
		valid func([]byte) bool
	}{{"json.Valid", json.Valid}, {"validJSON", validJSON}} {
		b.Run(v.name, func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				if !v.valid(lines[i%len(lines)]) {
					b.Fatal("invalid")
				}
			}
		})
	}
}
