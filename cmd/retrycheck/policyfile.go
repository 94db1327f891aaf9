package main

import (
	"errors"
	"fmt"

	"github.com/faultline-go/faultline/policies"
	"github.com/faultline-go/faultline/policy"
)

// policyEnv names the environment variable that chooses the policy when
// --policy does not.
const policyEnv = "FAULTLINE_POLICY"

// A loaded policy and a description of where it came from, for output.
type loaded struct {
	*policy.Policy
	// label is "default (embedded)" or "NAME (FILE)".
	label    string
	embedded bool
}

// loadPolicy loads the policy named by --policy, else by $FAULTLINE_POLICY,
// else the embedded default. The default is announced on stderr, so that
// nobody mistakes its decisions for their own policy's.
func (cl *cli) loadPolicy() (*loaded, bool) {
	path := cl.policyPath
	if path == "" {
		path = cl.getenv(policyEnv)
	}
	if path == "" {
		p := policies.Default()
		fmt.Fprintf(cl.stderr, "retrycheck %s: using the embedded default policy %q; choose one with --policy FILE or $%s\n",
			cl.name, p.Name(), policyEnv)
		return &loaded{Policy: p, label: fmt.Sprintf("%s (embedded default)", p.Name()), embedded: true}, true
	}
	p, err := policy.Load(path)
	if err != nil {
		cl.policyErrors(path, err)
		return nil, false
	}
	return &loaded{Policy: p, label: fmt.Sprintf("%s (%s)", p.Name(), path)}, true
}

// policyErrors prints a policy's load errors, one "file:line:col: message"
// a line.
func (cl *cli) policyErrors(path string, err error) {
	var list policy.ErrorList
	if errors.As(err, &list) {
		for _, e := range list {
			fmt.Fprintln(cl.stderr, e.Error())
		}
		return
	}
	cl.errorf("%s: %v", path, err)
}
