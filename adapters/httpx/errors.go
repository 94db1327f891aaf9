package httpx

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/faultline-go/faultline/chain"
	"github.com/faultline-go/faultline/internal/redact"
	"github.com/faultline-go/faultline/policy"
)

// ErrRestart is matched (with errors.Is) by the error a Body returns when
// the download cannot continue where it stopped and has to start over:
// the server ignored the range and sent different bytes, the validator
// changed, the Content-Range did not match, or the policy chose a retry
// after bytes were delivered. Bytes already delivered must be discarded;
// Client.Do does that by calling its consumer again.
var ErrRestart = errors.New("httpx: download must restart from the beginning")

// RestartError says why a download must restart. It matches ErrRestart
// and wraps the failure that led to it, if any.
type RestartError struct {
	Reason string
	Err    error
}

func (e *RestartError) Error() string {
	if e.Err == nil {
		return ErrRestart.Error() + ": " + e.Reason
	}
	return ErrRestart.Error() + ": " + e.Reason + ": " + e.Err.Error()
}

// Is reports whether target is ErrRestart.
func (e *RestartError) Is(target error) bool { return target == ErrRestart }

func (e *RestartError) Unwrap() error { return e.Err }

// StatusError is an HTTP response with an error status.
type StatusError struct {
	Method string
	URL    string
	Status int
	// RetryAfter is the response's Retry-After as a delay from when it was
	// received; 0 when absent.
	RetryAfter time.Duration
	// Header is the response header.
	Header http.Header
}

func (e *StatusError) Error() string {
	s := e.Method + " " + e.URL + ": " + strconv.Itoa(e.Status) + " " + http.StatusText(e.Status)
	if e.RetryAfter > 0 {
		s += " (retry after " + e.RetryAfter.String() + ")"
	}
	return s
}

// DescribeFault implements chain.Describer.
func (e *StatusError) DescribeFault(a *chain.Attrs) {
	a.Kind = "http_status"
	a.HTTPStatus = e.Status
	a.RetryAfter = e.RetryAfter.Seconds()
}

// ChecksumError reports a body whose length or SHA-256 is not the one
// expected.
type ChecksumError struct {
	URL string
	// WantSize and GotSize are the expected and delivered lengths;
	// WantSize is -1 when the length was not checked.
	WantSize, GotSize int64
	// WantSHA256 and GotSHA256 are set when the digest was checked.
	WantSHA256, GotSHA256 []byte
}

func (e *ChecksumError) Error() string {
	if e.WantSize >= 0 && e.WantSize != e.GotSize {
		return fmt.Sprintf("httpx: %s: got %d bytes, want %d", e.URL, e.GotSize, e.WantSize)
	}
	return fmt.Sprintf("httpx: %s: SHA-256 %s, want %s", e.URL, hex.EncodeToString(e.GotSHA256), hex.EncodeToString(e.WantSHA256))
}

// DescribeFault implements chain.Describer.
func (e *ChecksumError) DescribeFault(a *chain.Attrs) { a.Kind = "checksum" }

// IdleTimeoutError reports a response that sent nothing for Client.IdleTimeout.
type IdleTimeoutError struct {
	After time.Duration
	Err   error // what the interrupted read or request returned
}

func (e *IdleTimeoutError) Error() string {
	msg := "httpx: no data for " + e.After.String()
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *IdleTimeoutError) Unwrap() error { return e.Err }

// Timeout reports true, as net.Error timeouts do.
func (e *IdleTimeoutError) Timeout() bool { return true }

// DescribeFault implements chain.Describer.
func (e *IdleTimeoutError) DescribeFault(a *chain.Attrs) {
	a.Kind = "timeout"
	a.Timeout = true
}

// Error is the error an operation ends with once the policy (or a guard)
// decided to stop. Its message counts what was tried and ends with the
// last failure, which it wraps, so errors.Is and errors.As reach the
// cause. When the operation stopped because the caller's context was done,
// it wraps that context error too.
type Error struct {
	Attempts, Resumes, Restarts int
	// Refetches counts whole responses sent again after bytes were
	// delivered (see Result.Refetches).
	Refetches int
	// Decision is the last decision, which said to fail (or to wait,
	// when the caller's context ended the wait).
	Decision policy.Decision
	// Trail is every decision of the operation, oldest first: for each
	// failure, its attempt, phase, kind and offset, and the action, rule,
	// guard, delay and reason decided. The last step is Decision.
	Trail []policy.Step
	// Err is the last failure.
	Err error
	// Stop is the caller's context error when the context ended the
	// operation, else nil.
	Stop error
}

func (e *Error) Error() string {
	refetches := ""
	if e.Refetches > 0 {
		refetches = plural(e.Refetches, "refetch") + ", "
	}
	return "after " + plural(e.Attempts, "attempt") + " (" + plural(e.Resumes, "resume") + ", " +
		refetches + plural(e.Restarts, "restart") + "): " + e.Err.Error()
}

func (e *Error) Unwrap() []error {
	if e.Stop != nil {
		return []error{e.Err, e.Stop}
	}
	return []error{e.Err}
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	if strings.HasSuffix(word, "ch") {
		return strconv.Itoa(n) + " " + word + "es"
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// Commit marks err, returned by a consumer passed to Client.Do, as a
// failure to commit the result (phase "commit") rather than to unpack it
// (phase "unpack"). It returns nil for nil.
func Commit(err error) error {
	if err == nil {
		return nil
	}
	return &commitError{err}
}

type commitError struct{ err error }

func (e *commitError) Error() string { return e.err.Error() }
func (e *commitError) Unwrap() error { return e.err }

// consumeError is what Do reports when the consumer failed because the
// body did: the consumer's message, with both errors reachable.
type consumeError struct{ consume, body error }

func (e *consumeError) Error() string   { return e.consume.Error() }
func (e *consumeError) Unwrap() []error { return []error{e.consume, e.body} }

// scrub masks the secrets of the URL in the *url.Error that net/http (or
// url.Parse) returned, in place: net/http hides a password there but not
// the user name or a signed query, and url.Parse hides nothing. The
// error's type and chain stay as they were, so classification does not
// change.
func scrub(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		ue.URL = redact.URL(ue.URL)
	}
	return err
}

// redactChain masks secrets in every text of a chain: messages, and the
// URL a *url.Error layer records. httpx scrubs its own errors already;
// this catches what other layers quoted (a proxy's message, a wrapped
// error of the caller's).
func redactChain(c *chain.Chain) {
	for i := range c.Layers {
		l := &c.Layers[i]
		l.Message, l.Own = redact.Text(l.Message), redact.Text(l.Own)
		l.Attrs.Addr = redact.Text(l.Attrs.Addr)
		l.Attrs.H2Debug = redact.Text(l.Attrs.H2Debug)
		for k, v := range l.Attrs.Extra {
			l.Attrs.Extra[k] = redact.Text(v)
		}
	}
}

// ElapsedError reports an operation stopped because it ran for the
// policy's max_elapsed: the limit bounds the whole operation, bytes still
// flowing included, not only the wait before a retry. It matches
// context.DeadlineExceeded.
type ElapsedError struct {
	Limit time.Duration
	Err   error // what the interrupted read, request or consumer returned
}

func (e *ElapsedError) Error() string {
	msg := "httpx: the operation ran for the policy's max_elapsed of " + e.Limit.String()
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *ElapsedError) Unwrap() error { return e.Err }

// Is reports whether target is context.DeadlineExceeded.
func (e *ElapsedError) Is(target error) bool { return target == context.DeadlineExceeded }

// Timeout reports true, as net.Error timeouts do.
func (e *ElapsedError) Timeout() bool { return true }

// DescribeFault implements chain.Describer.
func (e *ElapsedError) DescribeFault(a *chain.Attrs) {
	a.Kind = "deadline"
	a.Timeout = true
}
