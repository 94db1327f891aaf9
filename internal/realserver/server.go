package realserver

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// A Server is a server process running in a namespace.
type Server struct {
	// URL is the server's base URL, without a trailing slash:
	// http://127.0.0.1:8080 or https://127.0.0.1:8443.
	URL string
	// Port is the port it listens on, on 127.0.0.1 in its namespace.
	Port int
	// CAFile, for a TLS server, is the PEM certificate of the authority
	// that signed its certificate, for clients to trust explicitly.
	CAFile string
	// AccessLog is the file the server logs each request to, as a JSON
	// object per line (see Requests).
	AccessLog string
	// Dir holds the server's configuration, logs and state.
	Dir string

	name   string
	ns     *Namespace
	cmd    *exec.Cmd
	output *lockedWriter // what the process wrote to stdout and stderr
	done   chan struct{}
	err    error // how the process ended, once done is closed

	stopOnce sync.Once
	cleanup  func() // removes Dir when the package made it
	// errorLog is the file the server writes its errors to when not to
	// its output, quoted when it fails to start.
	errorLog string
}

// newServer returns the Server that is to serve scheme on 127.0.0.1:port,
// its files in dir, or in a new scratch directory that Close removes.
func newServer(scheme string, port int, dir string) (*Server, error) {
	dir, cleanup, err := serverDir(dir)
	if err != nil {
		return nil, err
	}
	return &Server{
		URL:       scheme + "://127.0.0.1:" + strconv.Itoa(port),
		Port:      port,
		AccessLog: filepath.Join(dir, "access.log"),
		Dir:       dir,
		cleanup:   cleanup,
	}, nil
}

// serverDir returns dir, or a new scratch directory and the function that
// removes it.
func serverDir(dir string) (string, func(), error) {
	if dir != "" {
		return dir, func() {}, nil
	}
	d, err := MkdirScratch()
	if err != nil {
		return "", nil, err
	}
	return d, func() { os.RemoveAll(d) }, nil
}

// launch writes config to the file conf, starts the server process (name
// with env and arg) and waits until probe says it serves. When it does
// not, launch stops the process and removes a scratch directory; an error
// while waiting quotes the error log.
func (s *Server) launch(ctx context.Context, ns *Namespace, conf, config string, probe func(context.Context) error, name string, env []string, arg ...string) (err error) {
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if err := os.WriteFile(conf, []byte(config), 0o644); err != nil {
		return err
	}
	if err := s.start(ctx, ns, name, env, arg...); err != nil {
		return err
	}
	if err := s.waitReady(ctx, probe); err != nil {
		if s.errorLog == "" {
			return err
		}
		log, _ := os.ReadFile(s.errorLog)
		return fmt.Errorf("%w\nerror.log:\n%s", err, log)
	}
	return nil
}

// start starts the server process.
func (s *Server) start(ctx context.Context, ns *Namespace, name string, env []string, arg ...string) error {
	s.name, s.ns = name, ns
	s.cmd = ns.Command(context.Background(), name, arg...)
	s.cmd.Env = append(os.Environ(), env...)
	s.output = &lockedWriter{}
	s.cmd.Stdout, s.cmd.Stderr = s.output, s.output
	// Its own process group: a ^C to the test run stops the test, whose
	// clean-up stops the server by its pid.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", name, err)
	}
	s.done = make(chan struct{})
	go func() {
		s.err = s.cmd.Wait()
		close(s.done)
	}()
	return nil
}

// Pid returns the server's process id.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// waitReady calls probe until it succeeds, the process ends or ctx is
// done.
func (s *Server) waitReady(ctx context.Context, probe func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
		last = probe(pctx)
		pcancel()
		if last == nil {
			return nil
		}
		select {
		case <-s.done:
			return fmt.Errorf("%s exited before serving (%v): %s", s.name, s.err, s.Output())
		case <-ctx.Done():
			return fmt.Errorf("%s did not serve on %s: %v: %s", s.name, s.URL, last, s.Output())
		case <-tick.C:
		}
	}
}

// probeTCP connects to the server's port.
func (s *Server) probeTCP(ctx context.Context) error {
	c, err := s.ns.Dial(ctx, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)))
	if err != nil {
		return err
	}
	return c.Close()
}

// probeTLS completes a TLS handshake with the server, trusting roots.
func (s *Server) probeTLS(ctx context.Context, cfg *tls.Config) error {
	c, err := s.ns.Dial(ctx, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)))
	if err != nil {
		return err
	}
	defer c.Close()
	tc := tls.Client(c, cfg)
	return tc.HandshakeContext(ctx)
}

// Output returns what the server process wrote to its standard output and
// error.
func (s *Server) Output() string {
	if s.output == nil {
		return ""
	}
	s.output.mu.Lock()
	defer s.output.mu.Unlock()
	return s.output.b.String()
}

// Stop stops the server: SIGTERM to its own pid, then SIGKILL if it is
// still running after a few seconds. It returns once the process is gone.
func (s *Server) Stop() error {
	var err error
	s.stopOnce.Do(func() {
		if s.cmd == nil || s.cmd.Process == nil {
			return
		}
		select {
		case <-s.done:
			return
		default:
		}
		s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(5 * time.Second):
			s.cmd.Process.Kill()
			<-s.done
			err = fmt.Errorf("%s (pid %d) ignored SIGTERM for 5s and was killed", s.name, s.Pid())
		}
	})
	return err
}

// Close stops the server and removes its directory if StartNginx or
// StartCaddy made it.
func (s *Server) Close() error {
	err := s.Stop()
	if s.cleanup != nil {
		s.cleanup()
	}
	return err
}

// Running reports whether the server process is still running.
func (s *Server) Running() bool {
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// A Request is one line of a server's access log.
type Request struct {
	Method string
	URI    string
	Proto  string
	// Range and IfRange are the request's Range and If-Range headers, ""
	// when it had none.
	Range   string
	IfRange string
	Status  int
	// Size is the body bytes the server wrote into the socket for this
	// request: more than arrived when the connection was reset.
	Size int64
	// Start is when the server began the request: its log time less its
	// duration. Requests returns requests in this order.
	Start time.Time
}

// logLine is an access log line: Caddy's JSON format, which nginx is
// configured to imitate.
type logLine struct {
	Request struct {
		Method  string              `json:"method"`
		URI     string              `json:"uri"`
		Proto   string              `json:"proto"`
		Headers map[string][]string `json:"headers"`
	} `json:"request"`
	Status int   `json:"status"`
	Size   int64 `json:"size"`
	// TS is when the line was logged, in seconds since the epoch, and
	// Duration how long the request took, in seconds (Caddy's defaults;
	// nginx's $msec and $request_time).
	TS       float64 `json:"ts"`
	Duration float64 `json:"duration"`
}

// Requests reads the access log and returns the requests in the order they
// started. A server logs a request when it is done with it, so a request
// still being served is not there yet, and the log's own order is the
// order requests ended: a reset request can end after the resume that
// followed it.
func (s *Server) Requests() ([]Request, error) {
	data, err := os.ReadFile(s.AccessLog)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var reqs []Request
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var l logLine
		if err := json.Unmarshal(line, &l); err != nil {
			return nil, fmt.Errorf("%s: %w: %q", s.AccessLog, err, line)
		}
		r := Request{Method: l.Request.Method, URI: l.Request.URI, Proto: l.Request.Proto, Status: l.Status, Size: l.Size,
			Start: time.Unix(0, int64((l.TS-l.Duration)*1e9))}
		for k, v := range l.Request.Headers {
			if len(v) == 0 {
				continue
			}
			switch {
			case strings.EqualFold(k, "Range"):
				r.Range = v[0]
			case strings.EqualFold(k, "If-Range"):
				r.IfRange = v[0]
			}
		}
		reqs = append(reqs, r)
	}
	sort.SliceStable(reqs, func(i, j int) bool { return reqs[i].Start.Before(reqs[j].Start) })
	return reqs, sc.Err()
}

// WaitRequests waits until the access log holds at least n requests and
// has not grown for settle, or ctx is done, and returns what it holds.
func (s *Server) WaitRequests(ctx context.Context, n int, settle time.Duration) ([]Request, error) {
	var (
		last    []Request
		changed = time.Now()
	)
	for {
		reqs, err := s.Requests()
		if err != nil {
			return reqs, err
		}
		if len(reqs) != len(last) {
			changed = time.Now()
		}
		last = reqs
		if len(reqs) >= n && time.Since(changed) >= settle {
			return reqs, nil
		}
		select {
		case <-ctx.Done():
			return reqs, nil
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// lockedWriter lets the process's two output streams share a buffer.
type lockedWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}
