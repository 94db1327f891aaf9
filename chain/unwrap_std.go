package chain

import (
	"context"
	"io"
	"os"
)

// unwrapStd marks the standard library's sentinels whose identity is
// certain: the context's cancel and deadline, and the end of a stream.
func unwrapStd(err error, a *Attrs) (error, bool) {
	switch err {
	case context.Canceled:
		a.Kind = "canceled"
	case context.DeadlineExceeded:
		a.Kind = "deadline"
	case io.ErrUnexpectedEOF:
		a.Kind = "unexpected_eof"
	case io.EOF:
		// io.EOF inside a failure means a stream ended before its reader
		// was done: a body or archive cut short.
		a.Kind = "unexpected_eof"
	case os.ErrDeadlineExceeded:
		a.Timeout = true
	default:
		return nil, false
	}
	return nil, true
}
