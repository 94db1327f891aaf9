package httpx

import (
	"io"
	"net/http"
	"net/http/httptrace"

	"github.com/faultline-go/faultline/internal/redact"
	"github.com/faultline-go/faultline/policy"
)

// Transport is an http.RoundTripper that retries failed requests under
// the policy of Client, for API calls whose bodies are small: a transport
// error, or a response with status 400 or above, is decided like any
// other failure (phase connect, request or headers). When the policy
// gives up on a response, RoundTrip returns that response; when it gives
// up on an error, an *Error. A request whose body cannot be sent again
// (no Request.GetBody) is never retried.
//
// Whether a request that is not idempotent (RFC 9110 §9.2.2: POST, PATCH)
// is sent again is the policy's decision, on the facts request.idempotent,
// request.idempotency_key (an Idempotency-Key header), the phase and
// error.h2.unprocessed. The shipped policies send it again only when
// nothing of it was sent (phase connect), when it carries an
// Idempotency-Key, or when the server said it did not process it
// (REFUSED_STREAM, or a GOAWAY below its stream, RFC 9113 §8.7 and §6.8);
// "retrycheck decide --method POST" decides the same way.
//
// A request made by a Client operation (Client.Open, Client.Do) or by an
// outer Transport goes through once: the outer layer owns the retries,
// so stacking layers does not multiply attempts.
type Transport struct {
	// Base sends the requests; nil means http.DefaultTransport.
	Base http.RoundTripper
	// Client supplies the policy, classifier, hooks, dumps and clock; nil
	// means a zero Client. Its HTTP field is not used.
	Client *Client
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (resp *http.Response, err error) {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	ctx := req.Context()
	if opFrom(ctx) != nil {
		return base.RoundTrip(req)
	}
	c := t.Client
	if c == nil {
		c = &Client{}
	}
	method := req.Method
	if method == "" {
		method = http.MethodGet // as net/http reads it
	}
	o := c.newOp(ctx, method, req.URL.String())
	o.idemKey = hasIdempotencyKey(req.Header)
	o.replayable = req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	ctx = o.observe(ctx)
	defer func() { o.end(o.result(0), err) }()
	octx := withOp(ctx, o)
	for {
		r := req.WithContext(octx)
		if o.attempts > 0 && req.Body != nil && req.Body != http.NoBody {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			r.Body = body
		}
		var tr phaseTrace
		r = r.WithContext(httptrace.WithClientTrace(octx, tr.trace()))
		o.beginAttempt()
		o.onAttempt(o.event(0, nil))
		resp, err := base.RoundTrip(r)
		var cause error
		var phase policy.Phase
		switch {
		case err != nil:
			cause, phase = err, tr.phase()
		case resp.StatusCode >= 400:
			o.resp = policy.Response{Status: resp.StatusCode, Protocol: resp.Proto}
			e := &StatusError{Method: req.Method, URL: o.shown, Status: resp.StatusCode, Header: redact.Header(resp.Header)}
			if d, ok := ParseRetryAfter(resp.Header.Get("Retry-After"), c.now()); ok {
				e.RetryAfter = d
			}
			cause, phase = e, policy.PhaseHeaders
		default:
			o.succeed()
			return resp, nil
		}
		d := o.decide(ctx, cause, phase, 0, -1)
		if d.Action == policy.Fail {
			if resp != nil {
				// The caller gets the response; the observer learns
				// how the operation ended.
				o.end(o.result(0), o.final(ctx, cause, d, nil))
				return resp, nil
			}
			return nil, o.final(ctx, cause, d, nil)
		}
		if resp != nil {
			// Drain a little so the connection can be reused.
			io.CopyN(io.Discard, resp.Body, 64<<10)
			resp.Body.Close()
		}
		if err := o.wait(ctx, d.Delay); err != nil {
			return nil, o.final(ctx, cause, d, err)
		}
	}
}
