//go:build race

package e2e

// raceEnabled reports a build with the race detector, under which the
// slowest decoders (xz, bzip2) take minutes.
const raceEnabled = true
