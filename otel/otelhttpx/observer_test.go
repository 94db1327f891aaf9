package otelhttpx_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"

	"github.com/faultline-go/faultline/adapters/httpx"
	"github.com/faultline-go/faultline/faulttest"
	"github.com/faultline-go/faultline/otel/otelhttpx"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// telemetry is an Observer over the SDK's in-memory exporters.
type telemetry struct {
	spans  *tracetest.SpanRecorder
	reader *sdkmetric.ManualReader
	obs    *otelhttpx.Observer
}

// newTelemetry returns an Observer whose tracer provider is made with
// opts, recording every span it ends.
func newTelemetry(t *testing.T, opts ...sdktrace.TracerProviderOption) *telemetry {
	tel := &telemetry{spans: tracetest.NewSpanRecorder(), reader: sdkmetric.NewManualReader()}
	tp := sdktrace.NewTracerProvider(append(opts, sdktrace.WithSpanProcessor(tel.spans))...)
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(tel.reader))
	t.Cleanup(func() {
		tp.Shutdown(context.Background())
		mp.Shutdown(context.Background())
	})
	obs, err := otelhttpx.New(otelhttpx.WithTracerProvider(tp), otelhttpx.WithMeterProvider(mp))
	require.NoError(t, err)
	tel.obs = obs
	return tel
}

// sums returns every counter's data points, by metric name, each point as
// its attributes and value.
func (tel *telemetry) sums(t *testing.T) map[string]map[attribute.Distinct]int64 {
	var rm metricdata.ResourceMetrics
	require.NoError(t, tel.reader.Collect(context.Background(), &rm))
	out := map[string]map[attribute.Distinct]int64{}
	for _, sm := range rm.ScopeMetrics {
		assert.Equal(t, otelhttpx.ScopeName, sm.Scope.Name)
		for _, m := range sm.Metrics {
			sum, ok := m.Data.(metricdata.Sum[int64])
			require.True(t, ok, "%s is a sum of int64", m.Name)
			assert.True(t, sum.IsMonotonic, m.Name)
			out[m.Name] = map[attribute.Distinct]int64{}
			for _, p := range sum.DataPoints {
				out[m.Name][p.Attributes.Equivalent()] = p.Value
			}
		}
	}
	return out
}

func set(kv ...attribute.KeyValue) attribute.Distinct {
	s := attribute.NewSet(kv...)
	return s.Equivalent()
}

func attrs(kvs []attribute.KeyValue) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range kvs {
		m[kv.Key] = kv.Value
	}
	return m
}

var get = attribute.String("http.request.method", "GET")

// noWait is an httpx.Client's Sleep that does not wait, so that retries
// follow at once.
func noWait(ctx context.Context, _ time.Duration) error { return ctx.Err() }

// readAll is a consumer of httpx.Client.Do that reads the body to its end.
func readAll(_ context.Context, r io.Reader) error {
	_, err := io.Copy(io.Discard, r)
	return err
}

// TestResumesTwiceThenFails follows a download that is reset twice,
// resumes twice, and then gets a 404: the span, its events and the
// metrics must carry the documented names and values.
func TestResumesTwiceThenFails(t *testing.T) {
	tel := newTelemetry(t)
	content := make([]byte, 300_000)
	srv, err := faulttest.Start(faulttest.Config{Content: content, Script: []faulttest.Fault{
		{Kind: faulttest.Reset, At: 100_000},
		{Kind: faulttest.Reset, At: 50_000},
		{Kind: faulttest.Status, Status: 404},
	}})
	require.NoError(t, err)
	defer srv.Close()

	c := &httpx.Client{HTTP: srv.Client(faulttest.HTTP1), Observe: tel.obs.Observe, Sleep: noWait}
	res, err := c.Do(t.Context(), srv.URL+"?X-Amz-Signature=secret", readAll, nil)
	var he *httpx.Error
	require.ErrorAs(t, err, &he)
	require.Len(t, he.Trail, 3)

	spans := tel.spans.Ended()
	require.Len(t, spans, 1)
	sp := spans[0]
	assert.Equal(t, "faultline GET", sp.Name())
	assert.Equal(t, codes.Error, sp.Status().Code)
	a := attrs(sp.Attributes())
	assert.Equal(t, "GET", a["http.request.method"].AsString())
	assert.NotContains(t, a["url.full"].AsString(), "secret", "the URL's secrets are masked")
	assert.Equal(t, int64(3), a["faultline.attempts"].AsInt64())
	assert.Equal(t, int64(2), a["faultline.resumes"].AsInt64())
	assert.Equal(t, int64(0), a["faultline.restarts"].AsInt64())
	assert.Equal(t, int64(2), a["http.request.resend_count"].AsInt64())
	assert.Equal(t, "http_status", a["error.type"].AsString())
	assert.Equal(t, "fail", a["faultline.decision.action"].AsString())
	assert.Equal(t, "http-client-error", a["faultline.decision.rule"].AsString())
	assert.Equal(t, res.BytesServed, a["faultline.bytes.served"].AsInt64())
	assert.Positive(t, res.BytesServed)
	assert.Equal(t, int64(0), a["faultline.bytes.refetched"].AsInt64())

	var names []string
	for _, ev := range sp.Events() {
		names = append(names, ev.Name)
	}
	assert.Equal(t, []string{
		"faultline.attempt", "faultline.decision", "faultline.resume",
		"faultline.attempt", "faultline.decision", "faultline.resume",
		"faultline.attempt", "faultline.decision",
	}, names)
	var attempt, decision, resume int
	for _, ev := range sp.Events() {
		ea := attrs(ev.Attributes)
		switch ev.Name {
		case "faultline.attempt":
			attempt++
			assert.Equal(t, int64(attempt), ea["faultline.attempt"].AsInt64())
			assert.Equal(t, int64(attempt-1), ea["http.request.resend_count"].AsInt64())
		case "faultline.decision":
			step := he.Trail[decision]
			decision++
			assert.Equal(t, string(step.Action), ea["faultline.decision.action"].AsString())
			assert.Equal(t, step.Rule, ea["faultline.decision.rule"].AsString())
			assert.Equal(t, string(step.Kind), ea["error.type"].AsString())
			assert.Equal(t, string(step.Phase), ea["faultline.phase"].AsString())
			assert.Equal(t, step.Offset, ea["faultline.offset"].AsInt64())
			assert.Equal(t, step.Delay.Seconds(), ea["faultline.decision.delay"].AsFloat64())
		case "faultline.resume":
			step := he.Trail[resume]
			resume++
			assert.Equal(t, step.Offset, ea["faultline.resume.offset"].AsInt64(), "resumes where the failure left it")
			assert.Positive(t, ea["faultline.resume.offset"].AsInt64())
		}
	}

	sums := tel.sums(t)
	resumeKind := string(he.Trail[0].Kind) // a reset, or an unexpected EOF on some reads
	decisions := sums["faultline.decisions"]
	total := int64(0)
	for _, v := range decisions {
		total += v
	}
	assert.Equal(t, int64(3), total)
	assert.Equal(t, int64(1), decisions[set(get, attribute.String("faultline.decision.action", "fail"), attribute.String("error.type", "http_status"))])
	if resumeKind == string(he.Trail[1].Kind) {
		assert.Equal(t, int64(2), decisions[set(get, attribute.String("faultline.decision.action", "resume"), attribute.String("error.type", resumeKind))])
	}
	assert.Equal(t, int64(2), sums["faultline.resumes"][set(get)])
	assert.Zero(t, sums["faultline.restarts"][set(get)])
}

// TestRestartRefetches: a server that changes the file between two
// requests makes the download start over; the bytes delivered before are
// downloaded again, and the restart and those bytes are reported.
func TestRestartRefetches(t *testing.T) {
	tel := newTelemetry(t)
	content := make([]byte, 200_000)
	for i := range content {
		content[i] = byte(i)
	}
	srv, err := faulttest.Start(faulttest.Config{Content: content, Script: []faulttest.Fault{
		{Kind: faulttest.Reset, At: 80_000},
		{Kind: faulttest.ChangeETag},
	}})
	require.NoError(t, err)
	defer srv.Close()

	c := &httpx.Client{HTTP: srv.Client(faulttest.HTTP2), Observe: tel.obs.Observe, Sleep: noWait}
	res, err := c.Do(t.Context(), srv.URL, readAll, nil)
	require.NoError(t, err)
	require.Equal(t, 1, res.Restarts)
	require.Positive(t, res.BytesRefetched)

	spans := tel.spans.Ended()
	require.Len(t, spans, 1)
	sp := spans[0]
	assert.Equal(t, codes.Unset, sp.Status().Code)
	a := attrs(sp.Attributes())
	assert.Equal(t, int64(1), a["faultline.restarts"].AsInt64())
	assert.Equal(t, res.BytesRefetched, a["faultline.bytes.refetched"].AsInt64())
	_, failed := a["error.type"]
	assert.False(t, failed, "a download that succeeded has no error.type")
	var restarts int
	for _, ev := range sp.Events() {
		if ev.Name == "faultline.restart" {
			restarts++
			ea := attrs(ev.Attributes)
			assert.Equal(t, res.BytesRefetched, ea["faultline.bytes.refetched"].AsInt64())
			assert.NotEmpty(t, ea["faultline.restart.reason"].AsString())
		}
	}
	assert.Equal(t, 1, restarts)

	sums := tel.sums(t)
	assert.Equal(t, int64(1), sums["faultline.restarts"][set(get)])
	assert.Equal(t, res.BytesRefetched, sums["faultline.bytes.refetched"][set(get)])
}

// TestSpanIsParent: the requests run under the operation's span, so the
// spans of an instrumented transport nest under it.
func TestSpanIsParent(t *testing.T) {
	tel := newTelemetry(t)
	ctx, h := tel.obs.Observe(t.Context(), httpx.Operation{Method: "GET", URL: "http://example.test/"})
	sc := trace.SpanContextFromContext(ctx)
	assert.True(t, sc.IsValid())
	h.OnEnd(httpx.Result{Attempts: 1}, nil)
	spans := tel.spans.Ended()
	require.Len(t, spans, 1)
	assert.Equal(t, sc.SpanID(), spans[0].SpanContext().SpanID())
}

// TestUnsampledStillCounts: an operation whose span is not sampled makes
// no span and no events, but its decisions and resumes are counted all
// the same.
func TestUnsampledStillCounts(t *testing.T) {
	tel := newTelemetry(t, sdktrace.WithSampler(sdktrace.NeverSample()))

	srv, err := faulttest.Start(faulttest.Config{Content: make([]byte, 100_000),
		Script: []faulttest.Fault{{Kind: faulttest.Reset, At: 30_000}}})
	require.NoError(t, err)
	defer srv.Close()
	c := &httpx.Client{HTTP: srv.Client(faulttest.HTTP1), Observe: tel.obs.Observe, Sleep: noWait}
	res, err := c.Do(t.Context(), srv.URL, readAll, nil)
	require.NoError(t, err)
	require.Equal(t, 1, res.Resumes)

	assert.Empty(t, tel.spans.Ended(), "not sampled")
	sums := tel.sums(t)
	assert.Equal(t, int64(1), sums["faultline.resumes"][set(get)])
	var decisions int64
	for _, v := range sums["faultline.decisions"] {
		decisions += v
	}
	assert.Equal(t, int64(1), decisions)
}

// instrumentLog is a meter provider that records the unit and description
// of each instrument made, and refuses to make those named in refuse.
type instrumentLog struct {
	noop.MeterProvider
	made   map[string][2]string // name → unit, description
	refuse map[string]bool
}

func (l *instrumentLog) Meter(string, ...metric.MeterOption) metric.Meter {
	return instrumentMeter{log: l}
}

type instrumentMeter struct {
	noop.Meter
	log *instrumentLog
}

func (m instrumentMeter) made(name, unit, desc string) error {
	m.log.made[name] = [2]string{unit, desc}
	if m.log.refuse[name] {
		return errors.New("refused " + name)
	}
	return nil
}

func (m instrumentMeter) Int64Counter(name string, opts ...metric.Int64CounterOption) (metric.Int64Counter, error) {
	cfg := metric.NewInt64CounterConfig(opts...)
	return noop.Int64Counter{}, m.made(name, cfg.Unit(), cfg.Description())
}

func (m instrumentMeter) Int64ObservableCounter(name string, opts ...metric.Int64ObservableCounterOption) (metric.Int64ObservableCounter, error) {
	cfg := metric.NewInt64ObservableCounterConfig(opts...)
	return noop.Int64ObservableCounter{}, m.made(name, cfg.Unit(), cfg.Description())
}

// TestInstruments: New makes every metric of CONVENTIONS.md with its
// documented unit and a description, and when the meter refuses some, the
// error names every one refused.
func TestInstruments(t *testing.T) {
	units := map[string]string{
		"faultline.decisions":            "{decision}",
		"faultline.resumes":              "{resume}",
		"faultline.restarts":             "{restart}",
		"faultline.bytes.refetched":      "By",
		"faultline.shadow.disagreements": "{disagreement}",
		"faultline.shadow.evaluations":   "{evaluation}",
	}
	log := &instrumentLog{made: map[string][2]string{}}
	_, err := otelhttpx.New(otelhttpx.WithMeterProvider(log))
	require.NoError(t, err)
	require.Len(t, log.made, len(units))
	for name, unit := range units {
		assert.Equal(t, unit, log.made[name][0], name)
		assert.NotEmpty(t, log.made[name][1], "%s has a description", name)
	}

	log = &instrumentLog{made: map[string][2]string{},
		refuse: map[string]bool{"faultline.restarts": true, "faultline.shadow.evaluations": true}}
	obs, err := otelhttpx.New(otelhttpx.WithMeterProvider(log))
	assert.Nil(t, obs)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "refused faultline.restarts")
	assert.Contains(t, err.Error(), "refused faultline.shadow.evaluations")
	assert.Len(t, log.made, len(units), "the instruments after a refused one are still made")
}
