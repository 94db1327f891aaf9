//go:build !unix

package chain

import "syscall"

func platformErrnoName(syscall.Errno) string { return "" }
