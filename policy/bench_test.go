package policy_test

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"syscall"
	"testing"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/faultline-go/faultline/chain"
	"github.com/faultline-go/faultline/classify"
	"github.com/faultline-go/faultline/policies"
	"github.com/faultline-go/faultline/policy"
)

// benchErr is the seed failure's shape: a connection reset mid-body,
// behind url.Error and a consumer's wrapping.
func benchErr() error {
	return fmt.Errorf("failed to unpack python/lib/libpython3.so: %w", &url.Error{
		Op:  "Get",
		URL: "https://downloads.example.com/python.tar.gz",
		Err: &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)},
	})
}

func benchState() policy.State {
	return policy.State{
		Phase: policy.PhaseBody, Attempt: 2, BytesReceived: 5 << 20, TotalExpected: 64 << 20,
		History:  []string{"timeout"},
		Request:  policy.Request{Method: "GET", Host: "downloads.example.com", Idempotent: true},
		Response: policy.Response{Status: 200, AcceptRanges: true, Validator: `"v1"`, Resumable: true, Protocol: "HTTP/2.0"},
	}
}

func benchInput(b *testing.B) policy.Input {
	in := policy.Input{Error: classify.Classify(chain.Walk(benchErr())), State: benchState()}
	if in.Error.Kind != classify.ConnectionReset {
		b.Fatalf("kind %s", in.Error.Kind)
	}
	return in
}

func BenchmarkDecide(b *testing.B) {
	p := policies.Default()
	in := benchInput(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		d, err := p.Decide(ctx, in)
		if err != nil || d.Action != policy.Resume {
			b.Fatal(d, err)
		}
	}
}

func BenchmarkEngineDecide(b *testing.B) {
	e := policy.NewEngine(policies.Default())
	in := benchInput(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Decide(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkShadowDecide is BenchmarkEngineDecide with a candidate policy
// in the shadow, evaluated on every decision (every=1) or one in a hundred:
// the cost of trying a policy beside the active one. The candidate is a
// copy of the default policy, so they agree and no hook runs.
func BenchmarkShadowDecide(b *testing.B) {
	src, err := policies.FS.ReadFile("default.yaml")
	if err != nil {
		b.Fatal(err)
	}
	cand, err := policy.Parse("candidate.yaml", src)
	if err != nil {
		b.Fatal(err)
	}
	in := benchInput(b)
	ctx := context.Background()
	for _, every := range []int{1, 100} {
		b.Run(fmt.Sprintf("every=%d", every), func(b *testing.B) {
			s := &policy.Shadow{Active: policy.NewEngine(policies.Default()), Candidate: cand, Every: every,
				OnDisagree: func(context.Context, policy.Disagreement) { b.Fatal("disagreement") }}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Decide(ctx, in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkExplain(b *testing.B) {
	p := policies.Default()
	in := benchInput(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		d, err := p.Explain(ctx, in)
		if err != nil || d.Action != policy.Resume {
			b.Fatal(d, err)
		}
	}
}

// plainDecide is the default policy's decision for this input written as
// a Go function: the floor CEL is measured against.
func plainDecide(in policy.Input) policy.Decision {
	f, s := &in.Error, &in.State
	transport := false
	switch f.Kind {
	case classify.ConnectionReset, classify.ConnectionRefused, classify.ConnectionAborted, classify.BrokenPipe,
		classify.Timeout, classify.DNS, classify.H2Stream, classify.H2GoAway, classify.H2Connection:
		transport = true
	case classify.Deadline:
		transport = !s.CallerDone
	}
	truncated := f.Kind == classify.UnexpectedEOF && (s.TotalExpected < 0 || s.BytesReceived < s.TotalExpected)
	switch {
	case s.CallerDone || f.Kind == classify.Canceled:
		return policy.Decision{Action: policy.Fail, Rule: "caller-canceled"}
	case s.Phase == policy.PhaseBody && (transport || truncated) && s.Response.Resumable:
		return policy.Decision{Action: policy.Resume, Rule: "resume-body"}
	case transport || truncated:
		return policy.Decision{Action: policy.Retry, Rule: "transport"}
	}
	return policy.Decision{Action: policy.Fail}
}

func BenchmarkPlainGo(b *testing.B) {
	in := benchInput(b)
	b.ReportAllocs()
	for b.Loop() {
		if d := plainDecide(in); d.Action != policy.Resume {
			b.Fatal(d)
		}
	}
}

// BenchmarkRetryablehttp is go-retryablehttp's DefaultRetryPolicy on the
// same error: it retries (any *url.Error not matching its few fatal
// patterns), with no notion of resuming.
func BenchmarkRetryablehttp(b *testing.B) {
	err := benchErr()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		retry, _ := retryablehttp.DefaultRetryPolicy(ctx, nil, err)
		if !retry {
			b.Fatal("no retry")
		}
	}
}

// BenchmarkWalkClassifyDecide is the whole path from a live error to a
// decision.
func BenchmarkWalkClassifyDecide(b *testing.B) {
	p := policies.Default()
	err := benchErr()
	state := benchState()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		in := policy.Input{Error: classify.Classify(chain.Walk(err)), State: state}
		d, err := p.Decide(ctx, in)
		if err != nil || d.Action != policy.Resume {
			b.Fatal(d, err)
		}
	}
}

// BenchmarkWalkClassify is the part of BenchmarkWalkClassifyDecide that is
// not the policy's.
func BenchmarkWalkClassify(b *testing.B) {
	err := benchErr()
	b.ReportAllocs()
	for b.Loop() {
		if f := classify.Classify(chain.Walk(err)); f.Kind != classify.ConnectionReset {
			b.Fatal(f.Kind)
		}
	}
}

// BenchmarkParse loads the default policy: YAML, type checks, cost
// estimates, inlining and programs.
func BenchmarkParse(b *testing.B) {
	data, err := policies.FS.ReadFile("default.yaml")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := policy.Parse("default.yaml", data); err != nil {
			b.Fatal(err)
		}
	}
}
