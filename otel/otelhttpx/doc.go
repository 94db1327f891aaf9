// Package otelhttpx reports what faultline's httpx does to OpenTelemetry:
// a span for every operation, an event for every attempt, decision,
// resume and restart on it, and metrics of the decisions, resumes,
// restarts and bytes downloaded again. Retries are otherwise invisible in
// production: a download that succeeded after three resumes looks like
// one that never failed.
//
// It lives in a Go module of its own, github.com/faultline-go/faultline/otel,
// so that faultline itself does not depend on OpenTelemetry.
//
// Install it on a Client through its Observe hook:
//
//	o, err := otelhttpx.New() // the global providers; see the options
//	if err != nil { ... }
//	client := &httpx.Client{Observe: o.Observe}
//
// The operation's span is in the context of its requests, so the spans of
// an instrumented HTTP transport (otelhttp) nest under it, one per request.
//
// # The convention
//
// Names follow the OpenTelemetry semantic conventions where one exists
// (error.type, http.request.method, http.request.resend_count, url.full);
// faultline's own are under "faultline.". CONVENTIONS.md in the module
// lists them with their types; they are part of the module's compatibility
// promise.
//
// The operation span is named "faultline " + the method ("faultline GET"),
// of kind internal. It carries http.request.method and url.full (with
// userinfo and signed query parameters masked) from the start, and at the
// end faultline.attempts, faultline.resumes, faultline.restarts,
// faultline.bytes (delivered), faultline.bytes.served,
// faultline.bytes.refetched and, when there was more than one attempt,
// http.request.resend_count (attempts − 1). A failed operation has status
// Error, error.type set to the kind of its last failure (connection_reset,
// http_status, checksum…: see classify.Kind) and the final decision's
// faultline.decision.action, faultline.decision.rule and
// faultline.decision.guard.
//
// Its events, in order:
//
//	faultline.attempt   before each request: faultline.attempt (from 1),
//	                    http.request.resend_count (from 0),
//	                    faultline.offset (body bytes delivered so far)
//	faultline.decision  after each failure: faultline.attempt, error.type,
//	                    faultline.phase, faultline.offset,
//	                    faultline.decision.action, .rule, .guard,
//	                    faultline.decision.delay (seconds)
//	faultline.resume    before a ranged resume: faultline.resume.offset
//	faultline.restart   when the download starts over:
//	                    faultline.bytes.refetched (the bytes to fetch
//	                    again), faultline.restart.reason
//
// The metrics:
//
//	faultline.decisions        counter, {decision}: by faultline.decision.action
//	                           and error.type
//	faultline.resumes          counter, {resume}
//	faultline.restarts         counter, {restart}
//	faultline.bytes.refetched  counter, By: bytes downloaded again by restarts
//
// Each metric also carries http.request.method.
//
// # A candidate policy in the shadow
//
// A policy.Shadow decides with the active policy and evaluates a
// candidate beside it. Observer.ObserveShadow counts the candidate's
// disagreements (faultline.shadow.disagreements, by what differs, kind
// of failure, both actions, rules and policies) and its sample
// (faultline.shadow.evaluations), and adds a faultline.shadow.disagreement
// event to the span of the operation that decided.
package otelhttpx
