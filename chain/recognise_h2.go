package chain

import (
	"strconv"
	"strings"
)

// h2Plain are the HTTP/2 conditions net/http and x/net report as plain
// strings: a connection the transport gave up on, and a graceful GOAWAY
// whose stream was never processed.
var h2Plain = [...]struct {
	text string
	kind string
}{
	{"http2: client connection lost", "h2_connection"},
	{"http2: client conn is closed", "h2_connection"},
	{"http2: client conn not usable", "h2_connection"},
	{"http2: client connection force closed via ClientConn.Close", "h2_connection"},
	{"http2: Transport received Server's graceful shutdown GOAWAY", "h2_goaway"},
}

// "http2: client connection lost" (the health-check ping went
// unanswered), "received from peer" (the cause x/net gives a stream error
// the peer sent) and the other texts of h2Plain.
func recogniseH2Plain(t text, a *Attrs) bool {
	s := t.s
	if s == "received from peer" {
		// A detail of the stream error above it, not a kind of its own.
		a.H2Remote = true
		return true
	}
	if !strings.HasPrefix(s, "http2: ") {
		return false
	}
	for _, p := range h2Plain {
		if strings.Contains(s, p.text) {
			if p.kind == "h2_goaway" {
				// RFC 9113 §6.8: a graceful shutdown; the stream was not
				// processed and may be sent again.
				a.H2GoAway, a.H2Unprocessed, a.H2Remote = true, true, true
				if a.H2Code == "" {
					a.H2Code = "NO_ERROR"
				}
			}
			setKind(a, p.kind)
			return true
		}
	}
	return false
}

// h2Reasons are the RFC 9113 §7 error codes as other HTTP/2 stacks print
// them on their own: curl names the code ("INTERNAL_ERROR (err 2)"), the
// Rust h2 crate under hyper and reqwest describes it ("unexpected internal
// error encountered"). Either is the last segment of a message such as
// "stream error received: …" and so becomes a layer of its own.
var h2Reasons = [...]struct{ code, text string }{
	{"NO_ERROR", "not a result of an error"},
	{"PROTOCOL_ERROR", "unspecific protocol error detected"},
	{"INTERNAL_ERROR", "unexpected internal error encountered"},
	{"FLOW_CONTROL_ERROR", "flow-control protocol violated"},
	{"SETTINGS_TIMEOUT", "settings ACK not received in timely manner"},
	{"STREAM_CLOSED", "received frame when stream half-closed"},
	{"FRAME_SIZE_ERROR", "frame with invalid size"},
	{"REFUSED_STREAM", "refused stream before processing any application logic"},
	{"CANCEL", "stream no longer needed"},
	{"COMPRESSION_ERROR", "unable to maintain the header compression context"},
	{"CONNECT_ERROR", "connection established in response to a CONNECT request was reset or abnormally closed"},
	{"ENHANCE_YOUR_CALM", "detected excessive load generating behavior"},
	{"INADEQUATE_SECURITY", "security-related requirements are not met"},
	{"HTTP_1_1_REQUIRED", "endpoint requires HTTP/1.1"},
}

// h2Reason returns the code that s names or describes, or "".
func h2Reason(s string) string {
	if s == "" {
		return ""
	}
	for _, r := range h2Reasons {
		if s[0] == r.code[0] {
			if rest, ok := strings.CutPrefix(s, r.code); ok && strings.HasPrefix(rest, " (err ") {
				return r.code
			}
		} else if s[0] == r.text[0] && strings.HasPrefix(s, r.text) {
			return r.code
		}
	}
	return ""
}

// "INTERNAL_ERROR (err 2)", "stream no longer needed": an HTTP/2 code on
// its own, which sets no kind. classify gives it to the HTTP/2 layer
// above it, whose code it is.
func recogniseH2Reason(t text, a *Attrs) bool {
	s := t.s
	code := h2Reason(s)
	if code == "" || a.H2Code != "" {
		return false
	}
	a.H2Code = code
	return true
}

// The HTTP/2 failures of curl (nghttp2) and of the Rust h2 crate:
//
//	curl: (92) HTTP/2 stream 1 was not closed cleanly: INTERNAL_ERROR (err 2)
//	curl: (16) Error in the HTTP2 framing layer
//	http2 error: stream error received: refused stream before processing any application logic
//	http2 error: connection error received: not a result of an error
//	hyper::Error(Http2, Error { kind: Reset(StreamId(1), REFUSED_STREAM, Remote) })
//
// The code usually follows as a layer of its own (see recogniseH2Reason).
func recogniseOtherH2(t text, a *Attrs) bool {
	s := t.s
	found := h2CrateText(s, a) ||
		strings.Contains(s, "HTTP") && curlH2Text(s, a) ||
		strings.Contains(s, "kind: ") && h2DebugText(s, a)
	if !found {
		return false
	}
	if i := strings.LastIndex(s, ": "); i >= 0 && a.H2Code == "" {
		// Unsplit text: "stream error received: <reason>".
		a.H2Code = h2Reason(s[i+2:])
	}
	return true
}

// curlH2Text reads curl's HTTP/2 errors: CURLE_HTTP2_STREAM (92) and
// CURLE_HTTP2 (16).
func curlH2Text(s string, a *Attrs) bool {
	switch {
	case strings.Contains(s, "HTTP/2 stream "):
		id, rest, _ := strings.Cut(s[strings.Index(s, "HTTP/2 stream ")+len("HTTP/2 stream "):], " ")
		if !strings.HasPrefix(rest, "was not closed cleanly") && !strings.HasPrefix(rest, "was reset") {
			return false
		}
		if a.H2StreamID == 0 {
			a.H2StreamID = parseUint32(id)
		}
		setKind(a, "h2_stream")
	case strings.Contains(s, "Stream error in the HTTP/2 framing layer"):
		setKind(a, "h2_stream")
	case strings.Contains(s, "Error in the HTTP2 framing layer"):
		setKind(a, "h2_connection")
	default:
		return false
	}
	return true
}

// h2CrateText reads the h2 crate's Display form, "stream error received:
// …" and the like. "connection error received" is a GOAWAY from the peer;
// "detected" means h2 itself gave up on the connection.
func h2CrateText(s string, a *Attrs) bool {
	stream, ok := strings.CutPrefix(s, "stream error ")
	conn := ""
	if !ok {
		if conn, ok = strings.CutPrefix(s, "connection error "); !ok {
			return false
		}
	}
	switch {
	case strings.HasPrefix(stream, "received"):
		a.H2Remote = true
		setKind(a, "h2_stream")
	case strings.HasPrefix(stream, "detected"), strings.HasPrefix(stream, "sent by user"):
		setKind(a, "h2_stream")
	case strings.HasPrefix(conn, "received"):
		a.H2GoAway, a.H2Remote = true, true
		setKind(a, "h2_goaway")
	case strings.HasPrefix(conn, "detected"), strings.HasPrefix(conn, "sent by user"):
		setKind(a, "h2_connection")
	default:
		return false
	}
	return true
}

// h2DebugText reads h2::Error's Debug form, which reqwest and hyper errors
// print when logged with {:?}: "kind: Reset(StreamId(n), CODE, Initiator)"
// or "kind: GoAway(debug bytes, CODE, Initiator)".
func h2DebugText(s string, a *Attrs) bool {
	switch {
	case strings.Contains(s, "kind: Reset(StreamId("):
		id, rest, _ := strings.Cut(afterKey(s, "kind: Reset(StreamId("), "), ")
		code, who := debugCode(", " + rest)
		if a.H2StreamID == 0 {
			a.H2StreamID = parseUint32(id)
		}
		if a.H2Code == "" {
			a.H2Code = code
		}
		a.H2Remote = a.H2Remote || who == "Remote"
		setKind(a, "h2_stream")
	case strings.Contains(s, "kind: GoAway("):
		// A GOAWAY the peer sent, or one h2 sent itself on a connection
		// error it detected.
		code, who := debugCode(afterKey(s, "kind: GoAway("))
		a.H2GoAway = true
		if a.H2Code == "" {
			a.H2Code = code
		}
		if who == "Remote" {
			a.H2Remote = true
			setKind(a, "h2_goaway")
		} else {
			setKind(a, "h2_connection")
		}
	default:
		return false
	}
	return true
}

// debugCode finds ", CODE, Initiator)" in h2::Error's Debug form. It
// looks for the RFC 9113 names rather than counting commas: a GOAWAY's
// debug data comes before them, and the peer may put anything in it.
func debugCode(s string) (code, initiator string) {
	at := -1
	for _, r := range h2Reasons {
		if i := strings.LastIndex(s, ", "+r.code+", "); i > at {
			at, code = i, r.code
		}
	}
	if at < 0 {
		return "", ""
	}
	initiator, _, _ = strings.Cut(s[at+len(code)+4:], ")")
	return code, initiator
}

// afterKey returns the text after the first key in s, or "".
func afterKey(s, key string) string {
	_, rest, _ := strings.Cut(s, key)
	return rest
}

// parseUint32 parses a decimal number, or returns 0.
func parseUint32(s string) uint32 {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0
	}
	return uint32(n)
}
