package policy

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"time"
)

// WatchOptions configure Engine.Watch. The zero value is usable.
type WatchOptions struct {
	// Interval is how often the files are looked at; 0 means 1s.
	Interval time.Duration
	// Settle is how long the files must stay as they are after a change
	// before it is loaded, so that an editor's several writes load once;
	// 0 means 2×Interval.
	Settle time.Duration
	// OnReload, when set, is called with each policy made current.
	OnReload func(*Policy)
	// OnError, when set, is called when a changed file does not load (an
	// ErrorList for a bad policy) or the policy file disappears. The last
	// good policy stays current either way.
	OnError func(error)
}

// ErrRemoved is reported through WatchOptions.OnError when the watched
// policy file disappears.
var ErrRemoved = errors.New("the policy file was removed; the last good policy stays")

// Watch reloads the engine's policy whenever its file, or a file it
// includes, changes, until ctx is done; it returns ctx's error, or
// ErrNoFile at once when the engine has no file. Run it on a goroutine of
// its own.
//
// A change is loaded once the files have stayed unchanged for Settle; a
// policy that does not load is reported and the last good one stays, so
// the engine never drops to no policy; a file deleted and created again,
// or replaced by a rename as editors and configuration managers do, loads
// like any edit. A change that leaves the policy's ID (name, version,
// digest) as it was makes no reload.
//
// Watch polls: it compares each file's size, modification time and
// identity (the inode: a rename over the file is a new file) every
// Interval, and the content of a file modified in the last few seconds,
// whose timestamp is too coarse to trust. Polling sees a replaced file, a
// file swapped in through a symbolic link and a file on a network file
// system alike, needs no goroutine or file descriptor of its own, and a
// stat a second costs nothing; what it gives up is latency below Interval,
// which policy edits do not need.
func (e *Engine) Watch(ctx context.Context, o WatchOptions) error {
	if e.file == "" {
		return ErrNoFile
	}
	if o.Interval <= 0 {
		o.Interval = time.Second
	}
	if o.Settle <= 0 {
		o.Settle = 2 * o.Interval
	}
	w := newWatcher(e, o, time.Now())
	t := time.NewTicker(o.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case now := <-t.C:
			w.tick(now)
		}
	}
}

// watcher is the state of one Watch.
type watcher struct {
	e     *Engine
	o     WatchOptions
	files []string
	// seen is the files' state at the last look, since changedAt;
	// loaded their state when a load was last tried (or the watch began).
	seen, loaded []fileState
	changedAt    time.Time
	removed      bool // ErrRemoved was reported for this disappearance
}

// newWatcher starts watching e's files at now.
func newWatcher(e *Engine, o WatchOptions, now time.Time) *watcher {
	w := &watcher{e: e, o: o}
	w.files = w.filesOf(e.cur.Load())
	w.seen, w.changedAt = w.stat(), now
	// loaded stays unknown: the files may have changed since the current
	// policy was loaded, so the first settled look loads them (and makes
	// it current only if it is another policy).
	return w
}

// fileState is what Watch compares of a file.
type fileState struct {
	info fs.FileInfo // nil: missing
	// sum is the content's digest, taken while the modification time is
	// too recent to trust (see racyWindow); hashed says it was.
	sum    [sha256.Size]byte
	hashed bool
}

// racyWindow is how recent a modification time must be for Watch to
// compare the content too. File systems keep coarse timestamps (Linux
// takes them from a clock that ticks every few milliseconds; some file
// systems keep seconds or two): a second write within the same tick keeps
// the time, and with the same size it would go unseen. Once a file's time
// is older than the coarsest tick, any later write shows in it, so only
// a file modified in the last few seconds is read.
const racyWindow = 3 * time.Second

func (a fileState) same(b fileState) bool {
	if a.info == nil || b.info == nil {
		return a.info == nil && b.info == nil
	}
	if a.hashed && b.hashed && a.sum != b.sum {
		return false
	}
	return a.info.Size() == b.info.Size() && a.info.ModTime().Equal(b.info.ModTime()) && os.SameFile(a.info, b.info)
}

func sameStates(a, b []fileState) bool {
	return slices.EqualFunc(a, b, fileState.same)
}

// filesOf is the engine's file and, when p was loaded from it, what p
// includes.
func (w *watcher) filesOf(p *Policy) []string {
	if p.path == w.e.file {
		return p.Files()
	}
	return []string{w.e.file}
}

func (w *watcher) stat() []fileState {
	st := make([]fileState, len(w.files))
	now := time.Now()
	for i, f := range w.files {
		fi, err := os.Stat(f)
		if err != nil {
			continue
		}
		st[i].info = fi
		if now.Sub(fi.ModTime()) < racyWindow {
			st[i].sum, st[i].hashed = hashFile(f)
		}
	}
	return st
}

// hashFile digests the file at path, at most a policy's bound of it.
func hashFile(path string) ([sha256.Size]byte, bool) {
	var sum [sha256.Size]byte
	f, err := os.Open(path)
	if err != nil {
		return sum, false
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, io.LimitReader(f, maxFileSize+1)); err != nil {
		return sum, false
	}
	h.Sum(sum[:0])
	return sum, true
}

func (w *watcher) tick(now time.Time) {
	cur := w.stat()
	if !sameStates(cur, w.seen) {
		w.seen, w.changedAt = cur, now
		return
	}
	if sameStates(cur, w.loaded) || now.Sub(w.changedAt) < w.o.Settle {
		return
	}
	if cur[0].info == nil {
		if !w.removed {
			w.removed = true
			w.report(fmt.Errorf("policy: %s: %w", w.e.file, ErrRemoved))
		}
		return
	}
	w.removed = false
	w.loaded = cur
	w.load()
}

// load loads the engine's file and makes it current if it loads and is
// another policy.
func (w *watcher) load() {
	e := w.e
	e.reloadMu.Lock()
	p, err := Load(e.file)
	changed := err == nil && p.ID() != e.cur.Load().ID()
	if changed {
		e.swap(p)
	}
	e.reloadMu.Unlock()
	if err != nil {
		w.report(err)
		return
	}
	// Watch what the policy includes from now on.
	if files := w.filesOf(p); !slices.Equal(files, w.files) {
		w.files = files
		w.seen = w.stat()
		w.loaded = w.seen
	}
	if changed && w.o.OnReload != nil {
		w.o.OnReload(p)
	}
}

func (w *watcher) report(err error) {
	if w.o.OnError != nil {
		w.o.OnError(err)
	}
}
