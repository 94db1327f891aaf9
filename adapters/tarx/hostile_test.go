package tarx_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faultline-go/faultline/adapters/tarx"
	"github.com/faultline-go/faultline/internal/archivetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tightLimits returns the limits a hostile case is built against: all the
// tight ones, except that the ratio case lifts the size limits so the ratio
// is what trips.
func tightLimits(c archivetest.Case) tarx.Limits {
	l := tarx.Limits{
		Entries:   archivetest.TightEntries,
		FileSize:  archivetest.TightFileSize,
		TotalSize: archivetest.TightTotalSize,
		Ratio:     archivetest.TightRatio,
	}
	if c.Limit == "ratio" {
		l.FileSize, l.TotalSize = -1, -1
	}
	return l
}

func TestHostile(t *testing.T) {
	for _, c := range archivetest.Hostile() {
		forNewAndExisting(t, c.Name, func(t *testing.T, l layout, replace bool) {
			before := state(t, l.top)
			data := archive(t, c.Format, c.Entries)
			_, err := extractBytes(t, l, data, tarx.Options{Replace: replace, Limits: tightLimits(c)})
			require.Error(t, err)
			e := tarxError(t, err)
			assert.Equal(t, c.Kind, e.Kind, "%v", err)
			if c.Kind == "unsafe_archive" {
				assert.ErrorIs(t, err, tarx.ErrUnsafe)
			} else {
				assert.ErrorIs(t, err, tarx.ErrLimit)
			}
			assert.NotEmpty(t, e.Entry, "the error names the entry: %v", err)
			// Nothing changed outside the staging directory, which is gone.
			assert.Equal(t, before, state(t, l.top))
			noStaging(t, l.parent)
			noVictim(t, c.Victim)
		})
	}
}

// TestHostileWithinLimits checks each limit case is refused only because of
// its limit: with limits lifted it unpacks.
func TestHostileWithinLimits(t *testing.T) {
	for _, c := range archivetest.Hostile() {
		if c.Kind != "limit" {
			continue
		}
		t.Run(c.Name, func(t *testing.T) {
			l := newLayout(t)
			_, err := extractBytes(t, l, archive(t, c.Format, c.Entries), tarx.Options{
				Limits: tarx.Limits{Entries: -1, FileSize: -1, TotalSize: -1, Ratio: -1},
			})
			require.NoError(t, err)
			archivetest.Compare(t, c.Entries, l.dest)
		})
	}
}

func TestSymlinkTargets(t *testing.T) {
	tests := []struct {
		name, target string
		ok           bool
	}{
		{"l", "f", true},
		{"l", "./f", true},
		{"l", ".", true},
		{"a/l", "..", true},
		{"a/l", "../f", true},
		{"a/b/l", "../../f", true},
		{"a/b/l", "../../a/b/c", true},
		{"a/b/l", "./../.././f", true},
		{"l", "..", false},
		{"a/l", "../..", false},
		{"a/b/l", "../../../f", false},
		{"l", "x/../f", false},
		{"a/l", "../x/../f", false},
		{"l", "/etc/passwd", false},
		{"l", "/", false},
	}
	for _, tc := range tests {
		t.Run(tc.name+"->"+tc.target, func(t *testing.T) {
			entries := []archivetest.Entry{
				{Name: "a/b/c", Type: '0', Mode: 0o644, Data: []byte("c")},
				{Name: "f", Type: '0', Mode: 0o644, Data: []byte("f")},
				{Name: tc.name, Type: '2', Linkname: tc.target},
			}
			l := newLayout(t)
			_, err := extractBytes(t, l, archive(t, archivetest.Tar, entries), tarx.Options{})
			if tc.ok {
				require.NoError(t, err)
				archivetest.Compare(t, entries, l.dest)
				return
			}
			require.ErrorIs(t, err, tarx.ErrUnsafe)
			assert.Equal(t, tc.name, tarxError(t, err).Entry)
		})
	}
}

var update = flag.Bool("update", false, "update golden files in testdata")

// TestHostileMessages keeps what a user reads when an archive is refused in
// testdata/hostile.golden; run with -update after a deliberate change.
func TestHostileMessages(t *testing.T) {
	var got strings.Builder
	for _, c := range archivetest.Hostile() {
		l := newLayout(t)
		_, err := extractBytes(t, l, archive(t, c.Format, c.Entries), tarx.Options{Limits: tightLimits(c)})
		require.Error(t, err, c.Name)
		fmt.Fprintf(&got, "%s: %v\n", c.Name, err)
	}
	golden := filepath.Join("testdata", "hostile.golden")
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(golden, []byte(got.String()), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err, "run go test -run TestHostileMessages -update to create it")
	assert.Equal(t, string(want), got.String())
}
