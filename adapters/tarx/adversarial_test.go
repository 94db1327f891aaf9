package tarx_test

import (
	"context"
	"testing"
	"time"

	"github.com/faultline-go/faultline/adapters/tarx"
	"github.com/faultline-go/faultline/chain"
	"github.com/faultline-go/faultline/classify"
	"github.com/faultline-go/faultline/internal/archivetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// maxLiveHeap is what the adversarial suite lets an extraction's live heap
// grow by: the default Limits.Metadata (64 MiB, the names kept), a zstd
// window and buffers. The README states the process's peak, measured.
const maxLiveHeap = 160 << 20

// TestAdversarial runs the adversarial suite (archivetest.Attacks) with the
// default limits, into a new destination and over an existing one: each
// attack is refused with its kind or unpacks within bounds; nothing outside
// the destination changes, the destination is untouched when refused, no
// staging directory is left, and the live heap stays under maxLiveHeap.
// internal/e2e runs the same suite through retrycheck fetch.
func TestAdversarial(t *testing.T) {
	for _, a := range archivetest.Attacks() {
		if a.Heavy && (raceEnabled || testing.Short()) {
			continue // internal/e2e runs it outside the race detector
		}
		forNewAndExisting(t, a.Name, func(t *testing.T, l layout, replace bool) {
			before := state(t, l.top)
			r, err := a.Reader()
			require.NoError(t, err)
			var st tarx.Stats
			grew := peakLiveHeap(t, func() {
				st, err = tarx.Extract(context.Background(), r, l.dest, tarx.Options{Replace: replace, Timeout: time.Minute})
			})
			t.Logf("%d bytes in, %d unpacked, live heap +%d MiB: %v", st.Input, st.Bytes, grew>>20, err)
			assert.Less(t, grew, uint64(maxLiveHeap), "live heap")
			noStaging(t, l.parent)
			noVictim(t, a.Victim)
			if a.Kind == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Equal(t, classify.Kind(a.Kind), classify.Classify(chain.Walk(err)).Kind, "%v", err)
			assert.Equal(t, before, state(t, l.top), "nothing changed")
		})
	}
}
