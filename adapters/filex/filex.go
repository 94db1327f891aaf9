// Package filex writes a download to a file atomically: the bytes go to a
// temporary file beside the destination, which is fsynced and renamed
// into place only once the whole stream has been read. On any failure the
// temporary file is removed and the destination is as it was; a file left
// by a killed process is removed by the next Write into the same
// directory.
//
// It is the plain-file consumer for httpx.Client.Do, as tarx is the
// archive one: the client resumes and validates the download, and calls
// Write again from byte 0 after a restart.
//
//	_, err := client.Do(ctx, url, func(ctx context.Context, r io.Reader) error {
//		_, err := filex.Write(ctx, r, "python.whl", filex.Options{})
//		return err
//	}, &httpx.Options{SHA256: want})
package filex

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Options configure Write. The zero value refuses an existing
// destination, fsyncs, and has no size limit.
type Options struct {
	// Replace allows an existing file at the destination to be replaced
	// (atomically: rename(2) over it). A directory is never replaced.
	Replace bool
	// NoSync skips the fsync of the file and of its directory.
	NoSync bool
	// MaxSize, if positive, bounds the file's size: past it Write fails
	// with ErrLimit.
	MaxSize int64
	// Mode is the file's permission bits; zero means 0644 (less umask).
	Mode fs.FileMode
}

var (
	// ErrExist reports an existing destination without Options.Replace.
	// It matches fs.ErrExist too.
	ErrExist = fmt.Errorf("filex: destination exists: %w", fs.ErrExist)
	// ErrLimit reports a stream longer than Options.MaxSize.
	ErrLimit = errors.New("filex: file exceeds the size limit")
)

// Error is the error Write returns: what it was doing and the cause.
type Error struct {
	Op   string // "preparing", "writing", "syncing", "committing"
	Path string
	Err  error
}

func (e *Error) Error() string { return e.Op + " " + e.Path + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Stats describe a finished write.
type Stats struct {
	Bytes int64
	// StaleRemoved counts temporary files of dead processes removed.
	StaleRemoved int
}

const partialInfix = ".faultline-partial-"

var partialPattern = regexp.MustCompile(`^\..*\.faultline-partial-([0-9]+)-[0-9a-f]{16}$`)

// Write copies r to a new file at dest. The file appears at dest only once
// r has been read to its end and the file and its directory are synced;
// on error nothing is at dest that was not there before. Write checks ctx
// between reads.
func Write(ctx context.Context, r io.Reader, dest string, opts Options) (st Stats, err error) {
	abs, err := filepath.Abs(dest)
	if err != nil {
		return st, &Error{Op: "preparing", Path: dest, Err: err}
	}
	dir, base := filepath.Split(abs)
	if fi, err := os.Lstat(abs); err == nil {
		if !opts.Replace || fi.IsDir() {
			return st, &Error{Op: "preparing", Path: dest, Err: ErrExist}
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return st, &Error{Op: "preparing", Path: dest, Err: err}
	}
	st.StaleRemoved = cleanStale(dir)
	var tok [8]byte
	if _, err := rand.Read(tok[:]); err != nil {
		return st, &Error{Op: "preparing", Path: dest, Err: err}
	}
	short := base
	if len(short) > 128 {
		short = short[:128]
	}
	tmp := filepath.Join(dir, "."+short+partialInfix+strconv.Itoa(os.Getpid())+"-"+hex.EncodeToString(tok[:]))
	mode := opts.Mode
	if mode == 0 {
		mode = 0o644
	}
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return st, &Error{Op: "preparing", Path: dest, Err: err}
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	st.Bytes, err = copyCtx(ctx, f, r, opts.MaxSize)
	if err != nil {
		return st, &Error{Op: "writing", Path: dest, Err: err}
	}
	if !opts.NoSync {
		if err = f.Sync(); err != nil {
			return st, &Error{Op: "syncing", Path: dest, Err: err}
		}
	}
	if err = f.Close(); err != nil {
		return st, &Error{Op: "writing", Path: dest, Err: err}
	}
	if err = ctx.Err(); err != nil {
		return st, &Error{Op: "committing", Path: dest, Err: err}
	}
	if err = commit(tmp, abs, opts.Replace); err != nil {
		if errors.Is(err, fs.ErrExist) {
			err = fmt.Errorf("%w: %w", ErrExist, err)
		}
		return st, &Error{Op: "committing", Path: dest, Err: err}
	}
	if !opts.NoSync {
		if serr := syncDir(dir); serr != nil {
			// The file is in place; its name may not be durable yet.
			return st, &Error{Op: "syncing", Path: dest, Err: serr}
		}
	}
	return st, nil
}

func copyCtx(ctx context.Context, w io.Writer, r io.Reader, max int64) (int64, error) {
	buf := make([]byte, 256<<10)
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		k, err := r.Read(buf)
		if k > 0 {
			if max > 0 && n+int64(k) > max {
				return n, fmt.Errorf("%w: more than %d bytes", ErrLimit, max)
			}
			m, werr := w.Write(buf[:k])
			n += int64(m)
			if werr != nil {
				return n, werr
			}
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// commit renames tmp to dest; without replace it never overwrites
// (renameat2 RENAME_NOREPLACE where the file system has it).
func commit(tmp, dest string, replace bool) error {
	if replace {
		return os.Rename(tmp, dest)
	}
	err := unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, dest, unix.RENAME_NOREPLACE)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
		if _, serr := os.Lstat(dest); serr == nil {
			return &os.LinkError{Op: "rename", Old: tmp, New: dest, Err: fs.ErrExist}
		}
		return os.Rename(tmp, dest)
	}
	if err != nil {
		return &os.LinkError{Op: "rename", Old: tmp, New: dest, Err: err}
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// cleanStale removes the temporary files of Writes whose process is gone,
// or older than a day (process ids are reused). Best effort.
func cleanStale(dir string) int {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	removed := 0
	for _, e := range ents {
		if !strings.Contains(e.Name(), partialInfix) || !e.Type().IsRegular() {
			continue
		}
		m := partialPattern.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		pid, _ := strconv.Atoi(m[1])
		info, err := e.Info()
		if err != nil {
			continue
		}
		if pid == os.Getpid() || (alive(pid) && time.Since(info.ModTime()) < 24*time.Hour) {
			continue
		}
		if os.Remove(filepath.Join(dir, e.Name())) == nil {
			removed++
		}
	}
	return removed
}

func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
