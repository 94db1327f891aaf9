// Package realclients records what real clients of other ecosystems
// print when a download fails: curl, wget, git, Node.js (http, fetch,
// npm), Python (requests, urllib3, urllib, pip), Java (HttpURLConnection,
// HttpClient, Maven), Go's module download, cargo and the AWS CLI. Each is
// pointed at a fault server that breaks on cue: a reset before the
// response and in the middle of the body, a refused connection, a stall
// the client times out on, a body cut short, a reply that never comes, a
// 429, a 503 and a 404, an untrusted certificate, TLS spoken to a plain
// server, a name that does not exist and a resolver that is down, and the
// error bodies of S3 and STS.
//
// Every run has a network namespace of its own: the server listens on its
// loopback, the client runs in it with a resolv.conf that names a server
// there, so nothing a client does reaches beyond the machine. Runs are
// bounded in time (the client's own timeout, and a hard limit).
//
// The recordings are the text corpus's first-hand evidence of other
// ecosystems' words: go test ./internal/realclients -record rewrites
// testdata/corpus/real-*.txt, each with the client and its version, the
// day, the fault, the state the client was in and the action an operator
// expects, and the corpus run checks the default policy against them.
package realclients

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/faultline-go/faultline/faulttest"
)

// A Client is one real client and how to run it.
type Client struct {
	Name      string // file name part: "curl", "node-fetch"
	Ecosystem string // "curl", "node", "python", "java", "wget", "git", "go", "rust", "cloud"
	// Program is the executable that must be on PATH.
	Program string
	// Args builds the command line for url, with timeout as the client's
	// read timeout, given the run's directory, which holds the scripts
	// and is the client's to write in (caches, clones, configuration).
	Args func(run, url string, timeout time.Duration) []string
	// Statuses reports that the client fails on an HTTP error status by
	// itself (curl -f, wget, git, requests' raise_for_status, urllib,
	// HttpURLConnection, the package managers, the cloud CLIs); the
	// others are not run on status faults.
	Statuses bool
	// Env is added to the environment; "$RUN" stands for the run's
	// directory.
	Env []string
	// Files, when set, are written into the run's directory before the
	// client starts (a settings file that names the server).
	Files func(url string) map[string]string
	// Version is the command that prints the client's version, when
	// "Program --version" does not.
	Version []string
	// Module is the Python module the client's script imports, whose
	// version is recorded too.
	Module string
}

// A Fault is one way the server (or the network) fails, and what an
// operator expects a policy to do about it.
type Fault struct {
	Name string
	// Config is the server's; nil for faults without a server (refused,
	// a name that does not exist) or with an API error (API).
	Config *faulttest.Config
	// API, when set, is the error response of a cloud service that the
	// server gives to every request instead.
	API *APIError
	// URL turns the server's URL into the one the client asks for (TLS to
	// a plain server, a name that does not exist). Without a server the
	// URL is http://127.0.0.1:8080/file, where nothing listens.
	URL func(server string) string
	// Status marks a status fault, which only clients that fail on a
	// status by themselves are run on.
	Status bool
	// Only, when set, names the only clients run on the fault.
	Only []string
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

// An APIError is an error response as a cloud service sends it.
type APIError struct {
	Status      int
	ContentType string
	Body        string
}

// An Expectation is an action and what it rests on.
type Expectation struct {
	Expect, Why string
	// Gap, when set, says why the default policy cannot reach the
	// expectation from the client's words: the recording goes to the
	// known gaps (cmd/retrycheck/testdata/gaps), not the corpus.
	Gap string
}

// expectation returns f's expectation for client c.
func (f Fault) expectation(c Client) Expectation {
	if e, ok := f.For[c.Name]; ok {
		return e
	}
	return Expectation{Expect: f.Expect, Why: f.Why}
}

// runs reports whether c is run on f.
func (f Fault) runs(c Client) bool {
	if f.Only != nil {
		return slices.Contains(f.Only, c.Name)
	}
	return !f.Status || c.Statuses
}

const (
	contentSize = 1 << 20
	cutAt       = 64 << 10
	timeout     = 2 * time.Second
	// runLimit bounds one run, however the client behaves.
	runLimit = 30 * time.Second
	// closedURL is where nothing listens: each run has a network
	// namespace of its own.
	closedURL = "http://127.0.0.1:8080/file"
)

// words are the expectations of clients that print the same for a name
// that does not exist as for a resolver that failed.
func sameWordsForNames() map[string]Expectation {
	why := func(words string) Expectation {
		return Expectation{Expect: "retry", Why: words + " for a name that does not exist and for a resolver that failed alike (recorded both ways): the words cannot tell, so a careful operator retries a few times as for a transient DNS failure"}
	}
	return map[string]Expectation{
		"curl":               why(`curl says "Could not resolve host"`),
		"git":                why(`git prints curl's "Could not resolve host"`),
		"java-urlconnection": why("the JDK throws a bare UnknownHostException"),
		"java-httpclient":    why("the JDK's HttpClient throws a bare UnresolvedAddressException"),
		"cargo":              why(`cargo prints curl's "Could not resolve host"`),
		"aws-s3":             why(`botocore says "Could not connect to the endpoint URL"`),
		"aws-sts":            why(`botocore says "Could not connect to the endpoint URL"`),
	}
}

// Faults are the faults recorded.
func Faults() []Fault {
	content := bytes.Repeat([]byte("faultline real-client recording\n"), contentSize/32)
	// The fault strikes every request, as a server or a path that keeps
	// failing: clients that try again by themselves (the JDK's, Maven's)
	// or ask for several files (git, Maven, cargo) meet it each time.
	plain := func(script ...faulttest.Fault) *faulttest.Config {
		cfg := &faulttest.Config{Content: content, StallLimit: 10 * time.Second}
		if len(script) > 0 {
			cfg.Choose = func(faulttest.Request) faulttest.Fault { return script[0] }
		}
		return cfg
	}
	body := fmt.Sprintf("--phase body --bytes %d --total %d", cutAt, contentSize)
	s3 := func(status int, code, msg string) *APIError {
		return &APIError{Status: status, ContentType: "application/xml", Body: `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
			"<Error><Code>" + code + "</Code><Message>" + msg + "</Message><RequestId>FAULTLINE0000001</RequestId><HostId>faultline</HostId></Error>"}
	}
	invalid := func(string) string { return "http://faultline-recording.invalid/file" }
	return []Fault{
		{Name: "reset-before-response", Config: plain(faulttest.Fault{Kind: faulttest.Reset, BeforeResponse: true}),
			Flags: "--phase headers", Expect: "retry", Why: "the connection was reset before any response: a transient failure of the path"},
		{Name: "reset-mid-body", Config: plain(faulttest.Fault{Kind: faulttest.Reset, At: cutAt}),
			Flags: body, Expect: "retry", Why: "reset a sixteenth of the way through the body; the server offered no resumable validator to this client, so restart"},
		{Name: "truncated-body", Config: plain(faulttest.Fault{Kind: faulttest.Truncate, At: cutAt}),
			Flags: body, Expect: "retry", Why: "the body ended short of its Content-Length: cut by the network, fetch it again",
			For: map[string]Expectation{
				"pip": {Expect: "retry", Why: "the body ended short of its Content-Length, which pip does not check: it calls the wheel cut short invalid, and only fetching it again tells a cut from a bad file",
					Gap: "pip's words say only that the wheel is invalid, nothing of the network: the default policy cannot tell a cut from a corrupt file, and fails it"},
			}},
		{Name: "no-reply", Config: plain(faulttest.Fault{Kind: faulttest.Truncate, BeforeResponse: true}),
			Flags: "--phase headers", Expect: "retry", Why: "the server closed the connection without a reply: the request was not answered, a GET may go again"},
		{Name: "stall-mid-body", Config: plain(faulttest.Fault{Kind: faulttest.Stall, At: cutAt}),
			Flags: body, Expect: "retry", Why: "the body stalled; the client's read timeout fired, or the server dropped the stalled connection: try again"},
		{Name: "status-503", Config: plain(faulttest.Fault{Kind: faulttest.Status, Status: 503, RetryAfter: "2"}), Status: true,
			Flags: "--phase headers --status 503", Expect: "retry", Why: "503 Service Unavailable (RFC 9110 §15.6.4) says try later"},
		{Name: "status-429", Config: plain(faulttest.Fault{Kind: faulttest.Status, Status: 429, RetryAfter: "3"}), Status: true,
			Flags: "--phase headers --status 429", Expect: "retry", Why: "429 Too Many Requests (RFC 6585) says slow down and try later"},
		{Name: "status-404", Config: plain(faulttest.Fault{Kind: faulttest.Status, Status: 404}), Status: true,
			Flags: "--phase headers --status 404", Expect: "fail", Why: "404: the request is wrong, and sending it again changes nothing"},
		{Name: "refused",
			Flags: "--phase connect", Expect: "retry", Why: "nobody listened: a server restarting; retry with backoff"},
		{Name: "tls-untrusted", Config: &faulttest.Config{Content: content, TLS: true},
			Flags: "--phase connect", Expect: "fail", Why: "the certificate is not trusted: configuration, not the network"},
		{Name: "tls-to-plain", Config: plain(), URL: func(s string) string { return strings.Replace(s, "http://", "https://", 1) },
			Flags: "--phase connect", Expect: "retry", Why: "TLS spoken to a plain HTTP server; no client recorded says so (wrong version number), their words only say the handshake was cut short (an EOF, a terminated handshake, SSL_ERROR_SYSCALL), as a server or a middlebox dropping connections would: a careful operator retries a few times"},
		{Name: "name-not-found", URL: invalid, Resolver: NXDomain,
			Flags: "--phase connect", Expect: "fail", Why: "the resolver answered that the name does not exist (NXDOMAIN): no retry creates it",
			For: sameWordsForNames()},
		{Name: "resolver-down", URL: invalid, Resolver: ResolverDown,
			Flags: "--phase connect", Expect: "retry", Why: "the resolver could not be reached, so the name was not looked up: a failure that passes; retry with backoff"},
		// Cloud services' own errors, in the bodies they send them in.
		{Name: "s3-slowdown", API: s3(503, "SlowDown", "Please reduce your request rate."), Only: []string{"aws-s3"},
			Flags: "--phase headers --status 503", Expect: "retry", Why: "S3's SlowDown: too many requests, back off and try again"},
		{Name: "s3-internal-error", API: s3(500, "InternalError", "We encountered an internal error. Please try again."), Only: []string{"aws-s3"},
			Flags: "--phase headers --status 500", Expect: "retry", Why: "S3's InternalError says try again"},
		{Name: "s3-request-timeout", API: s3(400, "RequestTimeout", "Your socket connection to the server was not read from or written to within the timeout period. Idle connections will be closed."), Only: []string{"aws-s3"},
			Flags: "--phase headers --status 400", Expect: "retry", Why: "S3's RequestTimeout comes with a 400 but says the connection idled: a transient failure, whatever the status"},
		{Name: "s3-no-such-key", API: s3(404, "NoSuchKey", "The specified key does not exist."), Only: []string{"aws-s3"},
			Flags: "--phase headers --status 404", Expect: "fail", Why: "the object does not exist: no retry creates it"},
		{Name: "s3-access-denied", API: s3(403, "AccessDenied", "Access Denied"), Only: []string{"aws-s3"},
			Flags: "--phase headers --status 403", Expect: "fail", Why: "access denied: configuration, not the network"},
		{Name: "sts-throttling", API: &APIError{Status: 400, ContentType: "text/xml", Body: `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>faultline-0001</RequestId></ErrorResponse>`},
			Only: []string{"aws-sts"}, Flags: "--phase headers --status 400", Expect: "retry", Why: "AWS's Throttling comes with a 400: slow down and try again, whatever the status"},
	}
}

// Clients are the clients recorded.
func Clients() []Client {
	secs := func(d time.Duration) string { return fmt.Sprint(int(d.Seconds())) }
	ms := func(d time.Duration) string { return fmt.Sprint(d.Milliseconds()) }
	// The AWS CLI, with credentials that sign nothing real, one attempt
	// and no instance metadata lookups.
	awsEnv := []string{"AWS_ACCESS_KEY_ID=AKIAFAULTLINEEXAMPLE", "AWS_SECRET_ACCESS_KEY=faultline-not-a-secret",
		"AWS_DEFAULT_REGION=us-east-1", "AWS_MAX_ATTEMPTS=1", "AWS_RETRY_MODE=standard", "AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=$RUN/aws-config", "AWS_SHARED_CREDENTIALS_FILE=$RUN/aws-credentials", "HOME=$RUN"}
	awsArgs := func(t time.Duration, rest ...string) []string {
		return append([]string{"aws", "--cli-read-timeout", secs(t), "--cli-connect-timeout", secs(t)}, rest...)
	}
	return []Client{
		{Name: "curl", Ecosystem: "curl", Program: "curl", Statuses: true, Args: func(_, url string, t time.Duration) []string {
			return []string{"curl", "-sS", "-f", "-o", "/dev/null", "--max-time", secs(2 * t), "--speed-limit", "1", "--speed-time", secs(t), url}
		}},
		{Name: "wget", Ecosystem: "wget", Program: "wget", Statuses: true, Args: func(_, url string, t time.Duration) []string {
			// Not -nv, which says nothing of a body cut short.
			return []string{"wget", "--progress=dot:giga", "-O", "/dev/null", "--tries=1", "--timeout=" + secs(t), url}
		}},
		{Name: "git", Ecosystem: "git", Program: "git", Statuses: true,
			Env: []string{"GIT_TERMINAL_PROMPT=0", "GIT_HTTP_LOW_SPEED_LIMIT=1000", "GIT_HTTP_LOW_SPEED_TIME=2", "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null"},
			Args: func(run, url string, _ time.Duration) []string {
				return []string{"git", "clone", "--quiet", strings.TrimSuffix(url, "/file") + "/repo.git", filepath.Join(run, "clone")}
			}},
		{Name: "node-http", Ecosystem: "node", Program: "node", Args: func(run, url string, t time.Duration) []string {
			return []string{"node", filepath.Join(run, "http.js"), url, ms(t)}
		}},
		{Name: "node-fetch", Ecosystem: "node", Program: "node", Args: func(run, url string, t time.Duration) []string {
			return []string{"node", filepath.Join(run, "fetch.js"), url, ms(t)}
		}},
		{Name: "npm", Ecosystem: "node", Program: "npm", Statuses: true,
			Env: []string{"npm_config_update_notifier=false", "npm_config_fund=false", "npm_config_audit=false", "NO_COLOR=1"},
			Args: func(run, url string, t time.Duration) []string {
				return []string{"npm", "view", "faultline-probe", "--registry=" + strings.TrimSuffix(url, "file"), "--fetch-retries=0",
					"--fetch-timeout=" + ms(t), "--cache=" + filepath.Join(run, "npm-cache"), "--logs-dir=" + filepath.Join(run, "npm-logs"),
					"--userconfig=" + filepath.Join(run, "npmrc"), "--color=false"}
			}},
		{Name: "python-requests", Ecosystem: "python", Program: "python3", Module: "requests", Statuses: true, Args: func(run, url string, t time.Duration) []string {
			return []string{"python3", filepath.Join(run, "requests_get.py"), url, secs(t)}
		}},
		{Name: "python-urllib3", Ecosystem: "python", Program: "python3", Module: "urllib3", Args: func(run, url string, t time.Duration) []string {
			return []string{"python3", filepath.Join(run, "urllib3_get.py"), url, secs(t)}
		}},
		{Name: "python-urllib", Ecosystem: "python", Program: "python3", Statuses: true, Args: func(run, url string, t time.Duration) []string {
			return []string{"python3", filepath.Join(run, "urllib_get.py"), url, secs(t)}
		}},
		{Name: "pip", Ecosystem: "python", Program: "python3", Module: "pip", Statuses: true, Env: []string{"PIP_CONFIG_FILE=/dev/null", "PIP_NO_COLOR=1"},
			Args: func(run, url string, t time.Duration) []string {
				return []string{"python3", "-m", "pip", "download", "--no-deps", "--no-cache-dir", "--disable-pip-version-check", "--no-input",
					"--retries", "0", "--timeout", secs(t), "-d", filepath.Join(run, "pip"),
					strings.TrimSuffix(url, "file") + "faultline_probe-1.0-py3-none-any.whl"}
			}},
		{Name: "java-urlconnection", Ecosystem: "java", Program: "java", Statuses: true, Args: func(run, url string, t time.Duration) []string {
			return []string{"java", filepath.Join(run, "Get.java"), "url", url, ms(t)}
		}},
		{Name: "java-httpclient", Ecosystem: "java", Program: "java", Args: func(run, url string, t time.Duration) []string {
			return []string{"java", filepath.Join(run, "Get.java"), "hc", url, ms(t)}
		}},
		{Name: "maven", Ecosystem: "java", Program: "mvn", Statuses: true, Version: []string{"mvn", "--batch-mode", "--version"},
			Files: func(url string) map[string]string {
				return map[string]string{"settings.xml": "<settings><mirrors><mirror><id>faultline</id><mirrorOf>*</mirrorOf><url>" +
					strings.TrimSuffix(url, "/file") + "/maven2</url></mirror></mirrors></settings>\n"}
			},
			Args: func(run, _ string, t time.Duration) []string {
				return []string{"mvn", "--batch-mode", "--no-transfer-progress", "--settings", filepath.Join(run, "settings.xml"),
					"-Dmaven.repo.local=" + filepath.Join(run, "m2"), "-Dmaven.wagon.http.retryHandler.count=0", "-Dmaven.wagon.rto=" + ms(t),
					"-Dstyle.color=never", "org.apache.maven.plugins:maven-dependency-plugin:3.6.1:get", "-Dartifact=org.example:faultline-probe:1.0"}
			}},
		{Name: "go", Ecosystem: "go", Program: "go", Statuses: true, Version: []string{"go", "version"},
			Env: []string{"GOPATH=$RUN/gopath", "GOMODCACHE=$RUN/gopath/pkg/mod", "GOCACHE=$RUN/gocache", "GOFLAGS=-modcacherw",
				"GOSUMDB=off", "GOTOOLCHAIN=local", "GONOSUMDB=", "GOPRIVATE=", "GONOPROXY=", "GOINSECURE=", "GOENV=off"},
			Args: func(run, url string, _ time.Duration) []string {
				// GOPROXY is set here, where the server's URL is known.
				return []string{"env", "GOPROXY=" + strings.TrimSuffix(url, "/file") + "/proxy", "go", "mod", "download", "example.com/faultline/probe@v1.0.0"}
			}},
		{Name: "cargo", Ecosystem: "rust", Program: "cargo",
			Statuses: true, Env: []string{"CARGO_HOME=$RUN/cargo-home", "CARGO_NET_RETRY=0", "CARGO_HTTP_TIMEOUT=2", "CARGO_TERM_COLOR=never", "CARGO_HTTP_MULTIPLEXING=false"},
			Files: func(string) map[string]string {
				return map[string]string{
					"probe/Cargo.toml":  "[package]\nname = \"probe\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nfaultline-probe = \"1\"\n",
					"probe/src/main.rs": "fn main() {}\n",
				}
			},
			Args: func(run, url string, _ time.Duration) []string {
				return []string{"cargo", "--config", `source.crates-io.replace-with="faultline"`,
					"--config", `source.faultline.registry="sparse+` + strings.TrimSuffix(url, "file") + `index/"`,
					"generate-lockfile", "--manifest-path", filepath.Join(run, "probe", "Cargo.toml")}
			}},
		{Name: "aws-s3", Ecosystem: "cloud", Program: "aws", Statuses: true, Env: awsEnv, Args: func(run, url string, t time.Duration) []string {
			return awsArgs(t, "s3api", "get-object", "--endpoint-url", strings.TrimSuffix(url, "/file"), "--bucket", "faultline", "--key", "file", filepath.Join(run, "object"))
		}},
		{Name: "aws-sts", Ecosystem: "cloud", Program: "aws", Env: awsEnv, Args: func(_, url string, t time.Duration) []string {
			return awsArgs(t, "sts", "get-caller-identity", "--endpoint-url", strings.TrimSuffix(url, "/file"))
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

// writeFiles writes the clients' scripts, and c's files for url, into run.
func writeFiles(run string, c Client, url string) error {
	files := maps.Clone(scripts)
	if c.Files != nil {
		maps.Copy(files, c.Files(url))
	}
	for name, src := range files {
		p := filepath.Join(run, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Available reports whether the client's program is on PATH, and the
// Python module its script imports, if any, is installed.
func (c Client) Available(ctx context.Context) error {
	if _, err := exec.LookPath(c.Program); err != nil {
		return fmt.Errorf("%s is not installed", c.Program)
	}
	if c.Module != "" {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if exec.CommandContext(ctx, c.Program, "-c", "import "+c.Module).Run() != nil {
			return fmt.Errorf("%s lacks the module %s", c.Program, c.Module)
		}
	}
	return nil
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

// ErrRunLimit is returned when a client was stopped at the run's limit,
// before it said what went wrong: there is nothing to record.
var ErrRunLimit = fmt.Errorf("the client did not end within %v", runLimit)

// maxOutput bounds what is kept of a client's output.
const maxOutput = 64 << 10

// Record runs c against f and returns what it printed. Each run has a
// directory of its own under dir, removed afterwards, and a network
// namespace of its own, where the server listens and the client runs:
// nothing the client does reaches beyond that namespace's loopback.
// Runs are bounded: the client's own timeout, and a hard limit.
func Record(ctx context.Context, c Client, f Fault, dir string) (Recording, error) {
	rec := Recording{Client: c, Fault: f, Version: version(ctx, c), Date: time.Now().UTC().Format(time.DateOnly)}
	run := filepath.Join(dir, "run")
	if err := os.RemoveAll(run); err != nil {
		return rec, err
	}
	if err := os.MkdirAll(run, 0o755); err != nil {
		return rec, err
	}
	defer os.RemoveAll(run)
	ctx, cancel := context.WithTimeout(ctx, runLimit)
	defer cancel()
	iso, err := isolate(ctx, f.Resolver, run)
	if err != nil {
		return rec, err
	}
	defer iso.close()
	url := closedURL
	switch {
	case f.Config != nil:
		s, err := iso.startServer(*f.Config)
		if err != nil {
			return rec, err
		}
		url = s.URL
	case f.API != nil:
		u, err := iso.serveAPI(*f.API)
		if err != nil {
			return rec, err
		}
		url = u
	}
	if f.URL != nil {
		url = f.URL(url)
	}
	if err := writeFiles(run, c, url); err != nil {
		return rec, err
	}
	cmd := iso.command(ctx, c.Args(run, url, timeout))
	cmd.Dir = run
	cmd.Env = baseEnv()
	for _, kv := range c.Env {
		cmd.Env = append(cmd.Env, strings.ReplaceAll(kv, "$RUN", run))
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = time.Second
	err = cmd.Run()
	if ctx.Err() != nil {
		return rec, fmt.Errorf("%w: %s on %s", ErrRunLimit, c.Name, f.Name)
	}
	if ee, ok := err.(*exec.ExitError); ok {
		rec.Exit = ee.ExitCode()
	} else if err != nil {
		return rec, err
	}
	b := out.Bytes()
	if len(b) > maxOutput {
		b = b[:maxOutput]
	}
	rec.Output = normalise(string(b), run)
	return rec, nil
}

// baseEnv is the environment of every client: this machine's settings
// of the clients (an index, a proxy, certificates, timeouts) are left
// out, so that a recording depends on the client and the fault alone.
func baseEnv() []string {
	env := []string{"TERM=dumb"}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "PATH", "HOME", "LANG", "LC_ALL", "USER", "TMPDIR", "PYENV_ROOT", "PYENV_VERSION", "JAVA_HOME", "RUSTUP_HOME", "RUSTUP_TOOLCHAIN":
			env = append(env, kv)
		}
	}
	return env
}

var (
	port      = regexp.MustCompile(`127\.0\.0\.1:\d{4,5}\b(->)?`)
	portField = regexp.MustCompile(`(\b(?:port|remotePort)[=:] ?'?)\d{4,5}\b`)
	portWords = regexp.MustCompile(`(127\.0\.0\.1 port )\d+`)
	localPort = regexp.MustCompile(`(localPort: )\d+`)
	elapsedMs = regexp.MustCompile(`after \d+ ms`)
	timestamp = regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d`)
	fileStamp = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d_\d\d_\d\d_\d{3}Z`)
	ansi      = regexp.MustCompile("\x1b\\[[0-9;]*m")
	pointer   = regexp.MustCompile(`\b0x[0-9a-f]{8,16}\b`)
	isoStamp  = regexp.MustCompile(`\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z\b`)
	mvnTime   = regexp.MustCompile(`(Total time:\s+)\d+(?:\.\d+)? s\b`)
	wgetRate  = regexp.MustCompile(`\b\d+(?:\.\d+)?[KMG]?=\d+(?:\.\d+)?s\b`)
	wgetSpeed = regexp.MustCompile(`\(\d+(?:\.\d+)? [KMG]?B/s\)`)
	tempName  = regexp.MustCompile(`(/tmp/pip-[a-z]+-)[a-z0-9_]{8}\b`)
)

// normalise replaces what changes from one recording to the next — ports,
// elapsed times, the run's directory, timestamps — with fixed values of
// the same shape, so that re-recording changes a file only when a client
// changed what it says.
func normalise(s, run string) string {
	s = ansi.ReplaceAllString(s, "")
	s = strings.ReplaceAll(s, run, "/tmp/realclients")
	s = port.ReplaceAllStringFunc(s, func(m string) string {
		if strings.HasSuffix(m, "->") {
			return "127.0.0.1:40000->" // the client's own address
		}
		return "127.0.0.1:8080"
	})
	s = portWords.ReplaceAllString(s, "${1}8080")
	s = portField.ReplaceAllString(s, "${1}8080")
	s = localPort.ReplaceAllString(s, "${1}40000")
	s = elapsedMs.ReplaceAllString(s, "after 5 ms")
	s = timestamp.ReplaceAllString(s, "2024-05-01 10:00:00")
	s = fileStamp.ReplaceAllString(s, "2024-05-01T10_00_00_000Z")
	s = pointer.ReplaceAllString(s, "0x7f0000000000")
	s = tempName.ReplaceAllString(s, "${1}00000000")
	s = isoStamp.ReplaceAllString(s, "2024-05-01T10:00:00Z")
	s = mvnTime.ReplaceAllString(s, "${1}1.000 s")
	s = wgetRate.ReplaceAllString(s, "100M=0s")
	s = wgetSpeed.ReplaceAllString(s, "(100 MB/s)")
	return strings.TrimSpace(s)
}

// version asks a client its version, for the record.
func version(ctx context.Context, c Client) string {
	args := c.Version
	switch {
	case args != nil:
	case c.Program == "java":
		args = []string{"java", "-version"}
	default:
		args = []string{c.Program, "--version"}
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return c.Program
	}
	first, _, _ := strings.Cut(strings.TrimSpace(ansi.ReplaceAllString(string(out), "")), "\n")
	if !strings.Contains(strings.ToLower(first), strings.ToLower(c.Program)) && !strings.Contains(first, "version") {
		first = c.Program + " " + first
	}
	if c.Module != "" {
		if v, err := exec.CommandContext(ctx, c.Program, "-c", "import "+c.Module+"; print("+c.Module+".__version__)").Output(); err == nil {
			first += ", " + c.Module + " " + strings.TrimSpace(string(v))
		}
	}
	return first
}

// Source is the provenance line of every recording.
const Source = "recorded by internal/realclients (go test ./internal/realclients -record) against faulttest on the loopback of a network namespace of its own"

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
	if e.Gap != "" {
		fmt.Fprintf(&b, "# gap: %s\n", e.Gap)
	}
	fmt.Fprintf(&b, "# expect: %s\n", e.Expect)
	fmt.Fprintf(&b, "# flags: %s\n", r.Fault.Flags)
	b.WriteString(r.Output)
	b.WriteString("\n")
	return b.String()
}

// Gap reports why r is a known gap of the default policy, or "".
func (r Recording) Gap() string { return r.Fault.expectation(r.Client).Gap }

// FileName is the corpus file's name for r.
func (r Recording) FileName() string {
	return "real-" + r.Client.Name + "-" + r.Fault.Name + ".txt"
}
