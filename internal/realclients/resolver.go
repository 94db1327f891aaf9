package realclients

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/faultline-go/faultline/faulttest"
	"github.com/faultline-go/faultline/internal/realserver"
)

// A Resolver is what a client's name lookups meet. Every run has a
// network namespace of its own, whose /etc/resolv.conf names a server on
// the namespace's loopback: no query leaves the machine, and what that
// server answers is the fault.
type Resolver int

const (
	// ResolverDown has nothing listen where resolv.conf points: every
	// query is refused by the kernel, as when the resolver is down or
	// unreachable, and the lookup fails for a reason that may pass.
	// Faults that name 127.0.0.1 look nothing up.
	ResolverDown Resolver = iota
	// NXDomain answers every query with NXDOMAIN (RFC 1035 §4.1.1, RCODE
	// 3): the name does not exist.
	NXDomain
)

// ErrNoNamespace is returned when a fault needs a network namespace and
// this machine or user cannot make one (not root, no ip(8)).
var ErrNoNamespace = errors.New("a network namespace is needed (root and ip(8)): each run has one, so that nothing a client does reaches beyond its loopback")

// isolated is a network namespace with a resolver fault in it, where a
// run's server listens and its client runs.
type isolated struct {
	ns       *realserver.Namespace
	resolv   string
	listener net.PacketConn
	answered atomic.Int64 // queries answered
	servers  []io.Closer
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
	for _, s := range iso.servers {
		s.Close()
	}
	if iso.listener != nil {
		iso.listener.Close()
	}
	iso.ns.Close()
}

// inNamespace runs fn on a thread that joined the named namespace: a
// socket belongs to the namespace of the thread that made it, and keeps
// it wherever it is used afterwards. The thread goes back when fn
// returns; should it fail to, it stays locked and the runtime retires it
// with the goroutine.
func inNamespace(ns string, fn func() error) error {
	f, err := os.Open(filepath.Join("/run/netns", ns))
	if err != nil {
		return err
	}
	defer f.Close()
	ch := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		home, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			ch <- err
			return
		}
		defer home.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			ch <- fmt.Errorf("entering %s: %w", ns, err)
			return
		}
		err = fn()
		if unix.Setns(int(home.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		ch <- err
	}()
	return <-ch
}

// listenIn opens a packet listener inside the named namespace.
func listenIn(ns, network, addr string) (pc net.PacketConn, err error) {
	err = inNamespace(ns, func() error {
		pc, err = net.ListenPacket(network, addr)
		return err
	})
	return pc, err
}

// startServer starts a fault server inside the namespace; close stops it.
func (iso *isolated) startServer(cfg faulttest.Config) (s *faulttest.Server, err error) {
	err = inNamespace(iso.ns.Name, func() error {
		s, err = faulttest.Start(cfg)
		return err
	})
	if err == nil {
		iso.servers = append(iso.servers, s)
	}
	return s, err
}

// serveAPI serves e to every request inside the namespace, over HTTP/1.1,
// and returns the URL of a file on it; close stops it.
func (iso *isolated) serveAPI(e APIError) (string, error) {
	var ln net.Listener
	err := inNamespace(iso.ns.Name, func() (err error) {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
		return err
	})
	if err != nil {
		return "", err
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
			w.Header().Set("Content-Type", e.ContentType)
			w.Header().Set("Content-Length", strconv.Itoa(len(e.Body)))
			w.WriteHeader(e.Status)
			if r.Method != http.MethodHead {
				io.WriteString(w, e.Body)
			}
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go srv.Serve(ln)
	iso.servers = append(iso.servers, srv)
	return "http://" + ln.Addr().String() + "/file", nil
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
