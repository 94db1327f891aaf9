package e2e

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	fs "github.com/faultline-go/faultline/faulttest"
)

// BenchmarkFetch downloads and unpacks the 2,000-file archive, fault-free
// and through three resets, over HTTP/1.1 and HTTP/2. It reports the
// archive's bytes per second and the bytes read off the wire per byte of
// archive ("served/archive"). bench/fetch.sh measures the same against
// curl and tar, at 150 MB.
func BenchmarkFetch(b *testing.B) {
	fx := load(b, bigTarGz)
	size := fx.size()
	scripts := map[string][]fs.Fault{
		"clean": nil,
		"3resets": {
			{Kind: fs.Reset, At: size / 4}, {Kind: fs.Reset, At: size / 4}, {Kind: fs.Reset, At: size / 4},
		},
	}
	for _, m := range []mode{h1, h2c} {
		for _, name := range []string{"clean", "3resets"} {
			b.Run(m.name+"/"+name, func(b *testing.B) {
				dir := scratch(b)
				b.SetBytes(size)
				b.ReportAllocs()
				var served int64
				for b.Loop() {
					b.StopTimer()
					s, err := fs.Start(fs.Config{Content: fx.data, Script: scripts[name]})
					if err != nil {
						b.Fatal(err)
					}
					dest := filepath.Join(dir, "tree")
					var r run
					c := newClient(s.Client(m.proto), &r)
					b.StartTimer()
					fetch(context.Background(), c, &r, job{url: s.URL, dest: dest})
					b.StopTimer()
					s.Close()
					if r.err != nil {
						b.Fatal(r.err)
					}
					served += r.res.BytesServed
					if err := os.RemoveAll(dest); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
				b.ReportMetric(float64(served)/float64(size)/float64(b.N), "served/archive")
			})
		}
	}
}
