package realserver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
)

// EnvRequire names the environment variable that, set to "require",
// makes a test that cannot run here fail instead of skipping. CI sets it,
// so the real-server tests can never pass there by not running.
const EnvRequire = "FAULTLINE_REAL_SERVERS"

// Required reports whether EnvRequire is set to "require".
func Required() bool { return os.Getenv(EnvRequire) == "require" }

// Check reports why the real-server tests cannot run on this machine, or
// nil when they can: they need Linux, root, the ip, iptables and tc
// commands, and the programs named in bins (for example "nginx",
// "caddy"). It does not try the kernel; Probe does.
func Check(bins ...string) error {
	if runtime.GOOS != "linux" {
		return fmt.Errorf("network namespaces need Linux, not %s", runtime.GOOS)
	}
	var problems []string
	if os.Geteuid() != 0 {
		problems = append(problems, "not root (network namespaces, iptables and tc need root)")
	}
	var missing []string
	for _, b := range append([]string{"ip", "iptables", "tc"}, bins...) {
		if _, err := exec.LookPath(b); err != nil {
			missing = append(missing, b)
		}
	}
	if len(missing) > 0 {
		problems = append(problems, "not installed: "+strings.Join(missing, ", "))
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// Probe makes a namespace and tries in it everything the faults and
// counters use, then removes it: the kernel may lack a module (netem is
// missing on some machines; connbytes, connmark, statistic, string or
// tbf could be too).
func Probe(ctx context.Context) error {
	if err := Check(); err != nil {
		return err
	}
	ns, err := NewNamespace(ctx)
	if err != nil {
		return err
	}
	defer ns.Close()
	if err := ns.ResetOnceAfter(ctx, 9, 1<<20); err != nil {
		return err
	}
	if err := ns.BlackHoleAfter(ctx, 9, 1<<20); err != nil {
		return err
	}
	if _, err := ns.CountRequests(ctx, 9); err != nil {
		return err
	}
	c, err := ns.CountWire(ctx, 9)
	if err != nil {
		return err
	}
	if _, err := c.Bytes(ctx); err != nil {
		return err
	}
	return ns.RateLimit(ctx, "80mbit")
}
