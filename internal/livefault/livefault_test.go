package livefault

import (
	"bytes"
	"context"
	"errors"
	"io"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var caseName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

// TestCases provokes every case and checks that it fails the way its
// name says, at the phase it should, within its time bound.
func TestCases(t *testing.T) {
	cases := Cases()
	require.GreaterOrEqual(t, len(cases), 25)
	seen := map[string]bool{}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			require.Regexp(t, caseName, c.Name)
			require.False(t, seen[c.Name], "duplicate case name")
			seen[c.Name] = true
			require.NotEmpty(t, c.Doc)

			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			start := time.Now()
			f := c.Provoke(ctx, t)
			require.Error(t, f.Err)
			assert.Less(t, time.Since(start), 8*time.Second)
			assert.Contains(t, []string{PhaseConnect, PhaseRequest, PhaseHeaders, PhaseBody, PhaseUnpack, PhaseCommit}, f.Phase)
			if f.Phase == PhaseBody {
				assert.Positive(t, f.BytesReceived, "a mid-body failure delivers part of the body")
				if f.TotalExpected > 0 {
					assert.Less(t, f.BytesReceived, f.TotalExpected)
				}
			}
			t.Logf("%T: %v", f.Err, f.Err)
		})
	}
}

// TestUnpack checks the extractor on the intact archive and on each
// damaged one.
func TestUnpack(t *testing.T) {
	require.NoError(t, Unpack(bytes.NewReader(Archive())))
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"truncated", truncatedArchive(), io.ErrUnexpectedEOF},
		{"checksum", badChecksumArchive(), errors.New("gzip: invalid checksum")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Unpack(bytes.NewReader(tt.data))
			var ue *UnpackError
			require.ErrorAs(t, err, &ue)
			assert.Equal(t, "tar.gz", ue.Format)
			if tt.want == io.ErrUnexpectedEOF {
				assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
			} else {
				assert.EqualError(t, ue.Err, tt.want.Error())
			}
		})
	}
}
