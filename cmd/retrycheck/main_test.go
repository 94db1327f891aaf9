package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

var update = flag.Bool("update", false, "rewrite golden files, doc.go and the generated corpus")

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// result is what one run of the command produced.
type result struct {
	stdout, stderr string
	code           int
}

// runCLI runs retrycheck in-process with args and stdin.
func runCLI(t testing.TB, stdin string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	var in io.Reader = strings.NewReader(stdin)
	code := run(context.Background(), args, in, &out, &errOut)
	return result{out.String(), errOut.String(), code}
}
