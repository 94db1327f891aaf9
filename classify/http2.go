package classify

import (
	"strconv"
	"strings"
)

// h2Text reads the messages of HTTP/2 errors, which net/http's bundled copy
// and golang.org/x/net/http2 print identically:
//
//	stream error: stream ID 3; INTERNAL_ERROR; received from peer
//	connection error: PROTOCOL_ERROR
//	http2: server sent GOAWAY and closed the connection; LastStreamID=1, ErrCode=NO_ERROR, debug=""
//	http2: Transport received GOAWAY from server ErrCode:INTERNAL_ERROR
//
// Text is all there is for the bundled, unexported types, so the details
// are read from it whenever the walker left them out.
func h2Text(s string, in *layerInfo) {
	switch {
	case strings.HasPrefix(s, "stream error: stream ID "):
		in.h2 = true
		id, rest, _ := strings.Cut(s[len("stream error: stream ID "):], "; ")
		code, cause, _ := strings.Cut(rest, "; ")
		if in.h2Stream == 0 {
			in.h2Stream = parseUint32(id)
		}
		in.h2Code = orString(in.h2Code, code)
		if cause == "received from peer" {
			in.h2Remote = true
		}
		in.setKind(H2Stream)
	case strings.HasPrefix(s, "connection error: "):
		in.h2 = true
		in.h2Code = orString(in.h2Code, s[len("connection error: "):])
		in.setKind(H2Connection)
	case strings.HasPrefix(s, "http2: server sent GOAWAY"):
		in.h2, in.goaway, in.h2Remote = true, true, true
		if in.h2Last == 0 {
			in.h2Last = parseUint32(field(s, "LastStreamID=", ","))
		}
		in.h2Code = orString(in.h2Code, field(s, "ErrCode=", ","))
		if in.h2Debug == "" {
			if d := field(s, "debug=", ""); len(d) >= 2 && d[0] == '"' {
				if u, err := strconv.Unquote(d); err == nil {
					in.h2Debug = u
				}
			}
		}
		in.setKind(H2GoAway)
	case strings.HasPrefix(s, "http2: Transport received GOAWAY from server ErrCode:"):
		// net/http aborts a stream the GOAWAY excluded with this text:
		// the server never processed it.
		in.h2, in.goaway, in.h2Remote, in.unprocessed = true, true, true, true
		in.h2Code = orString(in.h2Code, s[len("http2: Transport received GOAWAY from server ErrCode:"):])
		in.setKind(H2GoAway)
	}
}

// h2CodeTransient reports whether a stream or connection error with the
// given RFC 9113 §7 code is worth another try. Codes that say one side
// broke the protocol will recur; the others (REFUSED_STREAM, CANCEL,
// INTERNAL_ERROR, ENHANCE_YOUR_CALM, …) describe the moment.
func h2CodeTransient(code string) bool {
	switch code {
	case "PROTOCOL_ERROR", "FLOW_CONTROL_ERROR", "FRAME_SIZE_ERROR", "COMPRESSION_ERROR",
		"HTTP_1_1_REQUIRED", "INADEQUATE_SECURITY":
		return false
	}
	return true
}

// field returns the text after key in s, up to end (or the end of s when
// end is "" or absent).
func field(s, key, end string) string {
	i := strings.Index(s, key)
	if i < 0 {
		return ""
	}
	s = s[i+len(key):]
	if end != "" {
		if j := strings.Index(s, end); j >= 0 {
			s = s[:j]
		}
	}
	return s
}

// parseUint32 parses a decimal number, or returns 0.
func parseUint32(s string) uint32 {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0
	}
	return uint32(n)
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

// otherH2Text reads the HTTP/2 failures of curl (nghttp2) and of the Rust
// h2 crate, and reports whether it found one:
//
//	curl: (92) HTTP/2 stream 1 was not closed cleanly: INTERNAL_ERROR (err 2)
//	curl: (16) Error in the HTTP2 framing layer
//	http2 error: stream error received: refused stream before processing any application logic
//	http2 error: connection error received: not a result of an error
//	hyper::Error(Http2, Error { kind: Reset(StreamId(1), REFUSED_STREAM, Remote) })
//
// The code usually follows as a child layer, which sets no kind of its own;
// Classify gives it to this layer afterwards (see adoptH2Reasons), so that
// the layers that are not HTTP/2 at all do not pay for looking it up.
func otherH2Text(s string, in *layerInfo) bool {
	found := h2CrateText(s, in) ||
		strings.Contains(s, "HTTP") && curlH2Text(s, in) ||
		strings.Contains(s, "kind: ") && h2DebugText(s, in)
	if !found {
		return false
	}
	if i := strings.LastIndex(s, ": "); i >= 0 {
		// Unsplit text: "stream error received: <reason>".
		in.h2Code = orString(in.h2Code, h2Reason(s[i+2:]))
	}
	return true
}

// curlH2Text reads curl's HTTP/2 errors: CURLE_HTTP2_STREAM (92) and
// CURLE_HTTP2 (16).
func curlH2Text(s string, in *layerInfo) bool {
	switch {
	case strings.Contains(s, "HTTP/2 stream "):
		id, rest, _ := strings.Cut(s[strings.Index(s, "HTTP/2 stream ")+len("HTTP/2 stream "):], " ")
		if !strings.HasPrefix(rest, "was not closed cleanly") && !strings.HasPrefix(rest, "was reset") {
			return false
		}
		if in.h2Stream == 0 {
			in.h2Stream = parseUint32(id)
		}
		in.setKind(H2Stream)
	case strings.Contains(s, "Stream error in the HTTP/2 framing layer"):
		in.setKind(H2Stream)
	case strings.Contains(s, "Error in the HTTP2 framing layer"):
		in.setKind(H2Connection)
	default:
		return false
	}
	in.h2 = true
	return true
}

// h2CrateText reads the h2 crate's Display form, "stream error received:
// …" and the like. "connection error received" is a GOAWAY from the peer;
// "detected" means h2 itself gave up on the connection.
func h2CrateText(s string, in *layerInfo) bool {
	stream, ok := strings.CutPrefix(s, "stream error ")
	conn := ""
	if !ok {
		if conn, ok = strings.CutPrefix(s, "connection error "); !ok {
			return false
		}
	}
	switch {
	case strings.HasPrefix(stream, "received"):
		in.h2Remote = true
		in.setKind(H2Stream)
	case strings.HasPrefix(stream, "detected"), strings.HasPrefix(stream, "sent by user"):
		in.setKind(H2Stream)
	case strings.HasPrefix(conn, "received"):
		in.goaway, in.h2Remote = true, true
		in.setKind(H2GoAway)
	case strings.HasPrefix(conn, "detected"), strings.HasPrefix(conn, "sent by user"):
		in.setKind(H2Connection)
	default:
		return false
	}
	in.h2 = true
	return true
}

// h2DebugText reads h2::Error's Debug form, which reqwest and hyper errors
// print when logged with {:?}: "kind: Reset(StreamId(n), CODE, Initiator)"
// or "kind: GoAway(debug bytes, CODE, Initiator)".
func h2DebugText(s string, in *layerInfo) bool {
	switch {
	case strings.Contains(s, "kind: Reset(StreamId("):
		id, rest, _ := strings.Cut(field(s, "kind: Reset(StreamId(", ""), "), ")
		code, who := debugCode(", " + rest)
		if in.h2Stream == 0 {
			in.h2Stream = parseUint32(id)
		}
		in.h2Code = orString(in.h2Code, code)
		in.h2Remote = in.h2Remote || who == "Remote"
		in.setKind(H2Stream)
	case strings.Contains(s, "kind: GoAway("):
		// A GOAWAY the peer sent, or one h2 sent itself on a connection
		// error it detected.
		code, who := debugCode(field(s, "kind: GoAway(", ""))
		in.goaway = true
		in.h2Code = orString(in.h2Code, code)
		if who == "Remote" {
			in.h2Remote = true
			in.setKind(H2GoAway)
		} else {
			in.setKind(H2Connection)
		}
	default:
		return false
	}
	in.h2 = true
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
