package httpx

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestChunkSizeBalanced: for sizes and widths, the chunk plan stays within
// its bounds and, where the bounds leave room, gives every connection the
// same number of chunks, so that the last round has no idle connection.
func TestChunkSizeBalanced(t *testing.T) {
	const MiB = 1 << 20
	sizes := []int64{
		4 * MiB, 5 * MiB, 7*MiB + 3, 12 * MiB, 16*MiB + 1, 24 * MiB, 100 * MiB,
		148_700_000, // bench/parallel.sh's archive
		155_926_781, 1 << 30, 5<<30 + 12345,
	}
	for _, window := range []int64{4 * MiB, 16 * MiB, DefaultWindow, 256 * MiB} {
		for _, conns := range []int{2, 3, 4, 5, 8, 16} {
			for _, total := range sizes {
				t.Run(fmt.Sprintf("%d/%d/%d", window, conns, total), func(t *testing.T) {
					n := int64(conns)
					chunk := chunkSize(total, window, conns)
					most := max(min(window/(n+1), maxChunk), minChunk)
					assert.GreaterOrEqual(t, chunk, int64(minChunk))
					assert.LessOrEqual(t, chunk, most, "every connection has a chunk in the window")
					count := ceilDiv(total, chunk)
					if total >= 2*n*most {
						assert.GreaterOrEqual(t, count, 2*n, "two chunks for each connection")
					}
					// Room to balance: one round of chunks of the least
					// size fits, and the largest chunk allowed is larger
					// than the least.
					if total >= n*minChunk && (most > minChunk || total%(n*minChunk) == 0) {
						assert.Zero(t, count%n, "%d chunks of %d over %d connections", count, chunk, conns)
					}
				})
			}
		}
	}
}

// TestChunkSizeBench: bench/parallel.sh's archive on 4 connections in
// 20 chunks of 7.4 MB, five rounds, where chunks of 8 MiB made 18 and a
// last round that left two connections idle.
func TestChunkSizeBench(t *testing.T) {
	chunk := chunkSize(148_700_000, DefaultWindow, 4)
	assert.Equal(t, int64(20), ceilDiv(148_700_000, chunk))
	assert.Equal(t, int64(32), ceilDiv(148_700_000, chunkSize(148_700_000, DefaultWindow, 8)))
	// The parallel tests' plan is unchanged: 12 MiB in 1 MiB chunks.
	assert.Equal(t, int64(parChunk), chunkSize(parSize, parOpts.Window, parOpts.Connections))
}
