package policy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// watched is a policy file under watch and what the watch reported.
type watched struct {
	path    string
	e       *Engine
	reloads chan *Policy
	errs    chan error
	stop    func()
}

// revision is a policy file whose version is v and whose one rule retries
// after v seconds, so that each revision has another ID.
func revision(v int) string {
	return fmt.Sprintf("name: watched\nversion: %q\nrules:\n  - name: r\n    when: \"true\"\n    action: retry\n    delay: duration('%ds')\n", fmt.Sprint(v), v)
}

// startWatch writes revision 1, loads it into an engine and watches it
// with short intervals until the test ends.
func startWatch(t *testing.T, files map[string]string) *watched {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644))
	}
	w := &watched{path: filepath.Join(dir, "p.yaml"), reloads: make(chan *Policy, 16), errs: make(chan error, 16)}
	if _, ok := files["p.yaml"]; !ok {
		require.NoError(t, os.WriteFile(w.path, []byte(revision(1)), 0o644))
	}
	p, err := Load(w.path)
	require.NoError(t, err)
	w.e = NewEngine(p)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		done <- w.e.Watch(ctx, WatchOptions{Interval: 5 * time.Millisecond, Settle: 30 * time.Millisecond,
			OnReload: func(p *Policy) { w.reloads <- p },
			OnError:  func(err error) { w.errs <- err }})
	}()
	w.stop = func() {
		cancel()
		select {
		case err := <-done:
			assert.ErrorIs(t, err, context.Canceled)
		case <-time.After(5 * time.Second):
			t.Fatal("Watch did not return")
		}
	}
	t.Cleanup(w.stop)
	return w
}

// next waits for what ch reports, failing after a few seconds.
func next[T any](t *testing.T, ch chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatalf("no %s", what)
		panic("unreachable")
	}
}

// quiet asserts that ch reports nothing for a while (several settles).
func quiet[T any](t *testing.T, ch chan T, what string) {
	t.Helper()
	select {
	case v := <-ch:
		t.Fatalf("unexpected %s: %v", what, v)
	case <-time.After(200 * time.Millisecond):
	}
}

// TestWatchEdit: an edit in place loads.
func TestWatchEdit(t *testing.T) {
	w := startWatch(t, nil)
	require.NoError(t, os.WriteFile(w.path, []byte(revision(2)), 0o644))
	p := next(t, w.reloads, "reload")
	assert.Equal(t, "2", p.Version())
	assert.Same(t, p, w.e.Policy())
	d, err := w.e.Decide(context.Background(), Input{State: State{Attempt: 1}})
	require.NoError(t, err)
	assert.Equal(t, 2*time.Second, d.Delay)
	assert.Equal(t, "2", d.Policy.Version)
}

// TestWatchAtomicReplace: a file written beside and renamed over the
// policy, as editors and configuration managers replace files, loads.
func TestWatchAtomicReplace(t *testing.T) {
	w := startWatch(t, nil)
	for v := 2; v <= 3; v++ {
		tmp := filepath.Join(filepath.Dir(w.path), fmt.Sprintf(".p.yaml.%d.tmp", v))
		require.NoError(t, os.WriteFile(tmp, []byte(revision(v)), 0o644))
		require.NoError(t, os.Rename(tmp, w.path))
		assert.Equal(t, fmt.Sprint(v), next(t, w.reloads, "reload").Version())
	}
}

// TestWatchBrokenEdit: an edit that does not load is reported, the last
// good policy stays, and the fix loads.
func TestWatchBrokenEdit(t *testing.T) {
	w := startWatch(t, nil)
	good := w.e.Policy()
	require.NoError(t, os.WriteFile(w.path, []byte(strings.Replace(revision(2), "\"true\"", "error.kindd == 'x'", 1)), 0o644))
	err := next(t, w.errs, "error")
	var list ErrorList
	require.ErrorAs(t, err, &list)
	assert.Equal(t, w.path, list[0].File)
	assert.Equal(t, 5, list[0].Line)
	assert.Contains(t, list[0].Msg, "undefined field 'kindd'")
	assert.Same(t, good, w.e.Policy(), "the last good policy stays")
	quiet(t, w.errs, "error reported again for the same edit")

	require.NoError(t, os.WriteFile(w.path, []byte(revision(3)), 0o644))
	assert.Equal(t, "3", next(t, w.reloads, "reload").Version())
}

// TestWatchDeleteRecreate: a deleted file is reported once and the last
// good policy stays; created again, it loads.
func TestWatchDeleteRecreate(t *testing.T) {
	w := startWatch(t, nil)
	good := w.e.Policy()
	require.NoError(t, os.Remove(w.path))
	err := next(t, w.errs, "error")
	require.ErrorIs(t, err, ErrRemoved)
	assert.Same(t, good, w.e.Policy())
	quiet(t, w.errs, "removal reported twice")

	require.NoError(t, os.WriteFile(w.path, []byte(revision(4)), 0o644))
	assert.Equal(t, "4", next(t, w.reloads, "reload").Version())
}

// TestWatchDebounce: several writes in quick succession load once, the
// last, after the files settle; writing out the same policy again loads
// nothing. The watcher's clock is driven by hand, so the test does not
// depend on the scheduler.
func TestWatchDebounce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.yaml")
	require.NoError(t, os.WriteFile(path, []byte(revision(1)), 0o644))
	p, err := Load(path)
	require.NoError(t, err)
	e := NewEngine(p)
	var reloads []string
	var errs []error
	const settle = 100 * time.Millisecond
	t0 := time.Now()
	w := newWatcher(e, WatchOptions{Interval: time.Millisecond, Settle: settle,
		OnReload: func(p *Policy) { reloads = append(reloads, p.Version()) },
		OnError:  func(err error) { errs = append(errs, err) }}, t0)
	at := func(d time.Duration) { w.tick(t0.Add(d)) }

	at(settle + time.Millisecond)
	assert.Empty(t, reloads, "the file as loaded: no reload")
	for v := 2; v <= 6; v++ {
		require.NoError(t, os.WriteFile(path, []byte(revision(v)), 0o644))
		at(settle + time.Duration(v)*10*time.Millisecond) // 10ms apart: less than settle
		at(settle + time.Duration(v)*10*time.Millisecond + time.Millisecond)
	}
	assert.Empty(t, reloads, "not settled yet")
	at(settle + 60*time.Millisecond + settle)
	assert.Equal(t, []string{"6"}, reloads, "one reload, of the last write")
	at(settle + 60*time.Millisecond + 3*settle)
	assert.Equal(t, []string{"6"}, reloads)

	require.NoError(t, os.WriteFile(path, []byte("# the same rules, written again\n"+revision(6)), 0o644))
	at(time.Second)
	at(time.Second + 2*settle)
	at(time.Second + 4*settle)
	assert.Equal(t, []string{"6"}, reloads, "the same policy: no reload")
	assert.Empty(t, errs)
	assert.Equal(t, "6", e.Policy().Version())
}

// TestWatchInclude: an edit of an included file loads, and so does a file
// the new revision starts to include.
func TestWatchInclude(t *testing.T) {
	w := startWatch(t, map[string]string{
		"p.yaml":    "name: inc\ninclude: [vars.yaml]\nrules:\n  - {name: r, when: slow, action: retry}\n",
		"vars.yaml": "variables:\n  slow: error.kind == 'timeout'\n",
		"more.yaml": "variables:\n  other: error.kind == 'dns'\n",
	})
	d0 := w.e.Policy().ID().Digest
	dir := filepath.Dir(w.path)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "vars.yaml"), []byte("variables:\n  slow: error.kind == 'dns'\n"), 0o644))
	p := next(t, w.reloads, "reload")
	assert.NotEqual(t, d0, p.ID().Digest)

	require.NoError(t, os.WriteFile(w.path, []byte("name: inc\ninclude: [vars.yaml, more.yaml]\nrules:\n  - {name: r, when: slow || other, action: retry}\n"), 0o644))
	p = next(t, w.reloads, "reload")
	assert.Len(t, p.Files(), 3)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "more.yaml"), []byte("variables:\n  other: error.kind == 'tls'\n"), 0o644))
	next(t, w.reloads, "reload after an edit of the newly included file")
}

// TestWatchNoFile: an engine without a file has nothing to watch.
func TestWatchNoFile(t *testing.T) {
	e := NewEngine(mustParse(t, revision(1)))
	err := e.Watch(context.Background(), WatchOptions{})
	require.True(t, errors.Is(err, ErrNoFile))
}
