package livefault

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"strconv"
	"time"

	"github.com/faultline-go/faultline/chain"
)

// StatusError is an HTTP response turned into an error, as a download
// client returns it for a status it will not read a body from.
type StatusError struct {
	Code int
	// RetryAfter is the response's Retry-After, or 0.
	RetryAfter time.Duration
}

func newStatusError(resp *http.Response) *StatusError {
	e := &StatusError{Code: resp.StatusCode}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		e.RetryAfter = time.Duration(s) * time.Second
	}
	return e
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("unexpected status %d %s", e.Code, http.StatusText(e.Code))
}

// DescribeFault records the status and Retry-After for the chain walker.
func (e *StatusError) DescribeFault(a *chain.Attrs) {
	a.HTTPStatus = e.Code
	a.RetryAfter = e.RetryAfter.Seconds()
}

// quietLog discards the servers' logs: the failures they report are the
// point of the exercise.
func quietLog() *log.Logger { return log.New(io.Discard, "", 0) }
