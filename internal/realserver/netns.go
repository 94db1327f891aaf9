package realserver

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Prefix starts the name of every network namespace and scratch directory
// this package makes: Prefix, the pid of the process that made it, a dash
// and a random suffix.
const Prefix = "faultline-rs-"

// netnsDir is where ip(8) keeps the handles of named namespaces.
const netnsDir = "/run/netns"

// A Namespace is a named Linux network namespace of its own: a loopback
// interface, firewall and queueing disciplines that nothing else on the
// machine shares.
type Namespace struct {
	Name string
}

// NewNamespace makes a namespace with a unique name and brings its
// loopback interface up. Close removes it.
func NewNamespace(ctx context.Context) (*Namespace, error) {
	ns := &Namespace{Name: uniqueName()}
	if err := run(ctx, "ip", "netns", "add", ns.Name); err != nil {
		return nil, err
	}
	if _, err := ns.Run(ctx, "ip", "link", "set", "lo", "up"); err != nil {
		ns.Close()
		return nil, err
	}
	// Tail loss probes resend the last unacknowledged segment after about
	// two round trips without an acknowledgement. On loopback a round trip
	// takes microseconds, so a reader busy unpacking, whose delayed
	// acknowledgement takes longer, draws probes for data that was never
	// lost: 2–6% more bytes on the wire, counted against the client.
	// Real paths have round trips longer than a delayed acknowledgement.
	// (sysctl(8) may be missing; /proc/sys/net shows the namespace of
	// the process that opens it.)
	if _, err := ns.Run(ctx, "sh", "-c", "echo 0 >/proc/sys/net/ipv4/tcp_early_retrans"); err != nil {
		ns.Close()
		return nil, err
	}
	return ns, nil
}

func uniqueName() string {
	var b [4]byte
	rand.Read(b[:])
	return Prefix + strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(b[:])
}

// Command returns a command that runs name inside the namespace, killed
// when ctx is done. ip(8) executes it in its own place, so the command's
// process id is that of name itself, and signals sent to it reach it.
func (ns *Namespace) Command(ctx context.Context, name string, arg ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns.Name, name}, arg...)...)
}

// Run runs name inside the namespace and returns its standard output. The
// error carries what the command said on standard error.
func (ns *Namespace) Run(ctx context.Context, name string, arg ...string) (string, error) {
	cmd := ns.Command(ctx, name, arg...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%s %s in %s: %w: %s", name, strings.Join(arg, " "), ns.Name, err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// SetMTU sets the loopback interface's MTU. The default, 65536, lets a
// new TCP connection's first flight carry 640 KiB; 1500 behaves like the
// Ethernet paths real downloads cross.
func (ns *Namespace) SetMTU(ctx context.Context, mtu int) error {
	_, err := ns.Run(ctx, "ip", "link", "set", "lo", "mtu", strconv.Itoa(mtu))
	return err
}

// Dial connects to addr from inside the namespace, so that a test can
// probe a server there without a client program.
func (ns *Namespace) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	f, err := os.Open(filepath.Join(netnsDir, ns.Name))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		// A socket belongs to the namespace of the thread that made it,
		// and keeps it wherever it is used afterwards. So the thread
		// joins the namespace, dials and goes back; should it fail to go
		// back, it stays locked and the runtime retires it with this
		// goroutine.
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
			ch <- result{nil, fmt.Errorf("entering %s: %w", ns.Name, err)}
			return
		}
		var d net.Dialer
		c, err := d.DialContext(ctx, network, addr)
		if unix.Setns(int(home.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		ch <- result{c, err}
	}()
	r := <-ch
	return r.c, r.err
}

// Close kills whatever still runs in the namespace and removes it.
// Servers are stopped by their own Stop first; this is the safety net for
// a test that failed half-way.
func (ns *Namespace) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return remove(ctx, ns.Name)
}

// remove kills the processes in namespace name, then deletes it.
func remove(ctx context.Context, name string) error {
	out, err := exec.CommandContext(ctx, "ip", "netns", "pids", name).Output()
	if err == nil {
		for _, f := range strings.Fields(string(out)) {
			// Never this process: a thread of it may visit the namespace
			// (see Dial).
			if pid, err := strconv.Atoi(f); err == nil && pid > 1 && pid != os.Getpid() {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
	return run(ctx, "ip", "netns", "del", name)
}

// Sweep removes the namespaces and scratch directories that earlier runs
// left behind when they were killed before their clean-up ran: those
// named with Prefix whose process is gone. It returns their names.
// Namespaces of a process still running, this one included, are left
// alone.
func Sweep(ctx context.Context) ([]string, error) {
	var swept []string
	var errs []error
	if entries, err := os.ReadDir(netnsDir); err == nil {
		for _, e := range entries {
			if !orphaned(e.Name()) {
				continue
			}
			if err := remove(ctx, e.Name()); err != nil {
				errs = append(errs, err)
				continue
			}
			swept = append(swept, e.Name())
		}
	}
	for _, base := range scratchBases() {
		entries, err := os.ReadDir(base)
		if err != nil {
			continue
		}
		for _, e := range entries {
			if !orphaned(e.Name()) {
				continue
			}
			p := filepath.Join(base, e.Name())
			if err := os.RemoveAll(p); err != nil {
				errs = append(errs, err)
				continue
			}
			swept = append(swept, p)
		}
	}
	return swept, errors.Join(errs...)
}

// orphaned reports whether name is one of this package's and the process
// that made it is gone.
func orphaned(name string) bool {
	rest, ok := strings.CutPrefix(name, Prefix)
	if !ok {
		return false
	}
	pidText, _, ok := strings.Cut(rest, "-")
	if !ok {
		return false
	}
	pid, err := strconv.Atoi(pidText)
	if err != nil || pid <= 0 {
		return false
	}
	// Signal 0 checks that the process exists. A reused pid keeps its
	// leftovers until a later sweep; that errs on the safe side.
	err = syscall.Kill(pid, 0)
	return errors.Is(err, syscall.ESRCH)
}

// scratchBases are the directories MkdirScratch may use.
func scratchBases() []string {
	bases := []string{os.TempDir()}
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		bases = append(bases, "/dev/shm")
	}
	return bases
}

// MkdirScratch makes a new directory for one test's files, named so that
// Sweep finds it if the test's process dies before removing it: on a
// memory file system when one is at hand, since unpacking thousands of
// files onto the disks these tests run on costs seconds. The directory is
// world-readable, so servers that drop privileges can read what is in
// it.
func MkdirScratch() (string, error) {
	bases := scratchBases()
	dir, err := os.MkdirTemp(bases[len(bases)-1], Prefix+strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		dir, err = os.MkdirTemp(bases[0], Prefix+strconv.Itoa(os.Getpid())+"-")
	}
	if err != nil {
		return "", err
	}
	return dir, os.Chmod(dir, 0o755)
}

// run runs a command outside any namespace; the error carries what it
// said.
func run(ctx context.Context, name string, arg ...string) error {
	out, err := exec.CommandContext(ctx, name, arg...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(arg, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
