package classify_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/faultline-go/faultline/chain"
	"github.com/faultline-go/faultline/classify"
)

// textLimits lists, per live case, the facts its error text cannot carry,
// and why. Every other key fact must survive err.Error() → chain.FromText.
var textLimits = map[string]map[string]string{
	// StatusError prints the status but not the Retry-After header; only
	// the type's DescribeFault reports it.
	"h1-status-503":   {"retry_after": "Retry-After is not in the message"},
	"h2-status-429":   {"retry_after": "Retry-After is not in the message"},
	"multi-join":      {"retry_after": "Retry-After is not in the message"},
	"multi-hashicorp": {"retry_after": "Retry-After is not in the message"},
	// The text carries it, but chain.FromText does not read "fork/exec" as
	// an *fs.PathError operation (it does read "open", "write", "link").
	"fs-eacces-exec": {"op": "chain.FromText gap: fork/exec not parsed"},
}

// checkText classifies the error's text alone and compares the key facts
// with the live classification.
func checkText(t *testing.T, name string, err error, live classify.Facts) {
	t.Helper()
	text := classify.Classify(chain.FromText(err.Error()))
	limits := textLimits[name]
	check := func(field string, want, got any) {
		if _, ok := limits[field]; ok {
			return
		}
		assert.Equal(t, want, got, "from text: %s", field)
	}
	check("kind", live.Kind, text.Kind)
	check("transient", live.Transient, text.Transient)
	check("timeout", live.Timeout, text.Timeout)
	check("errno", live.Errno, text.Errno)
	check("op", live.Op, text.Op)
	check("h2", live.H2, text.H2)
	check("status", live.HTTP.Status, text.HTTP.Status)
	check("retry_after", live.HTTP.RetryAfter, text.HTTP.RetryAfter)
	check("decode", live.Decode, text.Decode)
	check("caused_by_transport", live.CausedByTransport, text.CausedByTransport)
}
