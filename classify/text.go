package classify

import "strings"

// readText classifies a layer by its own text. Go's error messages are
// stable enough to be matched exactly — the sentinels of io, context, net,
// gzip and tar never change their wording — so most layers resolve with one
// switch; parameterised messages (HTTP/2 errors, decoder offsets, DNS and
// TLS failures) are matched by prefix. A message the walker could not split
// ("read tcp a->b: read: connection reset by peer") is tried once more by
// its last segment, which in Go's "outer: inner" convention is the cause.
func readText(s string, in *layerInfo) {
	if s == "" {
		return
	}
	netOpText(s, in)
	if exactText(s, in) || prefixText(s, in) {
		return
	}
	if i := strings.LastIndex(s, ": "); i >= 0 {
		exactText(s[i+2:], in)
	}
}

// exactText classifies the messages that are matched whole, and reports
// whether s was one of them.
func exactText(s string, in *layerInfo) bool {
	switch s {
	// Transport errnos, as syscall.Errno prints them on Linux and the BSDs,
	// and as anyhow-style chains (uv, cargo) shorten them.
	case "connection reset by peer", "connection reset":
		in.setErrno("ECONNRESET")
	case "connection refused":
		in.setErrno("ECONNREFUSED")
	case "software caused connection abort":
		in.setErrno("ECONNABORTED")
	case "broken pipe":
		in.setErrno("EPIPE")
	case "connection timed out", "operation timed out":
		in.setErrno("ETIMEDOUT")
	case "network is unreachable":
		in.setErrno("ENETUNREACH")
	case "no route to host":
		in.setErrno("EHOSTUNREACH")
	case "network is down":
		in.setErrno("ENETDOWN")
	case "host is down":
		in.setErrno("EHOSTDOWN")
	case "use of closed network connection":
		// net.ErrClosed: our side closed the connection, usually because
		// a deadline or a cancel fired; those layers win when present.
		in.setKind(ConnectionAborted)

	// Local system errnos.
	case "no space left on device":
		in.setErrno("ENOSPC")
	case "disk quota exceeded":
		in.setErrno("EDQUOT")
	case "permission denied":
		in.setErrno("EACCES")
	case "operation not permitted":
		in.setErrno("EPERM")
	case "read-only file system":
		in.setErrno("EROFS")
	case "no such file or directory":
		in.setErrno("ENOENT")
	case "file does not exist", "executable file not found in $PATH":
		in.setKind(NotFound)

	// Truncation: a bare EOF says the stream ended early, not why.
	case "unexpected EOF", "EOF":
		in.setKind(UnexpectedEOF)

	// Timeouts and cancellation.
	case "i/o timeout", "net/http: timeout awaiting response headers",
		"http2: timeout awaiting response headers", "net/http: TLS handshake timeout":
		in.timeout = true
		in.setKind(Timeout)
	case "context deadline exceeded":
		in.timeout = true
		in.setKind(Deadline)
	case "context canceled", "operation was canceled", "net/http: request canceled",
		"net/http: request canceled while waiting for connection":
		in.setKind(Canceled)

	// HTTP/2 conditions that net/http reports as plain strings.
	case "http2: client connection lost", "http2: client conn is closed",
		"http2: client conn not usable", "http2: client connection force closed via ClientConn.Close":
		in.h2 = true
		in.setKind(H2Connection)
	case "http2: Transport received Server's graceful shutdown GOAWAY":
		in.h2, in.goaway, in.unprocessed = true, true, true
		in.h2Code = orString(in.h2Code, "NO_ERROR")
		in.setKind(H2GoAway)
	case "received from peer":
		// StreamError.Cause for a RST_STREAM the peer sent: a detail of
		// its parent, not a kind of its own.
		in.h2, in.h2Remote = true, true

	case "http: server gave HTTP response to HTTPS client":
		in.setKind(TLS)
	case "http: request body too large":
		in.setKind(Limit)

	default:
		return codecExact(s, in)
	}
	return true
}

// prefixText classifies parameterised messages, and reports whether it
// found a kind.
func prefixText(s string, in *layerInfo) bool {
	switch {
	case strings.Contains(s, "(Client.Timeout"):
		// net/http's timeoutError: "<cause> (Client.Timeout exceeded while
		// awaiting headers)" or "<cause> (Client.Timeout or context
		// cancellation while reading body)". The cause's text says which.
		in.timeout = true
		switch {
		case strings.HasPrefix(s, "context canceled"):
			in.timeout = false
			in.setKind(Canceled)
		case strings.Contains(s, "Client.Timeout exceeded"):
			// The client's own per-request limit, not the caller's
			// deadline: worth another attempt.
			in.kind, in.transient = Deadline, true
		default:
			in.setKind(Deadline)
		}
	case strings.HasPrefix(s, "net/http: request canceled"):
		in.setKind(Canceled)
	case strings.HasPrefix(s, "stream error: "),
		strings.HasPrefix(s, "connection error: "),
		strings.HasPrefix(s, "http2: "):
		h2Text(s, in)
	case strings.HasPrefix(s, "lookup "):
		if strings.HasSuffix(s, "no such host") {
			in.notFound = true
		}
		if strings.HasSuffix(s, "i/o timeout") {
			in.timeout = true
		}
		in.setKind(DNS)
	case strings.HasPrefix(s, "x509: "), strings.HasPrefix(s, "tls: failed to verify certificate"):
		in.setKind(Certificate)
	case strings.HasPrefix(s, "tls: "), strings.HasPrefix(s, "remote error: tls: "),
		strings.HasPrefix(s, "local error: tls: "):
		in.setKind(TLS)
	default:
		if codecPrefix(s, in) || otherH2Text(s, in) || statusText(s, in) {
			break
		}
		return false
	}
	return in.kind != ""
}

// netOpText reads the operation of a *net.OpError message: "read tcp
// 127.0.0.1:1->127.0.0.1:2: …", "dial tcp 127.0.0.1:1: …".
func netOpText(s string, in *layerInfo) {
	if in.op != "" {
		return
	}
	op, rest, ok := strings.Cut(s, " ")
	if !ok {
		return
	}
	switch op {
	case "read", "write", "dial", "accept", "listen", "close":
	default:
		return
	}
	for _, n := range [...]string{"tcp", "udp", "unix", "ip"} {
		if strings.HasPrefix(rest, n) {
			in.op, in.netOp = op, true
			return
		}
	}
}

// setErrno records a symbolic errno found in text and the kind it implies.
func (in *layerInfo) setErrno(name string) {
	if in.errno == "" {
		in.errno = name
	}
	in.setKind(errnoKind(name))
}

// errnoKind maps a symbolic errno to a kind.
func errnoKind(name string) Kind {
	switch name {
	case "ECONNRESET", "WSAECONNRESET":
		return ConnectionReset
	case "ECONNREFUSED", "WSAECONNREFUSED":
		return ConnectionRefused
	case "ECONNABORTED", "WSAECONNABORTED":
		return ConnectionAborted
	case "EPIPE":
		return BrokenPipe
	case "ETIMEDOUT", "WSAETIMEDOUT":
		return Timeout
	case "ENETUNREACH", "EHOSTUNREACH", "ENETDOWN", "EHOSTDOWN":
		return Unreachable
	case "ENOSPC", "EDQUOT":
		return DiskFull
	case "EACCES", "EPERM", "EROFS":
		return Permission
	case "ENOENT":
		return NotFound
	}
	return ""
}

// orString returns s, or def when s is empty.
func orString(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
