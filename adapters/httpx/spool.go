package httpx

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"time"

	"github.com/faultline-go/faultline/internal/redact"
)

// A spool keeps the raw bytes of a download on disk as they arrive, with
// a sidecar that says what they are, so that a later process can continue
// the download where this one was killed: it checks the sidecar and the
// bytes, replays them to its consumer (a local read) and asks the server
// for the rest with Range and If-Range (RFC 9110 §14.2, §13.1.5). Bytes of
// two representations are never spliced: a sidecar that does not match
// the URL, the server's validator or the bytes beside it means a clean
// start.
//
// A spool is a directory holding three files:
//
//	data          the body's first bytes, exactly
//	sidecar.json  what data holds, rewritten atomically at each sync
//	lock          held (flock) by the process using the spool
//
// The sidecar is written only after the data it describes was fsynced,
// so after a crash data holds at least what the sidecar says; anything
// beyond is cut off before use. Disk use is at most the body's length:
// the spool records only a body with a known length, and a restart
// empties it first.
const (
	spoolData    = "data"
	spoolSidecar = "sidecar.json"
	spoolLock    = "lock"
	// spoolVersion is the sidecar's format.
	spoolVersion = 1
	// maxSidecar bounds a sidecar read back.
	maxSidecar = 64 << 10
	// Sync when this many bytes arrived since the last sync, or every
	// spoolSyncEvery while bytes arrive: a killed process loses at most
	// that much, fetched again by the next.
	spoolSyncBytes = 2 << 20
	spoolSyncEvery = 250 * time.Millisecond
)

// DefaultSpoolStaleAfter is how old a spool left by another download must
// be before CleanSpools removes it.
const DefaultSpoolStaleAfter = 7 * 24 * time.Hour

// SpoolSuffix ends the name of the spool directory retrycheck fetch keeps
// beside its destination (".NAME" + SpoolSuffix); CleanSpools looks for it.
const SpoolSuffix = ".faultline-spool"

var castagnoliSpool = crc32.MakeTable(crc32.Castagnoli)

// sidecar is the spool's description of its data.
type sidecar struct {
	Version int `json:"version"`
	// URL is the URL with its secrets masked, for people; URLSHA256
	// identifies it.
	URL       string `json:"url"`
	URLSHA256 string `json:"url_sha256"`
	// FinalURL is where redirects led, masked. It may change between
	// runs (a signed redirect), so it is recorded, not checked.
	FinalURL string `json:"final_url,omitempty"`
	// Validator is the strong ETag or Last-Modified sent in If-Range.
	Validator string `json:"validator"`
	// Length is the representation's length.
	Length int64 `json:"length"`
	// Offset is how many bytes of data are synced and described; CRC32C
	// is their CRC-32C (Castagnoli).
	Offset  int64     `json:"offset"`
	CRC32C  uint32    `json:"crc32c"`
	Updated time.Time `json:"updated"`
}

func urlDigest(u string) string {
	sum := sha256.Sum256([]byte(u))
	return hex.EncodeToString(sum[:])
}

// SpoolError explains why a spool was not used: the download then starts
// clean, without it or with it emptied. It is logged as a warning, never
// returned by Do.
type SpoolError struct {
	Dir    string
	Reason string
	Err    error
}

func (e *SpoolError) Error() string {
	msg := "httpx: spool " + e.Dir + ": " + e.Reason
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *SpoolError) Unwrap() error { return e.Err }

// spool is an open spool, owned by one operation.
type spool struct {
	dir  string
	lock *os.File
	data *os.File
	url  string // as given, to identify the spool

	// syncMu serializes the sidecar: a sync in progress and an emptying
	// of the spool. It is taken before mu.
	syncMu  sync.Mutex
	mu      sync.Mutex
	side    sidecar // the identity: URL, validator, length
	active  bool    // recording a representation
	size    int64   // bytes in data
	crc     uint32  // of data[:size]
	synced  int64   // Offset of the sidecar last written
	kick    chan struct{}
	stop    chan struct{}
	stopped chan struct{}
	failed  func(*SpoolError) // reports a failure that stops spooling
}

// openSpool opens (making it if need be) the spool in dir for url and
// locks it. It returns the length of the valid prefix it holds, with the
// sidecar describing it, and reads that prefix through verify, which the
// body uses to seed its hash. A spool that cannot be used is reported
// through warn and, if possible, emptied: the download starts clean.
// openSpool returns nil when the spool cannot be used at all (the
// directory cannot be written, another process holds it).
func openSpool(dir, url string, opts *Options, verify func(validator string) io.Writer, warn func(*SpoolError)) (*spool, sidecar, int64) {
	bad := func(reason string, err error) { warn(&SpoolError{Dir: dir, Reason: reason, Err: err}) }
	if err := os.MkdirAll(dir, 0o700); err != nil {
		bad("cannot be made; downloading without it", err)
		return nil, sidecar{}, 0
	}
	lock, err := os.OpenFile(filepath.Join(dir, spoolLock), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		bad("cannot be written; downloading without it", err)
		return nil, sidecar{}, 0
	}
	if err := lockFile(lock); err != nil {
		lock.Close()
		bad("is in use by another process; downloading without it", err)
		return nil, sidecar{}, 0
	}
	data, err := os.OpenFile(filepath.Join(dir, spoolData), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		unlockFile(lock)
		lock.Close()
		bad("cannot be written; downloading without it", err)
		return nil, sidecar{}, 0
	}
	sp := &spool{dir: dir, lock: lock, data: data, url: url, failed: warn}
	side, prefix, reason, err := sp.check(opts, verify)
	if reason != "" {
		bad(reason+"; starting clean", err)
	}
	if prefix == 0 {
		if err := sp.empty(); err != nil {
			sp.close()
			bad("cannot be emptied; downloading without it", err)
			return nil, sidecar{}, 0
		}
		return sp, sidecar{}, 0
	}
	sp.side, sp.active, sp.size, sp.crc, sp.synced = side, true, prefix, side.CRC32C, prefix
	return sp, side, prefix
}

// check reads the sidecar and verifies data against it. It returns the
// valid prefix (0 for none) and, when the spool is unusable, why.
func (sp *spool) check(opts *Options, verify func(validator string) io.Writer) (sidecar, int64, string, error) {
	raw, err := readLimited(filepath.Join(sp.dir, spoolSidecar), maxSidecar)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return sidecar{}, 0, "", nil // nothing spooled yet
	case err != nil:
		return sidecar{}, 0, "its sidecar cannot be read", err
	}
	var side sidecar
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&side); err != nil {
		return sidecar{}, 0, "its sidecar is corrupt or truncated", err
	}
	switch {
	case side.Version != spoolVersion:
		return sidecar{}, 0, fmt.Sprintf("its sidecar has version %d, not %d", side.Version, spoolVersion), nil
	case side.URLSHA256 != urlDigest(sp.url):
		return sidecar{}, 0, fmt.Sprintf("it holds another URL (%s)", side.URL), nil
	case side.Offset == 0:
		return sidecar{}, 0, "", nil
	case side.Validator == "" || side.Length <= 0 || side.Offset < 0:
		return sidecar{}, 0, "its sidecar is inconsistent", nil
	case side.Offset > side.Length:
		return sidecar{}, 0, fmt.Sprintf("it holds %d bytes of a file of %d", side.Offset, side.Length), nil
	case side.Offset == side.Length:
		// Complete, yet not removed: the process died at the very end.
		// Replaying it all still needs the server's word that it is
		// current, which a range past the end cannot give; start over.
		return sidecar{}, 0, "it holds the whole file but was not finished", nil
	case opts.Size > 0 && side.Length != opts.Size:
		return sidecar{}, 0, fmt.Sprintf("it records a length of %d, not the %d expected", side.Length, opts.Size), nil
	}
	fi, err := sp.data.Stat()
	if err != nil {
		return sidecar{}, 0, "its data cannot be read", err
	}
	if fi.Size() < side.Offset {
		return sidecar{}, 0, fmt.Sprintf("its data is truncated (%d of %d bytes)", fi.Size(), side.Offset), nil
	}
	// Read the prefix once to check it (and seed the body's hash); the
	// replay reads it again, from the page cache.
	crc := crc32.New(castagnoliSpool)
	w := io.MultiWriter(crc, verify(side.Validator))
	if _, err := io.Copy(w, io.NewSectionReader(sp.data, 0, side.Offset)); err != nil {
		return sidecar{}, 0, "its data cannot be read", err
	}
	if crc.Sum32() != side.CRC32C {
		return sidecar{}, 0, "its data does not match its checksum (corrupt)", nil
	}
	// Bytes past the sidecar's offset were never described: drop them.
	if err := sp.data.Truncate(side.Offset); err != nil {
		return sidecar{}, 0, "its data cannot be written", err
	}
	return side, side.Offset, "", nil
}

func readLimited(name string, limit int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("larger than %d bytes", limit)
	}
	return b, nil
}

// replay returns a reader of the spool's first n bytes.
func (sp *spool) replay(n int64) io.Reader { return io.NewSectionReader(sp.data, 0, n) }

// empty drops the data and the sidecar.
func (sp *spool) empty() error {
	sp.syncMu.Lock()
	defer sp.syncMu.Unlock()
	sp.mu.Lock()
	defer sp.mu.Unlock()
	sp.active, sp.size, sp.crc, sp.synced = false, 0, 0, 0
	if err := os.Remove(filepath.Join(sp.dir, spoolSidecar)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return sp.data.Truncate(0)
}

// begin starts recording a representation from byte 0: the first
// response, or the first after a restart. A representation that cannot be
// resumed (no validator, no ranges, no length) is not recorded.
func (sp *spool) begin(validator string, acceptRanges bool, length int64, finalURL string) {
	if sp == nil {
		return
	}
	if err := sp.empty(); err != nil {
		sp.fail("cannot be emptied", err)
		return
	}
	if validator == "" || !acceptRanges || length <= 0 {
		return
	}
	sp.mu.Lock()
	sp.side = sidecar{Version: spoolVersion, URL: redact.URL(sp.url), URLSHA256: urlDigest(sp.url),
		FinalURL: redact.URL(finalURL), Validator: validator, Length: length}
	sp.active = true
	sp.mu.Unlock()
	sp.start()
}

// start runs the syncer, once.
func (sp *spool) start() {
	if sp.stop != nil {
		return
	}
	sp.kick = make(chan struct{}, 1)
	sp.stop = make(chan struct{})
	sp.stopped = make(chan struct{})
	go sp.syncer()
}

// write appends bytes received at offset at. Bytes that do not continue
// the spool exactly (a refetched prefix, a gap) are not recorded.
func (sp *spool) write(at int64, p []byte) {
	if sp == nil || len(p) == 0 {
		return
	}
	sp.mu.Lock()
	if !sp.active || at != sp.size {
		sp.mu.Unlock()
		return
	}
	n, err := sp.data.WriteAt(p, at)
	sp.size += int64(n)
	sp.crc = crc32.Update(sp.crc, castagnoliSpool, p[:n])
	due := sp.size-sp.synced >= spoolSyncBytes
	sp.mu.Unlock()
	if err != nil {
		sp.fail("cannot be written; downloading without it", err)
		return
	}
	if due {
		select {
		case sp.kick <- struct{}{}:
		default:
		}
	}
}

// syncer syncs the spool every spoolSyncEvery and when write asks.
func (sp *spool) syncer() {
	defer close(sp.stopped)
	t := time.NewTicker(spoolSyncEvery)
	defer t.Stop()
	for {
		select {
		case <-sp.stop:
			return
		case <-t.C:
		case <-sp.kick:
		}
		if err := sp.sync(); err != nil {
			sp.fail("cannot be synced; downloading without it", err)
			return
		}
	}
}

// sync makes the data durable, then describes it in the sidecar.
func (sp *spool) sync() error {
	sp.syncMu.Lock()
	defer sp.syncMu.Unlock()
	sp.mu.Lock()
	if !sp.active || sp.size == sp.synced {
		sp.mu.Unlock()
		return nil
	}
	side := sp.side
	side.Offset, side.CRC32C = sp.size, sp.crc
	sp.mu.Unlock()
	// Writes continue while the data syncs: they only append past
	// side.Offset, and the sidecar describes no more than was synced.
	if err := sp.data.Sync(); err != nil {
		return err
	}
	side.Updated = time.Now().UTC()
	b, err := json.Marshal(side)
	if err != nil {
		return err
	}
	if err := writeAtomic(filepath.Join(sp.dir, spoolSidecar), b); err != nil {
		return err
	}
	sp.mu.Lock()
	sp.synced = side.Offset
	sp.mu.Unlock()
	return nil
}

// writeAtomic replaces name with b: a crash leaves the old file or the new
// one, never a mix.
func writeAtomic(name string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), ".sidecar-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), name)
}

// fail stops spooling after a write or sync error: the download goes on
// without it, and the next run starts clean.
func (sp *spool) fail(reason string, err error) {
	sp.mu.Lock()
	was := sp.active
	sp.active = false
	sp.mu.Unlock()
	if was && sp.failed != nil {
		sp.failed(&SpoolError{Dir: sp.dir, Reason: reason, Err: err})
	}
	sp.syncMu.Lock()
	os.Remove(filepath.Join(sp.dir, spoolSidecar))
	sp.syncMu.Unlock()
}

// finish ends the spool: kept (synced) for a later run when keep, else
// removed. It is safe on a nil spool.
func (sp *spool) finish(keep bool) {
	if sp == nil {
		return
	}
	if sp.stop != nil {
		close(sp.stop)
		<-sp.stopped
		sp.stop = nil
	}
	if keep {
		if err := sp.sync(); err != nil {
			keep = false
		}
	}
	sp.close()
	if !keep {
		os.Remove(filepath.Join(sp.dir, spoolData))
		os.Remove(filepath.Join(sp.dir, spoolSidecar))
		os.Remove(filepath.Join(sp.dir, spoolLock))
		os.Remove(sp.dir) // only if empty: never anything we did not make
	}
}

func (sp *spool) close() {
	sp.data.Close()
	unlockFile(sp.lock)
	sp.lock.Close()
}

var spoolPattern = regexp.MustCompile(`^\..+` + regexp.QuoteMeta(SpoolSuffix) + `$`)

// CleanSpools removes the spools in dir (directories named
// ".NAME.faultline-spool") that no process holds and that have not been
// written for olderThan: a download abandoned for good. A spool of a
// killed process is otherwise kept, for the next run to continue from.
// Only the files a spool holds are removed, then the directory if it is
// empty. It returns the spools removed.
func CleanSpools(dir string, olderThan time.Duration) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var removed []string
	var errs []error
	for _, e := range ents {
		if !e.IsDir() || !spoolPattern.MatchString(e.Name()) {
			continue
		}
		p := filepath.Join(dir, e.Name())
		if !spoolStale(p, olderThan) {
			continue
		}
		lock, err := os.OpenFile(filepath.Join(p, spoolLock), os.O_RDWR, 0)
		if err == nil {
			if lockFile(lock) != nil {
				lock.Close()
				continue // in use
			}
		}
		for _, name := range []string{spoolData, spoolSidecar, spoolLock} {
			if err := os.Remove(filepath.Join(p, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
		}
		if lock != nil {
			unlockFile(lock)
			lock.Close()
		}
		if err := os.Remove(p); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, p)
	}
	return removed, errors.Join(errs...)
}

// spoolStale reports whether nothing in the spool p changed for olderThan.
func spoolStale(p string, olderThan time.Duration) bool {
	newest := time.Time{}
	for _, name := range []string{"", spoolData, spoolSidecar} {
		fi, err := os.Lstat(filepath.Join(p, name))
		if err == nil && fi.ModTime().After(newest) {
			newest = fi.ModTime()
		}
	}
	return time.Since(newest) > olderThan
}
