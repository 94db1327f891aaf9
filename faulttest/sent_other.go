//go:build !linux

package faulttest

import (
	"net"
	"time"
)

// waitSent gives the peer a moment to receive what was written; only
// Linux lets us ask the kernel.
func waitSent(c *net.TCPConn, max time.Duration) {
	time.Sleep(min(max, 10*time.Millisecond))
}
