package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/faultline-go/faultline/policies"
	"github.com/faultline-go/faultline/policy"
	"golang.org/x/term"
)

// policyEnv names the environment variable that chooses the policy when
// --policy does not.
const policyEnv = "FAULTLINE_POLICY"

// A loaded policy and a description of where it came from, for output.
type loaded struct {
	*policy.Policy
	// label is "NAME (embedded)", "default (embedded default)" or
	// "NAME (FILE)".
	label    string
	embedded bool
}

// shippedName reports whether spec names a shipped policy rather than a
// file: a bare name such as "ci". A path ("./ci", "ci.yaml") is a file.
func shippedName(spec string) bool {
	return slices.Contains(policies.Names(), spec)
}

// policySpec is the policy asked for: --policy, else $FAULTLINE_POLICY,
// else "" for the embedded default.
func (cl *cli) policySpec() string {
	if cl.policyPath != "" {
		return cl.policyPath
	}
	return cl.getenv(policyEnv)
}

// loadPolicy loads the policy named by --policy, else by $FAULTLINE_POLICY,
// else the embedded default. On a terminal the default is announced on
// stderr, so that nobody mistakes its decisions for their own policy's;
// scripts and logs get the name in the output where it matters (explain).
func (cl *cli) loadPolicy() (*loaded, bool) {
	spec := cl.policySpec()
	if spec == "" {
		p := policies.Default()
		if cl.stderrIsTerminal() {
			fmt.Fprintf(cl.stderr, "retrycheck %s: using the embedded default policy %q; choose one with --policy NAME|FILE or $%s\n",
				cl.name, p.Name(), policyEnv)
		}
		return &loaded{Policy: p, label: fmt.Sprintf("%s (embedded default)", p.Name()), embedded: true}, true
	}
	l, err := resolvePolicy(spec)
	if err != nil {
		cl.policyErrors(spec, err)
		return nil, false
	}
	return l, true
}

// resolvePolicy loads a shipped policy by name or a policy file by path.
func resolvePolicy(spec string) (*loaded, error) {
	if shippedName(spec) {
		p, err := policies.Load(spec)
		if err != nil {
			return nil, err
		}
		return &loaded{Policy: p, label: fmt.Sprintf("%s (embedded)", p.Name()), embedded: true}, nil
	}
	p, err := policy.Load(spec)
	if err != nil {
		// "ci.yaml" where there is no such file: the shipped policy was
		// probably meant.
		if name := strings.TrimSuffix(spec, ".yaml"); errors.Is(err, fs.ErrNotExist) && shippedName(name) {
			return nil, fmt.Errorf("%w (for the shipped policy, write %q)", err, name)
		}
		return nil, err
	}
	return &loaded{Policy: p, label: fmt.Sprintf("%s (%s)", p.Name(), spec)}, nil
}

// stderrIsTerminal reports whether stderr is a terminal, where notices
// meant for a person go.
func (cl *cli) stderrIsTerminal() bool {
	f, ok := cl.stderr.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
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
