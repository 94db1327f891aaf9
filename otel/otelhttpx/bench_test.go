package otelhttpx_test

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/faultline-go/faultline/adapters/httpx"
	"github.com/faultline-go/faultline/faulttest"
	"github.com/faultline-go/faultline/otel/otelhttpx"
	"github.com/faultline-go/faultline/policies"
	"github.com/faultline-go/faultline/policy"
)

// benchBody is small, so that what an operation costs beside its bytes
// shows: a 64 KiB download is a package index or a manifest.
const benchBody = 64 << 10

// observers are the ways a Client is observed, cheapest first: not at
// all; an Observe hook that returns the context and empty hooks (what
// httpx's observation costs by itself); otelhttpx over the API's no-op
// providers; and otelhttpx over the SDK, every span sampled and handed to
// a batch processor (with an exporter that drops them, so that no I/O is
// measured) and every measurement aggregated by a reader.
func observers(b *testing.B) []struct {
	name    string
	observe func(context.Context, httpx.Operation) (context.Context, *httpx.Hooks)
} {
	noopObs, err := otelhttpx.New(otelhttpx.WithTracerProvider(tracenoop.NewTracerProvider()),
		otelhttpx.WithMeterProvider(noop.NewMeterProvider()))
	if err != nil {
		b.Fatal(err)
	}
	sdkObs := sdkObserver(b, sdktrace.AlwaysSample())
	return []struct {
		name    string
		observe func(context.Context, httpx.Operation) (context.Context, *httpx.Hooks)
	}{
		{"none", nil},
		{"hook", func(ctx context.Context, _ httpx.Operation) (context.Context, *httpx.Hooks) {
			return ctx, &httpx.Hooks{}
		}},
		{"otel-noop", noopObs.Observe},
		{"otel-sdk", sdkObs.Observe},
	}
}

// sdkObserver is otelhttpx over the SDK: spans sampled by sampler and handed to
// a batch processor (with an exporter that drops them, so that no I/O is
// measured), every measurement aggregated by a reader.
func sdkObserver(b *testing.B, sampler sdktrace.Sampler) *otelhttpx.Observer {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sampler),
		sdktrace.WithBatcher(tracetest.NewNoopExporter()))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	b.Cleanup(func() {
		tp.Shutdown(context.Background())
		mp.Shutdown(context.Background())
	})
	obs, err := otelhttpx.New(otelhttpx.WithTracerProvider(tp), otelhttpx.WithMeterProvider(mp))
	if err != nil {
		b.Fatal(err)
	}
	return obs
}

// scenario is a server for n operations: fault-free, or each operation
// reset half-way and resumed once (two requests an operation).
type scenario struct {
	name   string
	script func(n int) []faulttest.Fault
}

var scenarios = []scenario{
	{"fault-free", func(int) []faulttest.Fault { return nil }},
	{"one-resume", func(n int) []faulttest.Fault {
		s := make([]faulttest.Fault, 0, 2*n)
		for range n {
			s = append(s, faulttest.Fault{Kind: faulttest.Reset, At: benchBody / 2}, faulttest.Fault{})
		}
		return s
	}},
}

func benchServer(b *testing.B, script []faulttest.Fault) *faulttest.Server {
	srv, err := faulttest.Start(faulttest.Config{Content: make([]byte, benchBody), Script: script})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { srv.Close() })
	return srv
}

func benchClient(srv *faulttest.Server, observe func(context.Context, httpx.Operation) (context.Context, *httpx.Hooks)) *httpx.Client {
	return &httpx.Client{HTTP: srv.Client(faulttest.HTTP1), Observe: observe, Sleep: noWait}
}

func download(b *testing.B, c *httpx.Client, url string, resumes int) {
	res, err := c.Do(context.Background(), url, readAll, nil)
	if err != nil || res.Resumes != resumes || res.Bytes != benchBody {
		b.Fatal(res, err)
	}
}

// BenchmarkObserve downloads 64 KiB from a loopback faulttest server over
// HTTP/1.1 through Client.Do, observed each of the ways of observers,
// fault-free and through one reset and resume per operation. The
// allocations per operation are exact; compare times with
// BenchmarkObserveAlternating, which runs the ways side by side.
func BenchmarkObserve(b *testing.B) {
	for _, sc := range scenarios {
		b.Run(sc.name, func(b *testing.B) {
			for _, o := range observers(b) {
				b.Run(o.name, func(b *testing.B) {
					resumes := 0
					if sc.name == "one-resume" {
						resumes = 1
					}
					srv := benchServer(b, sc.script(b.N+1))
					c := benchClient(srv, o.observe)
					download(b, c, srv.URL, resumes) // warm up: the connection, the policy
					b.ReportAllocs()
					b.ResetTimer()
					for range b.N {
						download(b, c, srv.URL, resumes)
					}
				})
			}
		})
	}
}

// BenchmarkObserveAlternating runs one operation of each way of observers
// in turn, on one server, so that they see the same machine, and reports
// each way's time per operation ("none-µs", "otel-sdk-µs", …) and what
// otelhttpx over the SDK adds to an unobserved operation, in µs and as a
// ratio.
func BenchmarkObserveAlternating(b *testing.B) {
	for _, sc := range scenarios {
		b.Run(sc.name, func(b *testing.B) {
			obs := observers(b)
			resumes := 0
			if sc.name == "one-resume" {
				resumes = 1
			}
			srv := benchServer(b, sc.script(len(obs)*(b.N+1)))
			clients := make([]*httpx.Client, len(obs))
			for i, o := range obs {
				clients[i] = benchClient(srv, o.observe)
				download(b, clients[i], srv.URL, resumes)
			}
			took := make([]time.Duration, len(obs))
			b.ResetTimer()
			for range b.N {
				for i, c := range clients {
					t0 := time.Now()
					download(b, c, srv.URL, resumes)
					took[i] += time.Since(t0)
				}
			}
			per := func(i int) float64 { return float64(took[i].Microseconds()) / float64(b.N) }
			for i, o := range obs {
				b.ReportMetric(per(i), o.name+"-µs/op")
			}
			last := len(obs) - 1
			b.ReportMetric(per(last)-per(0), "otel-sdk-added-µs/op")
			b.ReportMetric(float64(took[last])/float64(took[0]), "otel-sdk/none")
			b.ReportMetric(0, "ns/op") // the sum of the four; the metrics above say more
		})
	}
}

// BenchmarkObserverHooks is the CPU otelhttpx itself costs an operation,
// without the network: Observe and the hooks called as Client.Do calls
// them for a fault-free operation (one attempt) and for one resumed once
// (attempt, decision, resume, attempt), over the API's no-op providers,
// over the SDK with the span not sampled (metrics only), and over the SDK
// as in BenchmarkObserve. "cpu-ns/op" is the process's CPU time (the SDK's
// batch processor and the collector included), which a loaded machine
// inflates less than the wall time.
func BenchmarkObserverHooks(b *testing.B) {
	noopObs, err := otelhttpx.New(otelhttpx.WithTracerProvider(tracenoop.NewTracerProvider()),
		otelhttpx.WithMeterProvider(noop.NewMeterProvider()))
	if err != nil {
		b.Fatal(err)
	}
	op := httpx.Operation{Method: "GET", URL: "http://127.0.0.1:8080/file.tar.gz"}
	in := resetMidBody(1)
	decision := policy.Decision{Action: policy.Resume, Rule: "resume-body", Policy: policies.Default().ID()}
	for _, o := range []struct {
		name string
		obs  *otelhttpx.Observer
	}{
		{"otel-noop", noopObs},
		{"otel-sdk-unsampled", sdkObserver(b, sdktrace.NeverSample())},
		{"otel-sdk", sdkObserver(b, sdktrace.AlwaysSample())},
	} {
		for _, v := range []struct {
			name    string
			resumes int
		}{{"fault-free", 0}, {"one-resume", 1}} {
			b.Run(o.name+"/"+v.name, func(b *testing.B) {
				b.ReportAllocs()
				cpu0 := cpuTime()
				for b.Loop() {
					_, h := o.obs.Observe(context.Background(), op)
					h.OnAttempt(httpx.Event{Attempt: 1})
					for range v.resumes {
						h.OnDecision(httpx.Event{Attempt: 1, Offset: benchBody / 2, Input: in, Decision: decision})
						h.OnResume(httpx.Event{Attempt: 1, Offset: benchBody / 2})
						h.OnAttempt(httpx.Event{Attempt: 2, Offset: benchBody / 2})
					}
					h.OnEnd(httpx.Result{Bytes: benchBody, Attempts: 1 + v.resumes, Resumes: v.resumes, BytesServed: benchBody}, nil)
				}
				if cpu := cpuTime() - cpu0; cpu > 0 {
					b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
				}
			})
		}
	}
}
