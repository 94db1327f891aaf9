package chain

import (
	"io/fs"
	"net"
	"net/url"
	"os"
	"syscall"
)

// unwrapNet reads the network and operating-system error types. All of
// them have Unwrap (or are leaves), so they expose no hidden cause; the
// walker follows their Err fields the ordinary way.
func unwrapNet(err error, msg string, a *Attrs) (error, bool) {
	switch e := err.(type) {
	case *net.OpError:
		if e == nil {
			return nil, false
		}
		a.Op, a.Net = e.Op, e.Net
		if src, dst, _, ok := splitOpError(e, msg); ok {
			a.Source, a.Addr = src, dst
			return nil, true
		}
		if e.Addr != nil {
			a.Addr = addrString(e.Addr)
		}
		if e.Source != nil {
			a.Source = addrString(e.Source)
		}
		return nil, true
	case *os.SyscallError:
		if e == nil {
			return nil, false
		}
		a.Op = e.Syscall
		return nil, true
	case syscall.Errno:
		a.Errno = int(e)
		a.ErrnoName = ErrnoName(e)
		return nil, true
	case *url.Error:
		if e == nil {
			return nil, false
		}
		a.Op, a.Addr = e.Op, e.URL
		return nil, true
	case *net.DNSError:
		if e == nil {
			return nil, false
		}
		a.Host, a.Addr = e.Name, e.Server
		a.NotFound = e.IsNotFound
		a.Kind = "dns"
		return nil, true
	case *fs.PathError:
		if e == nil {
			return nil, false
		}
		// A path is the address of a file operation.
		a.Op, a.Addr = e.Op, e.Path
		return nil, true
	case *os.LinkError:
		if e == nil {
			return nil, false
		}
		a.Op, a.Addr = e.Op, e.Old
		return nil, true
	}
	return nil, false
}

// addrString formats a net.Addr whose String method may panic on a nil
// pointer receiver (a *net.TCPAddr(nil) inside a non-nil interface).
func addrString(a net.Addr) (s string) {
	defer func() {
		if recover() != nil {
			s = ""
		}
	}()
	return a.String()
}
