package chain_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faultline-go/faultline/chain"
)

// seeds returns the real messages in testdata/text.
func seeds(f *testing.F) []string {
	files, err := filepath.Glob("testdata/text/*.txt")
	if err != nil || len(files) == 0 {
		f.Fatalf("no seeds: %v", err)
	}
	var out []string
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, string(data))
	}
	return out
}

func FuzzFromText(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s)
	}
	f.Add(realisticError().Error())
	f.Fuzz(func(t *testing.T, s string) {
		c := chain.FromText(s)
		for i, l := range c.Layers {
			if i == 0 && (l.Parent != -1 || l.Via != chain.ViaRoot) {
				t.Fatalf("root is %+v", l)
			}
			if i > 0 && (l.Parent < 0 || l.Parent >= i || l.Depth != c.Layers[l.Parent].Depth+1) {
				t.Fatalf("layer %d: parent %d depth %d", i, l.Parent, l.Depth)
			}
			if len(l.Own) > len(l.Message) {
				t.Fatalf("layer %d: own %q longer than message %q", i, l.Own, l.Message)
			}
		}
		if len(c.Layers) > chain.DefaultMaxLayers {
			t.Fatalf("%d layers", len(c.Layers))
		}
		if strings.TrimSpace(s) != "" && len(c.Layers) == 0 {
			t.Fatalf("no layers for %q", s)
		}
		data, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := chain.Decode(data); err != nil {
			t.Fatalf("a parsed chain does not decode: %v", err)
		}
	})
}

func FuzzDecode(f *testing.F) {
	for _, s := range seeds(f) {
		data, err := json.Marshal(chain.FromText(s))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	data, _ := json.Marshal(chain.Walk(realisticError()))
	f.Add(data)
	f.Add([]byte(`{"schema":1,"layers":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := chain.Decode(data)
		if err != nil {
			return
		}
		out, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		c2, err := chain.Decode(out)
		if err != nil {
			t.Fatalf("re-decode: %v\n%s", err, out)
		}
		out2, err := json.Marshal(c2)
		if err != nil {
			t.Fatal(err)
		}
		if string(out) != string(out2) {
			t.Fatalf("unstable:\n%s\n%s", out, out2)
		}
	})
}
