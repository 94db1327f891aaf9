package realclients

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/faultline-go/faultline/internal/realserver"
)

// A Resolver is what a client's name lookups meet. Faults of names are
// recorded inside a network namespace of their own, whose
// /etc/resolv.conf names a server on the namespace's loopback: no query
// leaves the machine, and what the server answers is the fault.
type Resolver int

const (
	// HostResolver is the machine's own resolver: faults that name
	// 127.0.0.1 look nothing up.
	HostResolver Resolver = iota
	// NXDomain answers every query with NXDOMAIN (RFC 1035 §4.1.1, RCODE
	// 3): the name does not exist.
	NXDomain
	// ResolverDown has nothing listen where resolv.conf points: every
	// query is refused by the kernel, as when the resolver is down or
	// unreachable, and the lookup fails for a reason that may pass.
	ResolverDown
)

// ErrNoNamespace is returned when a fault needs a network namespace and
// this machine or user cannot make one (not root, no ip(8)).
var ErrNoNamespace = errors.New("a network namespace is needed (root and ip(8)) to record faults of names without querying the machine's resolver")

// isolated is a network namespace with a resolver fault in it.
type isolated struct {
	ns       *realserver.Namespace
	resolv   string
	listener net.PacketConn
	answered atomic.Int64 // queries answered
}

// isolate makes a namespace in which names resolve as r says. resolv.conf
// is written into dir.
func isolate(ctx context.Context, r Resolver, dir string) (*isolated, error) {
	if os.Geteuid() != 0 {
		return nil, ErrNoNamespace
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return nil, ErrNoNamespace
	}
	ns, err := realserver.NewNamespace(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoNamespace, err)
	}
	iso := &isolated{ns: ns, resolv: filepath.Join(dir, "resolv.conf")}
	// One try of one second: a lookup that is refused or answered takes
	// milliseconds, and one that is not must not outlast the recording.
	if err := os.WriteFile(iso.resolv, []byte("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n"), 0o644); err != nil {
		iso.close()
		return nil, err
	}
	if r == NXDomain {
		pc, err := listenIn(ns.Name, "udp", "127.0.0.1:53")
		if err != nil {
			iso.close()
			return nil, err
		}
		iso.listener = pc
		go iso.answerNXDomain(pc)
	}
	return iso, nil
}

// command runs args inside the namespace with its resolv.conf. ip(8)
// gives the command a mount namespace of its own whose mounts do not
// propagate back, so the bind mount over /etc/resolv.conf is seen by the
// client alone.
func (iso *isolated) command(ctx context.Context, args []string) *exec.Cmd {
	script := `mount --bind "$0" /etc/resolv.conf && exec "$@"`
	return iso.ns.Command(ctx, "sh", append([]string{"-c", script, iso.resolv}, args...)...)
}

func (iso *isolated) close() {
	if iso.listener != nil {
		iso.listener.Close()
	}
	iso.ns.Close()
}

// listenIn opens a packet listener inside the named namespace: a socket
// belongs to the namespace of the thread that made it, so a locked thread
// joins the namespace, listens and goes back. Should it fail to go back,
// it stays locked and the runtime retires it with the goroutine.
func listenIn(ns, network, addr string) (net.PacketConn, error) {
	f, err := os.Open(filepath.Join("/run/netns", ns))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	type result struct {
		pc  net.PacketConn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		home, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			ch <- result{nil, err}
			return
		}
		defer home.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			ch <- result{nil, fmt.Errorf("entering %s: %w", ns, err)}
			return
		}
		pc, err := net.ListenPacket(network, addr)
		if unix.Setns(int(home.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		ch <- result{pc, err}
	}()
	r := <-ch
	return r.pc, r.err
}

// answerNXDomain answers every query on pc with NXDOMAIN until pc is
// closed.
func (iso *isolated) answerNXDomain(pc net.PacketConn) {
	buf := make([]byte, 512)
	for {
		n, addr, err := pc.ReadFrom(buf)
		if err != nil {
			return
		}
		if resp := nxdomain(buf[:n]); resp != nil {
			if _, err := pc.WriteTo(resp, addr); err == nil {
				iso.answered.Add(1)
			}
		}
	}
}

// nxdomain returns the NXDOMAIN response to query: its header and first
// question (RFC 1035 §4.1), marked a response with RCODE 3, no records.
// A query too short to hold a question gets none.
func nxdomain(query []byte) []byte {
	const header = 12
	if len(query) < header || binary.BigEndian.Uint16(query[4:]) == 0 {
		return nil
	}
	end := header
	for end < len(query) && query[end] != 0 {
		if query[end]&0xc0 != 0 { // a compressed name has no place in a question
			return nil
		}
		end += int(query[end]) + 1
	}
	end += 1 + 4 // the root label, QTYPE, QCLASS
	if end > len(query) {
		return nil
	}
	resp := append([]byte(nil), query[:end]...)
	// QR, the query's opcode and RD; RA; RCODE 3.
	resp[2] = 0x80 | query[2]&0x79
	resp[3] = 0x80 | 3
	binary.BigEndian.PutUint16(resp[4:], 1)
	clear(resp[6:header]) // no answers, authorities or additional records
	return resp
}
