package otelhttpx

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/embedded"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/faultline-go/faultline/policy"
)

// The attribute keys of a shadowed candidate policy's disagreements; see
// ObserveShadow.
const (
	ShadowDifferenceKey      = attribute.Key("faultline.shadow.difference")
	ShadowActionKey          = attribute.Key("faultline.shadow.active.action")
	ShadowRuleKey            = attribute.Key("faultline.shadow.active.rule")
	ShadowGuardKey           = attribute.Key("faultline.shadow.active.guard")
	ShadowDelayKey           = attribute.Key("faultline.shadow.active.delay")
	ShadowPolicyKey          = attribute.Key("faultline.shadow.active.policy")
	ShadowCandidateActionKey = attribute.Key("faultline.shadow.candidate.action")
	ShadowCandidateRuleKey   = attribute.Key("faultline.shadow.candidate.rule")
	ShadowCandidateGuardKey  = attribute.Key("faultline.shadow.candidate.guard")
	ShadowCandidateDelayKey  = attribute.Key("faultline.shadow.candidate.delay")
	ShadowCandidatePolicyKey = attribute.Key("faultline.shadow.candidate.policy")
	ShadowCandidateErrorKey  = attribute.Key("faultline.shadow.candidate.error")
)

// The names of the shadow's event and metrics.
const (
	EventShadowDisagreement = "faultline.shadow.disagreement"

	MetricShadowDisagreements = "faultline.shadow.disagreements"
	MetricShadowEvaluations   = "faultline.shadow.evaluations"
)

// What a disagreement differs in, the value of ShadowDifferenceKey: the
// first of these that differs.
const (
	DifferenceError  = "error" // the candidate could not evaluate the input
	DifferenceAction = "action"
	DifferenceRule   = "rule"
	DifferenceGuard  = "guard"
	DifferenceDelay  = "delay"
)

// shadowInstruments are the instruments ObserveShadow records to, made
// with the Observer's meter.
type shadowInstruments struct {
	disagreements metric.Int64Counter
	evaluations   metric.Int64ObservableCounter
}

func newShadowInstruments(ins *instruments) shadowInstruments {
	return shadowInstruments{
		disagreements: ins.counter(MetricShadowDisagreements, "{disagreement}",
			"Decisions on which a shadowed candidate policy disagrees with the active one."),
		evaluations: ins.observableCounter(MetricShadowEvaluations, "{evaluation}",
			"Decisions a shadowed candidate policy was evaluated on (the sample)."),
	}
}

// ObserveShadow reports what the candidate policy of s decides
// differently from the active one, without acting on it: each
// disagreement adds one to the counter faultline.shadow.disagreements
// and, when the decision is made inside an operation this Observer
// observes, an event faultline.shadow.disagreement on the operation's
// span; the counter faultline.shadow.evaluations reports how many
// decisions the candidate was evaluated on (s.Stats, read at each
// collection, so the sample costs the hot path nothing). The ratio of the
// two is the share of sampled failures the candidate would decide
// differently. CONVENTIONS.md lists the attributes.
//
// ObserveShadow sets s.OnDisagree, calling the hook that was there after
// its own. Call it before s decides for the first time, as every field of
// a Shadow is set; a Shadow is observed by one Observer, and a candidate
// policy is shadowed by one Shadow at a time (two would report the same
// evaluations counter twice). Unregister stops both reports; the hook
// stays in s, doing nothing.
func (o *Observer) ObserveShadow(s *policy.Shadow) (metric.Registration, error) {
	if s == nil || s.Active == nil || s.Candidate == nil {
		return nil, errors.New("otelhttpx: ObserveShadow needs a Shadow with an Active engine and a Candidate")
	}
	candidate := ShadowCandidatePolicyKey.String(s.Candidate.ID().String())
	reg, err := o.meter.RegisterCallback(func(_ context.Context, ob metric.Observer) error {
		evaluated, _ := s.Stats()
		ob.ObserveInt64(o.shadow.evaluations, int64(evaluated), metric.WithAttributes(candidate))
		return nil
	}, o.shadow.evaluations)
	if err != nil {
		return nil, fmt.Errorf("otelhttpx: observing a shadow: %w", err)
	}
	r := &shadowRegistration{callback: reg}
	next := s.OnDisagree
	s.OnDisagree = func(ctx context.Context, d policy.Disagreement) {
		if !r.off.Load() {
			o.disagreement(ctx, &d)
		}
		if next != nil {
			next(ctx, d)
		}
	}
	return r, nil
}

// disagreement reports one disagreement.
func (o *Observer) disagreement(ctx context.Context, d *policy.Disagreement) {
	a, c := d.Active, d.Candidate
	// Low-cardinality attributes only: actions, rules and guards are
	// bounded by the policies, kinds by the vocabulary; delays go to the
	// span event, not the counter.
	kv := make([]attribute.KeyValue, 0, 12)
	kv = append(kv,
		ShadowDifferenceKey.String(difference(d)),
		semconv.ErrorTypeKey.String(string(d.Input.Error.Kind)),
		ShadowActionKey.String(string(a.Action)),
		ShadowCandidateActionKey.String(string(c.Action)),
		ShadowRuleKey.String(a.Rule),
		ShadowCandidateRuleKey.String(c.Rule),
		ShadowPolicyKey.String(a.Policy.String()),
		ShadowCandidatePolicyKey.String(c.Policy.String()),
	)
	if a.Guard != "" {
		kv = append(kv, ShadowGuardKey.String(a.Guard))
	}
	if c.Guard != "" {
		kv = append(kv, ShadowCandidateGuardKey.String(c.Guard))
	}
	o.shadow.disagreements.Add(ctx, 1, metric.WithAttributes(kv...))

	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	kv = append(kv,
		ShadowDelayKey.Float64(a.Delay.Seconds()),
		ShadowCandidateDelayKey.Float64(c.Delay.Seconds()),
		PhaseKey.String(string(d.Input.State.Phase)),
		AttemptKey.Int(d.Input.State.Attempt))
	if d.CandidateErr != nil {
		kv = append(kv, ShadowCandidateErrorKey.String(d.CandidateErr.Error()))
	}
	span.AddEvent(EventShadowDisagreement, trace.WithAttributes(kv...))
}

// difference names the first thing a disagreement differs in.
func difference(d *policy.Disagreement) string {
	a, c := d.Active, d.Candidate
	switch {
	case d.CandidateErr != nil:
		return DifferenceError
	case a.Action != c.Action:
		return DifferenceAction
	case a.Rule != c.Rule:
		return DifferenceRule
	case a.Guard != c.Guard:
		return DifferenceGuard
	default:
		return DifferenceDelay
	}
}

// shadowRegistration stops what ObserveShadow started.
type shadowRegistration struct {
	embedded.Registration
	callback metric.Registration
	off      atomic.Bool
}

func (r *shadowRegistration) Unregister() error {
	r.off.Store(true)
	return r.callback.Unregister()
}
