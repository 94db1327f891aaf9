// Package livefault provokes real failures on 127.0.0.1 and returns each
// error exactly as a caller receives it: TCP resets in the middle of a
// tar.gz body over HTTP/1.1 and HTTP/2, RST_STREAM and GOAWAY frames from a
// raw HTTP/2 server, timeouts, cancellations, corrupt and truncated
// archives, untrusted certificates, a full disk.
//
// Nothing is simulated: every error comes out of the standard library or
// golang.org/x/net reacting to a real socket, frame, file or system call.
// It exists so that classify can be tested against the errors Go really
// produces, and so that policies and the retrycheck tool can record dumps
// of them. Every server a case starts is stopped by the test's Cleanup, and
// every wait is bounded.
package livefault

import (
	"context"
	"testing"
)

// Phase values, as policy.Phase spells them; livefault cannot import
// policy (policy's tests import livefault).
const (
	PhaseConnect = "connect"
	PhaseRequest = "request"
	PhaseHeaders = "headers"
	PhaseBody    = "body"
	PhaseUnpack  = "unpack"
	PhaseCommit  = "commit"
)

// Failure is one provoked failure and the state of the operation when it
// happened, as a download-and-unpack adapter would know it.
type Failure struct {
	Err error
	// Phase is where the operation failed: PhaseConnect … PhaseCommit.
	Phase string
	// Protocol is the response's protocol ("HTTP/1.1", "HTTP/2.0"), or ""
	// when there was no response.
	Protocol string
	// BytesReceived counts the body bytes delivered before the failure.
	BytesReceived int64
	// TotalExpected is the announced body length, or -1 when unknown.
	TotalExpected int64
}

// Case is one way to fail.
type Case struct {
	// Name identifies the case; it is safe as a file name.
	Name string
	// Doc says what the case does to the client, in one line.
	Doc string
	// Provoke makes the failure happen and returns it. It fails t when
	// the setup itself fails, registers every cleanup with t, and
	// returns within a few seconds whatever the peer does.
	Provoke func(ctx context.Context, t testing.TB) Failure
}

// Cases returns every case, in a stable order. Each call builds fresh
// values; nothing is shared between calls.
func Cases() []Case {
	var cs []Case
	cs = append(cs, resetCases()...)
	cs = append(cs, h2Cases()...)
	cs = append(cs, timeoutCases()...)
	cs = append(cs, payloadCases()...)
	cs = append(cs, dialCases()...)
	cs = append(cs, fsCases()...)
	cs = append(cs, multiCases()...)
	return cs
}

// Lookup returns the case with the given name.
func Lookup(name string) (Case, bool) {
	for _, c := range Cases() {
		if c.Name == name {
			return c, true
		}
	}
	return Case{}, false
}
