package httpx

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	fs "github.com/faultline-go/faultline/faulttest"
	"github.com/faultline-go/faultline/policy"
)

// TestRetryAfterTooLong: a server that asks to wait 10^23 seconds is
// asking too much, not saying nothing: the default policy fails by guard
// retry_after instead of retrying at once (which it did when the number
// overflowed and the header was ignored).
func TestRetryAfterTooLong(t *testing.T) {
	for _, ra := range []string{"100000000000000000000000", "86400"} {
		t.Run(ra, func(t *testing.T) {
			s := startServer(t, modes[0], payload(1000), fs.Fault{Kind: fs.Status, Status: 503, RetryAfter: ra})
			var sl sleeps
			c := &Client{HTTP: s.Client(fs.HTTP1), Sleep: sl.sleep}
			_, err := c.Open(t.Context(), s.URL, nil)
			var fe *Error
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, policy.GuardRetryAfter, fe.Decision.Guard)
			assert.Equal(t, 1, s.RequestCount())
			assert.Empty(t, sl.all(), "no wait, no retry")
		})
	}
}
