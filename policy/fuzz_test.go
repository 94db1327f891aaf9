package policy

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/faultline-go/faultline/chain"
	"github.com/faultline-go/faultline/classify"
)

// FuzzParse feeds arbitrary policy files to Parse, seeded with the shipped
// policies and every bad policy in testdata. Parse must not panic; an
// error must be a positioned ErrorList; a policy that loads must decide
// without panicking.
func FuzzParse(f *testing.F) {
	for _, pattern := range []string{"../policies/*.yaml", "testdata/*.yaml", "testdata/bad/*.yaml"} {
		files, _ := filepath.Glob(pattern)
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err == nil {
				f.Add(data)
			}
		}
	}
	f.Add([]byte(aliasBomb(3)))
	f.Add([]byte("name: m\nbackoff:\n  <<: {initial: 1s}\nrules:\n  - {name: r, when: \"true\", action: fail}\n"))
	in := Input{
		Error: classify.Facts{Kind: classify.HTTPStatus, HTTP: classify.HTTP{Status: 503, RetryAfter: time.Second}},
		State: State{Phase: PhaseBody, Attempt: 2, History: []string{"timeout"}, TotalExpected: -1},
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("fuzz.yaml", data)
		if err != nil {
			list, ok := err.(ErrorList)
			if !ok || len(list) == 0 {
				t.Fatalf("error is %T, not a non-empty ErrorList: %v", err, err)
			}
			for _, e := range list {
				if e.File != "fuzz.yaml" {
					t.Fatalf("error without its file: %v", e)
				}
			}
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		d1, err1 := p.Decide(ctx, in)
		d2, err2 := p.Explain(ctx, in)
		if (err1 == nil) != (err2 == nil) || d1.Action != d2.Action || d1.Rule != d2.Rule {
			t.Fatalf("Decide %+v (%v) and Explain %+v (%v) disagree", d1, err1, d2, err2)
		}
	})
}

// FuzzRecogniserFile feeds arbitrary files of recognisers, seeded with the
// shipped one and the bad ones in testdata, to the loader of recogniser
// files. It must not panic; an error must be a positioned ErrorList; a
// set that compiles must read any text, a hostile one too, within the
// work budget.
func FuzzRecogniserFile(f *testing.F) {
	f.Add(shippedSource, "Error: read ECONNRESET")
	for _, file := range []string{"testdata/bad/recognisers.yaml"} {
		if data, err := os.ReadFile(file); err == nil {
			f.Add(data, "429 Too Many Requests")
		}
	}
	f.Add([]byte("recognisers:\n  - name: hostile\n    match: '(a+)+$b|(a|aa)*c|(.*a){12}z'\n    kind: timeout\n"), strings.Repeat("a", 4096))
	f.Add([]byte("recognisers:\n  - name: wait\n    match: 'retry in (?P<wait>\\d+)s'\n    tests:\n      - text: retry in 5s\n        expect: {wait: 5s}\n"), "retry in 5s")
	f.Fuzz(func(t *testing.T, data []byte, text string) {
		set, err := compileRecogniserFile("fuzz.yaml", "fuzz.yaml", data)
		if err != nil {
			list, ok := err.(ErrorList)
			if !ok || len(list) == 0 {
				t.Fatalf("error is %T, not a non-empty ErrorList: %v", err, err)
			}
			for _, e := range list {
				if e.File != "fuzz.yaml" {
					t.Fatalf("error without its file: %v", e)
				}
			}
			return
		}
		if set == nil {
			return // no recognisers
		}
		budget := chain.MaxPatternWork
		var a chain.Attrs
		set.RecogniseWithin(strings.ToValidUTF8(text, "?"), &a, &budget)
		if budget < 0 {
			t.Fatalf("the work overran its budget by %d", -budget)
		}
	})
}
