package chain

import (
	"reflect"
	"strconv"
	"strings"
)

// The HTTP/2 error types exist twice: exported in golang.org/x/net/http2
// and as unexported copies in net/http's bundle (http2StreamError,
// http2GoAwayError, http2ConnectionError), which errors.As cannot match
// against x/net's. Both are recognised here by the name and shape of the
// type, read by reflection, so no import of x/net is needed and a future
// move of the types (x/net wrapping net/http from Go 1.27) is still seen.

// unwrapHTTP2 reads StreamError, GoAwayError and ConnectionError from
// either package. StreamError keeps its cause in a Cause field with no
// Unwrap method; the cause becomes the hidden child, except the sentinel
// "received from peer", which only says that the peer sent the RST_STREAM.
func unwrapHTTP2(err error, a *Attrs) (error, bool) {
	v := reflect.ValueOf(err)
	t := v.Type()
	if !isHTTP2Package(t.PkgPath()) {
		return nil, false
	}
	switch strings.TrimPrefix(t.Name(), "http2") {
	case "StreamError":
		if !hasKinds(v, reflect.Uint32, reflect.Uint32, reflect.Interface) {
			return nil, false
		}
		a.H2StreamID = uint32(v.Field(0).Uint())
		a.H2Code = h2CodeName(v.Field(1).Uint())
		a.Kind = "h2_stream"
		cause, _ := v.Field(2).Interface().(error)
		if isFromPeer(cause) {
			a.H2Remote = true
			return nil, true
		}
		return cause, true
	case "GoAwayError":
		if !hasKinds(v, reflect.Uint32, reflect.Uint32, reflect.String) {
			return nil, false
		}
		a.H2LastStreamID = uint32(v.Field(0).Uint())
		a.H2Code = h2CodeName(v.Field(1).Uint())
		a.H2Debug = v.Field(2).String()
		// The transport returns it only after the server's GOAWAY frame.
		a.H2Remote, a.H2GoAway = true, true
		a.Kind = "h2_goaway"
		return nil, true
	case "ConnectionError":
		if t.Kind() != reflect.Uint32 {
			return nil, false
		}
		a.H2Code = h2CodeName(v.Uint())
		a.Kind = "h2_connection"
		return nil, true
	}
	return nil, false
}

func isHTTP2Package(path string) bool {
	return path == "net/http" || path == "golang.org/x/net/http2" || strings.HasSuffix(path, "/http2")
}

// hasKinds reports whether v is a struct whose fields have these kinds, in
// order: the layout the HTTP/2 types have had since they were written.
func hasKinds(v reflect.Value, kinds ...reflect.Kind) bool {
	if v.Kind() != reflect.Struct || v.NumField() != len(kinds) {
		return false
	}
	for i, k := range kinds {
		if v.Field(i).Kind() != k {
			return false
		}
	}
	return true
}

// isFromPeer recognises http2's errFromPeer sentinel (one per package,
// both errors.New("received from peer")).
func isFromPeer(err error) bool {
	return err != nil && typeName(err) == "*errors.errorString" && errorText(err) == "received from peer"
}

// h2Codes are the HTTP/2 error codes of RFC 9113, section 7.
var h2Codes = [...]string{
	"NO_ERROR", "PROTOCOL_ERROR", "INTERNAL_ERROR", "FLOW_CONTROL_ERROR",
	"SETTINGS_TIMEOUT", "STREAM_CLOSED", "FRAME_SIZE_ERROR", "REFUSED_STREAM",
	"CANCEL", "COMPRESSION_ERROR", "CONNECT_ERROR", "ENHANCE_YOUR_CALM",
	"INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED",
}

// h2CodeName names an error code the way x/net prints it.
func h2CodeName(c uint64) string {
	if c < uint64(len(h2Codes)) {
		return h2Codes[c]
	}
	return "ERR_UNKNOWN_" + strconv.FormatUint(c, 10)
}

// isH2CodeName reports whether s is a code h2CodeName can print.
func isH2CodeName(s string) bool {
	for _, c := range h2Codes {
		if c == s {
			return true
		}
	}
	if rest, ok := strings.CutPrefix(s, "ERR_UNKNOWN_"); ok {
		_, err := strconv.ParseUint(rest, 10, 32)
		return err == nil
	}
	return false
}
