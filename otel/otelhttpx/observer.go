package otelhttpx

import (
	"context"
	"errors"
	"fmt"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/faultline-go/faultline/adapters/httpx"
	"github.com/faultline-go/faultline/policy"
)

// ScopeName is the instrumentation scope of the tracer and meter.
const ScopeName = "github.com/faultline-go/faultline/otel/otelhttpx"

// faultline's own attribute keys; see the package documentation.
const (
	AttemptKey        = attribute.Key("faultline.attempt")
	AttemptsKey       = attribute.Key("faultline.attempts")
	ResumesKey        = attribute.Key("faultline.resumes")
	RestartsKey       = attribute.Key("faultline.restarts")
	OffsetKey         = attribute.Key("faultline.offset")
	PhaseKey          = attribute.Key("faultline.phase")
	ActionKey         = attribute.Key("faultline.decision.action")
	RuleKey           = attribute.Key("faultline.decision.rule")
	GuardKey          = attribute.Key("faultline.decision.guard")
	DelayKey          = attribute.Key("faultline.decision.delay")
	ResumeOffsetKey   = attribute.Key("faultline.resume.offset")
	RestartReasonKey  = attribute.Key("faultline.restart.reason")
	BytesKey          = attribute.Key("faultline.bytes")
	BytesServedKey    = attribute.Key("faultline.bytes.served")
	BytesRefetchedKey = attribute.Key("faultline.bytes.refetched")
)

// The event and metric names.
const (
	EventAttempt  = "faultline.attempt"
	EventDecision = "faultline.decision"
	EventResume   = "faultline.resume"
	EventRestart  = "faultline.restart"

	MetricDecisions      = "faultline.decisions"
	MetricResumes        = "faultline.resumes"
	MetricRestarts       = "faultline.restarts"
	MetricBytesRefetched = "faultline.bytes.refetched"
)

// An Option configures New.
type Option func(*config)

type config struct {
	tp trace.TracerProvider
	mp metric.MeterProvider
}

// WithTracerProvider sets the tracer provider; the default is the global
// one (otel.GetTracerProvider).
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) { c.tp = tp }
}

// WithMeterProvider sets the meter provider; the default is the global
// one (otel.GetMeterProvider).
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) { c.mp = mp }
}

// Observer reports httpx operations to OpenTelemetry. Its Observe method is
// an httpx.Client's Observe hook. An Observer is safe for concurrent use
// by any number of clients and operations.
type Observer struct {
	tracer    trace.Tracer
	meter     metric.Meter
	decisions metric.Int64Counter
	resumes   metric.Int64Counter
	restarts  metric.Int64Counter
	refetched metric.Int64Counter
	shadow    shadowInstruments
	// methods holds the method attribute of each method RFC 9110 §9
	// defines, made once: an attribute set costs allocations.
	methods map[string]metric.MeasurementOption
}

// New returns an Observer that reports to the configured providers.
func New(opts ...Option) (*Observer, error) {
	cfg := config{}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.tp == nil {
		cfg.tp = otel.GetTracerProvider()
	}
	if cfg.mp == nil {
		cfg.mp = otel.GetMeterProvider()
	}
	meter := cfg.mp.Meter(ScopeName)
	o := &Observer{tracer: cfg.tp.Tracer(ScopeName), meter: meter, methods: map[string]metric.MeasurementOption{}}
	for _, m := range []string{"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"} {
		o.methods[m] = metric.WithAttributes(semconv.HTTPRequestMethodKey.String(m))
	}
	ins := instruments{meter: meter}
	o.decisions = ins.counter(MetricDecisions, "{decision}",
		"Decisions about failed attempts, by action and kind of failure.")
	o.resumes = ins.counter(MetricResumes, "{resume}",
		"Downloads continued with a ranged request where they stopped.")
	o.restarts = ins.counter(MetricRestarts, "{restart}",
		"Downloads started over from the first byte.")
	o.refetched = ins.counter(MetricBytesRefetched, "By",
		"Bytes downloaded again because a download started over.")
	o.shadow = newShadowInstruments(&ins)
	if ins.err != nil {
		return nil, fmt.Errorf("otelhttpx: creating instruments: %w", ins.err)
	}
	return o, nil
}

// instruments makes a meter's instruments, keeping every error, so that
// New reports all that failed at once.
type instruments struct {
	meter metric.Meter
	err   error
}

// counter makes a counter with unit (UCUM) and description.
func (ins *instruments) counter(name, unit, desc string) metric.Int64Counter {
	c, err := ins.meter.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc))
	ins.err = errors.Join(ins.err, err)
	return c
}

// observableCounter makes an observable counter with unit (UCUM) and
// description.
func (ins *instruments) observableCounter(name, unit, desc string) metric.Int64ObservableCounter {
	c, err := ins.meter.Int64ObservableCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
	ins.err = errors.Join(ins.err, err)
	return c
}

// Observe starts the span of one operation and returns the context that
// carries it and the hooks that report the operation's steps to it.
func (o *Observer) Observe(ctx context.Context, op httpx.Operation) (context.Context, *httpx.Hooks) {
	ctx, span := o.tracer.Start(ctx, "faultline "+op.Method,
		trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(semconv.HTTPRequestMethodKey.String(op.Method), semconv.URLFull(op.URL)))
	// An operation that is not sampled still counts in the metrics, but
	// builds no attributes for events that would be dropped.
	rec := span.IsRecording()
	method, ok := o.methods[op.Method]
	if !ok {
		method = metric.WithAttributes(semconv.HTTPRequestMethodKey.String(op.Method))
	}
	// The hooks run on the goroutine of the operation, one at a time; ctx
	// is the operation's, for the measurements.
	h := &httpx.Hooks{
		OnAttempt: func(e httpx.Event) {
			if !rec {
				return
			}
			span.AddEvent(EventAttempt, trace.WithAttributes(
				AttemptKey.Int(e.Attempt),
				semconv.HTTPRequestResendCount(max(e.Attempt-1, 0)),
				OffsetKey.Int64(e.Offset)))
		},
		OnDecision: func(e httpx.Event) {
			d, in := e.Decision, e.Input
			if rec {
				span.AddEvent(EventDecision, trace.WithAttributes(append(decisionAttrs(d),
					AttemptKey.Int(e.Attempt),
					semconv.ErrorTypeKey.String(string(in.Error.Kind)),
					PhaseKey.String(string(in.State.Phase)),
					OffsetKey.Int64(e.Offset),
					DelayKey.Float64(d.Delay.Seconds()))...))
			}
			o.decisions.Add(ctx, 1, method, metric.WithAttributes(
				ActionKey.String(string(d.Action)),
				semconv.ErrorTypeKey.String(string(in.Error.Kind))))
		},
		OnResume: func(e httpx.Event) {
			if rec {
				span.AddEvent(EventResume, trace.WithAttributes(ResumeOffsetKey.Int64(e.Offset)))
			}
			o.resumes.Add(ctx, 1, method)
		},
		OnRestart: func(e httpx.Event) {
			if rec {
				span.AddEvent(EventRestart, trace.WithAttributes(
					BytesRefetchedKey.Int64(e.Offset), RestartReasonKey.String(e.Reason)))
			}
			o.restarts.Add(ctx, 1, method)
			o.refetched.Add(ctx, e.Offset, method)
		},
		OnEnd: func(res httpx.Result, err error) {
			if rec {
				endSpan(span, res, err)
			}
			span.End()
		},
	}
	return ctx, h
}

// endSpan sets what the operation's span says at its end.
func endSpan(span trace.Span, res httpx.Result, err error) {
	span.SetAttributes(
		AttemptsKey.Int(res.Attempts), ResumesKey.Int(res.Resumes), RestartsKey.Int(res.Restarts),
		BytesKey.Int64(res.Bytes), BytesServedKey.Int64(res.BytesServed),
		BytesRefetchedKey.Int64(res.BytesRefetched))
	if res.Attempts > 1 {
		span.SetAttributes(semconv.HTTPRequestResendCount(res.Attempts - 1))
	}
	if err == nil {
		return
	}
	kind := "_OTHER" // semconv's value when the type is not known
	var he *httpx.Error
	if errors.As(err, &he) {
		if n := len(he.Trail); n > 0 {
			kind = string(he.Trail[n-1].Kind)
		}
		span.SetAttributes(decisionAttrs(he.Decision)...)
	}
	span.SetAttributes(semconv.ErrorTypeKey.String(kind))
	// The message has its secrets masked by httpx.
	span.SetStatus(codes.Error, err.Error())
}

// decisionAttrs are the attributes of a decision, leaving out what is
// empty.
func decisionAttrs(d policy.Decision) []attribute.KeyValue {
	a := []attribute.KeyValue{ActionKey.String(string(d.Action))}
	if d.Rule != "" {
		a = append(a, RuleKey.String(d.Rule))
	}
	if d.Guard != "" {
		a = append(a, GuardKey.String(d.Guard))
	}
	return a
}
