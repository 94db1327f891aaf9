package policy

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faultline-go/faultline/classify"
)

const guardPolicy = `name: guards
limits:
  max_attempts: 4
  max_resumes: 2
  max_elapsed: 1m
  max_refetch_bytes: 1000
  max_retry_after: 30s
backoff: {initial: 1s, max: 10s, multiplier: 2, jitter: none}
rules:
  - name: resume
    when: phase == 'body'
    action: resume
  - name: long
    when: error.kind == 'timeout'
    action: retry
    delay: duration('1h')
  - name: retry
    when: error.kind != 'unknown'
    action: retry
default: fail
`

func TestGuards(t *testing.T) {
	p := mustParse(t, guardPolicy)
	reset := classify.Facts{Kind: classify.ConnectionReset}
	tests := []struct {
		name   string
		facts  classify.Facts
		state  State
		action Action
		delay  time.Duration
		guard  string
	}{
		{"no guard", reset, State{Attempt: 1}, Retry, time.Second, ""},
		{"backoff grows", reset, State{Attempt: 3}, Retry, 4 * time.Second, ""},
		{"rules fail, guards do not matter", classify.Facts{Kind: classify.Unknown}, State{Attempt: 9, CallerDone: true}, Fail, 0, ""},
		{"caller done", reset, State{Attempt: 1, CallerDone: true}, Fail, 0, GuardCallerDone},
		{"max attempts", reset, State{Attempt: 4}, Fail, 0, GuardMaxAttempts},
		{"below max attempts", reset, State{Attempt: 3}, Retry, 4 * time.Second, ""},
		{"resume", reset, State{Phase: PhaseBody, Attempt: 1, Response: Response{Resumable: true}}, Resume, time.Second, ""},
		{"resume unavailable", reset, State{Phase: PhaseBody, Attempt: 1}, Retry, time.Second, GuardResumeUnavailable},
		{"max resumes", reset, State{Phase: PhaseBody, Attempt: 3, Resumes: 2, Response: Response{Resumable: true}}, Fail, 0, GuardMaxResumes},
		{"refetch within limit", reset, State{Attempt: 1, BytesReceived: 600, BytesRefetched: 400}, Retry, time.Second, ""},
		{"refetch over limit", reset, State{Attempt: 1, BytesReceived: 600, BytesRefetched: 401}, Fail, 0, GuardMaxRefetchBytes},
		{"resume does not refetch", reset, State{Phase: PhaseBody, Attempt: 1, BytesReceived: 5000, Response: Response{Resumable: true}}, Resume, time.Second, ""},
		{"downgraded resume refetches", reset, State{Phase: PhaseBody, Attempt: 1, BytesReceived: 5000}, Fail, 0, GuardMaxRefetchBytes},
		{"clamped to backoff max", classify.Facts{Kind: classify.Timeout}, State{Attempt: 1}, Retry, 10 * time.Second, GuardBackoffMax},
		{"retry-after raises the delay", classify.Facts{Kind: classify.HTTPStatus, HTTP: classify.HTTP{Status: 503, RetryAfter: 20 * time.Second}}, State{Attempt: 1}, Retry, 20 * time.Second, GuardRetryAfter},
		{"retry-after below the delay", classify.Facts{Kind: classify.HTTPStatus, HTTP: classify.HTTP{Status: 503, RetryAfter: 500 * time.Millisecond}}, State{Attempt: 1}, Retry, time.Second, ""},
		{"retry-after over the cap", classify.Facts{Kind: classify.HTTPStatus, HTTP: classify.HTTP{Status: 503, RetryAfter: 31 * time.Second}}, State{Attempt: 1}, Fail, 0, GuardRetryAfter},
		{"max elapsed", reset, State{Attempt: 1, Elapsed: 59 * time.Second}, Fail, 0, GuardMaxElapsed},
		{"within max elapsed", reset, State{Attempt: 1, Elapsed: 58 * time.Second}, Retry, time.Second, ""},
		{"deadline", reset, State{Attempt: 2, TimeLeft: 2 * time.Second}, Fail, 0, GuardDeadline},
		{"before the deadline", reset, State{Attempt: 2, TimeLeft: 3 * time.Second}, Retry, 2 * time.Second, ""},
		{"no deadline", reset, State{Attempt: 2, TimeLeft: 0}, Retry, 2 * time.Second, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := p.Decide(context.Background(), Input{Error: tt.facts, State: tt.state})
			require.NoError(t, err)
			assert.Equal(t, tt.action, d.Action, "action (reason %q)", d.Reason)
			assert.Equal(t, tt.delay, d.Delay, "delay")
			assert.Equal(t, tt.guard, d.Guard, "guard")
			if tt.action != Fail {
				assert.NotEqual(t, "", d.Rule)
			}
		})
	}
}
