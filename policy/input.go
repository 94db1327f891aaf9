package policy

import (
	"time"

	"github.com/faultline-go/faultline/classify"
)

// Phase is where in an operation a failure happened.
type Phase string

// The phases of a download-and-unpack operation.
const (
	PhaseConnect Phase = "connect" // dialing, TLS handshake
	PhaseRequest Phase = "request" // writing the request
	PhaseHeaders Phase = "headers" // waiting for or reading response headers
	PhaseBody    Phase = "body"    // reading the response body
	PhaseUnpack  Phase = "unpack"  // the consumer (decompressor, extractor) failed
	PhaseCommit  Phase = "commit"  // moving the result into place
)

// Input is what a policy decides on: the failure's facts and the
// operation's state. It is plain data, so a recorded Input replays exactly.
type Input struct {
	Error classify.Facts `json:"error"`
	State State          `json:"state"`
}

// State is the operation's state when the failure happened.
type State struct {
	Phase Phase `json:"phase" cel:"phase"`
	// Attempt is the number of the attempt that just failed, from 1.
	Attempt int `json:"attempt" cel:"attempt"`
	// Resumes and Restarts count what the operation did so far.
	Resumes  int `json:"resumes" cel:"resumes"`
	Restarts int `json:"restarts" cel:"restarts"`
	// Refetches counts the responses that sent the whole body again after
	// bytes were delivered (the server ignored Range, or there was no
	// validator to ask with), whose prefix was checked and skipped.
	Refetches int `json:"refetches,omitempty" cel:"refetches"`
	// Elapsed is the time since the operation started.
	Elapsed time.Duration `json:"elapsed" cel:"elapsed"`
	// BytesReceived is how many bytes of the body were delivered so far
	// (the resume offset).
	BytesReceived int64 `json:"bytes_received" cel:"bytes_received"`
	// TotalExpected is the announced length. Its zero value means
	// unknown, so that a State made without knowing it (State{}) does not
	// say that nothing was expected; a negative value is unknown too, as
	// callers and dumps before version 4 wrote it. An announced length of
	// 0 is TotalExpected 0 with TotalKnown. Policies see attempt.
	// total_expected: the length, or -1 when unknown.
	TotalExpected int64 `json:"total_expected" cel:"total_expected"`
	// TotalKnown says that a TotalExpected of 0 is an announced length,
	// not the zero value. A positive TotalExpected is known without it.
	TotalKnown bool `json:"total_known,omitempty" cel:"-"`
	// Progress is what the attempt that just failed achieved, or nil when
	// it was not recorded (a dump of schema 2 or older, pasted text, a
	// test input that leaves it out): see Progress and NoProgress.
	Progress *Progress `json:"progress,omitempty"`
	// BytesRefetched counts bytes downloaded again by restarts.
	BytesRefetched int64 `json:"bytes_refetched" cel:"bytes_refetched"`
	// History holds the kinds of earlier failures in this operation, oldest
	// first.
	History []string `json:"history,omitempty" cel:"history"`
	// CallerDone reports that the caller's own context was done when the
	// failure happened (as opposed to a per-attempt timeout).
	CallerDone bool `json:"caller_done" cel:"caller_done"`
	// TimeLeft is the time until the caller's deadline, or 0 when there is
	// no deadline.
	TimeLeft time.Duration `json:"time_left,omitempty" cel:"time_left"`
	// LastDelay is the delay slept before the attempt that just failed (0
	// before the first retry). Decorrelated jitter grows from it.
	LastDelay time.Duration `json:"last_delay,omitempty" cel:"last_delay"`

	Request  Request  `json:"request" cel:"request"`
	Response Response `json:"response" cel:"response"`
	// Source says where the failed request went, for a download with
	// more than one place to go; zero for a plain download.
	Source Source `json:"source,omitzero" cel:"source"`
}

// Source describes where a failed request went, for a download that
// has mirrors (other URLs of the same representation) or fetches ranges
// over several connections: which mirror failed, how many others remain
// usable, and which range. A policy moves on from a mirror that fails in
// a way another host may not by deciding to retry: the adapter then uses
// another mirror.
type Source struct {
	// Mirror is the index of the URL among the download's: 0 for the URL
	// it was given, 1 for its first mirror, and so on.
	Mirror int `json:"mirror,omitempty" cel:"mirror"`
	// Host is that URL's host.
	Host string `json:"host,omitempty" cel:"host"`
	// Mirrors counts the download's URLs, its own included; 0 when it has
	// no mirrors.
	Mirrors int `json:"mirrors,omitempty" cel:"mirrors"`
	// MirrorsLeft counts the other URLs still usable: neither dropped
	// (404, DNS, certificate) nor resting after repeated failures.
	MirrorsLeft int `json:"mirrors_left,omitempty" cel:"mirrors_left"`
	// Failures counts the failures in a row at this URL, this one
	// included.
	Failures int `json:"failures,omitempty" cel:"failures"`
	// RangeStart and RangeEnd (exclusive) are the bytes asked for by the
	// failed request of a parallel download's chunk; 0 otherwise.
	RangeStart int64 `json:"range_start,omitempty" cel:"range_start"`
	RangeEnd   int64 `json:"range_end,omitempty" cel:"range_end"`
	// Connections counts the connections the download had open.
	Connections int `json:"connections,omitempty" cel:"connections"`
}

// Request describes the request of the operation.
type Request struct {
	Method string `json:"method,omitempty" cel:"method"`
	Host   string `json:"host,omitempty" cel:"host"`
	// Idempotent reports that the method is idempotent (RFC 9110
	// §9.2.2, IdempotentMethod): sending the request twice has the effect
	// of sending it once. A request that is not may have done its work
	// even though no response came back.
	Idempotent bool `json:"idempotent" cel:"idempotent"`
	// IdempotencyKey reports that the request carries an Idempotency-Key
	// header (or X-Idempotency-Key), which lets the server recognise a
	// repeat of a request that is not idempotent and do its work once.
	IdempotencyKey bool `json:"idempotency_key,omitempty" cel:"idempotency_key"`
}

// IdempotentMethod reports whether RFC 9110 (§9.2.2) calls method
// idempotent: GET, HEAD, OPTIONS, TRACE, PUT and DELETE. Methods are
// case-sensitive (§9.1).
func IdempotentMethod(method string) bool {
	switch method {
	case "GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE":
		return true
	}
	return false
}

// Total returns the announced length and whether it is known.
func (s *State) Total() (int64, bool) {
	if s.TotalExpected > 0 || s.TotalExpected == 0 && s.TotalKnown {
		return s.TotalExpected, true
	}
	return -1, false
}

// Response describes the last response received, if any.
type Response struct {
	Status int `json:"status,omitempty" cel:"status"`
	// AcceptRanges reports "Accept-Ranges: bytes".
	AcceptRanges bool `json:"accept_ranges,omitempty" cel:"accept_ranges"`
	// Validator is the strong ETag or Last-Modified a resume can use with
	// If-Range, or "".
	Validator string `json:"validator,omitempty" cel:"validator"`
	// Resumable reports that a ranged resume is possible: AcceptRanges and
	// a usable Validator.
	Resumable bool `json:"resumable" cel:"resumable"`
	// Protocol is "HTTP/1.1" or "HTTP/2.0".
	Protocol string `json:"protocol,omitempty" cel:"protocol"`
}

// MinProgress is the least an attempt must gain to have made progress,
// unless it gained at least half of what was missing when it began (the
// end of a small body counts). A new attempt costs a connection, often a
// TLS handshake and a request: several round trips, a few KiB of
// headers, and a place in the server's connection limits. An attempt
// that gains less than one 64 KiB read block — a middlebox that lets a
// few packets through per connection, a one-byte trickle — pays more
// than it brings, and repeating it does not converge.
const MinProgress = 64 << 10

// MadeProgress reports whether an attempt that gained gained bytes, when
// missing bytes were missing as it began (-1: the length is unknown),
// made progress: see MinProgress.
func MadeProgress(gained, missing int64) bool {
	if gained >= MinProgress {
		return true
	}
	return gained > 0 && missing > 0 && 2*gained >= missing
}

// Progress describes what the attempt that just failed achieved. Rules
// see its fields as attempt.gained, attempt.duration, attempt.rate and
// attempt.no_progress; limits.max_no_progress bounds the streak.
type Progress struct {
	// Gained is how many body bytes the attempt delivered beyond the
	// furthest offset any earlier attempt of the operation reached: a
	// restarted pass gains nothing until it passes that mark, and the
	// prefix a refetch reads again is not gained.
	Gained int64 `json:"gained,omitempty"`
	// Duration is the time from the attempt's request to its failure.
	Duration time.Duration `json:"duration,omitempty"`
	// Rate is Gained per second of Duration.
	Rate float64 `json:"rate,omitempty"`
	// NoProgress counts the consecutive failed attempts, this one
	// included, that did not make progress (MadeProgress): 0 when this
	// one did.
	NoProgress int `json:"no_progress,omitempty"`
}

// backoffStep is the n the backoff grows with: the attempts in a row
// without progress, so that a download that keeps moving waits the
// initial delay after each failure instead of ever longer ones, while
// failures that get nowhere back off as before. Without progress facts
// it is the attempt number.
func (s *State) backoffStep() int { return s.NoProgress() }

// NoProgress returns s.Progress.NoProgress, or, when s carries no
// progress facts (a dump of schema 2 or older, pasted text, a test input
// that leaves them out), s.Attempt: every attempt is taken as one without
// progress, which is how limits counted before progress was a fact.
// Rules see it as attempt.no_progress and limits.max_no_progress bounds
// it.
func (s *State) NoProgress() int {
	if s.Progress == nil {
		return s.Attempt
	}
	return s.Progress.NoProgress
}
