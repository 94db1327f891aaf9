package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDecideIdempotency: "retrycheck decide --method POST" decides as the
// library's Transport does under the same policy (httpx
// TestTransportIdempotency): a POST that failed after it was written is
// not sent again, unless it carries an Idempotency-Key or the server said
// it did not process it.
func TestDecideIdempotency(t *testing.T) {
	const reset = "read tcp 10.0.0.1:5->10.0.0.2:443: read: connection reset by peer\n"
	const refused = "stream error: stream ID 3; REFUSED_STREAM; received from peer\n"
	const goaway = "http2: Transport received GOAWAY from server ErrCode:NO_ERROR\n"
	tests := []struct {
		name   string
		input  string
		args   []string
		action string
		rule   string
	}{
		{"POST reset after it was written", reset, []string{"--method", "POST", "--phase", "request"}, "fail", "not-idempotent"},
		{"POST reset waiting for headers", reset, []string{"--method", "post", "--phase", "headers"}, "fail", "not-idempotent"},
		{"POST reset before it was sent", reset, []string{"--method", "POST", "--phase", "connect"}, "retry", "transport"},
		{"POST with an Idempotency-Key", reset, []string{"--method", "POST", "--phase", "request", "--idempotency-key"}, "retry", "transport"},
		{"PUT reset after it was written", reset, []string{"--method", "PUT", "--phase", "request"}, "retry", "transport"},
		{"POST refused by REFUSED_STREAM", refused, []string{"--method", "POST", "--phase", "request"}, "retry", "h2-unprocessed"},
		{"POST under a GOAWAY that excluded it", goaway, []string{"--method", "POST", "--phase", "headers"}, "retry", "h2-unprocessed"},
	}
	for _, policyName := range []string{"default", "ci", "interactive"} {
		for _, tt := range tests {
			t.Run(policyName+"/"+tt.name, func(t *testing.T) {
				args := append([]string{"decide", "--json", "--policy", policyName}, tt.args...)
				r := runCLI(t, tt.input, append(args, "-")...)
				require.Equal(t, exitOK, r.code, r.stderr)
				var got decideLine
				require.NoError(t, json.NewDecoder(strings.NewReader(r.stdout)).Decode(&got))
				assert.Equal(t, tt.action, string(got.Action), got.Reason)
				if policyName == "default" || tt.rule != "transport" {
					// ci and interactive name their transport rules
					// differently.
					assert.Equal(t, tt.rule, got.Rule)
				}
			})
		}
	}
}
