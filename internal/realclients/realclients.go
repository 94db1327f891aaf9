// Package realclients records what real HTTP clients of other ecosystems —
// curl, wget, git, Node.js (http and fetch), Python (requests, urllib3,
// urllib), Java (HttpURLConnection and HttpClient) — print when a download
// fails, by pointing them at a faulttest server on 127.0.0.1 that breaks
// on cue: a reset before the response and in the middle of the body, a
// refused connection, a stall the client times out on, a body cut short, a
// reply that never comes, a 429 and a 503, an untrusted certificate, TLS
// spoken to a plain server, a 404, a name that does not exist.
//
// The recordings are the text corpus's first-hand evidence of other
// ecosystems' words: go test ./internal/realclients -record rewrites
// testdata/corpus/real-*.txt, each with the state the client was in and the
// action an operator expects, and the corpus run checks the default policy
// against them.
package realclients

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/faultline-go/faultline/faulttest"
)

// A Client is one real client and how to run it.
type Client struct {
	Name      string // file name part: "curl", "node-fetch"
	Ecosystem string // "curl", "node", "python", "java", "wget", "git"
	// Program is the executable that must be on PATH.
	Program string
	// Args builds the command line for url, with timeout as the client's
	// read timeout, given the directory of the client's scripts.
	Args func(dir, url string, timeout time.Duration) []string
	// Statuses reports that the client fails on an HTTP error status by
	// itself (curl -f, wget, git, requests' raise_for_status, urllib,
	// HttpURLConnection); the others are not run on status faults.
	Statuses bool
	// Env is added to the environment.
	Env []string
}

// A Fault is one way the server (or the network) fails, and what an
// operator expects a policy to do about it.
type Fault struct {
	Name string
	// Config is the server's; nil for faults without a server (refused,
	// a name that does not exist).
	Config *faulttest.Config
	// URL turns the server's URL into the one the client asks for (TLS to
	// a plain server, a closed port, a name that does not exist).
	URL func(server string) string
	// Status marks a status fault, which only clients that fail on a
	// status by themselves are run on.
	Status bool
	// Resolver is what the client's name lookups meet.
	Resolver Resolver
	// Flags is the state the client was in, as retrycheck's flags.
	Flags string
	// Expect is the action an operator expects: retry, resume or fail.
	Expect string
	// Why says what the expectation rests on.
	Why string
	// For holds the expectations of clients whose words cannot tell what
	// the fault was, by client name: what an operator reading only them
	// would want.
	For map[string]Expectation
}

// An Expectation is an action and what it rests on.
type Expectation struct{ Expect, Why string }

// expectation returns f's expectation for client c.
func (f Fault) expectation(c Client) Expectation {
	if e, ok := f.For[c.Name]; ok {
		return e
	}
	return Expectation{f.Expect, f.Why}
}

const (
	contentSize = 1 << 20
	cutAt       = 64 << 10
	timeout     = 2 * time.Second
)

// Faults are the faults recorded.
func Faults() []Fault {
	content := bytes.Repeat([]byte("faultline real-client recording\n"), contentSize/32)
	plain := func(script ...faulttest.Fault) *faulttest.Config {
		return &faulttest.Config{Content: content, Script: script, StallLimit: 10 * time.Second}
	}
	body := fmt.Sprintf("--phase body --bytes %d --total %d", cutAt, contentSize)
	return []Fault{
		{Name: "reset-before-response", Config: plain(faulttest.Fault{Kind: faulttest.Reset, BeforeResponse: true}),
			Flags: "--phase headers", Expect: "retry", Why: "the connection was reset before any response: a transient failure of the path"},
		{Name: "reset-mid-body", Config: plain(faulttest.Fault{Kind: faulttest.Reset, At: cutAt}),
			Flags: body, Expect: "retry", Why: "reset a sixteenth of the way through the body; the server offered no resumable validator to this client, so restart"},
		{Name: "truncated-body", Config: plain(faulttest.Fault{Kind: faulttest.Truncate, At: cutAt}),
			Flags: body, Expect: "retry", Why: "the body ended short of its Content-Length: cut by the network, fetch it again"},
		{Name: "no-reply", Config: plain(faulttest.Fault{Kind: faulttest.Truncate, BeforeResponse: true}),
			Flags: "--phase headers", Expect: "retry", Why: "the server closed the connection without a reply: the request was not answered, a GET may go again"},
		{Name: "stall-mid-body", Config: plain(faulttest.Fault{Kind: faulttest.Stall, At: cutAt}),
			Flags: body, Expect: "retry", Why: "the body stalled and the client's read timeout fired: try again"},
		{Name: "status-503", Config: plain(faulttest.Fault{Kind: faulttest.Status, Status: 503, RetryAfter: "2"}), Status: true,
			Flags: "--phase headers --status 503", Expect: "retry", Why: "503 Service Unavailable (RFC 9110 §15.6.4) says try later"},
		{Name: "status-429", Config: plain(faulttest.Fault{Kind: faulttest.Status, Status: 429, RetryAfter: "3"}), Status: true,
			Flags: "--phase headers --status 429", Expect: "retry", Why: "429 Too Many Requests (RFC 6585) says slow down and try later"},
		{Name: "status-404", Config: plain(faulttest.Fault{Kind: faulttest.Status, Status: 404}), Status: true,
			Flags: "--phase headers --status 404", Expect: "fail", Why: "404: the request is wrong, and sending it again changes nothing"},
		{Name: "refused", URL: func(string) string { return "http://127.0.0.1:" + closedPort() + "/file" },
			Flags: "--phase connect", Expect: "retry", Why: "nobody listened: a server restarting; retry with backoff"},
		{Name: "tls-untrusted", Config: &faulttest.Config{Content: content, TLS: true},
			Flags: "--phase connect", Expect: "fail", Why: "the certificate is not trusted: configuration, not the network"},
		{Name: "tls-to-plain", Config: plain(), URL: func(s string) string { return strings.Replace(s, "http://", "https://", 1) },
			Flags: "--phase connect", Expect: "retry", Why: "TLS spoken to a plain HTTP server; no client recorded says so (wrong version number), their words only say the handshake was cut short (an EOF, a terminated handshake, SSL_ERROR_SYSCALL), as a server or a middlebox dropping connections would: a careful operator retries a few times"},
		{Name: "name-not-found", URL: func(string) string { return "http://faultline-recording.invalid/file" }, Resolver: NXDomain,
			Flags: "--phase connect", Expect: "fail", Why: "the resolver answered that the name does not exist (NXDOMAIN): no retry creates it",
			For: map[string]Expectation{
				"curl":               {"retry", "curl says \"Could not resolve host\" for a name that does not exist and for a resolver that failed alike: the words cannot tell, so a careful operator retries a few times as for a transient DNS failure"},
				"git":                {"retry", "git prints curl's \"Could not resolve host\", which is the same for a name that does not exist and a resolver that failed: retried as a transient DNS failure"},
				"wget":               {"retry", "wget says \"unable to resolve host address\" for a name that does not exist and for a resolver that failed alike: retried a few times as a transient DNS failure"},
				"java-urlconnection": {"retry", "the JDK throws a bare UnknownHostException for a name that does not exist and for a resolver that failed alike: retried a few times as a transient DNS failure"},
				"java-httpclient":    {"retry", "the JDK's HttpClient throws a bare UnresolvedAddressException for a name that does not exist and for a resolver that failed alike: retried a few times as a transient DNS failure"},
			}},
		{Name: "resolver-down", URL: func(string) string { return "http://faultline-recording.invalid/file" }, Resolver: ResolverDown,
			Flags: "--phase connect", Expect: "retry", Why: "the resolver could not be reached, so the name was not looked up: a failure that passes; retry with backoff"},
	}
}

// closedPort returns a port nobody listens on: one the kernel just gave
// and took back.
func closedPort() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "9"
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close()
	return port
}

// Clients are the clients recorded.
func Clients() []Client {
	secs := func(d time.Duration) string { return fmt.Sprint(int(d.Seconds())) }
	return []Client{
		{Name: "curl", Ecosystem: "curl", Program: "curl", Statuses: true, Args: func(_, url string, t time.Duration) []string {
			return []string{"curl", "-sS", "-f", "-o", "/dev/null", "--max-time", secs(2 * t), "--speed-limit", "1", "--speed-time", secs(t), url}
		}},
		{Name: "wget", Ecosystem: "wget", Program: "wget", Statuses: true, Args: func(_, url string, t time.Duration) []string {
			return []string{"wget", "-nv", "-O", "/dev/null", "--tries=1", "--timeout=" + secs(t), url}
		}},
		{Name: "git", Ecosystem: "git", Program: "git", Statuses: true,
			Env: []string{"GIT_TERMINAL_PROMPT=0", "GIT_HTTP_LOW_SPEED_LIMIT=1000", "GIT_HTTP_LOW_SPEED_TIME=2"},
			Args: func(dir, url string, _ time.Duration) []string {
				return []string{"git", "clone", "--quiet", strings.TrimSuffix(url, "/file") + "/repo.git", filepath.Join(dir, "clone")}
			}},
		{Name: "node-http", Ecosystem: "node", Program: "node", Args: func(dir, url string, t time.Duration) []string {
			return []string{"node", filepath.Join(dir, "http.js"), url, fmt.Sprint(t.Milliseconds())}
		}},
		{Name: "node-fetch", Ecosystem: "node", Program: "node", Args: func(dir, url string, t time.Duration) []string {
			return []string{"node", filepath.Join(dir, "fetch.js"), url, fmt.Sprint(t.Milliseconds())}
		}},
		{Name: "python-requests", Ecosystem: "python", Program: "python3", Statuses: true, Args: func(dir, url string, t time.Duration) []string {
			return []string{"python3", filepath.Join(dir, "requests_get.py"), url, secs(t)}
		}},
		{Name: "python-urllib3", Ecosystem: "python", Program: "python3", Args: func(dir, url string, t time.Duration) []string {
			return []string{"python3", filepath.Join(dir, "urllib3_get.py"), url, secs(t)}
		}},
		{Name: "python-urllib", Ecosystem: "python", Program: "python3", Statuses: true, Args: func(dir, url string, t time.Duration) []string {
			return []string{"python3", filepath.Join(dir, "urllib_get.py"), url, secs(t)}
		}},
		{Name: "java-urlconnection", Ecosystem: "java", Program: "java", Statuses: true, Args: func(dir, url string, t time.Duration) []string {
			return []string{"java", filepath.Join(dir, "Get.java"), "url", url, fmt.Sprint(t.Milliseconds())}
		}},
		{Name: "java-httpclient", Ecosystem: "java", Program: "java", Args: func(dir, url string, t time.Duration) []string {
			return []string{"java", filepath.Join(dir, "Get.java"), "hc", url, fmt.Sprint(t.Milliseconds())}
		}},
	}
}

// scripts are the small programs the Node.js, Python and Java clients
// run: each fetches the URL whole the way the ecosystem's documentation
// shows, lets the failure surface as the runtime prints it, and exits 1.
var scripts = map[string]string{
	"http.js": `const [url, ms] = process.argv.slice(2);
const http = require(url.startsWith('https:') ? 'https' : 'http');
const req = http.get(url, { timeout: Number(ms) }, res => {
  res.on('data', () => {});
  res.on('error', e => { console.error(e); process.exit(1); });
  res.on('aborted', () => {});
});
req.on('timeout', () => req.destroy(Object.assign(new Error('socket timeout'), { code: 'ESOCKETTIMEDOUT' })));
req.on('error', e => { console.error(e); process.exit(1); });
`,
	"fetch.js": `const [url, ms] = process.argv.slice(2);
fetch(url, { signal: AbortSignal.timeout(Number(ms)) }).then(r => r.arrayBuffer()).catch(e => { console.error(e); process.exit(1); });
`,
	"requests_get.py": `import sys, requests
r = requests.get(sys.argv[1], timeout=float(sys.argv[2]))
r.raise_for_status()
`,
	"urllib3_get.py": `import sys, urllib3
urllib3.request("GET", sys.argv[1], timeout=float(sys.argv[2]), retries=False)
`,
	"urllib_get.py": `import sys, urllib.request
urllib.request.urlopen(sys.argv[1], timeout=float(sys.argv[2])).read()
`,
	"Get.java": `import java.net.*; import java.net.http.*; import java.io.*; import java.time.Duration;
public class Get { public static void main(String[] a) throws Exception {
  int ms = Integer.parseInt(a[2]);
  if (a[0].equals("hc")) {
    var c = HttpClient.newBuilder().connectTimeout(Duration.ofMillis(ms)).build();
    var r = c.send(HttpRequest.newBuilder(URI.create(a[1])).timeout(Duration.ofMillis(ms)).build(), HttpResponse.BodyHandlers.ofByteArray());
  } else {
    var u = (HttpURLConnection) new URL(a[1]).openConnection();
    u.setConnectTimeout(ms); u.setReadTimeout(ms);
    try (var in = u.getInputStream()) { in.transferTo(OutputStream.nullOutputStream()); }
  }
}}
`,
}

// WriteScripts writes the clients' scripts into dir.
func WriteScripts(dir string) error {
	for name, src := range scripts {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Available reports whether the client's program is on PATH.
func (c Client) Available() bool {
	_, err := exec.LookPath(c.Program)
	return err == nil
}

// A Recording is what a client printed for a fault.
type Recording struct {
	Client  Client
	Fault   Fault
	Version string
	Date    string // the day of the recording, 2006-01-02 in UTC
	Output  string // stderr and stdout, normalised
	Exit    int
}

// maxOutput bounds what is kept of a client's output.
const maxOutput = 64 << 10

// Record runs c against f, with its scripts in dir, and returns what it
// printed. Runs are bounded: the client's own timeout, and a hard limit.
func Record(ctx context.Context, c Client, f Fault, dir string) (Recording, error) {
	rec := Recording{Client: c, Fault: f, Version: version(ctx, c), Date: time.Now().UTC().Format(time.DateOnly)}
	url := ""
	if f.Config != nil {
		s, err := faulttest.Start(*f.Config)
		if err != nil {
			return rec, err
		}
		defer s.Close()
		url = s.URL
	}
	if f.URL != nil {
		url = f.URL(url)
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	args := c.Args(dir, url, timeout)
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	if f.Resolver != HostResolver {
		iso, err := isolate(ctx, f.Resolver, dir)
		if err != nil {
			return rec, err
		}
		defer iso.close()
		cmd = iso.command(ctx, args)
	}
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), c.Env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	os.RemoveAll(filepath.Join(dir, "clone"))
	if ee, ok := err.(*exec.ExitError); ok {
		rec.Exit = ee.ExitCode()
	} else if err != nil {
		return rec, err
	}
	b := out.Bytes()
	if len(b) > maxOutput {
		b = b[:maxOutput]
	}
	rec.Output = normalise(string(b), dir)
	return rec, nil
}

var (
	port      = regexp.MustCompile(`127\.0\.0\.1:\d+`)
	portField = regexp.MustCompile(`(\b(?:port|remotePort)[=:] ?'?)\d{4,5}\b`)
	portWords = regexp.MustCompile(`(127\.0\.0\.1 port )\d+`)
	localPort = regexp.MustCompile(`(localPort: )\d+`)
	elapsedMs = regexp.MustCompile(`after \d+ ms`)
	timestamp = regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d`)
)

// normalise replaces what changes from one recording to the next — ports,
// elapsed times, the scripts' directory, wget's timestamps — with fixed
// values of the same shape, so that re-recording changes a file only when
// a client changed what it says.
func normalise(s, dir string) string {
	s = strings.ReplaceAll(s, dir, "/tmp/realclients")
	s = port.ReplaceAllString(s, "127.0.0.1:8080")
	s = portWords.ReplaceAllString(s, "${1}8080")
	s = portField.ReplaceAllString(s, "${1}8080")
	s = localPort.ReplaceAllString(s, "${1}40000")
	s = elapsedMs.ReplaceAllString(s, "after 5 ms")
	s = timestamp.ReplaceAllString(s, "2024-05-01 10:00:00")
	return strings.TrimSpace(s)
}

// version asks a client its version, for the record.
func version(ctx context.Context, c Client) string {
	arg := "--version"
	if c.Program == "java" {
		arg = "-version"
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, c.Program, arg).CombinedOutput()
	if err != nil {
		return c.Program
	}
	first, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	if c.Ecosystem == "python" {
		mod := map[string]string{"python-requests": "requests", "python-urllib3": "urllib3"}[c.Name]
		if mod != "" {
			if v, err := exec.CommandContext(ctx, "python3", "-c", "import "+mod+"; print("+mod+".__version__)").Output(); err == nil {
				first += ", " + mod + " " + strings.TrimSpace(string(v))
			}
		}
	}
	return first
}

// Source is the provenance line of every recording.
const Source = "recorded by internal/realclients (go test ./internal/realclients -record) against faulttest on 127.0.0.1, names in a network namespace of their own"

// Corpus returns the corpus file for r: a header with where the text came
// from, the state and the expectation, then the text.
func (r Recording) Corpus() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# source: %s\n", Source)
	fmt.Fprintf(&b, "# client: %s (%s)\n", r.Client.Name, r.Version)
	fmt.Fprintf(&b, "# recorded: %s\n", r.Date)
	fmt.Fprintf(&b, "# ecosystem: %s\n", r.Client.Ecosystem)
	e := r.Fault.expectation(r.Client)
	fmt.Fprintf(&b, "# fault: %s; %s\n", r.Fault.Name, e.Why)
	fmt.Fprintf(&b, "# expect: %s\n", e.Expect)
	fmt.Fprintf(&b, "# flags: %s\n", r.Fault.Flags)
	b.WriteString(r.Output)
	b.WriteString("\n")
	return b.String()
}

// FileName is the corpus file's name for r.
func (r Recording) FileName() string {
	return "real-" + r.Client.Name + "-" + r.Fault.Name + ".txt"
}
