package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// seedInputs adds every corpus file and test input as a seed.
func seedInputs(f *testing.F) {
	for _, pattern := range []string{"../../testdata/corpus/*", "testdata/inputs/*", "testdata/gaps/*"} {
		paths, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		for _, p := range paths {
			data, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Add([]byte("{"))
	f.Add([]byte("{}\n{\"chain\":"))
	f.Add([]byte("# flags: --phase\n"))
	f.Add([]byte("\xef\xbb\xbf{\"schema\":1}"))
}

// FuzzRead feeds arbitrary bytes to the input reader: it must never
// panic, every failure it returns must have a chain, and every error must
// name the input.
func FuzzRead(f *testing.F) {
	seedInputs(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		rd := &reader{onError: func(err error) {
			if !strings.HasPrefix(err.Error(), "in.x") {
				t.Errorf("error does not name the input: %v", err)
			}
		}}
		err := rd.read("in.x", strings.NewReader(string(data)), func(f *failure) error {
			if len(f.dump.Chain.Layers) == 0 {
				t.Errorf("failure %s without layers", f.name)
			}
			if f.dump.Chain.Layers[0].Parent != -1 {
				t.Errorf("failure %s: root has parent %d", f.name, f.dump.Chain.Layers[0].Parent)
			}
			return nil
		})
		if err != nil {
			t.Errorf("read returned %v; only fn's errors should be returned", err)
		}
	})
}

// FuzzDecide runs the whole decide command, JSON and text, on arbitrary
// standard input: exit 0 or, for unreadable input, exit 2 with a message
// that names the input (and, for JSON, the position).
func FuzzDecide(f *testing.F) {
	seedInputs(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, args := range [][]string{
			{"decide", "--policy", "../../policies/default.yaml", "-"},
			{"explain", "--json", "--policy", "../../policies/default.yaml", "-"},
		} {
			r := runCLI(t, string(data), args...)
			switch r.code {
			case exitOK:
			case exitUsage:
				if !strings.Contains(r.stderr, "retrycheck "+args[0]+": stdin") {
					t.Errorf("%s: exit 2 without naming the input:\n%s", args[0], r.stderr)
				}
			default:
				t.Errorf("%s: exit %d\nstdout:\n%s\nstderr:\n%s", args[0], r.code, r.stdout, r.stderr)
			}
		}
	})
}
