package faulttest_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/faultline-go/faultline/faulttest"
)

// The first request's body ends cleanly after 5 bytes, short of its
// Content-Length; the second is served whole.
func Example() {
	srv, err := faulttest.Start(faulttest.Config{
		Content: []byte("hello, faults"),
		Script:  []faulttest.Fault{{Kind: faulttest.Truncate, At: 5}},
	})
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	c := srv.Client(faulttest.HTTP1)
	for range 2 {
		resp, err := c.Get(srv.URL)
		if err != nil {
			panic(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("%q %v\n", b, err)
	}
	for _, r := range srv.Requests() {
		fmt.Println(r.N, r.Status, r.Fault.Kind, r.BodyBytes)
	}
	// Output:
	// "hello" unexpected EOF
	// "hello, faults" <nil>
	// 1 200 truncate 5
	// 2 200  13
}

// Test a downloader's resume: over HTTP/2 with TLS, the server resets the
// stream (RST_STREAM) after 40,000 bytes; the client asks for the rest
// with Range and If-Range, and the server's counts show nothing was
// downloaded twice.
func Example_resume() {
	content := bytes.Repeat([]byte("0123456789"), 10_000)
	srv, err := faulttest.Start(faulttest.Config{
		Content: content,
		TLS:     true,
		Script:  []faulttest.Fault{{Kind: faulttest.ResetStream, At: 40_000}},
	})
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	c := srv.Client(faulttest.HTTP2)

	resp, err := c.Get(srv.URL)
	if err != nil {
		panic(err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println("first:", len(got), "bytes, then", err)

	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	req.Header.Set("Range", "bytes="+strconv.Itoa(len(got))+"-")
	req.Header.Set("If-Range", resp.Header.Get("ETag"))
	resp, err = c.Do(req)
	if err != nil {
		panic(err)
	}
	rest, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		panic(err)
	}
	fmt.Println("second:", resp.Status, resp.Header.Get("Content-Range"))
	fmt.Println("whole:", bytes.Equal(append(got, rest...), content))

	for _, r := range srv.Requests() {
		fmt.Printf("request %d: %s %s %q → %d, %d body bytes, fault %q\n", r.N, r.Proto, r.Method, r.Range, r.Status, r.BodyBytes, r.Fault.Kind)
	}
	fmt.Println("body bytes served:", srv.BodyBytes(), "for", len(content))
	// Output:
	// first: 40000 bytes, then stream error: stream ID 1; INTERNAL_ERROR; received from peer
	// second: 206 Partial Content bytes 40000-99999/100000
	// whole: true
	// request 1: HTTP/2.0 GET "" → 200, 40000 body bytes, fault "reset_stream"
	// request 2: HTTP/2.0 GET "bytes=40000-" → 206, 60000 body bytes, fault ""
	// body bytes served: 100000 for 100000
}
