package classify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/faultline-go/faultline/chain"
	"github.com/faultline-go/faultline/classify"
	"github.com/faultline-go/faultline/internal/livefault"
)

// eightLayers provokes a real mid-body reset and wraps it the way an
// installer does, for an 8-layer chain: install → mirror → extractor →
// *net.OpError → *os.SyscallError → syscall.Errno, under two more wrappers.
func eightLayers(b *testing.B) error {
	c, ok := livefault.Lookup("h1-reset-midbody")
	if !ok {
		b.Fatal("no h1-reset-midbody case")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := c.Provoke(ctx, b).Err
	err = fmt.Errorf("mirror 1 of 2: %w", err)
	err = fmt.Errorf("download cpython-3.10.18: %w", err)
	err = fmt.Errorf("install cpython-3.10.18-linux-x86_64-gnu: %w", err)
	err = fmt.Errorf("uv python install: %w", err)
	if n := len(chain.Walk(err).Layers); n != 8 {
		b.Fatalf("chain has %d layers, want 8", n)
	}
	return err
}

func BenchmarkClassify(b *testing.B) {
	err := eightLayers(b)
	live := chain.Walk(err)
	data, jerr := json.Marshal(live)
	if jerr != nil {
		b.Fatal(jerr)
	}
	fromJSON, jerr := chain.Decode(data)
	if jerr != nil {
		b.Fatal(jerr)
	}
	for _, bc := range []struct {
		name string
		c    chain.Chain
	}{{"live", live}, {"json", fromJSON}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if classify.Classify(bc.c).Kind != classify.ConnectionReset {
					b.Fatal("wrong kind")
				}
			}
		})
	}
}

func BenchmarkWalkClassify(b *testing.B) {
	err := eightLayers(b)
	data, jerr := json.Marshal(chain.Walk(err))
	if jerr != nil {
		b.Fatal(jerr)
	}
	b.Run("live", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if classify.Classify(chain.Walk(err)).Kind != classify.ConnectionReset {
				b.Fatal("wrong kind")
			}
		}
	})
	b.Run("json", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			c, err := chain.Decode(data)
			if err != nil || classify.Classify(c).Kind != classify.ConnectionReset {
				b.Fatal("wrong kind", err)
			}
		}
	})
	b.Run("text", func(b *testing.B) {
		b.ReportAllocs()
		text := err.Error()
		for b.Loop() {
			if classify.Classify(chain.FromText(text)).Kind != classify.ConnectionReset {
				b.Fatal("wrong kind")
			}
		}
	})
}
