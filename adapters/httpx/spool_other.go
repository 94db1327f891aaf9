//go:build !unix

package httpx

import "os"

// Without flock, a spool is not protected from a second process.
func lockFile(*os.File) error { return nil }

func unlockFile(*os.File) {}
