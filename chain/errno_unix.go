//go:build unix

package chain

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// platformErrnoName names the errnos the table in errno.go leaves out.
func platformErrnoName(e syscall.Errno) string { return unix.ErrnoName(e) }
