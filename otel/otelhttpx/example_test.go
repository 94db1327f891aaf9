package otelhttpx_test

import (
	"context"
	"fmt"
	"io"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/faultline-go/faultline/adapters/httpx"
	"github.com/faultline-go/faultline/faulttest"
	"github.com/faultline-go/faultline/otel/otelhttpx"
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
