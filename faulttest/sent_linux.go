package faulttest

import (
	"net"
	"time"

	"golang.org/x/sys/unix"
)

// waitSent waits up to max until the kernel has no unacknowledged bytes
// queued on c (SIOCOUTQ), so that a reset that follows does not discard
// data already written.
func waitSent(c *net.TCPConn, max time.Duration) {
	rc, err := c.SyscallConn()
	if err != nil {
		return
	}
	deadline := time.Now().Add(max)
	for time.Now().Before(deadline) {
		queued := 0
		if rc.Control(func(fd uintptr) {
			queued, err = unix.IoctlGetInt(int(fd), unix.SIOCOUTQ)
		}) != nil || err != nil || queued == 0 {
			return
		}
		time.Sleep(200 * time.Microsecond)
	}
}
