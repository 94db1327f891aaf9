package policy

import (
	"context"
	"path/filepath"
	"strings"
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
