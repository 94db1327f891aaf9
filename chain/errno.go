package chain

import "syscall"

// errnoInfo names one system error and the texts it prints as: this
// platform's strerror text comes from syscall, the others are the Linux,
// BSD and Windows wordings seen in logs pasted from elsewhere.
type errnoInfo struct {
	name  string
	errno syscall.Errno
	texts []string // lower case
}

// errnos are the errors that matter for deciding retries. Longer texts come
// before texts they contain ("too many open files in system" before "too
// many open files"), since text matching takes the first hit.
var errnos = [...]errnoInfo{
	{"ECONNRESET", syscall.ECONNRESET, []string{"connection reset", "forcibly closed by the remote host"}},
	{"ECONNREFUSED", syscall.ECONNREFUSED, []string{"connection refused", "actively refused"}},
	{"ECONNABORTED", syscall.ECONNABORTED, []string{"software caused connection abort", "connection aborted"}},
	{"EPIPE", syscall.EPIPE, []string{"broken pipe"}},
	{"ETIMEDOUT", syscall.ETIMEDOUT, []string{"connection timed out", "operation timed out"}},
	{"EHOSTUNREACH", syscall.EHOSTUNREACH, []string{"no route to host"}},
	{"ENETUNREACH", syscall.ENETUNREACH, []string{"network is unreachable"}},
	{"ENETDOWN", syscall.ENETDOWN, []string{"network is down"}},
	{"ENETRESET", syscall.ENETRESET, []string{"network dropped connection on reset"}},
	{"EHOSTDOWN", syscall.EHOSTDOWN, []string{"host is down"}},
	{"ENOTCONN", syscall.ENOTCONN, []string{"transport endpoint is not connected", "socket is not connected"}},
	{"EADDRINUSE", syscall.EADDRINUSE, []string{"address already in use"}},
	{"EADDRNOTAVAIL", syscall.EADDRNOTAVAIL, []string{"cannot assign requested address", "can't assign requested address"}},
	{"ENOSPC", syscall.ENOSPC, []string{"no space left on device", "not enough space on the disk"}},
	{"EDQUOT", syscall.EDQUOT, []string{"disk quota exceeded"}},
	{"EROFS", syscall.EROFS, []string{"read-only file system"}},
	{"EACCES", syscall.EACCES, []string{"permission denied", "access is denied"}},
	{"EPERM", syscall.EPERM, []string{"operation not permitted"}},
	{"ENOENT", syscall.ENOENT, []string{"no such file or directory"}},
	{"EEXIST", syscall.EEXIST, []string{"file exists"}},
	{"ENFILE", syscall.ENFILE, []string{"too many open files in system"}},
	{"EMFILE", syscall.EMFILE, []string{"too many open files"}},
	{"EIO", syscall.EIO, []string{"input/output error"}},
	{"EAGAIN", syscall.EAGAIN, []string{"resource temporarily unavailable"}},
	{"EINTR", syscall.EINTR, []string{"interrupted system call"}},
	{"EISDIR", syscall.EISDIR, []string{"is a directory"}},
	{"ENOTDIR", syscall.ENOTDIR, []string{"not a directory"}},
	{"ENOTEMPTY", syscall.ENOTEMPTY, []string{"directory not empty"}},
	{"EXDEV", syscall.EXDEV, []string{"invalid cross-device link", "cross-device link"}},
	{"ENAMETOOLONG", syscall.ENAMETOOLONG, []string{"file name too long"}},
	{"ELOOP", syscall.ELOOP, []string{"too many levels of symbolic links"}},
	{"EFBIG", syscall.EFBIG, []string{"file too large"}},
	{"EINVAL", syscall.EINVAL, []string{"invalid argument"}},
}

// ErrnoName returns the symbolic name of e ("ECONNRESET") on this
// platform, or "" when it is not known.
func ErrnoName(e syscall.Errno) string {
	for i := range errnos {
		if errnos[i].errno == e {
			return errnos[i].name
		}
	}
	return platformErrnoName(e)
}

// ErrnoByName returns this platform's number for a symbolic errno name.
func ErrnoByName(name string) (syscall.Errno, bool) {
	for i := range errnos {
		if errnos[i].name == name {
			return errnos[i].errno, true
		}
	}
	return 0, false
}

// errnoFromText finds the first errno whose text t contains,
// case-insensitively.
func errnoFromText(t text) (errnoInfo, bool) {
	v := t.v
	for i := range errnos {
		if t.hasAny(v.errno[i]) {
			return errnos[i], true
		}
	}
	return errnoInfo{}, false
}
