package main

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"
	"golang.org/x/term"

	"github.com/faultline-go/faultline/adapters/httpx"
	"github.com/faultline-go/faultline/adapters/tarx"
	"github.com/faultline-go/faultline/chain"
	"github.com/faultline-go/faultline/classify"
	"github.com/faultline-go/faultline/faulttest"
	"github.com/faultline-go/faultline/internal/redact"
	"github.com/faultline-go/faultline/policy"
)

func fetchCommand() *command {
	return &command{
		name:    "fetch",
		args:    "URL",
		summary: "download an archive and unpack it (or keep a file), resuming after failures",
		help: `
Fetch downloads the archive at URL — tar, plain or compressed with gzip,
zstd, xz or bzip2, or zip, told apart by content, not name — and unpacks
it into the new directory --to as it arrives, under the policy: a body cut
off mid-way is resumed with a ranged request where the server allows it,
a download that cannot continue is restarted, and a failure the policy
will not retry ends the fetch. The tree appears at --to only once the
whole archive was read and verified (its length, the decompressor's
checksum, --sha256 if given); nothing partial is ever left there.
--replace swaps out and deletes what was at --to, so fetch refuses a
--to that is or contains the current directory, the home directory,
the root, or the directories holding --dump-dir, --policy or --ca,
however it is spelled (".", "..", an absolute path, a symbolic link).

The bytes received are kept as they arrive in a spool beside --to
(".NAME.faultline-spool"), each at its offset whatever connection brought
it, synced every quarter second, so that a fetch that is killed (Ctrl-C,
kill -9, a CI timeout, a power cut) and run again with the same URL and
--to replays them locally and downloads only what is missing, with Range
and If-Range. The spool takes at most the archive's size on disk, beside
the unpacked tree; it is removed when the fetch succeeds or fails for
good, and kept when it is interrupted. A spool that does not match
(another URL, a changed file on the server, a corrupt or truncated spool)
is reported and the fetch starts clean. Spools nobody touched for a week
are removed. --no-spool turns it off.

A response that does not start within --idle-timeout fails its attempt.
A body that was flowing and goes silent is declared stalled within
seconds (--stall-timeout) and resumed on a new connection, as the policy
decides; a slow but steady body is not a stall. With --speed-limit, a
body slower than that over --speed-time is treated as stalled too.

With --output FILE instead of --to, the download is kept as it is, with
the same resumes, checks and dumps: it is written beside FILE, fsynced,
and renamed into place once whole and verified; on failure nothing is at
FILE (with --replace, what was there stays).

Progress goes to standard error: a bar on a terminal, a line every few
seconds elsewhere, and one line for every decision. A summary goes to
standard output: bytes, attempts, resumes, restarts, time and the bytes
the server sent. With --dump-dir, every failure is recorded there as a
dump that "retrycheck explain" replays.

On failure, the decision that ended the fetch (rule, reason, kind of
failure) goes to standard error. With --json, standard output is one
JSON object: bytes, attempts, resumes, restarts, every decision made
(attempt, phase, kind, offset, action, delay, rule), the final kind and
rule, the exit status and its class; URLs and messages have their
secrets masked.

Exit status, one per class of outcome, so that a script can tell "try
again later" from "this will never work" (--json names the class):

	0    ok: the tree is in place
	1    failed, and retrying will not help: the policy gave up on a
	     failure that is not transient (404, an untrusted certificate, a
	     host that does not exist, a full disk), or --to exists
	2    usage: bad flags or arguments, a policy that does not load, a
	     --to that is refused
	65   data (EX_DATAERR): the archive is corrupt or unsafe: a checksum
	     or --sha256 mismatch, a corrupt stream, an entry that would land
	     outside --to, an archive over a limit
	75   tempfail (EX_TEMPFAIL): failed, but retrying later may work: a
	     transient failure outlasted the policy's limits (attempts,
	     elapsed time, Retry-After, the deadline)
	130  interrupted (SIGINT or SIGTERM); nothing was left at --to

Example:

	$ retrycheck fetch --to ./python https://example.com/python-3.12.tar.gz
	$ retrycheck fetch --policy ci --dump-dir faults --sha256 e350a7408be17eea58e25d6ae83f40f99a6177399357e1d461b53fd321785a1a --to out https://example.com/python-3.12.tar.gz
	$ retrycheck explain faults/*.json
	$ retrycheck fetch --output python.tar.gz https://example.com/python-3.12.tar.gz
	$ retrycheck fetch --demo --to demo`,
		setup: func(fs *flag.FlagSet, cl *cli) func(context.Context, []string) int {
			cl.commonFlags(fs)
			ff := &fetchFlags{}
			ff.register(fs)
			return func(ctx context.Context, args []string) int { return cl.fetch(ctx, ff, args) }
		},
	}
}

// fetchFlags are fetch's own flags.
type fetchFlags struct {
	to       string
	sha256   string
	dumpDir  string
	replace  bool
	ca       string
	h2c      bool
	progress string
	idle     time.Duration
	stall    time.Duration
	speed    int64
	speedFor time.Duration
	demo     bool
	output   string // --output: the file to download to, as it is
	file     bool   // to names a file (--output), not a tree
	noSpool  bool
	parallel parallelFlags
}

func (f *fetchFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.to, "to", "", "unpack into the new directory `DIR` (this or --output is required)")
	fs.StringVar(&f.output, "output", "", "download to the file `FILE` as it is, without unpacking")
	fs.StringVar(&f.sha256, "sha256", "", "the archive's expected SHA-256, as `HEX`")
	fs.StringVar(&f.dumpDir, "dump-dir", "", "record every failure as a dump in `DIR`, for retrycheck explain")
	fs.BoolVar(&f.replace, "replace", false, "replace --to if it exists (atomically where the system allows)")
	fs.StringVar(&f.ca, "ca", "", "trust the PEM certificates in `FILE` as well as the system's")
	fs.BoolVar(&f.h2c, "h2c", false, "speak HTTP/2 without TLS (prior knowledge) to an http:// URL")
	fs.StringVar(&f.progress, "progress", progressAuto, "progress `MODE`: auto (a bar on a terminal, else lines), bar, lines or none")
	fs.DurationVar(&f.idle, "idle-timeout", httpx.DefaultIdleTimeout, "give up on a response that does not start (headers, first byte) within `DURATION`")
	fs.DurationVar(&f.stall, "stall-timeout", httpx.DefaultStallTimeout, "the longest a flowing body may go silent before it is resumed on a new connection; the limit adapts to the body (4× its slowest read, at least 2s) up to `DURATION`; 0 turns stall detection off")
	fs.Int64Var(&f.speed, "speed-limit", 0, "treat a body slower than `BYTES` a second over --speed-time as stalled (0: off)")
	fs.DurationVar(&f.speedFor, "speed-time", httpx.DefaultLowSpeedTime, "the window of --speed-limit, as a `DURATION`")
	fs.BoolVar(&f.noSpool, "no-spool", false, "do not keep the bytes received beside --to (see above): a fetch that is killed starts over")
	f.parallel.register(fs)
	fs.BoolVar(&f.demo, "demo", false, "instead of URL, fetch a generated archive from a local server (package faulttest) that breaks the download three times")
}

// fetchSummary is what fetch reports at the end, as text or --json.
type fetchSummary struct {
	URL  string `json:"url"`
	Dest string `json:"dest"`
	OK   bool   `json:"ok"`
	// Bytes is the archive's length as delivered by the pass that
	// finished; BytesServed counts every body byte off the wire.
	Bytes       int64 `json:"bytes"`
	BytesServed int64 `json:"bytes_served"`
	// Replayed counts the bytes read back from the spool an interrupted
	// fetch left, instead of downloaded.
	Replayed  int64 `json:"replayed,omitempty"`
	Attempts  int   `json:"attempts"`
	Resumes   int   `json:"resumes"`
	Refetches int   `json:"refetches"`
	Restarts  int   `json:"restarts"`
	// Connections is the most connections the download had open at once.
	Connections int `json:"connections"`
	// Mirrors says what each URL delivered, with --mirror.
	Mirrors   []mirrorSummary `json:"mirrors,omitempty"`
	Seconds   float64         `json:"seconds"`
	Format    string          `json:"format,omitempty"`
	Files     int             `json:"files"`
	Dirs      int             `json:"dirs"`
	Symlinks  int             `json:"symlinks"`
	Hardlinks int             `json:"hardlinks"`
	Unpacked  int64           `json:"unpacked_bytes"`
	// Dumps counts the failures recorded in DumpDir.
	Dumps   int    `json:"dumps,omitempty"`
	DumpDir string `json:"dump_dir,omitempty"`
	// On failure: the error, the decision that ended the fetch and the
	// kind of failure it decided on.
	Error    string           `json:"error,omitempty"`
	Decision *policy.Decision `json:"decision,omitempty"`
	Kind     classify.Kind    `json:"kind,omitempty"`
	Rule     string           `json:"rule,omitempty"`
	// Decisions is every decision the fetch made, oldest first.
	Decisions []policy.Step `json:"decisions,omitempty"`
	// Exit is the exit status and Class its class: ok, failed, usage,
	// data, tempfail or interrupted.
	Exit  int    `json:"exit"`
	Class string `json:"class"`

	facts classify.Facts // of the last failure
}

func (cl *cli) fetch(ctx context.Context, ff *fetchFlags, args []string) int {
	if msg := ff.resolveTarget(); msg != "" {
		return cl.usagef("%s", msg)
	}
	if ff.demo {
		if len(args) != 0 {
			return cl.usagef("--demo takes no URL")
		}
		d, err := startDemo()
		if err != nil {
			cl.errorf("--demo: %v", err)
			return exitFail
		}
		defer d.close(cl)
		args = []string{d.server.URL}
		if ff.sha256 == "" {
			ff.sha256 = d.sha256
		}
		fmt.Fprintf(cl.stderr, "demo: serving a generated archive of %s at %s, with %d scripted faults\n",
			formatBytes(d.size), d.server.URL, len(d.script))
	}
	if len(args) != 1 {
		return cl.usagef("want one URL, got %d", len(args))
	}
	url := args[0]
	if !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") {
		return cl.usagef("URL %q: want http:// or https://", redact.URL(url))
	}
	var opts httpx.Options
	if ff.sha256 != "" {
		sum, err := hex.DecodeString(ff.sha256)
		if err != nil || len(sum) != 32 {
			return cl.usagef("--sha256 %q: want 64 hexadecimal digits", ff.sha256)
		}
		opts.SHA256 = sum
	}
	if ff.speed < 0 {
		return cl.usagef("--speed-limit %d: must not be negative", ff.speed)
	}
	if err := ff.parallel.apply(&opts); err != nil {
		return cl.usagef("%v", err)
	}
	switch ff.progress {
	case progressAuto, progressBar, progressLines, progressNone:
	default:
		return cl.usagef("--progress %q: want auto, bar, lines or none", ff.progress)
	}
	dest, err := filepath.Abs(ff.to)
	if err != nil {
		return cl.usagef("--to: %v", err)
	}
	// Judge the destination before anything can touch it: with --replace,
	// whatever is there is deleted once the new tree is in place.
	if err := checkDest(ff.to, dest, cl.protectedPaths(ff)); err != nil {
		return cl.usagef("%v", err)
	}
	// Refuse before downloading anything rather than after.
	if _, err := os.Lstat(dest); err == nil && !ff.replace {
		cl.errorf("%s exists; use --replace to replace it", ff.to)
		return exitFail
	}
	hc, err := fetchHTTPClient(ff)
	if err != nil {
		return cl.usagef("%v", err)
	}
	defer hc.CloseIdleConnections()
	pol, ok := cl.loadPolicy()
	if !ok {
		return exitUsage
	}
	// Make the parent before the first request: a --to that cannot be
	// made is the invocation's fault, found before anything is fetched.
	if err := os.MkdirAll(filepath.Dir(dest), 0o777); err != nil {
		return cl.usagef("--to %s: cannot make its parent directory: %v", ff.to, err)
	}
	if ff.dumpDir != "" {
		if err := os.MkdirAll(ff.dumpDir, 0o777); err != nil {
			return cl.usagef("--dump-dir: %v", err)
		}
	}

	if !ff.noSpool {
		// Spools of downloads abandoned long ago; best effort.
		httpx.CleanSpools(filepath.Dir(dest), httpx.DefaultSpoolStaleAfter)
		opts.Spool = spoolPath(dest)
	}

	prog := cl.newProgress(ff.progress)
	f := &fetcher{prog: prog, dest: dest, replace: ff.replace, file: ff.file}
	c := &httpx.Client{
		HTTP:          hc,
		Policy:        policy.NewEngine(pol.Policy),
		IdleTimeout:   ff.idle,
		StallTimeout:  stallTimeout(ff.stall),
		LowSpeedLimit: ff.speed,
		LowSpeedTime:  ff.speedFor,
		DumpDir:       ff.dumpDir,
		// Decisions are shown by OnDecision; the logger only carries
		// warnings, such as a dump that could not be written.
		Logger:     slog.New(newWarnHandler(cl.stderr, cl.name)),
		OnDecision: f.decided,
		OnResume:   func(httpx.Event) { prog.resumed() },
		// The bar shows how many connections are open.
		OnConnections: func(n int) { prog.conns.Store(int32(n)) },
		OnRestart:     f.restarting,
	}
	prog.run()
	res, err := c.Do(ctx, url, f.consume, &opts)
	prog.stop()

	sum := f.summary(url, ff, res, err)
	sum.Exit, sum.Class = fetchExit(ctx, err != nil, sum.facts, sum.Decision)
	cl.fetchReport(sum)
	if sum.Class == classInterrupted {
		// The staging tree is gone by now (tarx removes it when its
		// context ends); say so, and why.
		cl.errorf("stopped (%v): nothing was left at %s", context.Cause(ctx), ff.to)
		if opts.Spool != "" {
			if fi, err := os.Stat(filepath.Join(opts.Spool, "data")); err == nil && fi.Size() > 0 {
				cl.errorf("the %s received are kept in %s: run the same command again to continue",
					formatBytes(fi.Size()), opts.Spool)
			}
		}
	}
	return sum.Exit
}

// spoolPath is where fetch keeps the bytes of a download to dest: beside
// it, named after it, so that the next fetch to dest finds it. The name is
// cut as the staging directory's is, to stay under NAME_MAX.
func spoolPath(dest string) string {
	base := filepath.Base(dest)
	if len(base) > 128 {
		base = base[:128]
	}
	return filepath.Join(filepath.Dir(dest), "."+base+httpx.SpoolSuffix)
}

// stallTimeout maps --stall-timeout to httpx.Client.StallTimeout, where 0
// means the default and a negative value off.
func stallTimeout(d time.Duration) time.Duration {
	if d <= 0 {
		return -1
	}
	return d
}

// summary sums up the fetch that Client.Do ended with res and err.
func (f *fetcher) summary(url string, ff *fetchFlags, res httpx.Result, err error) *fetchSummary {
	sum := &fetchSummary{
		URL: redact.URL(url), Dest: ff.to, OK: err == nil,
		Bytes: res.Bytes, BytesServed: res.BytesServed, Replayed: res.Replayed,
		Attempts: res.Attempts, Resumes: res.Resumes, Refetches: res.Refetches, Restarts: res.Restarts,
		Connections: res.Connections, Mirrors: mirrorSummaries(res.Mirrors), Seconds: res.Duration.Seconds(),
		Format: string(f.stats.Format), Files: f.stats.Files, Dirs: f.stats.Dirs,
		Symlinks: f.stats.Symlinks, Hardlinks: f.stats.Hardlinks, Unpacked: f.stats.Bytes,
		DumpDir: ff.dumpDir, Decisions: res.Trail,
	}
	if ff.dumpDir != "" {
		sum.Dumps = f.decisions
	}
	if err == nil {
		return sum
	}
	sum.Error = redact.Text(err.Error())
	sum.facts = f.last.Input.Error
	if he := (*httpx.Error)(nil); errors.As(err, &he) {
		d := he.Decision
		d.Trace = nil
		d.Reason = redact.Text(d.Reason)
		sum.Decision = &d
		sum.Rule = d.Rule
	}
	if sum.facts.Kind == "" {
		// No decision was made (the request could not even be built):
		// classify the error as the policy would have.
		sum.facts = classify.Classify(chain.Walk(err))
	}
	sum.Kind = sum.facts.Kind
	return sum
}

// fetcher carries one fetch: the consumer Client.Do calls, and the hooks
// that tell the progress what happened.
type fetcher struct {
	prog      *progress
	dest      string
	replace   bool
	file      bool // download dest as a file (--output)
	stats     tarx.Stats
	decisions int
	last      httpx.Event // the last decision
}

// consume unpacks one pass over the body. After a restart it runs again
// from byte 0; tarx has removed the first pass's staging tree by then.
func (f *fetcher) consume(ctx context.Context, r io.Reader) error {
	if f.file {
		return f.consumeFile(ctx, r)
	}
	total := int64(-1)
	if s, ok := r.(interface{ Size() int64 }); ok {
		total = s.Size()
	}
	f.prog.pass(total)
	st, err := tarx.Extract(ctx, f.prog.reader(r), f.dest, tarx.Options{Replace: f.replace})
	f.stats = st
	if te := (*tarx.Error)(nil); errors.As(err, &te) && te.Op == "committing" {
		// The archive was fine; moving the tree into place was not.
		return httpx.Commit(err)
	}
	return err
}

func (f *fetcher) decided(e httpx.Event) {
	f.decisions++
	f.last = e
	d := e.Decision
	what := string(d.Action)
	if d.Delay > 0 {
		what += " in " + d.Delay.Round(time.Millisecond).String()
	}
	by := "rule " + d.Rule
	switch {
	case d.Guard != "":
		by = "guard " + d.Guard
	case d.Rule == "":
		by = "default action"
	}
	f.prog.event("attempt %d: %s at %s (phase %s): %s (%s)",
		e.Attempt, e.Input.Error.Kind, formatBytes(e.Offset), e.Input.State.Phase, what, by)
}

func (f *fetcher) restarting(e httpx.Event) {
	f.prog.restarted()
	f.prog.event("restarting from byte 0: %s", e.Reason)
}

// newProgress picks the progress display for stderr.
func (cl *cli) newProgress(mode string) *progress {
	width := 0
	if mode == progressAuto || mode == progressBar {
		if f, ok := cl.stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			width, _, _ = term.GetSize(int(f.Fd()))
			mode = progressBar
		} else if mode == progressAuto {
			mode = progressLines
		}
	}
	return newProgress(cl.stderr, mode, width, time.Now)
}

// fetchReport prints the summary to stdout and, on failure, the decision
// that ended the fetch to stderr.
func (cl *cli) fetchReport(s *fetchSummary) {
	if cl.json {
		enc := json.NewEncoder(cl.stdout)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		enc.Encode(s)
	} else {
		cl.fetchText(s)
	}
	if s.OK {
		return
	}
	cl.errorf("%s", s.Error)
	if d := s.Decision; d != nil {
		by := fmt.Sprintf("rule %q", d.Rule)
		switch {
		case d.Guard != "":
			by = fmt.Sprintf("guard %q", d.Guard)
		case d.Rule == "":
			by = "the policy's default action"
		}
		cl.errorf("gave up by %s (kind %s): %s", by, s.Kind, shown(d.Reason))
	} else {
		cl.errorf("gave up (kind %s)", s.Kind)
	}
	if s.Dumps > 0 {
		cl.errorf("%s recorded in %s; replay with: retrycheck explain %s",
			plural(s.Dumps, "failure"), s.DumpDir, filepath.Join(s.DumpDir, "FILE"))
	}
}

// fetchText prints the summary as text: a line for the download, a line
// for the tree.
func (cl *cli) fetchText(s *fetchSummary) {
	took := time.Duration(s.Seconds * float64(time.Second)).Round(time.Millisecond)
	counts := fmt.Sprintf("%s, %s, ", plural(s.Attempts, "attempt"), plural(s.Resumes, "resume"))
	if s.Refetches > 0 {
		counts += plural(s.Refetches, "refetch") + ", "
	}
	counts += plural(s.Restarts, "restart")
	if s.Connections > 1 {
		counts += fmt.Sprintf(", up to %d connections", s.Connections)
	}
	if !s.OK {
		fmt.Fprintf(cl.stdout, "failed %s after %s: %s; %s delivered in the last pass, %s served\n",
			s.URL, took, counts, formatBytes(s.Bytes), formatBytes(s.BytesServed))
		return
	}
	rate := ""
	if s.Seconds > 0 {
		rate = fmt.Sprintf(" (%s/s)", formatBytes(int64(float64(s.Bytes)/s.Seconds)))
	}
	ratio := ""
	if s.Bytes > 0 {
		ratio = fmt.Sprintf(" (%.3f× the archive)", float64(s.BytesServed)/float64(s.Bytes))
	}
	replayed := ""
	if s.Replayed > 0 {
		replayed = fmt.Sprintf("; replayed %s from the spool of an interrupted fetch", formatBytes(s.Replayed))
	}
	fmt.Fprintf(cl.stdout, "fetched %s: %s in %s%s; %s; served %s%s%s\n",
		s.URL, formatBytes(s.Bytes), took, rate, counts, formatBytes(s.BytesServed), ratio, replayed)
	if s.Format == formatFile {
		fmt.Fprintf(cl.stdout, "wrote %s: %s\n", s.Dest, formatBytes(s.Unpacked))
	} else {
		fmt.Fprintf(cl.stdout, "unpacked %s into %s: %s, %s, %s, %s, %s of files\n",
			s.Format, s.Dest, plural(s.Files, "file"), plural(s.Dirs, "dir"),
			plural(s.Symlinks, "symlink"), plural(s.Hardlinks, "hard link"), formatBytes(s.Unpacked))
	}
	if s.Dumps > 0 {
		fmt.Fprintf(cl.stdout, "%s recorded in %s\n", plural(s.Dumps, "failure"), s.DumpDir)
	}
	cl.mirrorsText(s.Mirrors)
}

// fetchHTTPClient builds fetch's HTTP client: the same settings as
// httpx's default client, plus --ca and --h2c. fetch owns it, so it can
// close its connections when done.
func fetchHTTPClient(ff *fetchFlags) (*http.Client, error) {
	t := httpx.NewTransport()
	t.MaxIdleConns = 10
	if ff.h2c {
		// Without HTTP1, net/http speaks HTTP/2 with prior knowledge to
		// http:// URLs.
		t.Protocols = new(http.Protocols)
		t.Protocols.SetUnencryptedHTTP2(true)
		t.Protocols.SetHTTP2(true)
	}
	if ff.ca != "" {
		pem, err := os.ReadFile(ff.ca)
		if err != nil {
			return nil, fmt.Errorf("--ca: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--ca %s: no PEM certificate found", ff.ca)
		}
		t.TLSClientConfig = &tls.Config{RootCAs: pool}
	}
	return &http.Client{Transport: t}, nil
}

// demo is the server of fetch --demo: a generated archive served on
// 127.0.0.1 by the test fault server, which breaks the first responses.
type demo struct {
	server *faulttest.Server
	script []faulttest.Fault
	size   int64
	sha256 string
}

// startDemo starts the demo server. The faults strike at 20%, 45% and 70%
// of the archive for a client that resumes (each offset counts within its
// own response): a TCP reset, a stream reset (a bare close on HTTP/1.1)
// and a body cut short of its length.
func startDemo() (*demo, error) {
	archive, err := demoContent()
	if err != nil {
		return nil, err
	}
	size := int64(len(archive))
	script := []faulttest.Fault{
		{Kind: faulttest.Reset, At: size / 5},
		{Kind: faulttest.ResetStream, At: size / 4},
		{Kind: faulttest.Truncate, At: size / 4},
	}
	s, err := faulttest.Start(faulttest.Config{Content: archive, Script: script})
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(archive)
	return &demo{server: s, script: script, size: size, sha256: hex.EncodeToString(sum[:])}, nil
}

func (d *demo) close(cl *cli) {
	d.server.Close()
	fmt.Fprintf(cl.stderr, "demo: the server sent %s of body in %s for an archive of %s\n",
		formatBytes(d.server.BodyBytes()), plural(d.server.RequestCount(), "response"), formatBytes(d.size))
}

// demoArchive writes a deterministic tar.gz of files text files of up to
// maxSize bytes each, in a few directories.
// demoContent is the demo's archive, made once per process: it is the
// same every time, and making it is the slow part of --demo.
var demoContent = sync.OnceValues(func() ([]byte, error) { return demoArchive(400, 32<<10) })

func demoArchive(files, maxSize int) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	rng := rand.New(rand.NewPCG(1, 2))
	words := strings.Fields("retry resume fail stream archive header block offset window checksum reset goaway")
	mtime := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	var line []byte
	for i := range files {
		if i%50 == 0 {
			dir := fmt.Sprintf("demo/d%02d/", i/50)
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir, Mode: 0o755, ModTime: mtime}); err != nil {
				return nil, err
			}
		}
		var body bytes.Buffer
		for n := rng.IntN(maxSize); body.Len() < n; {
			line = line[:0]
			for range 8 {
				line = append(line, words[rng.IntN(len(words))]...)
				line = append(line, ' ')
			}
			line = strconv.AppendUint(append(line, ' '), rng.Uint64(), 16)
			body.Write(append(line, '\n'))
		}
		name := fmt.Sprintf("demo/d%02d/f%04d.txt", i/50, i)
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(body.Len()), ModTime: mtime}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(body.Bytes()); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
