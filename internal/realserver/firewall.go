package realserver

import (
	"bufio"
	"context"
	"fmt"
	"strconv"
	"strings"
)

// Faults are iptables rules on the INPUT chain that match what the client
// sends to the server's port: its requests and its acknowledgements. The
// byte counts they test are the connection's reply direction, what the
// server has sent so far (conntrack's accounting, counted in IP packets),
// so "after n bytes" means n bytes of the server's packets, headers
// included. A new connection starts again from zero, as it does through a
// middlebox that limits each connection.
//
// A reset is REJECT --reject-with tcp-reset on the client's next
// acknowledgement: the kernel answers it with a RST in the server's name,
// and the client sees ECONNRESET (HTTP/1.1) or a dead HTTP/2 connection.
// The client's own RSTs pass: when the server sends more, the client's
// kernel answers with a RST that reaches the server, so the server learns
// of the reset as it would from a real one, and stops, instead of
// retransmitting for minutes. A black hole drops the client's packets and
// nothing else: the server's packets still arrive until its window is
// full, then silence, with no RST and no FIN; only the client's own
// timers get it out.
//
// A fault that strikes once marks the first connection that crosses the
// threshold (the statistic match's nth packet, counted once) and breaks
// that connection alone; later connections pass.

// Marks for the connections a one-shot fault broke.
const (
	markReset     = "0x7e1"
	markBlackHole = "0x7e2"
)

// IPTables runs iptables in the namespace. iptables serializes its users
// with a lock that all namespaces share; -w waits for it.
func (ns *Namespace) IPTables(ctx context.Context, arg ...string) error {
	_, err := ns.Run(ctx, "iptables", append([]string{"-w", "10"}, arg...)...)
	return err
}

// serverPort matches the client's packets to port.
func serverPort(port int) []string {
	return []string{"-p", "tcp", "--dport", strconv.Itoa(port)}
}

// afterBytes matches packets of connections whose server has sent at
// least n bytes.
func afterBytes(n int64) []string {
	return []string{"-m", "connbytes", "--connbytes", strconv.FormatInt(n, 10) + ":", "--connbytes-dir", "reply", "--connbytes-mode", "bytes"}
}

// notRST keeps the client's own resets out of a fault's reach.
var notRST = []string{"-m", "tcp", "!", "--tcp-flags", "RST", "RST"}

func rule(parts ...[]string) []string {
	var r []string
	for _, p := range parts {
		r = append(r, p...)
	}
	return r
}

// ResetAfter resets every connection to port once the server has sent n
// bytes on it.
func (ns *Namespace) ResetAfter(ctx context.Context, port int, n int64) error {
	return ns.IPTables(ctx, rule([]string{"-A", "INPUT"}, serverPort(port), notRST, afterBytes(n),
		[]string{"-j", "REJECT", "--reject-with", "tcp-reset"})...)
}

// ResetOnceAfter resets the first connection to port on which the server
// has sent n bytes, and no other. With n = 0 it resets whichever
// connection sends the next packet: the one in progress.
func (ns *Namespace) ResetOnceAfter(ctx context.Context, port int, n int64) error {
	if err := ns.markOnce(ctx, port, n, markReset); err != nil {
		return err
	}
	return ns.IPTables(ctx, rule([]string{"-A", "INPUT"}, serverPort(port), notRST,
		[]string{"-m", "connmark", "--mark", markReset, "-j", "REJECT", "--reject-with", "tcp-reset"})...)
}

// BlackHoleAfter drops everything the client sends on every connection to
// port once the server has sent n bytes on it.
func (ns *Namespace) BlackHoleAfter(ctx context.Context, port int, n int64) error {
	return ns.IPTables(ctx, rule([]string{"-A", "INPUT"}, serverPort(port), afterBytes(n), []string{"-j", "DROP"})...)
}

// BlackHoleOnceAfter drops everything the client sends on the first
// connection to port on which the server has sent n bytes, and on no
// other.
func (ns *Namespace) BlackHoleOnceAfter(ctx context.Context, port int, n int64) error {
	if err := ns.markOnce(ctx, port, n, markBlackHole); err != nil {
		return err
	}
	return ns.IPTables(ctx, rule([]string{"-A", "INPUT"}, serverPort(port),
		[]string{"-m", "connmark", "--mark", markBlackHole, "-j", "DROP"})...)
}

// markOnce marks the first unmarked connection to port that crosses n
// bytes, and then never another: the nth match with a period no test
// reaches fires on its first packet only.
func (ns *Namespace) markOnce(ctx context.Context, port int, n int64, mark string) error {
	r := rule([]string{"-A", "INPUT"}, serverPort(port), []string{"-m", "connmark", "--mark", "0"})
	if n > 0 {
		r = append(r, afterBytes(n)...)
	}
	r = append(r, "-m", "statistic", "--mode", "nth", "--every", "2000000000", "--packet", "0",
		"-j", "CONNMARK", "--set-mark", mark)
	return ns.IPTables(ctx, r...)
}

// RateLimit holds the namespace's loopback interface to rate (tc's units:
// "1600kbit", "80mbit") with a token bucket whose burst is small, so the
// rate is steady rather than a burst and a pause. Both directions share
// it; acknowledgements take little. It sets the interface's MTU to 1500
// first: a token bucket drops any packet larger than its burst, and
// loopback's 64 KiB packets would need a burst of a second's worth at
// these rates. The queue holds 1 MiB, more than a sender has in flight
// at such rates: with tc's usual latency-sized queue (80 KB at 200 KB/s)
// the queue overflows, and the retransmissions of what it dropped triple
// the bytes the server sends, which would blame the client for what the
// shaper did.
func (ns *Namespace) RateLimit(ctx context.Context, rate string) error {
	if err := ns.SetMTU(ctx, 1500); err != nil {
		return err
	}
	_, err := ns.Run(ctx, "tc", "qdisc", "replace", "dev", "lo", "root", "tbf", "rate", rate, "burst", "8kb", "limit", "1mb")
	return err
}

// A Counter is an iptables rule that matches and counts without acting.
type Counter struct {
	ns      *Namespace
	chain   string
	comment string
}

// CountWire starts counting the bytes the server on port sends: its IP
// packets as they leave it, headers and retransmissions included, which is
// what a network would carry. Add it after every other OUTPUT rule.
func (ns *Namespace) CountWire(ctx context.Context, port int) (*Counter, error) {
	c := &Counter{ns: ns, chain: "OUTPUT", comment: "faultline-wire-" + strconv.Itoa(port)}
	return c, ns.IPTables(ctx, "-A", "OUTPUT", "-p", "tcp", "--sport", strconv.Itoa(port), "-m", "comment", "--comment", c.comment)
}

// CountRequests starts counting the plain-text HTTP/1.1 GET requests sent
// to port: packets whose payload starts with "GET ". It counts from the
// kernel, as the request arrives, where an access log shows a request only
// when the server is done with it (for a black-holed connection, minutes
// later). It goes first in INPUT, so faults cannot hide a request from it.
func (ns *Namespace) CountRequests(ctx context.Context, port int) (*Counter, error) {
	c := &Counter{ns: ns, chain: "INPUT", comment: "faultline-requests-" + strconv.Itoa(port)}
	// The payload of a client's packet starts 52 bytes into it on these
	// paths (IPv4, 20 bytes; TCP with timestamps, 32); --from and --to
	// keep the match at the start of the payload however the options vary.
	return c, ns.IPTables(ctx, "-I", "INPUT", "1", "-p", "tcp", "--dport", strconv.Itoa(port),
		"-m", "string", "--algo", "bm", "--from", "40", "--to", "80", "--string", "GET ",
		"-m", "comment", "--comment", c.comment)
}

// Read returns the packets and bytes the rule has matched.
func (c *Counter) Read(ctx context.Context) (packets, bytes int64, err error) {
	out, err := c.ns.Run(ctx, "iptables", "-w", "10", "-L", c.chain, "-v", "-n", "-x")
	if err != nil {
		return 0, 0, err
	}
	tag := "/* " + c.comment + " */"
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if !strings.Contains(line, tag) {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			break
		}
		packets, err1 := strconv.ParseInt(f[0], 10, 64)
		bytes, err2 := strconv.ParseInt(f[1], 10, 64)
		if err1 != nil || err2 != nil {
			break
		}
		return packets, bytes, nil
	}
	return 0, 0, fmt.Errorf("iptables in %s: no rule %q in %s:\n%s", c.ns.Name, c.comment, c.chain, out)
}

// Bytes returns the bytes the rule has matched.
func (c *Counter) Bytes(ctx context.Context) (int64, error) {
	_, b, err := c.Read(ctx)
	return b, err
}

// Packets returns the packets the rule has matched.
func (c *Counter) Packets(ctx context.Context) (int64, error) {
	p, _, err := c.Read(ctx)
	return p, err
}

// Zero resets the counts of every rule in the counter's chain.
func (c *Counter) Zero(ctx context.Context) error {
	return c.ns.IPTables(ctx, "-Z", c.chain)
}
