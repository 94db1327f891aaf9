package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faultline-go/faultline/chain"
	"github.com/faultline-go/faultline/policy"
)

// A policy's own recognisers read a text before the built-in ones, from
// the command line as in the library: a deployment whose proxy resets a
// tenant's connections once its quota is spent re-reads "connection reset
// by peer" as a rate limit with a wait, in pasted text and in the dump of
// a live Go error alike.
func TestOwnRecognisersDecide(t *testing.T) {
	dir := t.TempDir()
	pol := filepath.Join(dir, "own-words.yaml")
	require.NoError(t, os.WriteFile(pol, []byte(`name: own-words
recognisers:
  - name: proxy-quota-reset
    description: our egress proxy resets a tenant's connections once its quota is spent; it refills in a minute
    match: 'connection reset by peer'
    kind: rate_limited
    transient: true
    wait: 60s
rules:
  - name: throttled
    when: error.kind == 'rate_limited'
    action: retry
    delay: max(backoff, error.http.retry_after)
  - name: resets
    when: error.kind == 'connection_reset'
    action: retry
default: fail
`), 0o644))
	text := filepath.Join(dir, "pasted.txt")
	require.NoError(t, os.WriteFile(text, []byte(
		`Get "https://mirror.example/a.tar.gz": read tcp 10.0.0.1:5->10.0.0.2:443: read: connection reset by peer`+"\n"), 0o644))
	dumps := filepath.Join(dir, "dumps")
	require.NoError(t, os.Mkdir(dumps, 0o755))
	dump, err := policy.WriteDump(dumps, policy.Dump{
		Chain: chain.Walk(fmt.Errorf("get mirror: %w", errors.New("connection reset by peer"))),
		State: policy.State{Phase: policy.PhaseBody, Attempt: 1, TotalExpected: -1},
	})
	require.NoError(t, err)

	for _, input := range []string{text, dump} {
		t.Run(filepath.Base(input), func(t *testing.T) {
			r := runCLI(t, "", "decide", "--json", "--policy", pol, input)
			require.Equal(t, exitOK, r.code, r.stderr)
			var got struct {
				Action, Rule string
				Delay        string
			}
			require.NoError(t, json.Unmarshal([]byte(r.stdout), &got), r.stdout)
			assert.Equal(t, "retry", got.Action)
			assert.Equal(t, "throttled", got.Rule)
			assert.Equal(t, "1m0s", got.Delay)

			r = runCLI(t, "", "explain", "--policy", pol, input)
			require.Equal(t, exitOK, r.code, r.stderr)
			assert.Regexp(t, `kind +rate_limited`, r.stdout)
		})
	}
}
