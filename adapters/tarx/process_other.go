//go:build !unix

package tarx

// processAlive cannot tell here, so it says yes and leaves staging
// directories to the age threshold.
func processAlive(pid int) bool { return true }
