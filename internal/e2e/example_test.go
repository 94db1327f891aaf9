package e2e_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/faultline-go/faultline/adapters/httpx"
	"github.com/faultline-go/faultline/adapters/tarx"
	"github.com/faultline-go/faultline/faulttest"
	"github.com/faultline-go/faultline/internal/archivetest"
)

// Example downloads an archive from a server that resets the connection
// twice and unpacks it as it arrives: each reset costs a ranged request,
// and the unpacker sees one unbroken stream.
func Example() {
	entries := archivetest.Tree(1, 200, 1<<20)
	archive, err := archivetest.Bytes(archivetest.Gzip, entries)
	if err != nil {
		log.Fatal(err)
	}
	size := int64(len(archive))
	s, err := faulttest.Start(faulttest.Config{Content: archive, Script: []faulttest.Fault{
		{Kind: faulttest.Reset, At: size / 3},
		{Kind: faulttest.Reset, At: size / 3},
	}})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	dir, err := os.MkdirTemp("", "faultline-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	dest := filepath.Join(dir, "tree")

	c := &httpx.Client{
		HTTP: s.Client(faulttest.HTTP1),
		// Skip the policy's backoff, to keep the example quick.
		Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() },
	}
	var st tarx.Stats
	res, err := c.Do(context.Background(), s.URL, func(ctx context.Context, r io.Reader) error {
		st, err = tarx.Extract(ctx, r, dest, tarx.Options{})
		return err
	}, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d attempts, %d resumes, %d restarts\n", res.Attempts, res.Resumes, res.Restarts)
	fmt.Printf("served %.2f× the archive\n", float64(res.BytesServed)/float64(size))
	fmt.Printf("unpacked %d files\n", st.Files)
	// Output:
	// 3 attempts, 2 resumes, 0 restarts
	// served 1.00× the archive
	// unpacked 200 files
}
