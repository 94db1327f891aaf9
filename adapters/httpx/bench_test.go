package httpx

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"net/http"
	"testing"
	"time"

	fs "github.com/faultline-go/faultline/faulttest"
)

const benchSize = 8 << 20

func discard(ctx context.Context, r io.Reader) error {
	_, err := io.Copy(io.Discard, r)
	return err
}

// readIn reads r to the end with reads of size bytes and no fast path,
// as a decompressor behind a small bufio.Reader does.
func readIn(r io.Reader, size int) (int64, error) {
	buf := make([]byte, size)
	var n int64
	for {
		m, err := r.Read(buf)
		n += int64(m)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// consumer reads a body with io.Copy (readSize 0) or with plain reads of
// readSize bytes.
func consumer(readSize int) func(ctx context.Context, r io.Reader) error {
	if readSize == 0 {
		return discard
	}
	return func(ctx context.Context, r io.Reader) error {
		_, err := readIn(r, readSize)
		return err
	}
}

func plainGet(c *http.Client, url string, readSize int) (int64, error) {
	resp, err := c.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if readSize > 0 {
		return readIn(resp.Body, readSize)
	}
	return io.Copy(io.Discard, resp.Body)
}

// BenchmarkThroughput compares a fault-free download through Client.Do
// with a plain http.Get and io.Copy, alternating the two in each
// iteration so both see the same machine; "ratio" is the resumable
// body's throughput over the plain one. The consumers use io.Copy, or,
// in the "read" variants, plain reads of 4 KiB (what compress/gzip's
// bufio.Reader asks for) or 64 KiB on both sides.
func BenchmarkThroughput(b *testing.B) {
	body := payload(benchSize)
	for _, v := range []struct {
		m        mode
		name     string
		readSize int
	}{
		{modes[0], "h1", 0},
		{modes[1], "h2c", 0},
		{modes[0], "h1-read4k", 4 << 10},
		{modes[1], "h2c-read4k", 4 << 10},
		// Reads as large as Body's buffer on both sides: what is left
		// is Body's own cost (hashing, bookkeeping), not read sizes.
		{modes[0], "h1-read64k", bufSize},
	} {
		m, consume := v.m, consumer(v.readSize)
		b.Run(v.name, func(b *testing.B) {
			s := startServer(b, m, body)
			hc := s.Client(m.proto)
			c := &Client{HTTP: hc}
			// Warm up: connections, and the default policy's one-time
			// compilation, are not what is measured.
			if _, err := plainGet(hc, s.URL, v.readSize); err != nil {
				b.Fatal(err)
			}
			if _, err := c.Do(b.Context(), s.URL, consume, nil); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(2 * benchSize)
			b.ReportAllocs()
			var plain, resumable time.Duration
			for b.Loop() {
				t0 := time.Now()
				if n, err := plainGet(hc, s.URL, v.readSize); err != nil || n != benchSize {
					b.Fatal(n, err)
				}
				t1 := time.Now()
				if _, err := c.Do(b.Context(), s.URL, consume, nil); err != nil {
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

// memTransport answers every request with the whole of body from memory,
// so that a benchmark measures the client's own cost, not a network's.
type memTransport struct{ body []byte }

func (t memTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	h := http.Header{}
	h.Set("ETag", `"mem"`)
	h.Set("Accept-Ranges", "bytes")
	return &http.Response{
		StatusCode: http.StatusOK, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, ContentLength: int64(len(t.body)),
		Body: io.NopCloser(bytes.NewReader(t.body)), Request: req,
	}, nil
}

// BenchmarkBodyCPU measures what a fault-free download costs the CPU
// beyond the transport: a body served from memory, consumed with
// io.Copy (through WriteTo) or with 4 KiB reads, with the restart check's
// CRC-32C, and with SHA-256 verification asked for.
func BenchmarkBodyCPU(b *testing.B) {
	body := payload(benchSize)
	sum := sha256.Sum256(body)
	c := &Client{HTTP: &http.Client{Transport: memTransport{body}}}
	for _, v := range []struct {
		name     string
		readSize int
		opts     *Options
	}{
		{"copy", 0, nil},
		{"read4k", 4 << 10, nil},
		{"copy-sha256", 0, &Options{SHA256: sum[:]}},
	} {
		b.Run(v.name, func(b *testing.B) {
			consume := consumer(v.readSize)
			b.SetBytes(benchSize)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Do(b.Context(), "http://mem/file", consume, v.opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
