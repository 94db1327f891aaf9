package otelhttpx_test

import (
	"context"
	"fmt"
	"io"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/faultline-go/faultline/adapters/httpx"
	"github.com/faultline-go/faultline/faulttest"
	"github.com/faultline-go/faultline/otel/otelhttpx"
	"github.com/faultline-go/faultline/policies"
	"github.com/faultline-go/faultline/policy"
)

// A download that resumes once, traced: one span for the operation, its
// attempts, decisions and resume as events.
func Example() {
	spans := tracetest.NewSpanRecorder() // in production: an exporter
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	defer tp.Shutdown(context.Background())
	obs, err := otelhttpx.New(otelhttpx.WithTracerProvider(tp))
	if err != nil {
		panic(err)
	}

	srv, err := faulttest.Start(faulttest.Config{
		Content: make([]byte, 100_000),
		Script:  []faulttest.Fault{{Kind: faulttest.Reset, At: 40_000}},
	})
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	client := &httpx.Client{HTTP: srv.Client(faulttest.HTTP1), Observe: obs.Observe}
	_, err = client.Do(context.Background(), srv.URL, func(ctx context.Context, r io.Reader) error {
		_, err := io.Copy(io.Discard, r)
		return err
	}, nil)
	if err != nil {
		panic(err)
	}

	for _, s := range spans.Ended() {
		fmt.Println(s.Name())
		for _, ev := range s.Events() {
			fmt.Println(" ", ev.Name)
		}
		for _, kv := range s.Attributes() {
			switch kv.Key {
			case otelhttpx.AttemptsKey, otelhttpx.ResumesKey, "http.request.resend_count":
				fmt.Println(" ", kv.Key, kv.Value.String())
			}
		}
	}
	// Output:
	// faultline GET
	//   faultline.attempt
	//   faultline.decision
	//   faultline.resume
	//   faultline.attempt
	//   faultline.attempts 2
	//   faultline.resumes 1
	//   http.request.resend_count 1
}

// A candidate policy shadowed in production: the active policy decides,
// and each decision the candidate would make differently is counted with
// both decisions, so a dashboard shows what changing the policy would
// change before it is changed.
func ExampleObserver_ObserveShadow() {
	reader := sdkmetric.NewManualReader() // in production: an exporter
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	obs, err := otelhttpx.New(otelhttpx.WithMeterProvider(mp))
	if err != nil {
		panic(err)
	}

	candidate, err := policy.Parse("candidate.yaml", []byte(`
name: no-resume
version: "2"
rules:
  - {name: give-up-body, when: "phase == 'body'", action: fail}
`))
	if err != nil {
		panic(err)
	}
	shadow := &policy.Shadow{Active: policy.NewEngine(policies.Default()), Candidate: candidate, Every: 10}
	reg, err := obs.ObserveShadow(shadow)
	if err != nil {
		panic(err)
	}
	defer reg.Unregister()

	srv, err := faulttest.Start(faulttest.Config{
		Content: make([]byte, 100_000),
		Script:  []faulttest.Fault{{Kind: faulttest.Reset, At: 40_000}},
	})
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	client := &httpx.Client{HTTP: srv.Client(faulttest.HTTP1), Policy: shadow, Observe: obs.Observe}
	_, err = client.Do(context.Background(), srv.URL, func(ctx context.Context, r io.Reader) error {
		_, err := io.Copy(io.Discard, r)
		return err
	}, nil)
	fmt.Println("download:", err)

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		panic(err)
	}
	for _, m := range rm.ScopeMetrics[0].Metrics {
		if m.Name != otelhttpx.MetricShadowDisagreements && m.Name != otelhttpx.MetricShadowEvaluations {
			continue
		}
		for _, p := range m.Data.(metricdata.Sum[int64]).DataPoints {
			fmt.Println(m.Name, p.Value)
			for _, k := range []attribute.Key{otelhttpx.ShadowActionKey, otelhttpx.ShadowRuleKey,
				otelhttpx.ShadowCandidateActionKey, otelhttpx.ShadowCandidateRuleKey} {
				if v, ok := p.Attributes.Value(k); ok {
					fmt.Printf("  %s %s\n", k, v.AsString())
				}
			}
		}
	}
	// Unordered output:
	// download: <nil>
	// faultline.shadow.disagreements 1
	//   faultline.shadow.active.action resume
	//   faultline.shadow.active.rule resume-body
	//   faultline.shadow.candidate.action fail
	//   faultline.shadow.candidate.rule give-up-body
	// faultline.shadow.evaluations 1
}
