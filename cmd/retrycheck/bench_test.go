package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/faultline-go/faultline/policy"
)

// benchLines returns n dumps as JSON Lines, cycling through the corpus's
// dumps so that every rule of the default policy gets its share.
func benchLines(b *testing.B, n int) []byte {
	paths, err := filepath.Glob("../../testdata/corpus/*.json")
	if err != nil || len(paths) == 0 {
		b.Fatalf("no corpus dumps: %v", err)
	}
	var lines [][]byte
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		var d policy.Dump
		if err := json.Unmarshal(data, &d); err != nil {
			b.Fatal(err)
		}
		d.Expect = nil
		line, err := json.Marshal(d)
		if err != nil {
			b.Fatal(err)
		}
		lines = append(lines, line)
	}
	var buf bytes.Buffer
	for i := range n {
		buf.Write(lines[i%len(lines)])
		buf.WriteByte('\n')
	}
	return buf.Bytes()
}

// BenchmarkDecide measures the decide loop over JSON Lines: read a line,
// decode the dump, classify, decide, print. One op is one dump.
func BenchmarkDecide(b *testing.B) {
	const n = 20000
	data := benchLines(b, n)
	for _, mode := range []struct {
		name string
		args []string
	}{
		{"json", []string{"decide", "--json", "--policy", "../../policies/default.yaml", "-"}},
		{"text", []string{"decide", "--policy", "../../policies/default.yaml", "-"}},
	} {
		b.Run(mode.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)) / n)
			for i := 0; i < b.N; i += n {
				code := run(context.Background(), mode.args, bytes.NewReader(data), io.Discard, io.Discard)
				if code != exitOK {
					b.Fatalf("exit %d", code)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "dumps/s")
		})
	}
}

// benchTexts returns the error texts of the corpus's text cases, without
// their headers: what people paste.
func benchTexts(b *testing.B) [][]byte {
	paths, err := filepath.Glob("../../testdata/corpus/*.txt")
	if err != nil || len(paths) == 0 {
		b.Fatalf("no corpus texts: %v", err)
	}
	var texts [][]byte
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		_, body, err := parseHeader(string(data))
		if err != nil {
			b.Fatalf("%s: %v", p, err)
		}
		texts = append(texts, []byte(body))
	}
	return texts
}

// BenchmarkDecideText measures one pasted-text decision as decide makes
// it: read the text, build its chain, infer the state, classify, decide.
// One op is one text, cycling through the corpus's texts.
func BenchmarkDecideText(b *testing.B) {
	texts := benchTexts(b)
	pol, err := policy.Load("../../policies/default.yaml")
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	rd := &reader{flags: &stateFlags{}, onError: func(err error) { b.Fatal(err) }}
	decided := 0
	fn := func(f *failure) error {
		if _, err := pol.Decide(ctx, pol.Input(f.dump)); err != nil {
			return err
		}
		decided++
		return nil
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if err := rd.read("bench", bytes.NewReader(texts[i%len(texts)]), fn); err != nil {
			b.Fatal(err)
		}
	}
	if decided == 0 {
		b.Fatal("nothing decided")
	}
	b.ReportMetric(float64(decided)/b.Elapsed().Seconds(), "texts/s")
}
