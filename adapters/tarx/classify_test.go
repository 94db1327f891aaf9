package tarx_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/faultline-go/faultline/adapters/tarx"
	"github.com/faultline-go/faultline/chain"
	"github.com/faultline-go/faultline/classify"
	"github.com/faultline-go/faultline/internal/archivetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestClassified runs tarx's failures through chain.Walk and classify, the
// way retry code sees them, and again after a JSON round trip of the chain:
// a replayed failure must classify the same.
func TestClassified(t *testing.T) {
	hostile := map[string]archivetest.Case{}
	for _, c := range archivetest.Hostile() {
		hostile[c.Name] = c
	}
	checksumArchive := func(t *testing.T) []byte {
		data := bytes.Clone(archive(t, archivetest.GzipStored, archivetest.Tree(11, 5, 8<<10)))
		data[len(data)-8] ^= 1 // the CRC-32 in the trailer
		return data
	}
	tests := []struct {
		name      string
		run       func(t *testing.T, l layout) error
		kind      classify.Kind
		transport bool
		entry     string
	}{
		{
			name: "reset mid-entry",
			run: func(t *testing.T, l layout) error {
				data := bigArchive(t, archivetest.Gzip)
				_, sr := resetServer(t, data, len(data)/2)
				_, err := tarx.Extract(context.Background(), sr, l.dest, tarx.Options{})
				return err
			},
			kind: classify.ConnectionReset, transport: true, entry: bigEntry,
		},
		{
			name: "truncated",
			run: func(t *testing.T, l layout) error {
				data := bigArchive(t, archivetest.Zstd)
				_, err := extractBytes(t, l, data[:len(data)/2], tarx.Options{})
				return err
			},
			kind: classify.UnexpectedEOF, entry: bigEntry,
		},
		{
			name: "checksum",
			run: func(t *testing.T, l layout) error {
				_, err := extractBytes(t, l, checksumArchive(t), tarx.Options{})
				return err
			},
			kind: classify.Checksum,
		},
		{
			name: "unsafe",
			run: func(t *testing.T, l layout) error {
				c := hostile["symlink-escape-then-write"]
				_, err := extractBytes(t, l, archive(t, c.Format, c.Entries), tarx.Options{})
				return err
			},
			kind: classify.UnsafeArchive, entry: "up",
		},
		{
			name: "bomb",
			run: func(t *testing.T, l layout) error {
				c := hostile["zstd-bomb"]
				_, err := extractBytes(t, l, archive(t, c.Format, c.Entries), tarx.Options{})
				return err
			},
			kind: classify.Limit, entry: "zeros/z0",
		},
		{
			name: "canceled",
			run: func(t *testing.T, l layout) error {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				data := bigArchive(t, archivetest.Tar)
				r := &blockingReader{ctx: ctx, data: data[:len(data)/2], blocked: make(chan struct{})}
				go func() { <-r.blocked; cancel() }()
				_, err := tarx.Extract(ctx, r, l.dest, tarx.Options{})
				return err
			},
			kind: classify.Canceled, entry: bigEntry,
		},
		{
			name: "not a tar",
			run: func(t *testing.T, l layout) error {
				_, err := extractBytes(t, l, bytes.Repeat([]byte("garbage!"), 200), tarx.Options{})
				return err
			},
			kind: classify.Archive,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run(t, newLayout(t))
			require.Error(t, err)
			c := chain.Walk(err)
			facts := classify.Classify(c)
			assert.Equal(t, tc.kind, facts.Kind, "%v", err)
			assert.Equal(t, tc.transport, facts.CausedByTransport, "caused_by_transport")
			assert.Equal(t, tc.entry, facts.Decode.Entry)

			data, jerr := json.Marshal(c)
			require.NoError(t, jerr)
			replayed, jerr := chain.Decode(data)
			require.NoError(t, jerr)
			assert.Equal(t, facts, classify.Classify(replayed), "replay classifies the same")
		})
	}
}
