package policy_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faultline-go/faultline/chain"
	"github.com/faultline-go/faultline/classify"
	"github.com/faultline-go/faultline/policies"
	"github.com/faultline-go/faultline/policy"
)

// liveState gives a recorded live fault the state it happened in, from its
// name: mid-body failures 4 KiB into a 64 KiB resumable body, header and
// connect failures before any body, the caller's own cancellation and
// deadline as caller_done, unpack and filesystem failures after the whole
// body arrived.
func liveState(name string) policy.State {
	s := policy.State{Phase: policy.PhaseHeaders, Attempt: 1, TotalExpected: -1,
		Request: policy.Request{Method: "GET", Idempotent: true}}
	body := func() {
		s.Phase, s.BytesReceived, s.TotalExpected = policy.PhaseBody, 4096, 65536
		s.Response = policy.Response{Status: 200, AcceptRanges: true, Validator: `"v1"`, Resumable: true}
	}
	switch {
	case strings.HasPrefix(name, "fs-"):
		s.Phase, s.BytesReceived, s.TotalExpected = policy.PhaseCommit, 65536, 65536
	case strings.HasPrefix(name, "gzip-") || strings.HasPrefix(name, "tar-"):
		s.Phase, s.BytesReceived, s.TotalExpected = policy.PhaseUnpack, 65536, 65536
	case strings.HasPrefix(name, "dns-") || name == "refused" || strings.HasPrefix(name, "tls-"):
		s.Phase = policy.PhaseConnect
	case name == "tcp-broken-pipe":
		s.Phase = policy.PhaseRequest
	case strings.Contains(name, "midbody") || strings.Contains(name, "body") ||
		strings.Contains(name, "abort-handler") || strings.Contains(name, "connection-lost") ||
		strings.Contains(name, "protocol-error"):
		body()
	}
	if strings.Contains(name, "cancel") || strings.Contains(name, "deadline") {
		s.CallerDone = true
	}
	return s
}

// TestLiveFaults decides with the default policy on every fault the
// classify package recorded live (classify/testdata/live). Each must have
// an expectation here, so a new recording is noticed.
func TestLiveFaults(t *testing.T) {
	files, err := filepath.Glob("../classify/testdata/live/*.json")
	require.NoError(t, err)
	if len(files) == 0 {
		t.Skip("no live recordings")
	}
	want := map[string]struct {
		action policy.Action
		rule   string
	}{
		"dns-not-found":              {policy.Fail, "not-fixable"}, // NXDOMAIN: no retry creates the name
		"fs-eacces-exec":             {policy.Fail, "local-failure"},
		"fs-enoent":                  {policy.Fail, "not-fixable"},
		"fs-enospc":                  {policy.Fail, "local-failure"},
		"fs-eperm-link":              {policy.Fail, "local-failure"},
		"gzip-checksum":              {policy.Retry, "checksum-once"},
		"gzip-corrupt":               {policy.Fail, "corrupt"},
		"gzip-truncated":             {policy.Fail, "eof-at-full-length"},
		"h1-abort-handler":           {policy.Resume, "resume-body"},
		"h1-cancel-midbody":          {policy.Fail, "caller-canceled"},
		"h1-client-timeout-headers":  {policy.Retry, "transport"},
		"h1-deadline-midbody":        {policy.Fail, "caller-canceled"},
		"h1-reset-midbody":           {policy.Resume, "resume-body"},
		"h1-response-header-timeout": {policy.Retry, "transport"},
		"h1-short-body":              {policy.Resume, "resume-body"},
		"h1-status-503":              {policy.Retry, "http-retryable"},
		"h2-abort-handler":           {policy.Resume, "resume-body"},
		"h2-cancel-midbody":          {policy.Fail, "caller-canceled"},
		"h2-client-timeout-body":     {policy.Resume, "resume-body"},
		"h2-close-midbody":           {policy.Resume, "resume-body"},
		"h2-connection-lost":         {policy.Resume, "resume-body"},
		"h2-goaway-midbody":          {policy.Resume, "resume-body"},
		"h2-goaway-unprocessed":      {policy.Retry, "h2-unprocessed"},
		"h2-reset-midbody":           {policy.Resume, "resume-body"},
		"h2-response-header-timeout": {policy.Retry, "transport"},
		"h2-rst-refused-midbody":     {policy.Resume, "resume-body"},
		"h2-short-body":              {policy.Resume, "resume-body"},
		"h2-status-429":              {policy.Retry, "http-retryable"},
		"h2tls-reset-midbody":        {policy.Resume, "resume-body"},
		"h2x-abort-handler":          {policy.Resume, "resume-body"},
		"h2x-connection-lost":        {policy.Resume, "resume-body"},
		"h2x-deadline-midbody":       {policy.Fail, "caller-canceled"},
		"h2x-goaway-reset-midbody":   {policy.Resume, "resume-body"},
		"h2x-protocol-error":         {policy.Resume, "resume-body"},
		"h2x-reset-midbody":          {policy.Resume, "resume-body"},
		"h2x-rst-internal-midbody":   {policy.Resume, "resume-body"},
		"multi-hashicorp":            {policy.Retry, "transport"},
		"multi-join":                 {policy.Retry, "transport"},
		"refused":                    {policy.Retry, "transport"},
		"tar-invalid-header":         {policy.Fail, "corrupt"},
		"tcp-broken-pipe":            {policy.Retry, "transport"},
		"tcp-read-timeout":           {policy.Retry, "transport"},
		"tls-untrusted":              {policy.Fail, "not-fixable"},
		"tls-version":                {policy.Fail, "not-fixable"},
	}
	p := policies.Default()
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".json")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(file)
			require.NoError(t, err)
			c, err := chain.Decode(data)
			require.NoError(t, err)
			w, ok := want[name]
			require.True(t, ok, "no expectation for %s (kind %s): add one", name, classify.Classify(c).Kind)
			in := policy.Input{Error: classify.Classify(c), State: liveState(name)}
			d, err := p.Explain(context.Background(), in)
			require.NoError(t, err)
			assert.Equal(t, w.action, d.Action, "kind %s, reason %q", in.Error.Kind, d.Reason)
			assert.Equal(t, w.rule, d.Rule, "kind %s", in.Error.Kind)
		})
	}
}
