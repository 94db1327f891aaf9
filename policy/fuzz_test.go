package policy

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

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
