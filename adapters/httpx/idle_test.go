package httpx

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestIdleWatchFiresEarly starts watches whose timer fires at once, before
// newIdleWatch has returned: under -race this caught fire reading the timer
// field that newIdleWatch was still writing.
func TestIdleWatchFiresEarly(t *testing.T) {
	for range 200 {
		canceled := make(chan error, 1)
		w := newIdleWatch(time.Nanosecond, func(err error) { canceled <- err })
		select {
		case err := <-canceled:
			require.ErrorIs(t, err, errIdle)
		case <-time.After(5 * time.Second):
			t.Fatal("a watch with nothing read did not cancel")
		}
		w.stop()
	}
}
