package policy

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/faultline-go/faultline/chain"
	"github.com/faultline-go/faultline/classify"
)

// DumpSchema is the version of the dump format. Readers accept every
// version up to this one; fields added later default to the behaviour of
// older versions. Version 2 added Decision; version 3, State.Progress and
// State.Refetches (a state without progress facts is read as every
// attempt without progress; see Progress); version 4, State.TotalKnown: a
// total_expected of 0 is unknown unless total_known says otherwise, where
// before it meant that nothing was expected (readers upgrade older dumps:
// see Upgrade).
const DumpSchema = 4

// Dump is a recorded failure: the error as a chain, the operation's state
// when it failed and, optionally, the decision a test expects. A dump
// holds no live value, so deciding on it replays the decision exactly.
type Dump struct {
	Schema int       `json:"schema"`
	Time   time.Time `json:"time,omitzero"`
	// Source says what recorded the dump ("retrycheck fetch", a test name).
	Source string      `json:"source,omitempty"`
	Chain  chain.Chain `json:"chain"`
	State  State       `json:"state"`
	// Decision is the decision made when the failure happened, with the
	// ID of the policy that made it, so that a replay can tell whether
	// the policy changed since; nil when none was recorded.
	Decision *Decision `json:"decision,omitempty"`
	// Trail is what the operation decided about its earlier failures,
	// oldest first; the decision about this one is not part of it.
	Trail  []Step  `json:"trail,omitempty"`
	Expect *Expect `json:"expect,omitempty"`
}

// Input classifies the chain with the built-in classifiers and returns it
// with the state, ready for Decide.
func (d Dump) Input() Input {
	return Input{Error: classify.Classify(d.Chain), State: d.State}
}

// WriteDump writes d to a new file in dir and returns its path. The name is
// unique (time and random suffix) and the write atomic: the file appears
// complete or not at all. A zero Time is filled in, and a zero Schema with
// the oldest version that holds d, so that older readers read what they
// can.
func WriteDump(dir string, d Dump) (string, error) {
	// An unknown length is written as every version reads it, -1; only an
	// announced length of 0 needs version 4's total_known.
	n, known := d.State.Total()
	d.State.TotalExpected, d.State.TotalKnown = n, known && n == 0
	if d.Schema == 0 {
		d.Schema = 1
		if d.Decision != nil {
			d.Schema = 2
		}
		if d.State.Progress != nil || d.State.Refetches != 0 {
			d.Schema = 3
		}
		if d.State.TotalKnown {
			d.Schema = 4
		}
	}
	if d.Time.IsZero() {
		d.Time = time.Now().UTC()
	}
	data, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return "", fmt.Errorf("policy: encoding dump: %w", err)
	}
	data = append(data, '\n')
	var suffix [6]byte
	if _, err := rand.Read(suffix[:]); err != nil {
		return "", fmt.Errorf("policy: naming dump: %w", err)
	}
	name := filepath.Join(dir, fmt.Sprintf("fault-%s-%s.json",
		d.Time.UTC().Format("20060102T150405.000000000Z"), hex.EncodeToString(suffix[:])))

	tmp, err := os.CreateTemp(dir, ".fault-*.tmp")
	if err != nil {
		return "", fmt.Errorf("policy: writing dump: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename, a no-op error
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return "", fmt.Errorf("policy: writing dump: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return "", fmt.Errorf("policy: writing dump: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("policy: writing dump: %w", err)
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		return "", fmt.Errorf("policy: writing dump: %w", err)
	}
	return name, nil
}

// DumpError is a problem reading a dump, at a 1-based line and column of
// the stream.
type DumpError struct {
	Line, Col int
	Err       error
}

func (e *DumpError) Error() string {
	return fmt.Sprintf("dump: %d:%d: %v", e.Line, e.Col, e.Err)
}

func (e *DumpError) Unwrap() error { return e.Err }

// ErrDumpSchema is reported for a dump written by a newer version of the
// format, or with no schema at all.
var ErrDumpSchema = errors.New("unsupported dump schema")

// ReadDumps reads dumps from r, a single JSON object or JSON Lines (any
// sequence of JSON objects), calling fn for each as it is read. It stops
// at the first error: a malformed dump (a *DumpError with its line and
// column) or fn's error, returned as is. One dump is at most 16 MiB of
// JSON (a larger one is a *DumpError wrapping ErrTooLarge); memory stays
// within a small multiple of that however long r is.
func ReadDumps(r io.Reader, fn func(Dump) error) error {
	lr := &lineReader{r: r, line: 1, col: 1, max: 2*maxDumpSize + 64<<10}
	dec := json.NewDecoder(lr)
	for {
		start := dec.InputOffset()
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if err == io.EOF {
			return nil
		}
		if err == nil && len(raw) > maxDumpSize || errors.Is(err, ErrTooLarge) {
			line, col := lr.position(start + leadingSpace64(lr, start))
			return &DumpError{Line: line, Col: col, Err: fmt.Errorf("%w: a dump is at most %d bytes of JSON", ErrTooLarge, maxDumpSize)}
		}
		if err != nil {
			off := dec.InputOffset()
			var se *json.SyntaxError
			if errors.As(err, &se) {
				off = se.Offset - 1 // Offset counts the offending byte
			}
			if errors.Is(err, io.ErrUnexpectedEOF) {
				off = lr.base + int64(len(lr.buf))
			}
			line, col := lr.position(off)
			return &DumpError{Line: line, Col: col, Err: err}
		}
		d, off, err := decodeDump(raw)
		if err != nil {
			line, col := lr.position(start + leadingSpace64(lr, start) + off)
			return &DumpError{Line: line, Col: col, Err: err}
		}
		lr.commit(dec.InputOffset())
		if err := fn(d); err != nil {
			return err
		}
	}
}

func leadingSpace64(lr *lineReader, off int64) int64 {
	var n int64
	for i := off - lr.base; i >= 0 && i < int64(len(lr.buf)); i++ {
		switch lr.buf[i] {
		case ' ', '\t', '\r', '\n':
			n++
			continue
		}
		break
	}
	return n
}

// decodeDump decodes one dump strictly: unknown fields are errors, and
// the chain goes through chain.Decode's checks. An error carries the
// offset in raw it concerns.
func decodeDump(raw json.RawMessage) (Dump, int64, error) {
	if len(raw) == 0 || raw[0] != '{' {
		return Dump{}, 0, errors.New("expected a JSON object")
	}
	var head struct {
		Schema int `json:"schema"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return Dump{}, 0, err
	}
	// Check the schema first: a newer writer may add fields.
	if head.Schema < 1 || head.Schema > DumpSchema {
		return Dump{}, 0, fmt.Errorf("%w %d (this version reads 1 to %d)", ErrDumpSchema, head.Schema, DumpSchema)
	}
	var w struct {
		Dump
		Chain json.RawMessage `json:"chain"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		off := dec.InputOffset()
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			off = valueStart(raw, te.Offset)
		} else if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			if i := bytes.Index(raw, []byte(name)); i >= 0 {
				off = int64(i)
			}
		}
		return Dump{}, off, err
	}
	d := w.Dump
	if len(w.Chain) == 0 {
		return Dump{}, 0, errors.New("dump has no chain")
	}
	c, err := chain.Decode(w.Chain)
	if err != nil {
		off := valueOffset(raw, "chain")
		var de *chain.DecodeError
		if errors.As(err, &de) {
			off += de.Offset
		}
		return Dump{}, off, err
	}
	d.Chain = c
	d.Upgrade()
	return d, 0, nil
}

// Upgrade gives a dump read from an older version of the format the
// meaning that version gave it: before version 4, a total_expected of 0
// meant an announced length of 0, where now the zero value is unknown.
// Readers call it after decoding; it is idempotent.
func (d *Dump) Upgrade() {
	if d.Schema < 4 && d.State.TotalExpected == 0 {
		d.State.TotalKnown = true
	}
}

// valueStart returns the offset where the JSON value ending at end begins.
func valueStart(raw []byte, end int64) int64 {
	i := min(end, int64(len(raw))) - 1
	if i < 0 {
		return 0
	}
	if raw[i] == '"' {
		for i--; i > 0 && !(raw[i] == '"' && raw[i-1] != '\\'); i-- {
		}
		return max(i, 0)
	}
	for i > 0 && !strings.ContainsRune(":,[{ \t\r\n", rune(raw[i-1])) {
		i--
	}
	return i
}

// valueOffset returns the offset in the JSON object raw of the value of
// its top-level key, or 0.
func valueOffset(raw []byte, key string) int64 {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil { // {
		return 0
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return 0
		}
		if k, _ := tok.(string); k == key {
			off := dec.InputOffset()
			for off < int64(len(raw)) && (raw[off] == ':' || raw[off] == ' ' || raw[off] == '\t' || raw[off] == '\r' || raw[off] == '\n') {
				off++
			}
			return off
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return 0
		}
	}
	return 0
}

// lineReader keeps the bytes the decoder has read but not yet committed,
// so a stream offset can be turned into a line and column without holding
// the whole stream.
type lineReader struct {
	r         io.Reader
	buf       []byte // bytes from offset base on
	base      int64
	line, col int // position of offset base
	// max bounds buf: past it, Read fails with ErrTooLarge rather than
	// hold an endless value.
	max int
}

func (lr *lineReader) Read(p []byte) (int, error) {
	if lr.max > 0 {
		if len(lr.buf) > lr.max {
			return 0, ErrTooLarge
		}
		// The decoder asks for more as its buffer grows; a short read
		// keeps the overshoot small.
		p = p[:min(len(p), 64<<10)]
	}
	n, err := lr.r.Read(p)
	lr.buf = append(lr.buf, p[:n]...)
	return n, err
}

// commit forgets the bytes before off, keeping their line count.
func (lr *lineReader) commit(off int64) {
	k := min(max(off-lr.base, 0), int64(len(lr.buf)))
	lr.line, lr.col = advance(lr.line, lr.col, lr.buf[:k])
	lr.buf = append(lr.buf[:0], lr.buf[k:]...)
	lr.base += k
}

// position returns the line and column of stream offset off.
func (lr *lineReader) position(off int64) (int, int) {
	k := min(max(off-lr.base, 0), int64(len(lr.buf)))
	return advance(lr.line, lr.col, lr.buf[:k])
}

func advance(line, col int, b []byte) (int, int) {
	for _, c := range b {
		if c == '\n' {
			line, col = line+1, 1
		} else if c&0xC0 != 0x80 { // count characters, not continuation bytes
			col++
		}
	}
	return line, col
}
