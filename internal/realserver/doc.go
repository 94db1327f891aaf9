// Package realserver runs web servers nobody in this project wrote, nginx
// and Caddy, inside a private Linux network namespace, and breaks the path
// to them with the kernel's own tools: iptables rules that reset or
// black-hole a connection once it has carried so many bytes, and a tc
// token bucket that holds the whole namespace to a slow, steady rate.
//
// faultline's other tests break connections with internal/faultserver, a
// server of our own that fails at exact byte offsets. That proves the
// client reacts to each fault; it cannot prove the client copes with
// Range, If-Range and ETag code written by someone else, nor with faults
// made the way a middlebox makes them, where the client sees only what the
// kernel shows it. This package provides that second opinion.
//
// What a test measures comes from the kernel too: the bytes the server
// really put on the wire are an iptables OUTPUT counter (an access log
// counts what was written into socket buffers, which overstates a reset
// connection by megabytes), and plain HTTP/1.1 requests are counted by a
// rule that matches the request line.
//
// Everything needs root, the ip, iptables and tc commands, and the server
// binaries; [Check] says what is missing so that tests skip loudly, and
// the environment variable FAULTLINE_REAL_SERVERS=require (set by CI)
// turns such a skip into a failure. A namespace is named
// "faultline-rs-PID-N" after the process that made it, so [Sweep] can
// remove what a killed run left behind without touching a run still
// going.
package realserver
