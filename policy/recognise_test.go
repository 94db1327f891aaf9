package policy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faultline-go/faultline/chain"
	"github.com/faultline-go/faultline/classify"
)

const recognisingPolicy = `name: mirror
include: [words.yaml]
recognisers:
  - name: quota-wall
    description: our storage gateway's throttling page
    match: 'storage gateway: quota wall hit, back off (?P<wait>\d+)s'
    kind: rate_limited
    transient: true
    tests:
      - text: "storage gateway: quota wall hit, back off 12s"
        expect: {kind: rate_limited, transient: true, wait: 12s}
      - text: "storage gateway: all good"
        match: false
  - name: loud-unknown
    when: attrs.kind == '' && text.endsWith('!!!') && !text.contains('ok')
    kind: server_error
    tests:
      - text: "the backend fell over!!!"
        expect: {kind: server_error}
rules:
  - name: throttled
    when: error.kind == 'rate_limited'
    action: retry
    delay: max(backoff, error.http.retry_after)
  - name: timeouts
    when: error.kind == 'timeout'
    action: retry
default: fail
`

const wordsFile = `recognisers:
  - name: npm-socket-timeout
    match: '\bESOCKETTIMEDOUT\b'
    kind: timeout
    timeout: true
    tests:
      - text: "npm ERR! code ESOCKETTIMEDOUT"
        expect: {kind: timeout, timeout: true}
`

// policyIn writes files and returns the path of their policy.yaml.
func policyIn(t *testing.T, files map[string]string) string {
	return filepath.Join(writeFiles(t, files), "policy.yaml")
}

// A policy teaches classify its deployment's words: the recognisers of
// the policy and of the files it includes read text into facts, for a
// live chain, a dump and pasted text alike.
func TestPolicyRecognisers(t *testing.T) {
	p, err := Load(policyIn(t, map[string]string{"policy.yaml": recognisingPolicy, "words.yaml": wordsFile}))
	require.NoError(t, err)
	require.Len(t, p.Recognisers(), 2, "its own, then the shipped ones")

	ctx := context.Background()
	c := chain.FromText("fetch failed: storage gateway: quota wall hit, back off 45s")
	assert.Equal(t, classify.Unknown, classify.Classify(c).Kind, "the built-in vocabulary does not know it")
	f := p.Classify(c)
	assert.Equal(t, classify.RateLimited, f.Kind)
	assert.Equal(t, 45*time.Second, f.HTTP.RetryAfter)
	d, err := p.Decide(ctx, Input{Error: f, State: State{Phase: PhaseHeaders, Attempt: 1, TotalExpected: -1}})
	require.NoError(t, err)
	assert.Equal(t, Retry, d.Action)
	assert.Equal(t, 45*time.Second, d.Delay, "the wait the text gives")

	// The included file's recogniser, and a dump replayed through the policy.
	dump := Dump{Schema: DumpSchema, Chain: chain.FromText("npm ERR! code ESOCKETTIMEDOUT"), State: State{Phase: PhaseBody, Attempt: 1}}
	assert.Equal(t, classify.Unknown, dump.Input().Error.Kind)
	assert.Equal(t, classify.Timeout, p.Input(dump).Error.Kind)

	// A CEL condition over the text and what was read before it.
	assert.Equal(t, classify.ServerError, p.Classify(chain.FromText("kaboom!!!")).Kind)
	assert.Equal(t, classify.Unknown, p.Classify(chain.FromText("kaboom, ok!!!")).Kind)
}

// An error in an included file is placed in that file.
func TestRecogniserErrorInInclude(t *testing.T) {
	_, err := Load(policyIn(t, map[string]string{
		"policy.yaml": recognisingPolicy,
		"words.yaml":  strings.Replace(wordsFile, `\bESOCKETTIMEDOUT\b`, `\bESOCKET(TIMEDOUT\b`, 1),
	}))
	require.Error(t, err)
	var list ErrorList
	require.ErrorAs(t, err, &list)
	require.Len(t, list, 1)
	assert.Equal(t, "words.yaml", filepath.Base(list[0].File))
	assert.Equal(t, 3, list[0].Line)
	assert.Contains(t, list[0].Msg, "missing closing )")
}

// The recognisers count in the policy's identity: changing one changes
// the digest, as changing a rule does.
func TestRecognisersInDigest(t *testing.T) {
	a, err := Load(policyIn(t, map[string]string{"policy.yaml": recognisingPolicy, "words.yaml": wordsFile}))
	require.NoError(t, err)
	b, err := Load(policyIn(t, map[string]string{"policy.yaml": recognisingPolicy,
		"words.yaml": strings.Replace(wordsFile, "kind: timeout", "kind: timeout\n    status: 504", 1)}))
	require.NoError(t, err)
	assert.NotEqual(t, a.ID().Digest, b.ID().Digest)
}

// A condition that could cost too much on a long text is refused at load,
// and the bounds hold at run time however hostile the recognisers and the
// text: RE2 does not backtrack and the text read is cut.
func TestRecogniserCostBounds(t *testing.T) {
	_, err := Parse("costly.yaml", []byte(`name: costly
recognisers:
  - name: quadratic
    when: text.split(' ').exists(w, text.split(w).size() > 3)
    kind: timeout
rules:
  - {name: r, when: "true", action: fail}
`))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "estimated cost")

	var b strings.Builder
	b.WriteString("name: hostile\nrecognisers:\n")
	for i := range 100 {
		b.WriteString("  - name: r" + strings.Repeat("x", i) + "\n    match: '(a+)+$b|(a|aa)*c|(.*a){12}z'\n    kind: timeout\n")
	}
	b.WriteString("rules:\n  - {name: r, when: \"true\", action: fail}\n")
	p, err := Parse("hostile.yaml", []byte(b.String()))
	require.NoError(t, err)
	text := strings.Repeat("a", 1<<20)
	start := time.Now()
	f := p.Classify(chain.Chain{Schema: chain.SchemaVersion, Layers: []chain.Layer{{Message: text, Own: text, Via: chain.ViaRoot, Parent: -1}}})
	assert.Equal(t, classify.Unknown, f.Kind)
	// A guard against a hang only; chain's TestPatternsHostile counts the
	// work.
	assert.Less(t, time.Since(start), time.Minute)
}

// Unreached names the kinds a policy leaves to its default.
func TestUnreached(t *testing.T) {
	p, err := Parse("narrow.yaml", []byte(`name: narrow
rules:
  - name: resets
    when: error.kind == 'connection_reset'
    action: retry
  - name: statuses
    when: error.kind == 'http_status' && error.http.status == 503
    action: retry
default: fail
`))
	require.NoError(t, err)
	got := p.Unreached()
	assert.NotContains(t, got, classify.ConnectionReset)
	assert.NotContains(t, got, classify.HTTPStatus, "reached for some status")
	assert.Contains(t, got, classify.Timeout)
	assert.Contains(t, got, classify.RateLimited)
	assert.NotContains(t, got, classify.Unknown, "unknown is the default's by definition")
	assert.Len(t, got, len(classify.Kinds())-3)
}

// ownWordsPolicy re-reads two texts the built-in vocabulary already
// knows: a deployment whose egress proxy resets a tenant's connections
// once its quota is spent (a limit with a wait, not a network fault), and
// whose gateway's deadline means maintenance (not worth a retry).
const ownWordsPolicy = `name: own-words
recognisers:
  - name: proxy-quota-reset
    description: our egress proxy resets a tenant's connections once its quota is spent; it refills in a minute
    match: 'connection reset by peer'
    kind: rate_limited
    transient: true
    wait: 60s
  - name: gateway-maintenance
    description: our gateway cuts every request at its deadline while the backend is down for maintenance
    match: 'Client\.Timeout exceeded'
    kind: server_error
    transient: false
rules:
  - name: throttled
    when: error.kind == 'rate_limited'
    action: retry
    delay: max(backoff, error.http.retry_after)
  - name: resets
    when: error.kind == 'connection_reset'
    action: retry
  - name: deadlines
    when: error.kind == 'deadline' && error.transient
    action: retry
default: fail
`

// A policy's own recognisers read a text before the built-in ones, so
// that a deployment can re-read a shape the built-in vocabulary knows:
// in pasted text, in a live Go error whose text is all it says (an
// errors.New leaf, parsed by the walker's text fallback), and in the dump
// of one, replayed. Facts a Go value carries itself (a syscall.Errno)
// are not text and stand.
func TestOwnRecognisersBeforeBuiltins(t *testing.T) {
	p, err := Parse("own-words.yaml", []byte(ownWordsPolicy))
	require.NoError(t, err)
	const (
		reset    = "connection reset by peer"
		deadline = "net/http: request canceled (Client.Timeout exceeded while awaiting headers)"
	)
	chains := func(t *testing.T, text string) map[string]chain.Chain {
		live := chain.Walk(fmt.Errorf("get mirror: %w", errors.New(text)))
		data, err := json.Marshal(live)
		require.NoError(t, err)
		replayed, err := chain.Decode(data)
		require.NoError(t, err)
		return map[string]chain.Chain{
			"pasted":         chain.FromText(`Get "https://mirror.example/a.tar.gz": read tcp 10.0.0.1:5->10.0.0.2:443: read: ` + text),
			"pasted alone":   chain.FromText(text),
			"live":           live,
			"live, split":    chain.Walk(fmt.Errorf("get mirror: %w", errors.New("read: "+text))),
			"dump":           replayed,
			"joined":         chain.Walk(errors.Join(errors.New("close: ok"), errors.New(text))),
			"logged, prefix": chain.FromText("2026-12-03T02:00:00Z ERROR fetch: " + text),
		}
	}
	ctx := context.Background()
	state := State{Phase: PhaseHeaders, Attempt: 1, TotalExpected: -1}
	for name, c := range chains(t, reset) {
		t.Run("reset/"+name, func(t *testing.T) {
			require.Equal(t, classify.ConnectionReset, classify.Classify(c).Kind, "the built-in reading")
			f := p.Classify(c)
			assert.Equal(t, classify.RateLimited, f.Kind)
			assert.True(t, f.Transient)
			assert.Equal(t, 60*time.Second, f.HTTP.RetryAfter)
			d, err := p.Decide(ctx, Input{Error: f, State: state})
			require.NoError(t, err)
			assert.Equal(t, "throttled", d.Rule)
			assert.Equal(t, 60*time.Second, d.Delay)
		})
	}
	for name, c := range chains(t, deadline) {
		t.Run("deadline/"+name, func(t *testing.T) {
			require.Equal(t, classify.Deadline, classify.Classify(c).Kind, "the built-in reading")
			f := p.Classify(c)
			assert.Equal(t, classify.ServerError, f.Kind)
			assert.False(t, f.Transient)
			d, err := p.Decide(ctx, Input{Error: f, State: state})
			require.NoError(t, err)
			assert.Equal(t, Fail, d.Action)
			assert.Empty(t, d.Rule, "the default")
		})
	}

	// A Go value's own facts are not text: the reset a *net.OpError
	// carries as a syscall.Errno stays a reset.
	op := &net.OpError{Op: "read", Net: "tcp", Err: &os.SyscallError{Syscall: "read", Err: syscall.ECONNRESET}}
	assert.Equal(t, classify.ConnectionReset, p.Classify(chain.Walk(fmt.Errorf("get mirror: %w", op))).Kind)
}
