package chain

import (
	"math/bits"
	"strconv"
	"strings"
	"unicode/utf8"
)

// A recogniser reads facts from one layer's own text. It sets fields of a
// and reports whether it found anything. Recognisers only add: a Kind set
// by an earlier one is kept.
type recogniser struct {
	name  string
	match func(t text, a *Attrs) bool
	// triggers lists wordings one of which, ignoring ASCII case, every
	// text the recogniser reads contains: it runs only on texts where the
	// vocabulary's scan found one. nil: it runs on every text (it must be
	// cheap to refuse).
	triggers func() []string
}

// words returns its arguments: a trigger list.
func words(w ...string) func() []string { return func() []string { return w } }

// recognisers is the whole vocabulary of the text fallback and FromText,
// in one table so it is easy to extend and to test. Every recogniser runs
// on every layer its triggers allow; the more specific ones come first, so
// that their Kind wins.
var recognisers = [...]recogniser{
	{"h2-stream", recogniseStreamError, words("stream error: stream id ")},
	{"h2-goaway", recogniseGoAway, words("server sent goaway and closed the connection; ")},
	{"h2-goaway-received", recogniseGoAwayReceived, words("received goaway from server")},
	{"h2-connection", recogniseConnectionError, words("connection error: ")},
	{"h2-net-http", recogniseH2Plain, words("received from peer", "http2: ")},
	{"h2-other", recogniseOtherH2, words("stream error ", "connection error ", "http/2 stream ", "http/2 framing layer",
		"http2 framing layer", "kind: reset(streamid(", "kind: goaway(")},
	{"h2-reason", recogniseH2Reason, func() []string {
		w := []string{" (err "}
		for _, r := range h2Reasons {
			w = append(w, r.text)
		}
		return w
	}},
	{"dns", recogniseDNS, func() []string {
		w := []string{"lookup "}
		for _, d := range dnsTexts {
			w = append(w, d.text)
		}
		return w
	}},
	{"url", recogniseURL, words(` "`)},
	{"net-op", recogniseNetOp, words(" tcp", " udp", " ip", " unix")},
	{"path-op", recognisePathOp, func() []string {
		w := make([]string, len(pathOps))
		for i, op := range pathOps {
			w[i] = op + " "
		}
		return w
	}},
	{"syscall", recogniseSyscall, nil},
	{"errno", recogniseErrno, func() []string {
		var w []string
		for _, e := range errnos {
			w = append(w, e.texts...)
		}
		return w
	}},
	{"errno-name", recogniseErrnoName, func() []string {
		var w []string
		for _, e := range errnos {
			w = append(w, e.name)
		}
		for _, e := range winsockNames {
			w = append(w, e.name)
		}
		return w
	}},
	{"curl", recogniseCurl, nil},
	{"certificate", recogniseCertificate, func() []string {
		return append([]string{"x509: ", "tls: failed to verify certificate"}, certificateTexts[:]...)
	}},
	{"tls", recogniseTLS, words("tls: ")},
	{"net-http", recogniseNetHTTP, func() []string {
		w := []string{"(client.timeout"}
		for _, t := range netHTTPTexts {
			w = append(w, t.text)
		}
		return w
	}},
	{"not-found", recogniseNotFound, func() []string { return notFoundTexts[:] }},
	{"flate", recogniseFlate, words("flate: corrupt input before offset ")},
	{"codec-sentinel", recogniseCodecSentinel, func() []string {
		w := make([]string, len(codecTexts))
		for i, c := range codecTexts {
			w[i] = c.text
		}
		return w
	}},
	{"codec-prefix", recogniseCodecPrefix, func() []string {
		return append([]string{"unpack", "extract", "error decoding", "failed to decode"}, formats[:]...)
	}},
	{"context", recogniseContext, words("context deadline exceeded", "context canceled", "operation was canceled")},
	{"eof", recogniseEOF, func() []string { return append([]string{"eof"}, eofTexts[:]...) }},
	{"timeout", recogniseTimeout, func() []string { return timeoutTexts[:] }},
	{"http-status", recogniseStatus, nil},
}

// RecogniseLimit bounds the text recognisers read, in bytes: the facts are
// in the first words of a layer, and a megabyte message must not cost a
// megabyte scan per recogniser.
const RecogniseLimit = 4096

// A Recogniser reads facts from the text of one layer — its own text, the
// part its children do not account for — into a, and reports whether it
// found anything. It must only add: leave a field that is already set
// (above all Kind, and Transient with it) as it is, so that recognisers run
// in order and the first to name a kind decides it. It must be safe for
// concurrent use.
//
// The built-in vocabulary is Recognise. A deployment adds its own through
// Walker.Recognisers (for the text fallback and FromText) and
// classify.Set.Recognisers (for every layer when classifying); the
// recognisers a policy file declares are compiled into one.
type Recogniser interface {
	Recognise(text string, a *Attrs) bool
}

// RecogniserFunc adapts a function to the Recogniser interface.
type RecogniserFunc func(text string, a *Attrs) bool

// Recognise returns f(text, a).
func (f RecogniserFunc) Recognise(text string, a *Attrs) bool { return f(text, a) }

// Recognisers is a list of recognisers consulted in order, before the
// built-in ones. The nil list is the built-in vocabulary alone.
type Recognisers []Recogniser

// Recognise runs every recogniser of rs on text, then the built-in ones,
// and reports whether any found something. Text beyond RecogniseLimit
// bytes is not read.
func (rs Recognisers) Recognise(text string, a *Attrs) bool {
	if text == "" {
		return false
	}
	text = cutUTF8(text, RecogniseLimit)
	found := false
	for _, r := range rs {
		if r != nil && r.Recognise(text, a) {
			found = true
		}
	}
	return recognise(text, a) || found
}

// Recognise runs the built-in recognisers on text, adding to a what they
// find, and reports whether they found anything. They read the error texts
// of Go's standard library and golang.org/x/net, errno texts of Linux, the
// BSDs and Windows, curl's codes and the texts of hyper, reqwest, rustls,
// the h2 crate, cargo and uv; the package documentation lists them.
func Recognise(text string, a *Attrs) bool {
	return recognise(cutUTF8(text, RecogniseLimit), a)
}

// recognise runs every built-in recogniser on s.
func recognise(s string, a *Attrs) bool {
	if s == "" {
		return false
	}
	v := vocab()
	t := text{s: s, v: v}
	v.set.scan(s, t.hits[:])
	found := false
	for act := t.active(); act != 0; act &= act - 1 {
		if recognisers[bits.TrailingZeros64(act)].match(t, a) {
			found = true
		}
	}
	return found
}

func setKind(a *Attrs, k string) {
	if a.Kind == "" {
		a.Kind = k
	}
}

// setKindTransient sets a kind with the retry hint that goes with it,
// unless a kind is known.
func setKindTransient(a *Attrs, k string, transient bool) {
	if a.Kind == "" {
		a.Kind = k
		a.Transient = &transient
	}
}

// "stream error: stream ID 3; INTERNAL_ERROR; received from peer"
func recogniseStreamError(t text, a *Attrs) bool {
	s := t.s
	rest, ok := strings.CutPrefix(s, "stream error: stream ID ")
	if !ok {
		return false
	}
	id, rest, _ := strings.Cut(rest, "; ")
	n, err := strconv.ParseUint(id, 10, 32)
	if err != nil {
		return false
	}
	code, cause, _ := strings.Cut(rest, "; ")
	if !isH2CodeName(code) {
		return false
	}
	a.H2StreamID, a.H2Code = uint32(n), code
	a.H2Remote = a.H2Remote || cause == "received from peer"
	setKind(a, "h2_stream")
	return true
}

// "http2: server sent GOAWAY and closed the connection; LastStreamID=1, ErrCode=NO_ERROR, debug=\"\""
func recogniseGoAway(t text, a *Attrs) bool {
	s := t.s
	_, rest, ok := strings.Cut(s, "server sent GOAWAY and closed the connection; ")
	if !ok {
		return false
	}
	if v, ok := between(rest, "LastStreamID=", ","); ok {
		if n, err := strconv.ParseUint(v, 10, 32); err == nil {
			a.H2LastStreamID = uint32(n)
		}
	}
	if v, ok := between(rest, "ErrCode=", ","); ok && isH2CodeName(v) {
		a.H2Code = v
	}
	if _, v, ok := strings.Cut(rest, "debug="); ok {
		if d, err := strconv.Unquote(v); err == nil {
			a.H2Debug = d
		}
	}
	a.H2Remote, a.H2GoAway = true, true
	setKind(a, "h2_goaway")
	return true
}

// "http2: Transport received GOAWAY from server ErrCode:INTERNAL_ERROR":
// net/http aborts with this text a stream the GOAWAY excluded, one the
// server never processed.
func recogniseGoAwayReceived(t text, a *Attrs) bool {
	s := t.s
	_, rest, ok := strings.Cut(s, "received GOAWAY from server")
	if !ok {
		return false
	}
	if v, ok := strings.CutPrefix(strings.TrimSpace(rest), "ErrCode:"); ok && isH2CodeName(v) {
		a.H2Code = v
	}
	a.H2Remote, a.H2GoAway, a.H2Unprocessed = true, true, true
	setKind(a, "h2_goaway")
	return true
}

// "connection error: PROTOCOL_ERROR"
func recogniseConnectionError(t text, a *Attrs) bool {
	s := t.s
	code, ok := strings.CutPrefix(s, "connection error: ")
	if !ok || !isH2CodeName(code) {
		return false
	}
	a.H2Code = code
	setKind(a, "h2_connection")
	return true
}

// dnsTexts are resolver failures as other stacks word them: hyper's "dns
// error", the getaddrinfo texts Rust and C programs print, and curl's.
// notFound marks the name-does-not-exist answers (EAI_NONAME), which Go
// reports as "no such host".
var dnsTexts = [...]struct {
	text     string
	notFound bool
}{
	{"no such host", true},
	{"EAI_NONAME", true},
	{"EAI_AGAIN", false},
	{"name or service not known", true},
	{"nodename nor servname provided, or not known", true},
	{"temporary failure in name resolution", false},
	{"failed to lookup address information", false},
	{"could not resolve host", false},
	{"dns error", false},
}

// "lookup example.com on 127.0.0.53:53: no such host", the whole text of
// a *net.DNSError, or a resolver failure from dnsTexts.
func recogniseDNS(t text, a *Attrs) bool {
	s := t.s
	if rest, ok := strings.CutPrefix(s, "lookup "); ok {
		head, cause, ok := strings.Cut(rest, ": ")
		if !ok || head == "" {
			return false
		}
		host, server, _ := strings.Cut(head, " on ")
		if strings.ContainsAny(host, " \"") {
			return false
		}
		a.Host, a.Addr = host, server
		// The cause is the end of the text, so the text's wordings
		// are the cause's when they are not in the head.
		v := t.v
		a.NotFound = a.NotFound || t.has(v.noHost) && containsFold(cause, "no such host")
		a.Timeout = a.Timeout || t.has(v.timeOut) && containsFold(cause, "timeout")
		setKind(a, "dns")
		return true
	}
	found := false
	v := t.v
	for i, d := range dnsTexts {
		if t.has(v.dns[i]) {
			a.NotFound = a.NotFound || d.notFound
			found = true
		}
	}
	if found {
		setKind(a, "dns")
	}
	return found
}

// urlMethods are the Op values of a *url.Error from net/http: the request
// method in title case.
var urlMethods = [...]string{"Get", "Head", "Post", "Put", "Patch", "Delete", "Options", "Connect", "Trace"}

// `Get "http://host/path"`
func recogniseURL(t text, a *Attrs) bool {
	s := t.s
	method, quoted, ok := strings.Cut(s, " ")
	if !ok || len(quoted) < 2 || quoted[0] != '"' {
		return false
	}
	known := false
	for _, m := range urlMethods {
		known = known || m == method
	}
	if !known {
		return false
	}
	u, err := strconv.Unquote(quoted)
	if err != nil {
		return false
	}
	a.Op, a.Addr = method, u
	return true
}

var netNames = [...]string{"tcp", "tcp4", "tcp6", "udp", "udp4", "udp6", "ip", "ip4", "ip6", "unix", "unixgram", "unixpacket"}

// "read tcp 127.0.0.1:5->127.0.0.1:80", "dial tcp 10.0.0.1:443", "dial tcp":
// *net.OpError's "op net [source->]addr".
func recogniseNetOp(t text, a *Attrs) bool {
	// A message the splitter left whole keeps its cause after ": ".
	head, _, _ := strings.Cut(t.s, ": ")
	op, rest, ok := strings.Cut(head, " ")
	if !ok || op == "" || strings.ContainsAny(op, ":\"") {
		return false
	}
	network, addr, _ := strings.Cut(rest, " ")
	if strings.Contains(addr, " ") {
		return false
	}
	known := false
	for _, n := range netNames {
		known = known || n == network
	}
	if !known {
		return false
	}
	a.Op, a.Net = op, network
	if addr != "" {
		if src, dst, ok := strings.Cut(addr, "->"); ok {
			a.Source, a.Addr = src, dst
		} else {
			a.Addr = addr
		}
	}
	return true
}

// pathOps are the Op values of an *fs.PathError. "fork/exec" is
// os.StartProcess's: a program that could not be started, named by path.
var pathOps = [...]string{"fork/exec", "open", "stat", "lstat", "mkdir", "remove", "unlinkat", "openat", "readlink", "chmod", "chown", "chtimes", "truncate", "symlink", "link", "rename", "readdirent", "fdopendir", "seek", "sync", "close", "read", "write"}

// "open /var/lib/x", "fork/exec /usr/bin/tar": *fs.PathError's "op
// path". The path must look like one, so "read error" is not taken for a
// read of the file "error".
func recognisePathOp(t text, a *Attrs) bool {
	s := t.s
	op, path, ok := strings.Cut(s, " ")
	if !ok || path == "" || !strings.ContainsAny(path, "/\\.") || strings.Contains(path, "->") {
		return false
	}
	for _, o := range pathOps {
		if o == op {
			a.Op, a.Addr = op, path
			return true
		}
	}
	return false
}

var syscalls = [...]string{"read", "write", "connect", "accept", "accept4", "sendfile", "sendmsg", "recvmsg", "sendto", "recvfrom", "readv", "writev", "setsockopt", "getsockopt", "socket", "bind", "listen", "shutdown", "wsarecv", "wsasend", "wsarecvfrom", "wsasendto", "connectex", "acceptex", "fsync", "fdatasync", "ftruncate", "pwrite", "pread", "copy_file_range", "splice"}

// "read": an *os.SyscallError prints the bare system call name.
func recogniseSyscall(t text, a *Attrs) bool {
	s := t.s
	if len(s) > len("copy_file_range") {
		return false
	}
	for _, c := range syscalls {
		if c == s {
			if a.Op == "" {
				a.Op = s
			}
			return true
		}
	}
	return false
}

// "connection reset by peer", "Connection refused (os error 111)", …
func recogniseErrno(t text, a *Attrs) bool {
	e, ok := errnoFromText(t)
	if !ok {
		return false
	}
	a.Errno, a.ErrnoName = int(e.errno), e.name
	return true
}

// winsockNames are the Windows Sockets names of the errnos that matter,
// as .NET, Python and Rust print them on Windows.
var winsockNames = [...]struct{ name, errno string }{
	{"WSAECONNRESET", "ECONNRESET"},
	{"WSAECONNREFUSED", "ECONNREFUSED"},
	{"WSAECONNABORTED", "ECONNABORTED"},
	{"WSAETIMEDOUT", "ETIMEDOUT"},
	{"WSAEHOSTUNREACH", "EHOSTUNREACH"},
	{"WSAENETUNREACH", "ENETUNREACH"},
	{"WSAENETDOWN", "ENETDOWN"},
	{"WSAENETRESET", "ENETRESET"},
	{"WSAEADDRINUSE", "EADDRINUSE"},
}

// "read ECONNRESET", "errno ETIMEDOUT", "WSAECONNRESET": an errno named by
// its symbol, as Node.js, npm and C programs print it. The symbol must be
// a word of its own, in capitals.
func recogniseErrnoName(t text, a *Attrs) bool {
	if a.ErrnoName != "" {
		return false
	}
	s := t.s
	for i := 0; i < len(s); i++ {
		if s[i] != 'E' && s[i] != 'W' || i > 0 && isWordByte(s[i-1]) {
			continue
		}
		j := i
		for j < len(s) && (s[j] >= 'A' && s[j] <= 'Z' || s[j] == '_') {
			j++
		}
		if j < len(s) && isWordByte(s[j]) {
			continue
		}
		name := s[i:j]
		for _, w := range winsockNames {
			if w.name == name {
				name = w.errno
			}
		}
		if e, ok := ErrnoByName(name); ok {
			a.Errno, a.ErrnoName = int(e), name
			return true
		}
		i = j
	}
	return false
}

// isWordByte reports whether b can be part of a word.
func isWordByte(b byte) bool {
	return b == '_' || '0' <= b && b <= '9' || 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z'
}

// curlCodes are the curl error codes (CURLcode) that name a failure, and
// the kind each implies: curl prints them as "curl: (28) Timeout was
// reached", cargo as "[28] Timeout was reached (…)" and git as "RPC
// failed; curl 56 Recv failure: …". The wording after the code varies with
// curl's version and TLS library; the number does not.
var curlCodes = [...]struct {
	code int
	kind string
}{
	{5, "dns"},                // CURLE_COULDNT_RESOLVE_PROXY
	{6, "dns"},                // CURLE_COULDNT_RESOLVE_HOST
	{7, "connection_refused"}, // CURLE_COULDNT_CONNECT
	{18, "unexpected_eof"},    // CURLE_PARTIAL_FILE: "transfer closed with n bytes remaining"
	{28, "timeout"},           // CURLE_OPERATION_TIMEDOUT
	{35, "tls"},               // CURLE_SSL_CONNECT_ERROR
	{52, "unexpected_eof"},    // CURLE_GOT_NOTHING: "Empty reply from server"
	{56, "connection_reset"},  // CURLE_RECV_ERROR
	{60, "certificate"},       // CURLE_PEER_FAILED_VERIFICATION
}

// curlSSLConnect is CURLE_SSL_CONNECT_ERROR, which curl returns for a
// handshake refused and for one the peer cut short alike; its detail
// tells them apart.
const curlSSLConnect = 35

// tlsHandshakeCut reports whether a TLS library's words in s say the
// connection ended under the handshake: OpenSSL's "unexpected eof while
// reading" (3.x) and SSL_ERROR_SYSCALL with no error of its own, GnuTLS's
// "The TLS connection was non-properly terminated", or a reset.
func tlsHandshakeCut(s string) bool {
	for _, w := range [...]string{"unexpected eof while reading", "SSL_ERROR_SYSCALL", "non-properly terminated", "Connection reset by peer"} {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// curlHTTPError is CURLE_HTTP_RETURNED_ERROR, curl --fail's "(22) The
// requested URL returned error: 503": its kind is the status's.
const curlHTTPError = 22

// "(28) Timeout was reached", "[56] Recv failure: …", "curl 18 transfer
// closed with 1024 bytes remaining to read", "(22) The requested URL
// returned error: 503". An errno in the same text ("(7) Failed to connect
// …: No route to host") is more precise than the code, so the kind is left
// to it.
func recogniseCurl(t text, a *Attrs) bool {
	s := t.s
	code, ok := cutCurlCode(s)
	if !ok {
		// git prints curl's text for code 22 without the code: "fatal:
		// unable to access '…': The requested URL returned error: 503".
		if !strings.HasPrefix(s, "The requested URL returned error: ") {
			return false
		}
		code = curlHTTPError
	}
	if code == curlHTTPError {
		status, ok := curlHTTPStatus(s)
		if !ok {
			return false
		}
		// No Kind hint: classify names a status's kind, and whether it
		// is transient, from the number, as for any error that carries one.
		a.HTTPStatus = status
		return true
	}
	if code == curlSSLConnect && tlsHandshakeCut(s) && a.ErrnoName == "" {
		// The peer went away under the handshake: the path failed, no
		// setting was refused.
		setKind(a, "connection")
		return true
	}
	for _, c := range curlCodes {
		if c.code != code {
			continue
		}
		if c.kind == "timeout" {
			a.Timeout = true
		}
		if a.ErrnoName == "" {
			setKind(a, c.kind)
		}
		return true
	}
	return false
}

// curlHTTPStatus reads the status from curl's "URL returned error: 503",
// which older curls follow with the reason ("404 Not Found").
func curlHTTPStatus(s string) (int, bool) {
	_, rest, ok := strings.Cut(s, "URL returned error: ")
	if !ok || len(rest) < 3 || len(rest) > 3 && rest[3] != ' ' && rest[3] != ')' {
		return 0, false
	}
	n, err := strconv.Atoi(rest[:3])
	if err != nil || n < 100 || n > 599 {
		return 0, false
	}
	return n, true
}

// cutCurlCode finds the code of a curl error where curl and the tools
// around it print one: "(n) text" or "[n] text" (cargo) at the start;
// "curl: (n) text" at the start or after a space or "("; and "curl n
// text" at the start or after git's "RPC failed; " (with "HTTP 503 "
// between them for an HTTP error). A "curl n" anywhere else is prose
// ("retrying curl 5 times"), not a code.
func cutCurlCode(s string) (int, bool) {
	if code, ok := cutBracketedCode(s); ok {
		return code, true
	}
	const marker = "curl: "
	for i := 0; i < len(s); {
		j := strings.Index(s[i:], marker)
		if j < 0 {
			break
		}
		j += i
		if j == 0 || s[j-1] == ' ' || s[j-1] == '(' {
			if code, ok := cutBracketedCode(s[j+len(marker):]); ok {
				return code, true
			}
		}
		i = j + len(marker)
	}
	rest, ok := strings.CutPrefix(s, "curl ")
	if !ok {
		rest, ok = cutGitRPC(s)
	}
	if !ok {
		return 0, false
	}
	n, msg, ok := strings.Cut(rest, " ")
	return curlNumber(n, msg, ok)
}

// cutBracketedCode reads "(n) text" or "[n] text" at the start of s.
func cutBracketedCode(s string) (int, bool) {
	if s == "" || s[0] != '(' && s[0] != '[' {
		return 0, false
	}
	closer := ") "
	if s[0] == '[' {
		closer = "] "
	}
	n, rest, ok := strings.Cut(s[1:], closer)
	return curlNumber(n, rest, ok)
}

// cutGitRPC strips git's "[error: ]RPC failed; [HTTP n ]curl " and
// returns the code and message after it.
func cutGitRPC(s string) (string, bool) {
	s = strings.TrimPrefix(s, "error: ")
	rest, ok := strings.CutPrefix(s, "RPC failed; ")
	if !ok {
		return "", false
	}
	if after, ok := strings.CutPrefix(rest, "HTTP "); ok {
		status, tail, ok := strings.Cut(after, " ")
		if !ok || !isBareNumber(status) {
			return "", false
		}
		rest = tail
	}
	return strings.CutPrefix(rest, "curl ")
}

// curlNumber parses a curl code followed by its message.
func curlNumber(n, rest string, ok bool) (int, bool) {
	if !ok || n == "" || len(n) > 2 || strings.Trim(n, "0123456789") != "" || strings.TrimSpace(rest) == "" {
		return 0, false
	}
	code, err := strconv.Atoi(n)
	return code, err == nil
}

// certificateTexts are certificate rejections as OpenSSL and rustls word
// them.
var certificateTexts = [...]string{"certificate verify failed", "invalid peer certificate"}

// "x509: certificate signed by unknown authority", "tls: failed to verify
// certificate", and the wordings of certificateTexts.
func recogniseCertificate(t text, a *Attrs) bool {
	s := t.s
	if strings.HasPrefix(s, "x509: ") || strings.HasPrefix(s, "tls: failed to verify certificate") ||
		t.hasAny(t.v.cert[:]) {
		setKind(a, "certificate")
		return true
	}
	return false
}

// "tls: first record does not look like a TLS handshake", "remote error:
// tls: handshake failure".
func recogniseTLS(t text, a *Attrs) bool {
	s := t.s
	if strings.HasPrefix(s, "tls: ") || strings.HasPrefix(s, "remote error: tls: ") || strings.HasPrefix(s, "local error: tls: ") {
		setKind(a, "tls")
		return true
	}
	return false
}

// "context deadline exceeded", "context canceled", and net's
// "operation was canceled".
func recogniseContext(t text, a *Attrs) bool {
	s := t.s
	switch {
	case strings.Contains(s, "context deadline exceeded"):
		a.Timeout = true
		setKind(a, "deadline")
	case strings.Contains(s, "context canceled"), strings.Contains(s, "operation was canceled"):
		setKind(a, "canceled")
	default:
		return false
	}
	return true
}

// eofTexts say that a stream ended too soon: Go's, and those of rustls
// (a peer that closed without close_notify truncated the body) and hyper
// (its IncompleteMessage error, in Display and Debug form).
var eofTexts = [...]string{
	"unexpected EOF",
	"unexpected end of file",
	"peer closed connection without sending TLS close_notify",
	"connection closed before message completed",
	"IncompleteMessage",
}

// "unexpected EOF", a bare "EOF", and the texts of eofTexts.
func recogniseEOF(t text, a *Attrs) bool {
	s := t.s
	found := s == "EOF" || t.hasAny(t.v.eof[:])
	if found {
		setKind(a, "unexpected_eof")
	}
	return found
}

var timeoutTexts = [...]string{"i/o timeout", "Client.Timeout exceeded", "timeout awaiting response headers", "TLS handshake timeout", "timed out", "Timeout was reached"}

func recogniseTimeout(t text, a *Attrs) bool {
	if t.hasAny(t.v.timeout[:]) {
		a.Timeout = true
		return true
	}
	return false
}

// between returns the text after start up to sep (or the end).
func between(s, start, sep string) (string, bool) {
	_, rest, ok := strings.Cut(s, start)
	if !ok {
		return "", false
	}
	v, _, _ := strings.Cut(rest, sep)
	return v, true
}

// containsFold reports whether s contains sub, ignoring case as
// strings.EqualFold does. sub is short, so a direct scan beats lowering a
// copy of s; every recogniser runs it on every layer, so it only calls
// EqualFold where the first byte already matches.
func containsFold(s, sub string) bool {
	n := len(sub)
	if n == 0 {
		return true
	}
	c0 := sub[0]
	if c0 >= utf8.RuneSelf {
		return containsFoldSlow(s, sub)
	}
	// An ASCII byte folds only to itself in the other case: a window
	// that starts inside a multi-byte rune has fewer runes than sub's n
	// bytes, so it cannot fold to sub and need not be compared.
	lower, upper := c0, c0
	if l := c0 | 0x20; 'a' <= l && l <= 'z' {
		lower, upper = l, l&^0x20
	}
	for i := 0; i+n <= len(s); i++ {
		if c := s[i]; (c == lower || c == upper) && strings.EqualFold(s[i:i+n], sub) {
			return true
		}
	}
	return false
}

// containsFoldSlow compares at every offset.
func containsFoldSlow(s, sub string) bool {
	n := len(sub)
	for i := 0; i+n <= len(s); i++ {
		if strings.EqualFold(s[i:i+n], sub) {
			return true
		}
	}
	return false
}
