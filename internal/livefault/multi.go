package livefault

import (
	"context"
	"errors"
	"testing"

	"github.com/hashicorp/go-multierror"
)

func multiCases() []Case {
	return []Case{
		{
			Name: "multi-join",
			Doc:  "errors.Join of a real mid-body reset and a real 503 from a second mirror",
			Provoke: func(ctx context.Context, t testing.TB) Failure {
				reset, status := resetAndStatus(ctx, t)
				f := reset
				f.Err = errors.Join(reset.Err, status.Err)
				return f
			},
		},
		{
			Name: "multi-hashicorp",
			Doc:  "go-multierror of a real mid-body reset and a real 503 from a second mirror",
			Provoke: func(ctx context.Context, t testing.TB) Failure {
				reset, status := resetAndStatus(ctx, t)
				f := reset
				f.Err = multierror.Append(reset.Err, status.Err)
				return f
			},
		},
	}
}

// resetAndStatus provokes the two failures a client trying two mirrors
// collects.
func resetAndStatus(ctx context.Context, t testing.TB) (reset, status Failure) {
	return resetMidBody(ctx, t, h1), serveStatus(ctx, t, h1)
}
