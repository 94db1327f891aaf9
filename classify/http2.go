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
