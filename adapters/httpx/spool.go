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
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/faultline-go/faultline/internal/redact"
)

// A spool keeps the raw bytes of a download on disk as they arrive, each
// at its own offset whichever connection brought it, with a sidecar that
// says what they are, so that a later process can continue the download
// where this one was killed: it checks the sidecar and the bytes, replays
// them to its consumer (a local read) and asks the server only for the
// gaps between them, with Range and If-Range (RFC 9110 §14.2, §13.1.5).
// Bytes of two representations are never spliced: a sidecar that does not
// match the URL, the server's validator or the bytes beside it means a
// clean start.
//
// A spool is a directory holding three files:
//
//	data          the body's bytes at their offsets (a sparse file)
//	sidecar.json  which of them are there, rewritten atomically at each sync
//	lock          held (flock) by the process using the spool
//
// The sidecar (version 2) names the representation (the URL's digest, its
// validator, its length) and lists the extents of data that hold its
// bytes: sorted, disjoint ranges [start, end), each with the CRC-32C of
// its bytes. It is written only after the data it describes was fsynced,
// so after a crash data holds at least what the sidecar says; bytes no
// extent describes are never used. Disk use is at most the body's length:
// the spool records only a body with a known length, writes nothing past
// it, and a restart empties it first. A sidecar lists at most maxExtents
// extents (a write that would start one more is not spooled) and is at
// most maxSidecar bytes.
const (
	spoolData    = "data"
	spoolSidecar = "sidecar.json"
	spoolLock    = "lock"
	// spoolVersion is the sidecar's format.
	spoolVersion = 2
	// maxExtents bounds the extents of a spool. Adjacent extents merge,
	// so a download has about as many as pieces in flight when it was
	// stopped (its connections, and the chunks of its reorder window).
	maxExtents = 1024
	// maxSidecar bounds a sidecar read back: maxExtents extents of about
	// 60 bytes each, and the identity.
	maxSidecar = 256 << 10
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
	// Extents are the ranges of data synced and described, sorted and
	// disjoint.
	Extents []extent  `json:"extents"`
	Updated time.Time `json:"updated"`
}

// extent is a range [Start, End) of the representation held in data at
// the same offsets, with the CRC-32C (Castagnoli) of its bytes.
type extent struct {
	Start  int64  `json:"start"`
	End    int64  `json:"end"`
	CRC32C uint32 `json:"crc32c"`
}

func (e extent) len() int64 { return e.End - e.Start }

// prefix returns the length of the extent at the start, if any: the
// bytes the body counts as delivered before it asks anything.
func prefix(ext []extent) int64 {
	if len(ext) > 0 && ext[0].Start == 0 {
		return ext[0].End
	}
	return 0
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

// spool is an open spool, owned by one operation. Its writes come from
// every connection of the download; mu orders them.
type spool struct {
	dir  string
	lock *os.File
	data *os.File
	url  string // as given, to identify the spool

	// syncMu serializes the sidecar: a sync in progress and an emptying
	// of the spool. It is taken before mu.
	syncMu  sync.Mutex
	mu      sync.Mutex
	side    sidecar  // the identity: URL, validator, length
	active  bool     // recording a representation
	ext     []extent // what data holds, sorted and disjoint
	dirty   int64    // bytes written since the last sync
	kick    chan struct{}
	stop    chan struct{}
	stopped chan struct{}
	failed  func(*SpoolError) // reports a failure that stops spooling
}

// openSpool opens (making it if need be) the spool in dir for url and
// locks it. It returns the sidecar and the extents of it that were checked
// (none: start clean), and reads the bytes of the first extent, when it
// starts at 0, through verify, which the body uses to seed its hash. A
// spool that cannot be used is reported through warn and, if possible,
// emptied: the download starts clean. openSpool returns nil when the spool
// cannot be used at all (the directory cannot be written, another process
// holds it).
func openSpool(dir, url string, opts *Options, verify func(validator string) io.Writer, warn func(*SpoolError)) (*spool, sidecar, []extent) {
	bad := func(reason string, err error) { warn(&SpoolError{Dir: dir, Reason: reason, Err: err}) }
	if err := os.MkdirAll(dir, 0o700); err != nil {
		bad("cannot be made; downloading without it", err)
		return nil, sidecar{}, nil
	}
	lock, err := os.OpenFile(filepath.Join(dir, spoolLock), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		bad("cannot be written; downloading without it", err)
		return nil, sidecar{}, nil
	}
	if err := lockFile(lock); err != nil {
		lock.Close()
		bad("is in use by another process; downloading without it", err)
		return nil, sidecar{}, nil
	}
	data, err := os.OpenFile(filepath.Join(dir, spoolData), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		unlockFile(lock)
		lock.Close()
		bad("cannot be written; downloading without it", err)
		return nil, sidecar{}, nil
	}
	sp := &spool{dir: dir, lock: lock, data: data, url: url, failed: warn}
	side, ext, reason, err := sp.check(opts, verify)
	if reason != "" {
		bad(reason+"; starting clean", err)
	}
	if len(ext) == 0 {
		if err := sp.empty(); err != nil {
			sp.close()
			bad("cannot be emptied; downloading without it", err)
			return nil, sidecar{}, nil
		}
		return sp, sidecar{}, nil
	}
	sp.side, sp.active, sp.ext = side, true, append([]extent(nil), ext...)
	sp.side.Extents = nil
	return sp, side, ext
}

// check reads the sidecar and verifies data against it. It returns the
// extents it checked (none for a clean start) and, when the spool is
// unusable, why. The extents returned never cover the whole
// representation: its last byte is then left out, so that the next run
// always asks the server for something, and its answer (a 206 for the
// same validator) is what lets the spooled bytes reach the consumer.
func (sp *spool) check(opts *Options, verify func(validator string) io.Writer) (sidecar, []extent, string, error) {
	raw, err := readLimited(filepath.Join(sp.dir, spoolSidecar), maxSidecar)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return sidecar{}, nil, "", nil // nothing spooled yet
	case err != nil:
		return sidecar{}, nil, "its sidecar cannot be read", err
	}
	var side sidecar
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&side); err != nil {
		var v struct{ Version int }
		if json.Unmarshal(raw, &v) == nil && v.Version != spoolVersion {
			return sidecar{}, nil, fmt.Sprintf("its sidecar has version %d, not %d", v.Version, spoolVersion), nil
		}
		return sidecar{}, nil, "its sidecar is corrupt or truncated", err
	}
	ext := side.Extents
	switch {
	case side.Version != spoolVersion:
		return sidecar{}, nil, fmt.Sprintf("its sidecar has version %d, not %d", side.Version, spoolVersion), nil
	case side.URLSHA256 != urlDigest(sp.url):
		return sidecar{}, nil, fmt.Sprintf("it holds another URL (%s)", side.URL), nil
	case len(ext) == 0:
		return sidecar{}, nil, "", nil
	case side.Validator == "" || side.Length <= 0:
		return sidecar{}, nil, "its sidecar is inconsistent", nil
	case len(ext) > maxExtents:
		return sidecar{}, nil, fmt.Sprintf("its sidecar lists %d extents, more than %d", len(ext), maxExtents), nil
	case opts.Size > 0 && side.Length != opts.Size:
		return sidecar{}, nil, fmt.Sprintf("it records a length of %d, not the %d expected", side.Length, opts.Size), nil
	}
	var covered int64
	for i, e := range ext {
		switch {
		case e.Start < 0 || e.End <= e.Start:
			return sidecar{}, nil, fmt.Sprintf("its extent %d (%d-%d) is empty or negative", i, e.Start, e.End), nil
		case i > 0 && e.Start < ext[i-1].End:
			return sidecar{}, nil, fmt.Sprintf("its extent %d (%d-%d) overlaps or precedes the one before (%d-%d)",
				i, e.Start, e.End, ext[i-1].Start, ext[i-1].End), nil
		case e.End > side.Length:
			return sidecar{}, nil, fmt.Sprintf("it holds bytes up to %d of a file of %d", e.End, side.Length), nil
		}
		covered += e.len()
	}
	fi, err := sp.data.Stat()
	if err != nil {
		return sidecar{}, nil, "its data cannot be read", err
	}
	last := ext[len(ext)-1].End
	if fi.Size() < last {
		return sidecar{}, nil, fmt.Sprintf("its data is truncated (%d of %d bytes)", fi.Size(), last), nil
	}
	// Read every extent once to check it (and seed the body's hash with
	// the first, when it starts at 0); the replay reads them again, from
	// the page cache.
	out := make([]extent, 0, len(ext))
	for i, e := range ext {
		crc := crc32.New(castagnoliSpool)
		var w io.Writer = crc
		if i == 0 && e.Start == 0 {
			w = io.MultiWriter(crc, verify(side.Validator))
		}
		keep := e
		if covered == side.Length && i == len(ext)-1 {
			// All of it, yet not removed: the process died at the very
			// end. Keep all but the last byte, for the server to confirm.
			keep.End--
		}
		if _, err := io.Copy(w, io.NewSectionReader(sp.data, e.Start, keep.len())); err != nil {
			return sidecar{}, nil, "its data cannot be read", err
		}
		keep.CRC32C = crc.Sum32()
		if keep.End < e.End {
			var one [1]byte
			if _, err := sp.data.ReadAt(one[:], keep.End); err != nil {
				return sidecar{}, nil, "its data cannot be read", err
			}
			if crc32.Update(keep.CRC32C, castagnoliSpool, one[:]) != e.CRC32C {
				return sidecar{}, nil, fmt.Sprintf("its data does not match its checksum (corrupt) in extent %d (%d-%d)", i, e.Start, e.End), nil
			}
		} else if keep.CRC32C != e.CRC32C {
			return sidecar{}, nil, fmt.Sprintf("its data does not match its checksum (corrupt) in extent %d (%d-%d)", i, e.Start, e.End), nil
		}
		if keep.len() > 0 {
			out = append(out, keep)
		}
	}
	// Bytes past the last extent were never described: drop them.
	if err := sp.data.Truncate(last); err != nil {
		return sidecar{}, nil, "its data cannot be written", err
	}
	return side, out, "", nil
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

// replay returns a reader of the spool's bytes [start, end).
func (sp *spool) replay(start, end int64) io.Reader {
	return io.NewSectionReader(sp.data, start, end-start)
}

// extents returns the extents the spool holds now, synced or not: every
// byte in them was written, and reading them back is safe.
func (sp *spool) extents() []extent {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return slices.Clone(sp.ext)
}

// empty drops the data and the sidecar.
func (sp *spool) empty() error {
	sp.syncMu.Lock()
	defer sp.syncMu.Unlock()
	sp.mu.Lock()
	defer sp.mu.Unlock()
	sp.active, sp.ext, sp.dirty = false, nil, 0
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

// write records bytes p of the representation, received at offset at,
// from any connection. Bytes the spool holds already (a prefix fetched
// again) are skipped; the others are written at their offset, extending
// the extent they continue or starting one.
func (sp *spool) write(at int64, p []byte) {
	if sp == nil || len(p) == 0 {
		return
	}
	err := sp.writeAt(at, p)
	if err != nil {
		sp.fail("cannot be written; downloading without it", err)
		return
	}
	sp.mu.Lock()
	due := sp.dirty >= spoolSyncBytes
	sp.mu.Unlock()
	if due {
		select {
		case sp.kick <- struct{}{}:
		default:
		}
	}
}

func (sp *spool) writeAt(at int64, p []byte) error {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if !sp.active {
		return nil
	}
	if room := sp.side.Length - at; int64(len(p)) > room {
		p = p[:max(room, 0)]
	}
	for len(p) > 0 {
		// i is the first extent that ends past at.
		i := sort.Search(len(sp.ext), func(i int) bool { return sp.ext[i].End > at })
		if i < len(sp.ext) && sp.ext[i].Start <= at {
			skip := min(sp.ext[i].End-at, int64(len(p)))
			at, p = at+skip, p[skip:]
			continue
		}
		q := p
		if i < len(sp.ext) {
			q = p[:min(int64(len(p)), sp.ext[i].Start-at)]
		}
		at0 := at
		at, p = at+int64(len(q)), p[len(q):]
		j := i - 1
		if j < 0 || sp.ext[j].End != at0 {
			if len(sp.ext) >= maxExtents {
				continue // not spooled: the next run fetches it again
			}
			j = i
			sp.ext = slices.Insert(sp.ext, i, extent{Start: at0, End: at0, CRC32C: 0})
		}
		n, err := sp.data.WriteAt(q, at0)
		e := &sp.ext[j]
		e.CRC32C = crc32.Update(e.CRC32C, castagnoliSpool, q[:n])
		e.End += int64(n)
		sp.dirty += int64(n)
		if err != nil {
			return err
		}
		if j+1 < len(sp.ext) && e.End == sp.ext[j+1].Start {
			next := sp.ext[j+1]
			e.CRC32C = crc32Combine(e.CRC32C, next.CRC32C, next.len())
			e.End = next.End
			sp.ext = slices.Delete(sp.ext, j+1, j+2)
		}
	}
	return nil
}

// crc32Combine returns the CRC-32C of A followed by B from the CRC-32C of
// each and the length of B. CRC is linear over GF(2): appending n bytes
// multiplies A's register by x^(8n) modulo the polynomial, and B's CRC
// adds (the pre- and post-inversion cancel out between the two terms).
func crc32Combine(crcA, crcB uint32, lenB int64) uint32 {
	return gf2Mul(xPow8n(lenB), crcA) ^ crcB
}

// castagnoliReversed is the Castagnoli polynomial, bit-reversed as the
// table-driven CRC uses it.
const castagnoliReversed = 0x82f63b78

// gf2Mul multiplies a and b modulo the polynomial, both bit-reversed:
// bit 31 is x^0.
func gf2Mul(a, b uint32) uint32 {
	var p uint32
	for m := uint32(1) << 31; m != 0; m >>= 1 {
		if a&m != 0 {
			p ^= b
		}
		if b&1 != 0 {
			b = b>>1 ^ castagnoliReversed
		} else {
			b >>= 1
		}
	}
	return p
}

// xPow8n returns x^(8n) modulo the polynomial, bit-reversed.
func xPow8n(n int64) uint32 {
	r := uint32(1) << 31 // x^0
	sq := uint32(1) << (31 - 8)
	for ; n > 0; n >>= 1 {
		if n&1 != 0 {
			r = gf2Mul(r, sq)
		}
		sq = gf2Mul(sq, sq)
	}
	return r
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
	if !sp.active || sp.dirty == 0 {
		sp.mu.Unlock()
		return nil
	}
	side := sp.side
	side.Extents = slices.Clone(sp.ext)
	sp.dirty = 0
	sp.mu.Unlock()
	// Writes continue while the data syncs: the snapshot describes only
	// bytes written before it was taken, which the fsync makes durable.
	if err := sp.data.Sync(); err != nil {
		return err
	}
	side.Updated = time.Now().UTC()
	b, err := json.Marshal(side)
	if err != nil {
		return err
	}
	return writeAtomic(filepath.Join(sp.dir, spoolSidecar), b)
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
