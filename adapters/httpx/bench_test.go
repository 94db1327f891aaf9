package httpx

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	fs "github.com/faultline-go/faultline/internal/faultserver"
)

const benchSize = 8 << 20

func discard(ctx context.Context, r io.Reader) error {
	_, err := io.Copy(io.Discard, r)
	return err
}

func plainGet(c *http.Client, url string) (int64, error) {
	resp, err := c.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	return io.Copy(io.Discard, resp.Body)
}

// BenchmarkThroughput compares a fault-free download through Client.Do
// with a plain http.Get and io.Copy, alternating the two in each
// iteration so both see the same machine; "ratio" is the resumable
// body's throughput over the plain one.
func BenchmarkThroughput(b *testing.B) {
	body := payload(benchSize)
	for _, m := range modes[:2] {
		b.Run(m.name, func(b *testing.B) {
			s := startServer(b, m, body)
			hc := s.Client(m.proto)
			c := &Client{HTTP: hc}
			// Warm up: connections, and the default policy's one-time
			// compilation, are not what is measured.
			if _, err := plainGet(hc, s.URL); err != nil {
				b.Fatal(err)
			}
			if _, err := c.Do(b.Context(), s.URL, discard, nil); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(2 * benchSize)
			b.ReportAllocs()
			var plain, resumable time.Duration
			for b.Loop() {
				t0 := time.Now()
				if n, err := plainGet(hc, s.URL); err != nil || n != benchSize {
					b.Fatal(n, err)
				}
				t1 := time.Now()
				if _, err := c.Do(b.Context(), s.URL, discard, nil); err != nil {
					b.Fatal(err)
				}
				plain += t1.Sub(t0)
				resumable += time.Since(t1)
			}
			b.ReportMetric(plain.Seconds()/resumable.Seconds(), "ratio")
		})
	}
}

// BenchmarkThreeResets downloads through three resets and reports the
// bytes the server sent per byte of the file.
func BenchmarkThreeResets(b *testing.B) {
	body := payload(benchSize)
	for _, m := range modes[:2] {
		b.Run(m.name, func(b *testing.B) {
			b.SetBytes(benchSize)
			b.ReportAllocs()
			var served, clientServed int64
			n := 0
			for b.Loop() {
				b.StopTimer()
				s, err := fs.Start(fs.Config{Content: body, TLS: m.tls, Script: []fs.Fault{
					{Kind: fs.Reset, At: benchSize / 4},
					{Kind: fs.Reset, At: benchSize / 4},
					{Kind: fs.Reset, At: benchSize / 4},
				}})
				if err != nil {
					b.Fatal(err)
				}
				c := &Client{HTTP: s.Client(m.proto), Sleep: func(context.Context, time.Duration) error { return nil }}
				b.StartTimer()
				res, err := c.Do(b.Context(), s.URL, discard, nil)
				b.StopTimer()
				if err != nil || res.Resumes != 3 {
					b.Fatal(res, err)
				}
				served += s.BodyBytes()
				clientServed += res.BytesServed
				n++
				s.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(served)/float64(int64(n)*benchSize), "served/file")
			b.ReportMetric(float64(clientServed)/float64(int64(n)*benchSize), "read/file")
		})
	}
}
