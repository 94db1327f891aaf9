package policy

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faultline-go/faultline/classify"
)

func mustParse(t testing.TB, src string) *Policy {
	t.Helper()
	p, err := Parse("test.yaml", []byte(src))
	if err != nil {
		if list, ok := err.(ErrorList); ok {
			for _, e := range list {
				t.Log(e)
			}
		}
		t.Fatal(err)
	}
	return p
}

// TestRuntimeCostLimit proves the runtime cost limit stops an expensive
// evaluation. The load-time estimate already bounds every expression under
// the input caps, so the test evaluates past the caps (as a bug in them
// would): 100,000 history entries against a condition estimated at a few
// hundred. cel-go v0.31.0 silently ignores CostLimit when state tracking is
// on, which is why Explain evaluates rule by rule instead; both paths are
// checked here.
func TestRuntimeCostLimit(t *testing.T) {
	p := mustParse(t, `name: costly
rules:
  - name: scan
    when: history.exists(h, h == 'checksum')
    action: retry
default: fail
`)
	in := Input{State: State{Attempt: 1, History: make([]string, 100_000)}}
	act := newActivation(&in, 0, &p.limits)

	_, err := p.firstMatch(context.Background(), act)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "cost limit exceeded")

	_, trace, err := p.traceRules(context.Background(), act)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "cost limit exceeded")
	var ee *EvalError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, "scan", ee.Rule)
	assert.Contains(t, trace[0].Note, "evaluation failed")

	// Within the caps the same rule evaluates fine.
	d, err := p.Decide(context.Background(), in)
	require.NoError(t, err)
	assert.Equal(t, Fail, d.Action)
	assert.Equal(t, "", d.Rule)
}

func TestContextStopsEvaluation(t *testing.T) {
	p := mustParse(t, `name: ctx
rules:
  - name: loop
    when: >
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].exists(i, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].exists(j, i * j == 1000))
    action: retry
`)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := p.Decide(ctx, Input{State: State{Attempt: 1}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "cancel")
}

// TestVariablesAndTypes checks the CEL environment: native facts with
// durations, the attempt counters, variables building on variables, the
// duration helpers and the strings extension.
func TestVariablesAndTypes(t *testing.T) {
	p := mustParse(t, `name: env
variables:
  slow: error.http.retry_after > duration('1s')
  slow_and_late: slow && attempt.elapsed >= duration('1m')
rules:
  - name: all-variables
    when: >
      slow_and_late && phase == 'headers' && attempt.number == 2
      && attempt.bytes_received == 10 && attempt.total_expected == 20
      && history == ['timeout'] && request.idempotent && response.status == 503
      && backoff == duration('500ms') && time_left == duration('1h') && !caller_done
      && limits.max_attempts == 5 && error.h2.code.lowerAscii() == 'no_error'
      && error.labels['tier'] == 'gold' && error.layers[0].via == 'root'
      && attempt.last_delay == duration('250ms')
    action: retry
    delay: min(max(backoff, error.http.retry_after), duration('3s'))
    reason_expr: "'waited ' + string(attempt.elapsed)"
default: fail
`)
	in := Input{
		Error: classify.Facts{
			Kind:   classify.HTTPStatus,
			HTTP:   classify.HTTP{Status: 503, RetryAfter: 2 * time.Second},
			H2:     classify.H2{Code: "NO_ERROR"},
			Labels: map[string]string{"tier": "gold"},
			Layers: []classify.Layer{{Via: "root"}},
		},
		State: State{
			Phase: PhaseHeaders, Attempt: 2, Elapsed: time.Minute, BytesReceived: 10, TotalExpected: 20,
			History: []string{"timeout"}, TimeLeft: time.Hour, LastDelay: 250 * time.Millisecond,
			Request: Request{Idempotent: true}, Response: Response{Status: 503},
		},
	}
	d, err := p.Decide(context.Background(), in)
	require.NoError(t, err)
	assert.Equal(t, Decision{Action: Retry, Delay: 2 * time.Second, Rule: "all-variables", Reason: "waited 60s", Policy: p.ID()}, d)

	in.State.Attempt = 3
	d, err = p.Explain(context.Background(), in)
	require.NoError(t, err)
	assert.Equal(t, Fail, d.Action)
	assert.Equal(t, "", d.Rule)
	assert.Equal(t, []RuleResult{{Rule: "all-variables"}}, d.Trace)
}

// TestMissingKeyFails: a rule reading a label that is not there fails to
// evaluate; Decide names the rule and fails the operation.
func TestMissingKeyFails(t *testing.T) {
	p := mustParse(t, `name: missing
rules:
  - name: first
    when: error.kind == 'dns'
    action: retry
  - name: labels
    when: error.labels['tier'] == 'gold'
    action: retry
  - name: after
    when: true
    action: retry
`)
	d, err := p.Decide(context.Background(), Input{Error: classify.Facts{Kind: classify.Timeout}, State: State{Attempt: 1}})
	require.Error(t, err)
	assert.Equal(t, Decision{Action: Fail, Rule: "labels", Guard: GuardError, Reason: err.Error(), Policy: p.ID()}, d)
	assert.Contains(t, err.Error(), `rule "labels": when: no such key: tier`)

	d, err = p.Explain(context.Background(), Input{Error: classify.Facts{Kind: classify.Timeout}, State: State{Attempt: 1}})
	require.Error(t, err)
	require.Len(t, d.Trace, 3)
	assert.False(t, d.Trace[0].Matched)
	assert.Contains(t, d.Trace[1].Note, "evaluation failed")
	assert.Contains(t, d.Trace[2].Note, `not evaluated: rule "labels" failed`)
}

// TestDecideMatchesExplain compares the composed program with rule-by-rule
// evaluation over every combination of a few facts.
func TestDecideMatchesExplain(t *testing.T) {
	p := mustParse(t, `name: many
variables:
  net: error.kind in ['connection_reset', 'timeout']
rules:
  - {name: a, when: "net && phase == 'body'", action: resume}
  - {name: b, when: "net // a comment must not swallow the rest", action: retry}
  - {name: c, when: "error.http.status >= 500", action: retry, delay: "duration('2s')"}
  - {name: d, when: "error.http.status == 404", action: fail}
default: retry
`)
	kinds := []classify.Kind{classify.ConnectionReset, classify.Timeout, classify.HTTPStatus, classify.DNS}
	phases := []Phase{PhaseConnect, PhaseBody}
	statuses := []int{0, 404, 503}
	n := 0
	for _, k := range kinds {
		for _, ph := range phases {
			for _, st := range statuses {
				in := Input{Error: classify.Facts{Kind: k, HTTP: classify.HTTP{Status: st}},
					State: State{Phase: ph, Attempt: 1, Response: Response{Resumable: true}}}
				d1, err1 := p.Decide(context.Background(), in)
				d2, err2 := p.Explain(context.Background(), in)
				require.NoError(t, err1)
				require.NoError(t, err2)
				require.Len(t, d2.Trace, 4)
				d2.Trace = nil
				assert.Equal(t, d1, d2, "%v", in)
				n++
			}
		}
	}
	assert.Equal(t, 24, n)
}

func TestBoundInput(t *testing.T) {
	long := strings.Repeat("é", 400) // 800 bytes
	layers := make([]classify.Layer, 40)
	layers[1].Message = long
	labels := map[string]string{}
	for i := range 20 {
		labels[string(rune('a'+i))] = "v"
	}
	history := make([]string, 40)
	history[39] = "last"
	in := Input{Error: classify.Facts{Message: long, Layers: layers, Labels: labels}, State: State{History: history}}
	out := boundInput(in)
	assert.Len(t, out.Error.Layers, capLayers)
	assert.LessOrEqual(t, len(out.Error.Message), capText)
	assert.Equal(t, strings.Repeat("é", capText/2), out.Error.Message, "cut on a character boundary")
	assert.LessOrEqual(t, len(out.Error.Layers[1].Message), capText)
	assert.Equal(t, long, in.Error.Layers[1].Message, "the caller's slice is not modified")
	assert.Len(t, out.Error.Labels, capLabels)
	assert.Len(t, out.State.History, capHistory)
	assert.Equal(t, "last", out.State.History[capHistory-1], "the most recent history is kept")
}
