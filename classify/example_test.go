package classify_test

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"syscall"

	"github.com/faultline-go/faultline/chain"
	"github.com/faultline-go/faultline/classify"
)

// A reset four layers down, under an extractor's error: the kind is the
// reset, and the extractor layer above it marks it as caused by transport.
func Example() {
	reset := &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}
	err := fmt.Errorf("extract %q: %w", "python/bin/python3.10",
		&url.Error{Op: "Get", URL: "https://example.com/python.tar.gz", Err: reset})

	f := classify.Classify(chain.Walk(err))
	fmt.Println(f.Kind, f.Transient, f.Errno, f.Op)
	fmt.Println("caused by transport:", f.CausedByTransport, "entry:", f.Decode.Entry)
	// Output:
	// connection_reset true ECONNRESET read
	// caused by transport: true entry: python/bin/python3.10
}

// User classifiers recognise their own errors and label them for policies.
func ExampleSet() {
	throttle := classify.ClassifierFunc(func(l chain.Layer) classify.Verdict {
		if l.Attrs.Extra["aws.code"] == "ThrottlingException" {
			return classify.Verdict{Kind: classify.HTTPStatus, Transient: true,
				Labels: map[string]string{"throttled": "true"}}
		}
		return classify.Verdict{}
	})
	c := chain.Chain{Schema: chain.SchemaVersion, Layers: []chain.Layer{{
		Type: "*smithy.OperationError", Message: "operation GetObject: throttled", Via: chain.ViaRoot, Parent: -1,
		Attrs: chain.Attrs{Extra: map[string]string{"aws.code": "ThrottlingException"}},
	}}}
	set := classify.Set{Classifiers: []classify.Classifier{throttle}}
	f := set.Classify(c)
	fmt.Println(f.Kind, f.Transient, f.Labels["throttled"])
	// Output: http_status true true
}
