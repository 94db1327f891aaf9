package policy

import (
	"reflect"
	"testing"
	"time"

	"github.com/google/cel-go/common/types/ref"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faultline-go/faultline/classify"
)

// TestFastFieldsMatchCEL checks that every field read by the faster
// getters gives the CEL value cel-go's own getter gives, on values where
// every field is set and on zero values.
func TestFastFieldsMatchCEL(t *testing.T) {
	env, err := baseEnv()
	require.NoError(t, err)
	fp, ok := env.CELTypeProvider().(*fieldProvider)
	require.True(t, ok, "the environment's provider is %T", env.CELTypeProvider())
	adapter := env.CELTypeAdapter()

	full := map[string]any{
		"classify.Facts": &classify.Facts{
			Kind: classify.H2Stream, Transient: true, Timeout: true, Errno: "ECONNRESET", Op: "read",
			H2:   classify.H2{Code: "REFUSED_STREAM", StreamID: 3, LastStreamID: 1, GoAway: true, Remote: true, Debug: "bye"},
			HTTP: classify.HTTP{Status: 520, Equivalent: 500, RetryAfter: 2 * time.Second},
			GRPC: classify.GRPC{Code: "UNAVAILABLE"}, Code: "SlowDown", Retryable: "yes",
			Decode: classify.Codec{Format: "gzip", Offset: 1 << 40, Entry: "a/b"},
			Labels: map[string]string{"k": "v"}, Layers: []classify.Layer{{Type: "*net.OpError"}},
			CausedByTransport: true, Layer: 4, Message: "read: connection reset by peer",
		},
		"classify.H2":     &classify.H2{Code: "NO_ERROR", StreamID: 300, Debug: "d"},
		"classify.HTTP":   &classify.HTTP{Status: 429, Equivalent: 429, RetryAfter: time.Minute},
		"classify.GRPC":   &classify.GRPC{Code: "RESOURCE_EXHAUSTED"},
		"classify.Codec":  &classify.Codec{Format: "zstd", Offset: 7, Entry: "x"},
		"classify.Layer":  &classify.Layer{Type: "t", Message: "m", Via: "unwrap"},
		"policy.Request":  &Request{Method: "GET", Host: "example.com", Idempotent: true},
		"policy.Response": &Response{Status: 206, AcceptRanges: true, Validator: `"v1"`, Resumable: true, Protocol: "HTTP/2.0"},
		"policy.Limits":   &Limits{MaxAttempts: 5, MaxResumes: 10, MaxElapsed: time.Hour, MaxRefetchBytes: 1 << 30, MaxRetryAfter: time.Minute},
		"policy.Source": &Source{Mirror: 2, Host: "mirror.example", Mirrors: 3, MirrorsLeft: 1, Failures: 2,
			RangeStart: 1 << 20, RangeEnd: 2 << 20, Connections: 4},
		"policy.attemptVars": &attemptVars{Number: 2, Resumes: 1, Restarts: 3, Elapsed: time.Second,
			BytesReceived: 1000, TotalExpected: -1, BytesRefetched: 5, LastDelay: time.Millisecond},
	}
	seen := map[string]bool{}
	for key := range fp.fields {
		seen[key.structType] = true
	}
	require.Len(t, seen, len(full), "struct types: %v", seen)

	for key, fast := range fp.fields {
		obj, ok := full[key.structType]
		require.True(t, ok, "no test value for %s", key.structType)
		slow, ok := fp.Provider.FindStructFieldType(key.structType, key.field)
		require.True(t, ok, "%s.%s", key.structType, key.field)
		zero := reflect.New(reflect.TypeOf(obj).Elem()).Interface()
		for name, o := range map[string]any{"set": obj, "zero": zero} {
			want := celValue(t, adapter, slow.GetFrom, o)
			got := celValue(t, adapter, fast.GetFrom, o)
			assert.Equal(t, want.Type(), got.Type(), "%s.%s (%s)", key.structType, key.field, name)
			assert.Equal(t, ref.Val(want).Equal(got), ref.Val(want).Equal(want), "%s.%s (%s): %v != %v",
				key.structType, key.field, name, got, want)
		}
		// Values that are not a pointer to the struct go the slow way.
		v := reflect.ValueOf(obj).Elem().Interface()
		assert.Equal(t, celValue(t, adapter, slow.GetFrom, v).Value(), celValue(t, adapter, fast.GetFrom, v).Value(),
			"%s.%s by value", key.structType, key.field)
	}
	assert.GreaterOrEqual(t, len(fp.fields), 40, "fields with a fast getter")
}

func celValue(t *testing.T, a interface{ NativeToValue(any) ref.Val }, get ref.FieldGetter, obj any) ref.Val {
	t.Helper()
	v, err := get(obj)
	require.NoError(t, err)
	return a.NativeToValue(v)
}
