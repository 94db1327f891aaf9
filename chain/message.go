package chain

import (
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"reflect"
	"strings"
	"unicode/utf8"
)

// Some standard error types print their cause verbatim at the end of their
// own text: "read: " + err.Error(). For those, the cause's message is a
// suffix of the message the walker already has, and calling the cause's
// Error method again would only repeat the allocations it made the first
// time. childText returns that suffix when err's type and the parent's
// text make it certain, and ok=false otherwise (the walker then calls
// Error).

// childText returns the text of child, err's only child, as err's message
// msg printed it.
func childText(err error, msg string, child error) (string, bool) {
	switch e := err.(type) {
	case *os.SyscallError:
		if e != nil && sameError(child, e.Err) && hasPrefixes(msg, e.Syscall, ": ") {
			return msg[len(e.Syscall)+2:], true
		}
	case *fs.PathError:
		if e != nil && sameError(child, e.Err) && hasPrefixes(msg, e.Op, " ", e.Path, ": ") {
			return msg[len(e.Op)+1+len(e.Path)+2:], true
		}
	case *net.OpError:
		if e != nil && sameError(child, e.Err) {
			if _, _, rest, ok := splitOpError(e, msg); ok {
				return rest, true
			}
		}
	case *url.Error:
		// fmt prints the cause with %s, which a Formatter may override.
		if _, isF := child.(fmt.Formatter); e != nil && !isF && sameError(child, e.Err) && plainURL(e.URL) &&
			hasPrefixes(msg, e.Op, ` "`, e.URL, `": `) {
			return msg[len(e.Op)+len(e.URL)+5:], true
		}
	}
	if _, isF := child.(fmt.Formatter); !isF && isStreamErrorType(err) {
		if head, rest, ok := cutStreamError(msg); ok && head != "" {
			return rest, true
		}
	}
	return "", false
}

// hasPrefixes reports whether s starts with the concatenation of parts.
func hasPrefixes(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.HasPrefix(s, p) {
			return false
		}
		s = s[len(p):]
	}
	return true
}

// plainURL reports whether %q prints u as `"` + u + `"`.
func plainURL(u string) bool {
	for i := 0; i < len(u); i++ {
		if c := u[i]; c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == 0x7f {
			return false
		}
	}
	return true
}

// splitOpError reads the addresses and the cause's text from the message
// of a *net.OpError: "op net source->addr: cause". It declines addresses
// whose text could contain ": " (Unix socket paths, custom types).
func splitOpError(e *net.OpError, msg string) (src, dst, rest string, ok bool) {
	if !plainAddr(e.Source) || !plainAddr(e.Addr) {
		return "", "", "", false
	}
	if strings.Contains(e.Op, ": ") || strings.Contains(e.Net, ": ") || !strings.HasPrefix(msg, e.Op) {
		return "", "", "", false
	}
	s := msg[len(e.Op):]
	if e.Net != "" {
		if !hasPrefixes(s, " ", e.Net) {
			return "", "", "", false
		}
		s = s[1+len(e.Net):]
	}
	addrs := ""
	if e.Source != nil || e.Addr != nil {
		if !strings.HasPrefix(s, " ") {
			return "", "", "", false
		}
		s = s[1:]
		i := strings.Index(s, ": ")
		if i < 0 {
			return "", "", "", false
		}
		addrs, s = s[:i], s[i:]
	}
	rest, found := strings.CutPrefix(s, ": ")
	if !found {
		return "", "", "", false
	}
	switch {
	case e.Source != nil && e.Addr != nil:
		if src, dst, ok = strings.Cut(addrs, "->"); !ok {
			return "", "", "", false
		}
	case e.Source != nil:
		src = addrs
	default:
		dst = addrs
	}
	return src, dst, rest, true
}

// plainAddr reports whether a is nil or an IP address type whose text,
// "host:port", cannot contain ": ".
func plainAddr(a net.Addr) bool {
	switch a := a.(type) {
	case nil:
		return true
	case *net.TCPAddr:
		return a != nil
	case *net.UDPAddr:
		return a != nil
	case *net.IPAddr:
		return a != nil
	}
	return false
}

// isStreamErrorType reports whether err is an HTTP/2 StreamError from
// x/net or net/http's bundle.
func isStreamErrorType(err error) bool {
	t := reflect.TypeOf(err)
	return t != nil && isHTTP2Package(t.PkgPath()) && strings.TrimPrefix(t.Name(), "http2") == "StreamError"
}

// cutStreamError splits "stream error: stream ID 3; CODE; cause" before
// its cause.
func cutStreamError(msg string) (head, cause string, ok bool) {
	rest, found := strings.CutPrefix(msg, "stream error: stream ID ")
	if !found {
		return "", "", false
	}
	id, rest, found := strings.Cut(rest, "; ")
	if !found {
		return "", "", false
	}
	code, cause, found := strings.Cut(rest, "; ")
	if !found || id == "" || strings.Trim(id, "0123456789") != "" || !isH2CodeName(code) {
		return "", "", false
	}
	return msg[:len(msg)-len(cause)-2], cause, true
}
