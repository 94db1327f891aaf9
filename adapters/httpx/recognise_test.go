package httpx

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faultline-go/faultline/classify"
	"github.com/faultline-go/faultline/policy"
)

// A policy's recognisers decide live exactly as they do in a replay: the
// client classifies with the policy's words, and the dump it writes,
// replayed through the same policy, gives the same facts.
func TestPolicyRecognisersLive(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("x")) }))
	defer srv.Close()
	p, err := policy.Parse("vendor.yaml", []byte(`
name: vendor
recognisers:
  - name: vendor-busy
    match: 'VND-4(?P<status>29) busy, retry in (?P<wait>\d+)s'
    kind: rate_limited
    transient: true
rules:
  - name: busy
    when: error.kind == 'rate_limited'
    action: retry
    delay: duration('0s')
default: fail
`))
	require.NoError(t, err)
	dumps := t.TempDir()
	var live []policy.Input
	c := &Client{HTTP: srv.Client(), DumpDir: dumps, MaxAttempts: 1, Policy: p,
		OnDecision: func(e Event) { live = append(live, e.Input) }}
	_, err = c.Do(t.Context(), srv.URL, func(ctx context.Context, r io.Reader) error {
		return errors.New("vendor sdk: VND-429 busy, retry in 7s")
	}, nil)
	require.Error(t, err)
	require.Len(t, live, 1)
	assert.Equal(t, classify.RateLimited, live[0].Error.Kind, "live, with the policy's words")

	files, err := filepath.Glob(filepath.Join(dumps, "*.json"))
	require.NoError(t, err)
	require.Len(t, files, 1)
	f, err := os.Open(files[0])
	require.NoError(t, err)
	defer f.Close()
	var d policy.Dump
	require.NoError(t, policy.ReadDumps(f, func(x policy.Dump) error { d = x; return nil }))
	assert.Equal(t, live[0].Error, p.Input(d).Error, "replayed through the same policy")
	assert.Equal(t, classify.Unknown, d.Input().Error.Kind, "the built-in words alone do not know it")
}
