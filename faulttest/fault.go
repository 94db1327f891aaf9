package faulttest

import (
	"net/http"
	"strconv"
	"time"

	"golang.org/x/net/http2"
)

// Kind is a kind of fault.
type Kind string

// The faults. Body faults (Reset, ResetStream, GoAway, Stall, Truncate)
// strike after Fault.At bytes of the response body were written; Corrupt
// flips the byte at Fault.At. The others change the response as a whole.
const (
	None Kind = ""

	// Reset closes the TCP connection with SO_LINGER 0, so the peer gets
	// an RST. On HTTP/2 it kills every stream on the connection.
	Reset Kind = "reset"
	// ResetStream sends RST_STREAM (RFC 9113 §6.4) with Fault.Code
	// (default INTERNAL_ERROR). HTTP/1.1 has no streams: the connection is
	// closed instead (a FIN, not a reset).
	ResetStream Kind = "reset_stream"
	// GoAway sends GOAWAY (RFC 9113 §6.8) naming the current stream as the
	// last one processed (or an earlier one with Fault.ExcludeStream), then
	// closes the connection. HTTP/1.1: the connection is closed.
	GoAway Kind = "goaway"
	// Stall stops writing until the client gives up (closes the connection
	// or cancels the stream), the server closes, or Fault.Stall (default
	// Config.StallLimit) passes; then the connection or stream is dropped.
	Stall Kind = "stall"
	// Truncate ends the body cleanly but short of its Content-Length: a
	// FIN on HTTP/1.1, END_STREAM on HTTP/2.
	Truncate Kind = "truncate"
	// Corrupt flips the bits of the body byte at offset Fault.At.
	Corrupt Kind = "corrupt"

	// Status answers with Fault.Status (default 503) and Fault.RetryAfter.
	Status Kind = "status"
	// IgnoreRange answers a Range request with 200 and the whole body.
	IgnoreRange Kind = "ignore_range"
	// WrongContentRange answers a Range request with a 206 for a range one
	// byte later than the one requested, labelled as such.
	WrongContentRange Kind = "wrong_content_range"
	// MislabelledRange answers a Range request with a 206 whose
	// Content-Range names only the first half of the bytes it sends (and
	// Content-Length counts): a malformed response.
	MislabelledRange Kind = "mislabelled_range"
	// RangeNotSatisfiable answers 416 with "Content-Range: bytes */size".
	RangeNotSatisfiable Kind = "range_not_satisfiable"
	// WeakETag sends only a weak ETag and no Last-Modified, so the
	// response gives the client no validator usable with If-Range.
	WeakETag Kind = "weak_etag"
	// ChangeETag gives the representation a new ETag from this request on;
	// the bytes stay the same.
	ChangeETag Kind = "change_etag"
	// ChangeContent replaces the representation from this request on with
	// different bytes of the same length, with a new ETag and
	// Last-Modified.
	ChangeContent Kind = "change_content"
	// ForeignETag answers a range with the right bytes under another
	// entity tag, as a cache or mirror holding another version would
	// label them: a client must compare the validator of every 206 with
	// the one it started with.
	ForeignETag Kind = "foreign_etag"
)

// Fault is what happens to one request.
type Fault struct {
	Kind Kind
	// At is the body offset, within this response, where a body fault
	// strikes.
	At int64
	// Status is the status code of a Status fault (default 503).
	Status int
	// RetryAfter is sent verbatim as Retry-After by a Status fault: a
	// number of seconds ("2") or an HTTP-date (see RetryAfterDate).
	RetryAfter string
	// Code is the HTTP/2 error code of ResetStream and GoAway.
	Code http2.ErrCode
	// ExcludeStream makes a GoAway name the stream before the current one
	// as the last processed, so the client knows the current stream was
	// not processed.
	ExcludeStream bool
	// Stall bounds a Stall; 0 means Config.StallLimit.
	Stall time.Duration
	// BeforeResponse makes a body fault strike after the request was
	// received and before any byte of the response (At is ignored): the
	// server has the request and answers nothing, the case where a client
	// cannot know whether a request that is not idempotent was processed.
	// A Reset resets the connection; a ResetStream with REFUSED_STREAM or
	// a GoAway with ExcludeStream says the request was not processed (RFC
	// 9113 §8.7, §6.8); a Stall sends nothing; a Truncate closes the
	// connection (a FIN) on either protocol.
	BeforeResponse bool
}

// RetryAfterSeconds formats d as a Retry-After delay in whole seconds.
func RetryAfterSeconds(d time.Duration) string {
	return strconv.FormatInt(int64(d/time.Second), 10)
}

// RetryAfterDate formats t as a Retry-After HTTP-date (RFC 9110 §10.2.3).
func RetryAfterDate(t time.Time) string {
	return t.UTC().Format(http.TimeFormat)
}

// isBodyFault reports whether k strikes at an offset while the body is
// being written.
func (k Kind) isBodyFault() bool {
	switch k {
	case Reset, ResetStream, GoAway, Stall, Truncate:
		return true
	}
	return false
}
