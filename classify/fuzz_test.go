package classify_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/faultline-go/faultline/chain"
	"github.com/faultline-go/faultline/classify"
)

// recordedChains returns the recorded live chains, the fuzzers' seeds.
func recordedChains(f *testing.F) [][]byte {
	paths, err := filepath.Glob(filepath.Join("testdata", "live", "*.json"))
	if err != nil || len(paths) == 0 {
		f.Fatalf("no recorded chains: %v", err)
	}
	var out [][]byte
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, data)
	}
	return out
}

// checkFacts asserts what must hold for any chain.
func checkFacts(t *testing.T, c chain.Chain, f classify.Facts) {
	if f.Kind == "" {
		t.Fatal("empty kind")
	}
	if len(f.Layers) > classify.MaxLayers || len(f.Labels) > classify.MaxLabels || len(f.Message) > classify.MaxMessage {
		t.Fatalf("caps exceeded: %d layers, %d labels, %d bytes", len(f.Layers), len(f.Labels), len(f.Message))
	}
	if f.Layer < -1 || f.Layer >= len(f.Layers) {
		t.Fatalf("layer %d out of range [-1, %d)", f.Layer, len(f.Layers))
	}
	for _, s := range []string{f.Errno, f.Op, f.H2.Code, f.H2.Debug, f.Decode.Format, f.Decode.Entry} {
		if len(s) > classify.MaxMessage {
			t.Fatalf("field of %d bytes exceeds the cap", len(s))
		}
	}
	again := classify.Classify(c)
	if again.Kind != f.Kind || again.Layer != f.Layer || again.Transient != f.Transient {
		t.Fatal("classification is not deterministic")
	}
}

// FuzzClassifyText feeds error text through chain.FromText, as retrycheck
// does with pasted logs.
func FuzzClassifyText(f *testing.F) {
	f.Add(uv14171)
	// Other stacks' shapes, whose parsing has edges of its own.
	for _, s := range []string{
		"curl: (92) HTTP/2 stream 1 was not closed cleanly: INTERNAL_ERROR (err 2)",
		"error: RPC failed; curl 16 Error in the HTTP2 framing layer",
		"http2 error: stream error received: refused stream before processing any application logic",
		`hyper::Error(Http2, Error { kind: GoAway(b"shed, NO_ERROR, soon", ENHANCE_YOUR_CALM, Remote) })`,
		`hyper::Error(Http2, Error { kind: Reset(StreamId(1), REFUSED_STREAM, Remote) })`,
	} {
		f.Add(s)
	}
	for _, data := range recordedChains(f) {
		var c chain.Chain
		if err := json.Unmarshal(data, &c); err == nil && len(c.Layers) > 0 {
			f.Add(c.Layers[0].Message)
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		c := chain.FromText(s)
		checkFacts(t, c, classify.Classify(c))
	})
}

// FuzzClassifyJSON feeds recorded dumps, possibly hostile, through
// chain.Decode.
func FuzzClassifyJSON(f *testing.F) {
	for _, data := range recordedChains(f) {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := chain.Decode(data)
		if err != nil {
			return
		}
		checkFacts(t, c, classify.Classify(c))
	})
}
