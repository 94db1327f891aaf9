package httpx_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"

	"github.com/faultline-go/faultline/adapters/httpx"
	"github.com/faultline-go/faultline/faulttest"
)

// Stream a download into a hash while the connection is reset twice: the
// consumer sees one unbroken stream.
func Example() {
	content := make([]byte, 1<<20)
	for i := range content {
		content[i] = byte(i * 7)
	}
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

	c := &httpx.Client{HTTP: srv.Client(faulttest.HTTP1)}
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
	// Output:
	// 1d7368ef6f59e0c704a978b815288f1e464037959645bbfd79348d330269480d
	// 1048576 bytes, 3 attempts, 2 resumes, 0 restarts
}
