//go:build !race

package tarx_test

const raceEnabled = false
