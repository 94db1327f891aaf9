package chain_test

import (
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"

	"github.com/faultline-go/faultline/chain"
)

func ExampleWalk() {
	reset := &net.OpError{Op: "read", Net: "tcp",
		Addr: &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 443},
		Err:  os.NewSyscallError("read", syscall.ECONNRESET)}
	err := fmt.Errorf("unpack lib/a.so: %w", reset)

	for _, l := range chain.Walk(err).Layers {
		fmt.Printf("%-7s %-17s %q\n", l.Via, l.Type, l.Own)
	}
	// Output:
	// root    *fmt.wrapError    "unpack lib/a.so"
	// unwrap  *net.OpError      "read tcp 192.0.2.1:443"
	// unwrap  *os.SyscallError  "read"
	// unwrap  syscall.Errno     "connection reset by peer"
}

func ExampleFromText() {
	c := chain.FromText(`Get "https://example.com/a.tar.gz": stream error: stream ID 3; INTERNAL_ERROR; received from peer`)
	for _, l := range c.Layers {
		fmt.Printf("%q kind=%s code=%s remote=%t\n", l.Own, l.Attrs.Kind, l.Attrs.H2Code, l.Attrs.H2Remote)
	}
	// Output:
	// "Get \"https://example.com/a.tar.gz\"" kind= code= remote=false
	// "stream error: stream ID 3; INTERNAL_ERROR; received from peer" kind=h2_stream code=INTERNAL_ERROR remote=true
}

// quotaError is a user type that keeps its cause where no standard method
// finds it.
type quotaError struct {
	bucket string
	err    error
}

func (e *quotaError) Error() string { return "quota exceeded for " + e.bucket }

func ExampleUnwrapper() {
	w := chain.Walker{Unwrappers: []chain.Unwrapper{
		chain.UnwrapperFunc(func(err error, a *chain.Attrs) (error, bool) {
			q, ok := err.(*quotaError)
			if !ok {
				return nil, false
			}
			a.Kind = "limit"
			a.Extra = map[string]string{"store.bucket": q.bucket}
			return q.err, true
		}),
	}}
	c := w.Walk(&quotaError{bucket: "logs", err: errors.New("429 Too Many Requests")})
	for _, l := range c.Layers {
		fmt.Println(l.Via, l.Attrs.Kind, l.Attrs.Extra["store.bucket"], l.Message)
	}
	// Output:
	// root limit logs quota exceeded for logs
	// unwrapper   429 Too Many Requests
}
