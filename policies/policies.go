// Package policies holds the policy files faultline ships, embedded in the
// binary:
//
//   - default.yaml: retry transport failures with backoff, resume
//     interrupted bodies, honour Retry-After, fail on anything a retry
//     cannot fix.
//   - ci.yaml: patient, for unattended jobs on flaky networks, where a
//     late success beats an early failure.
//   - interactive.yaml: fail fast, for a person waiting at a terminal.
//
// Each file explains its rules in comments and carries test cases that
// fire every rule.
package policies

import (
	"embed"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"sync"

	"github.com/faultline-go/faultline/policy"
)

// FS holds the shipped policy files, *.yaml.
//
//go:embed *.yaml
var FS embed.FS

// Load loads a shipped policy by name, with or without ".yaml":
// "default", "ci" or "interactive".
func Load(name string) (*policy.Policy, error) {
	if !strings.HasSuffix(name, ".yaml") {
		name += ".yaml"
	}
	p, err := policy.LoadFS(FS, name)
	if err != nil {
		return nil, fmt.Errorf("policies: %w", err)
	}
	return p, nil
}

// Names returns the names of the shipped policies, sorted: the names
// Load and Source take.
func Names() []string {
	files, _ := fs.Glob(FS, "*.yaml") // the pattern is valid
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = strings.TrimSuffix(f, ".yaml")
	}
	slices.Sort(names)
	return names
}

// Source returns the YAML text of a shipped policy by name, with or
// without ".yaml", to print or to copy as the start of a policy of one's
// own.
func Source(name string) ([]byte, error) {
	if !strings.HasSuffix(name, ".yaml") {
		name += ".yaml"
	}
	b, err := FS.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("policies: %w", err)
	}
	return b, nil
}

// Default returns the default policy. It panics if the shipped file does
// not load, which the package's tests rule out.
// The policy is loaded once and shared: a *policy.Policy is immutable.
func Default() *policy.Policy {
	p, err := loadDefault()
	if err != nil {
		panic(err)
	}
	return p
}

var loadDefault = sync.OnceValues(func() (*policy.Policy, error) { return Load("default") })
