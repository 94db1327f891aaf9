package httpx

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faultline-go/faultline/classify"
	fs "github.com/faultline-go/faultline/faulttest"
	"github.com/faultline-go/faultline/policy"
)

// TestErrorTrail: a download that resumes twice and then fails ends with
// an *Error whose Trail holds every decision in order, with the offsets,
// delays and rules of the live decisions; each dump carries the trail up
// to its own failure.
func TestErrorTrail(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			body := payload(300_000)
			s := startServer(t, m, body,
				fs.Fault{Kind: fs.Reset, At: 100_000},
				fs.Fault{Kind: fs.Reset, At: 50_000},
				fs.Fault{Kind: fs.Status, Status: 404})
			var sl sleeps
			var events []Event
			dumps := t.TempDir()
			c := &Client{HTTP: m.client(t, s), Sleep: sl.sleep, DumpDir: dumps,
				OnDecision: func(e Event) { events = append(events, e) }}
			var h hashConsumer
			res, err := c.Do(t.Context(), s.URL, h.consume, nil)
			require.Error(t, err)
			var he *Error
			require.ErrorAs(t, err, &he)

			want := []struct {
				kind   classify.Kind
				offset int64
				action policy.Action
				rule   string
			}{
				// A TCP reset reads as a reset or, on some reads over
				// HTTP/2, as an unexpected EOF: the trail says which.
				{"", 100_000, policy.Resume, "resume-body"},
				{"", 150_000, policy.Resume, "resume-body"},
				{classify.HTTPStatus, 150_000, policy.Fail, "http-client-error"},
			}
			require.Len(t, he.Trail, len(want))
			for i, w := range want {
				st := he.Trail[i]
				assert.Equal(t, i+1, st.Attempt, "step %d", i)
				if w.kind != "" {
					assert.Equal(t, w.kind, st.Kind, "step %d", i)
				}
				assert.Equal(t, events[i].Input.Error.Kind, st.Kind, "step %d", i)
				assert.Equal(t, w.action, st.Action, "step %d", i)
				assert.Equal(t, w.rule, st.Rule, "step %d", i)
				// A reset may strike before the client read every byte
				// the server wrote; the offset is what was delivered.
				assert.LessOrEqual(t, st.Offset, w.offset, "step %d", i)
				assert.Positive(t, st.Offset, "step %d", i)
				assert.NotEmpty(t, st.Reason, "step %d", i)
				// The trail is what the hooks saw, decision by decision.
				assert.Equal(t, events[i].Decision.Action, st.Action)
				assert.Equal(t, events[i].Decision.Delay, st.Delay)
				assert.Equal(t, events[i].Offset, st.Offset)
			}
			assert.Equal(t, he.Decision.Rule, he.Trail[2].Rule, "the last step is the final decision")
			assert.Equal(t, policy.PhaseBody, he.Trail[0].Phase)
			assert.Equal(t, policy.PhaseHeaders, he.Trail[2].Phase)
			assert.Equal(t, sl.all(), []time.Duration{he.Trail[0].Delay, he.Trail[1].Delay}, "the delays slept are the ones recorded")
			assert.Equal(t, he.Trail, res.Trail)

			files, err := filepath.Glob(filepath.Join(dumps, "*.json"))
			require.NoError(t, err)
			require.Len(t, files, 3)
			var trails [][]policy.Step
			for _, f := range files {
				data, err := os.ReadFile(f)
				require.NoError(t, err)
				require.NoError(t, policy.ReadDumps(bytes.NewReader(data), func(d policy.Dump) error {
					trails = append(trails, d.Trail)
					return nil
				}))
			}
			// Dump names sort by time: each carries the steps before it.
			require.Len(t, trails, 3)
			for i, tr := range trails {
				require.Len(t, tr, i, "dump %d", i)
				for j := range tr {
					assert.Equal(t, he.Trail[j], tr[j], "dump %d, step %d", i, j)
				}
			}
		})
	}
}
