package httpx_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"

	"github.com/faultline-go/faultline/adapters/httpx"
	"github.com/faultline-go/faultline/faulttest"
)

// Stream a download into a hash while the connection is reset twice: the
// consumer sees one unbroken stream, and the two resumes ask only for the
// bytes still missing.
func ExampleClient_Do() {
	content := make([]byte, 1<<20)
	for i := range content {
		content[i] = byte(i * 7)
	}
	// A server on 127.0.0.1 that resets the TCP connection after 300,000
	// bytes of the first response and 200,000 of the second.
	srv, err := faulttest.Start(faulttest.Config{
		Content: content,
		Script: []faulttest.Fault{
			{Kind: faulttest.Reset, At: 300_000},
			{Kind: faulttest.Reset, At: 200_000},
		},
	})
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	c := &httpx.Client{HTTP: srv.Client(faulttest.HTTP1)} // nil Policy: the default policy
	h := sha256.New()
	res, err := c.Do(context.Background(), srv.URL, func(ctx context.Context, r io.Reader) error {
		h.Reset() // a restart starts over
		_, err := io.Copy(h, r)
		return err
	}, nil)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%x\n", h.Sum(nil))
	fmt.Println(res.Bytes, "bytes,", res.Attempts, "attempts,", res.Resumes, "resumes,", res.Restarts, "restarts")
	fmt.Println(srv.BodyBytes(), "bytes served")
	// Output:
	// 1d7368ef6f59e0c704a978b815288f1e464037959645bbfd79348d330269480d
	// 1048576 bytes, 3 attempts, 2 resumes, 0 restarts
	// 1048576 bytes served
}

// Retry API calls under the default policy: the server answers 503, then
// 502, then the document. Each failure is decided by a rule of the policy;
// OnDecision sees every decision.
func ExampleTransport() {
	srv, err := faulttest.Start(faulttest.Config{
		Content: []byte(`{"ok":true}`),
		Script: []faulttest.Fault{
			{Kind: faulttest.Status, Status: http.StatusServiceUnavailable},
			{Kind: faulttest.Status, Status: http.StatusBadGateway},
		},
	})
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	client := &http.Client{Transport: &httpx.Transport{
		Base: srv.Transport(faulttest.HTTP2),
		Client: &httpx.Client{OnDecision: func(e httpx.Event) {
			f := e.Input.Error // the facts the policy decided on
			fmt.Printf("attempt %d: %s %d → %s (rule %s)\n", e.Attempt, f.Kind, f.HTTP.Status, e.Decision.Action, e.Decision.Rule)
		}},
	}}
	resp, err := client.Get(srv.URL)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		panic(err)
	}
	fmt.Println(resp.Status, string(body))
	fmt.Println(srv.RequestCount(), "requests")
	// Output:
	// attempt 1: http_status 503 → retry (rule http-retryable)
	// attempt 2: http_status 502 → retry (rule http-retryable)
	// 200 OK {"ok":true}
	// 3 requests
}
