//go:build race

package tarx_test

// raceEnabled reports a build with the race detector, which makes the
// heaviest attacks take minutes.
const raceEnabled = true
