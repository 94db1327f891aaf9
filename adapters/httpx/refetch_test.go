package httpx

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	fs "github.com/faultline-go/faultline/faulttest"
)

// TestResumeRefetchCounts: a request for the rest with Range answered
// with the rest is a resume; a response that sends the whole body again
// (no validator to ask with, or the range ignored) is a refetch, not a
// resume. Both are invisible to the consumer. (A refetch used to be
// counted as a resume.)
func TestResumeRefetchCounts(t *testing.T) {
	body := payload(200_000)
	reset := fs.Fault{Kind: fs.Reset, At: 50_000}
	tests := []struct {
		name               string
		cfg                fs.Config
		resumes, refetches int
		rangesAsked        int64
	}{
		{name: "resume", cfg: fs.Config{Script: []fs.Fault{reset}}, resumes: 1, rangesAsked: 1},
		{name: "no validator", cfg: fs.Config{WeakETag: true, Script: []fs.Fault{reset}}, refetches: 1},
		{name: "range ignored", cfg: fs.Config{Script: []fs.Fault{reset, {Kind: fs.IgnoreRange}}}, refetches: 1, rangesAsked: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Content = body
			s, err := fs.Start(tc.cfg)
			require.NoError(t, err)
			defer s.Close()
			var sl sleeps
			var resumeHooks int
			c := &Client{HTTP: s.Client(fs.HTTP1), Sleep: sl.sleep, OnResume: func(Event) { resumeHooks++ }}
			var h hashConsumer
			res, err := c.Do(t.Context(), s.URL, h.consume, nil)
			require.NoError(t, err)
			assert.Equal(t, 2, res.Attempts)
			assert.Equal(t, tc.resumes, res.Resumes)
			assert.Equal(t, tc.refetches, res.Refetches)
			assert.Zero(t, res.Restarts)
			assert.Equal(t, 1, h.calls, "the consumer never noticed")
			assert.Equal(t, int64(len(body)), h.n)
			var ranged int64
			for _, r := range s.Requests() {
				if r.Range != "" {
					ranged++
				}
			}
			assert.Equal(t, tc.rangesAsked, ranged)
			if tc.name != "range ignored" {
				assert.Equal(t, tc.resumes, resumeHooks, "OnResume before each ranged request")
			}
		})
	}
}
