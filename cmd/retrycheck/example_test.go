package main

import (
	"context"
	"io"
	"os"
	"strings"
)

// A pasted Go error, with the state text cannot carry given as flags:
// the connection was reset a quarter into a body the server can resume.
func Example() {
	text := "read tcp 10.0.0.7:41822->10.0.0.2:443: read: connection reset by peer\n"
	run(context.Background(),
		[]string{"decide", "--policy", "../../policies/default.yaml", "--bytes", "262144", "--total", "1048576", "--resumable", "-"},
		strings.NewReader(text), os.Stdout, io.Discard)
	// Output:
	// stdin  resume  250ms  resume-body  kind=connection_reset errno=ECONNRESET op=read transient  phase=body (inferred) attempt=1 bytes=262144/1048576 resumable
}
