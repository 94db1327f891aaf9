package otelhttpx_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/faultline-go/faultline/adapters/httpx"
	"github.com/faultline-go/faultline/classify"
	"github.com/faultline-go/faultline/faulttest"
	"github.com/faultline-go/faultline/otel/otelhttpx"
	"github.com/faultline-go/faultline/policies"
	"github.com/faultline-go/faultline/policy"
)

// strict gives up on an interrupted body, where the default policy
// resumes it.
const strict = `name: strict
version: "2"
rules:
  - name: give-up-body
    when: phase == 'body'
    action: fail
  - name: transport
    when: error.transient
    action: retry
`

// points returns the data points of one counter.
func (tel *telemetry) points(t *testing.T, name string) []metricdata.DataPoint[int64] {
	var rm metricdata.ResourceMetrics
	require.NoError(t, tel.reader.Collect(context.Background(), &rm))
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == name {
				return m.Data.(metricdata.Sum[int64]).DataPoints
			}
		}
	}
	return nil
}

func parse(t *testing.T, src string) *policy.Policy {
	t.Helper()
	p, err := policy.Parse("candidate.yaml", []byte(src))
	require.NoError(t, err)
	return p
}

// TestShadowDisagreementMetric: a download reset mid-body, decided by a
// Shadow whose candidate would give up where the default policy resumes.
// The download finishes on the active decision; the disagreement is
// counted with both decisions and both policies, shows as an event on the
// operation's span, and still reaches the hook set before; the sample is
// counted.
func TestShadowDisagreementMetric(t *testing.T) {
	for name, proto := range map[string]faulttest.Proto{"h1": faulttest.HTTP1, "h2c": faulttest.HTTP2} {
		t.Run(name, func(t *testing.T) {
			tel := newTelemetry(t)
			srv, err := faulttest.Start(faulttest.Config{Content: make([]byte, 200_000),
				Script: []faulttest.Fault{{Kind: faulttest.Reset, At: 80_000}}})
			require.NoError(t, err)
			defer srv.Close()

			var heard []policy.Disagreement
			cand := parse(t, strict)
			s := &policy.Shadow{Active: policy.NewEngine(policies.Default()), Candidate: cand,
				OnDisagree: func(_ context.Context, d policy.Disagreement) { heard = append(heard, d) }}
			reg, err := tel.obs.ObserveShadow(s)
			require.NoError(t, err)
			defer reg.Unregister()

			c := &httpx.Client{HTTP: srv.Client(proto), Policy: s, Observe: tel.obs.Observe, Sleep: noWait}
			res, err := c.Do(t.Context(), srv.URL, readAll, nil)
			require.NoError(t, err, "the active policy decides: resume")
			require.Equal(t, 1, res.Resumes)

			require.Len(t, heard, 1, "the hook set before ObserveShadow is still called")
			dis := heard[0]
			require.Equal(t, policy.Resume, dis.Active.Action)
			require.Equal(t, policy.Fail, dis.Candidate.Action)
			kind := string(dis.Input.Error.Kind) // how a reset shows depends on the protocol and the read
			require.NotEmpty(t, kind)

			want := set(
				attribute.String("faultline.shadow.difference", "action"),
				attribute.String("error.type", kind),
				attribute.String("faultline.shadow.active.action", "resume"),
				attribute.String("faultline.shadow.active.rule", "resume-body"),
				attribute.String("faultline.shadow.active.policy", policies.Default().ID().String()),
				attribute.String("faultline.shadow.candidate.action", "fail"),
				attribute.String("faultline.shadow.candidate.rule", "give-up-body"),
				attribute.String("faultline.shadow.candidate.policy", cand.ID().String()),
			)
			sums := tel.sums(t)
			assert.Equal(t, map[attribute.Distinct]int64{want: 1}, sums["faultline.shadow.disagreements"])
			assert.Equal(t, map[attribute.Distinct]int64{
				set(attribute.String("faultline.shadow.candidate.policy", cand.ID().String())): 1,
			}, sums["faultline.shadow.evaluations"])
			assert.Contains(t, cand.ID().String(), "strict 2 (", "the candidate's name, version and digest")

			spans := tel.spans.Ended()
			require.Len(t, spans, 1)
			var events []map[attribute.Key]attribute.Value
			for _, ev := range spans[0].Events() {
				if ev.Name == "faultline.shadow.disagreement" {
					events = append(events, attrs(ev.Attributes))
				}
			}
			require.Len(t, events, 1, "the disagreement is an event on the operation's span")
			ea := events[0]
			assert.Equal(t, "give-up-body", ea["faultline.shadow.candidate.rule"].AsString())
			assert.Equal(t, "resume", ea["faultline.shadow.active.action"].AsString())
			assert.Equal(t, "body", ea["faultline.phase"].AsString())
			assert.Equal(t, int64(1), ea["faultline.attempt"].AsInt64())
			assert.Equal(t, dis.Active.Delay.Seconds(), ea["faultline.shadow.active.delay"].AsFloat64())
			assert.Equal(t, 0.0, ea["faultline.shadow.candidate.delay"].AsFloat64())
		})
	}
}

// resetMidBody is a reset in the middle of a resumable body.
func resetMidBody(attempt int) policy.Input {
	return policy.Input{
		Error: classify.Facts{Kind: classify.ConnectionReset, Transient: true, Errno: "ECONNRESET"},
		State: policy.State{Phase: policy.PhaseBody, Attempt: attempt, BytesReceived: 1 << 20, TotalExpected: 4 << 20,
			Request:  policy.Request{Method: "GET", Idempotent: true},
			Response: policy.Response{Status: 200, AcceptRanges: true, Validator: `"v1"`, Resumable: true}},
	}
}

// TestShadowSampledAndDifferences: with Every 3 the evaluations counter
// counts the sample, not the decisions; each kind of difference is named;
// decisions made outside an operation (no span) are counted all the same.
func TestShadowSampledAndDifferences(t *testing.T) {
	src, err := policies.FS.ReadFile("default.yaml")
	require.NoError(t, err)
	for _, tc := range []struct {
		name, candidate string
		difference      string
		disagreements   int64
	}{
		{"agrees", "# a copy\n" + string(src), "", 0},
		{"action", strict, "action", 3},
		{"rule", "name: r\nrules:\n  - {name: other, when: 'true', action: resume}\n", "rule", 3},
		{"delay", "name: d\nrules:\n  - {name: resume-body, when: 'true', action: resume, delay: duration('7s')}\n", "delay", 3},
		{"error", "name: broken\nrules:\n  - {name: tier, when: \"error.labels['tier'] == 'x'\", action: retry}\n", "error", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tel := newTelemetry(t)
			cand := parse(t, tc.candidate)
			s := &policy.Shadow{Active: policy.NewEngine(policies.Default()), Candidate: cand, Every: 3}
			reg, err := tel.obs.ObserveShadow(s)
			require.NoError(t, err)
			defer reg.Unregister()
			for i := range 7 {
				d, err := s.Decide(context.Background(), resetMidBody(1+i%2))
				require.NoError(t, err)
				require.Equal(t, policy.Resume, d.Action)
			}
			sums := tel.sums(t)
			assert.Equal(t, map[attribute.Distinct]int64{
				set(attribute.String("faultline.shadow.candidate.policy", cand.ID().String())): 3,
			}, sums["faultline.shadow.evaluations"], "the 1st, 4th and 7th of 7")
			var total int64
			for _, p := range tel.points(t, otelhttpx.MetricShadowDisagreements) {
				total += p.Value
				diff, _ := p.Attributes.Value(otelhttpx.ShadowDifferenceKey)
				assert.Equal(t, tc.difference, diff.AsString())
				if tc.difference == otelhttpx.DifferenceError {
					g, _ := p.Attributes.Value(otelhttpx.ShadowCandidateGuardKey)
					assert.Equal(t, policy.GuardError, g.AsString(), "a candidate that cannot evaluate fails with guard error")
				}
				pol, _ := p.Attributes.Value(otelhttpx.ShadowCandidatePolicyKey)
				assert.Equal(t, cand.ID().String(), pol.AsString())
			}
			assert.Equal(t, tc.disagreements, total)
		})
	}
}

// TestShadowUnregister: after Unregister neither counter moves, and a
// hook set before keeps being called.
func TestShadowUnregister(t *testing.T) {
	tel := newTelemetry(t)
	heard := 0
	s := &policy.Shadow{Active: policy.NewEngine(policies.Default()), Candidate: parse(t, strict),
		OnDisagree: func(context.Context, policy.Disagreement) { heard++ }}
	reg, err := tel.obs.ObserveShadow(s)
	require.NoError(t, err)
	_, err = s.Decide(context.Background(), resetMidBody(1))
	require.NoError(t, err)
	require.NoError(t, reg.Unregister())
	_, err = s.Decide(context.Background(), resetMidBody(1))
	require.NoError(t, err)

	assert.Equal(t, 2, heard)
	sums := tel.sums(t)
	var total int64
	for _, v := range sums["faultline.shadow.disagreements"] {
		total += v
	}
	assert.Equal(t, int64(1), total, "only the disagreement before Unregister")
	assert.Empty(t, sums["faultline.shadow.evaluations"], "the callback is gone")
}

// TestShadowNeedsPolicies: a Shadow without an engine or a candidate is
// refused, not observed to no effect.
func TestShadowNeedsPolicies(t *testing.T) {
	tel := newTelemetry(t)
	for _, s := range []*policy.Shadow{nil, {}, {Active: policy.NewEngine(policies.Default())}, {Candidate: parse(t, strict)}} {
		_, err := tel.obs.ObserveShadow(s)
		assert.ErrorContains(t, err, "ObserveShadow needs a Shadow with an Active engine and a Candidate")
	}
}
