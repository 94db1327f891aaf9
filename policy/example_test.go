package policy_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/faultline-go/faultline/classify"
	"github.com/faultline-go/faultline/policy"
)

func Example() {
	p, err := policy.Parse("example.yaml", []byte(`
name: example
backoff: {initial: 1s, max: 30s, multiplier: 2, jitter: none}
rules:
  - name: resume-body
    when: phase == 'body' && error.kind == 'connection_reset'
    action: resume
    reason: interrupted body
  - name: try-later
    when: error.kind == 'http_status' && error.http.status == 503
    action: retry
    delay: max(backoff, error.http.retry_after)
default: fail
`))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	for _, in := range []policy.Input{
		{
			Error: classify.Facts{Kind: classify.ConnectionReset},
			State: policy.State{Phase: policy.PhaseBody, Attempt: 1, Response: policy.Response{Resumable: true}},
		},
		{
			Error: classify.Facts{Kind: classify.HTTPStatus, HTTP: classify.HTTP{Status: 503, RetryAfter: 5 * time.Second}},
			State: policy.State{Phase: policy.PhaseHeaders, Attempt: 2},
		},
		{
			Error: classify.Facts{Kind: classify.Certificate},
			State: policy.State{Phase: policy.PhaseConnect, Attempt: 1},
		},
	} {
		d, err := p.Decide(ctx, in)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s: %s after %v (rule %q)\n", in.Error.Kind, d.Action, d.Delay, d.Rule)
	}
	// Output:
	// connection_reset: resume after 1s (rule "resume-body")
	// http_status: retry after 5s (rule "try-later")
	// certificate: fail after 0s (rule "")
}

func ExampleErrorList() {
	_, err := policy.Parse("retry.yaml", []byte(`name: typo
rules:
  - name: resume-body
    when: response.statuss == 206
    action: resume
`))
	if list, ok := err.(policy.ErrorList); ok {
		for _, e := range list {
			fmt.Println(e)
		}
	}
	// Output:
	// retry.yaml:4:19: rule "resume-body": when: undefined field 'statuss'
}

// An Engine decides with a policy file that operators may edit while the
// program runs: Reload swaps in the new version atomically, and keeps the
// old one if the new one does not load.
func ExampleEngine() {
	dir, err := os.MkdirTemp("", "engine")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "retry.yaml")
	write := func(action string) {
		err := os.WriteFile(file, []byte(`name: retry
backoff: {initial: 100ms, max: 10s, multiplier: 2, jitter: none}
rules:
  - name: reset
    when: error.kind == 'connection_reset'
    action: `+action+`
`), 0o644)
		if err != nil {
			log.Fatal(err)
		}
	}
	write("retry")
	p, err := policy.Load(file)
	if err != nil {
		log.Fatal(err)
	}
	e := policy.NewEngine(p)
	in := policy.Input{
		Error: classify.Facts{Kind: classify.ConnectionReset},
		State: policy.State{Phase: policy.PhaseHeaders, Attempt: 3},
	}
	decide := func() {
		d, err := e.Decide(context.Background(), in)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s after %v (rule %q)\n", d.Action, d.Delay, d.Rule)
	}
	decide()

	write("fail") // an operator changes the policy
	if err := e.Reload(); err != nil {
		log.Fatal(err)
	}
	decide()

	write("explode") // a broken edit is refused; the last good policy stays
	var list policy.ErrorList
	if errors.As(e.Reload(), &list) {
		fmt.Printf("%s:%d:%d: %s\n", filepath.Base(list[0].File), list[0].Line, list[0].Col, list[0].Msg)
	}
	decide()
	// Output:
	// retry after 400ms (rule "reset")
	// fail after 0s (rule "reset")
	// retry.yaml:6:13: unknown action "explode" (want retry, resume or fail)
	// fail after 0s (rule "reset")
}

// A Shadow tries a candidate policy in production: the active policy
// decides, the candidate is evaluated on the same failures, and where they
// disagree a hook hears of it. Nothing the candidate decides is acted on.
func ExampleShadow() {
	active, _ := policy.Parse("active.yaml", []byte(`
name: patient
backoff: {initial: 1s, max: 1s, multiplier: 1, jitter: none}
rules:
  - {name: transport, when: error.transient, action: retry}
`))
	candidate, _ := policy.Parse("candidate.yaml", []byte(`
name: patient
version: "2"
backoff: {initial: 1s, max: 1s, multiplier: 1, jitter: none}
rules:
  - {name: no-dns, when: "error.kind == 'dns'", action: fail}
  - {name: transport, when: error.transient, action: retry}
`))
	s := &policy.Shadow{
		Active:    policy.NewEngine(active),
		Candidate: candidate,
		OnDisagree: func(_ context.Context, d policy.Disagreement) {
			fmt.Printf("candidate %s would %s (rule %s) where %s does %s\n",
				d.Candidate.Policy.Version, d.Candidate.Action, d.Candidate.Rule, d.Active.Policy.Name, d.Active.Action)
		},
	}
	for _, kind := range []classify.Kind{classify.Timeout, classify.DNS} {
		d, _ := s.Decide(context.Background(), policy.Input{
			Error: classify.Facts{Kind: kind, Transient: true},
			State: policy.State{Phase: policy.PhaseConnect, Attempt: 1},
		})
		fmt.Printf("%s: %s\n", kind, d.Action)
	}
	// Output:
	// timeout: retry
	// candidate 2 would fail (rule no-dns) where patient does retry
	// dns: retry
}

// Watch reloads an engine's policy when its file changes, keeping the last
// good policy when an edit does not load.
func ExampleEngine_Watch() {
	p, err := policy.Load("/etc/faultline/policy.yaml")
	if err != nil {
		log.Fatal(err)
	}
	e := policy.NewEngine(p)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go e.Watch(ctx, policy.WatchOptions{
		OnReload: func(p *policy.Policy) { log.Printf("policy %s loaded", p.ID()) },
		OnError:  func(err error) { log.Printf("policy not reloaded: %v", err) },
	})
	// … decide with e …
}
