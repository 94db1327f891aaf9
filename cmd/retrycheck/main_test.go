package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"os"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

var update = flag.Bool("update", false, "rewrite golden files, doc.go and the generated corpus")

// asMainEnv makes the test binary run retrycheck's main instead of the
// tests, so that a test can run the real process: send it signals, kill
// it, run it again.
const asMainEnv = "RETRYCHECK_TEST_AS_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(asMainEnv) == "1" {
		main()
		return
	}
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
