package chain

import "strings"

// netHTTPTexts are messages of net and net/http that name their
// condition whole.
var netHTTPTexts = [...]struct{ text, kind string }{
	// net.ErrClosed: our side closed the connection, usually because a
	// deadline or a cancel fired; those layers win when present.
	{"use of closed network connection", "connection_aborted"},
	{"http: server gave HTTP response to HTTPS client", "tls"},
	{"http: request body too large", "limit"},
	{"net/http: request canceled", "canceled"},
}

// "net/http: request canceled (Client.Timeout exceeded while awaiting
// headers)", net/http's timeoutError, whose cause's text says who gave
// up; "use of closed network connection" and the others of netHTTPTexts.
func recogniseNetHTTP(t text, a *Attrs) bool {
	s := t.s
	if i := strings.Index(s, "(Client.Timeout"); i >= 0 {
		a.Timeout = true
		switch {
		case strings.HasPrefix(s, "context canceled"):
			// "… (Client.Timeout or context cancellation while reading
			// body)" after the caller cancelled.
			a.Timeout = false
			setKind(a, "canceled")
		case strings.Contains(s[i:], "Client.Timeout exceeded"):
			// The client's own per-request limit, not the caller's
			// deadline: worth another attempt.
			setKindTransient(a, "deadline", true)
		default:
			setKind(a, "deadline")
		}
		return true
	}
	for _, t := range netHTTPTexts {
		if strings.HasPrefix(s, t.text) {
			setKind(a, t.kind)
			return true
		}
	}
	return false
}

// notFoundTexts are fs.ErrNotExist's and exec.ErrNotFound's texts.
var notFoundTexts = [...]string{"file does not exist", "executable file not found in $PATH"}

func recogniseNotFound(t text, a *Attrs) bool {
	s := t.s
	for _, nf := range notFoundTexts {
		if rest, ok := strings.CutSuffix(s, nf); ok && (rest == "" || strings.HasSuffix(rest, ": ")) {
			setKind(a, "not_found")
			return true
		}
	}
	return false
}
