package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/faultline-go/faultline/chain"
	"github.com/faultline-go/faultline/policy"
)

// Limits on what one input may hold; the README's resource bounds list
// them. A line of JSON Lines is one dump; a document or a text is one
// failure. They bound memory, not usefulness: real dumps are a few
// kilobytes, and the largest chain a walk records (256 layers of 4 KiB
// messages, escaped) fits in a few MiB.
const (
	// maxLine bounds one line of JSON Lines, without its line break.
	maxLine = 16 << 20
	// maxDocument bounds an input holding JSON that is not one object a
	// line (an indented dump as policy.WriteDump writes it), which is
	// read whole: the whole input, leading blank lines included.
	maxDocument = 16 << 20
	// maxText bounds an input of error text read whole. A longer text is
	// a log: it is read through, up to maxLog bytes, keeping its first
	// maxText bytes for the header and the last maxText bytes, where the
	// error that ended the run is.
	maxText = 1 << 20
	// maxLog bounds an input of error text read as a log.
	maxLog = 64 << 20
	// binaryProbe is how much of a text is looked at to tell it is not
	// text at all.
	binaryProbe = 8 << 10
)

// inputBounds are the bounds a reader applies; the zero value means the
// constants above. Tests lower them to try the edges cheaply; the
// constants themselves are tested once each.
type inputBounds struct {
	line, document, text, log int
}

func (b inputBounds) orDefault() inputBounds {
	if b == (inputBounds{}) {
		return inputBounds{line: maxLine, document: maxDocument, text: maxText, log: maxLog}
	}
	if b.log == 0 {
		b.log = 64 * b.text
	}
	return b
}

// The forms an input can take.
const (
	formDump  = "dump"  // a policy.Dump
	formChain = "chain" // a bare chain.Chain, without state
	formText  = "text"  // error text, state inferred
)

// A failure is one thing to decide, read from an input.
type failure struct {
	// name is the input's name, with ":LINE" for a record of JSON Lines.
	name string
	form string
	dump policy.Dump
	// notes explains every state field that was not read from the input:
	// inferred from the text, or a default.
	notes map[string]string
	// expect is the expected outcome, from a dump's "expect" or a text's
	// header; nil when there is none.
	expect *policy.Expect
	// worked reports that reader.work was done on the failure; result is
	// what it left for fn.
	worked bool
	result any
}

// An inputError is an input, or a record in it, that cannot be read. Line
// and Col locate the problem in JSON (1-based; 0 when unknown).
type inputError struct {
	Name      string
	Line, Col int
	Err       error
}

func (e *inputError) Error() string {
	switch {
	case e.Line > 0 && e.Col > 0:
		return fmt.Sprintf("%s:%d:%d: %v", e.Name, e.Line, e.Col, e.Err)
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %v", e.Name, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.Name, e.Err)
}

func (e *inputError) Unwrap() error { return e.Err }

// A reader reads failures from inputs.
type reader struct {
	flags *stateFlags // command-line state flags; applied last
	// onError is told about each record that cannot be read; reading goes
	// on with the next record. It is also told about a whole input that
	// cannot be read, after which read returns.
	onError func(error)
	// work, when set, is done on every failure read from JSON Lines by
	// this many goroutines, before fn sees the failures in input order.
	// It must be safe for concurrent use.
	work    func(*failure)
	workers int
	// bounds are the size bounds; zero means the documented ones.
	bounds inputBounds
}

// read detects the form of the input by its content and calls fn with
// every failure in it, in order, stopping at fn's first error, which it
// returns. JSON Lines are read one line at a time, so memory stays
// constant however long the input is.
func (rd *reader) read(name string, r io.Reader, fn func(*failure) error) error {
	rd.bounds = rd.bounds.orDefault()
	cr := &inputCounter{r: r}
	br := readers.Get().(*bufio.Reader)
	br.Reset(cr)
	defer func() {
		br.Reset(nil)
		readers.Put(br)
	}()
	// consumed is how many bytes of the input were read out of br.
	consumed := func() int64 { return cr.n - int64(br.Buffered()) }
	// Skip leading blank lines, counting them for positions.
	lineNo := 0
	var first []byte
	for {
		line, err := readLine(br, rd.bounds.line)
		tooLong := errors.Is(err, errLineTooLong)
		if len(line) > 0 || err == nil || tooLong {
			lineNo++
		}
		if tooLong {
			// Only a record of JSON Lines can be that long; go on to the
			// next, as for any record that cannot be read.
			rd.onError(&inputError{Name: name, Line: lineNo, Err: err})
			continue
		}
		if err != nil && err != io.EOF {
			rd.onError(&inputError{Name: name, Line: lineNo, Err: err})
			return nil
		}
		if len(bytes.TrimSpace(line)) > 0 {
			// line points into br's buffer, which the next read reuses.
			first = bytes.Clone(line)
			break
		}
		if err == io.EOF {
			rd.onError(&inputError{Name: name, Err: errors.New("empty input")})
			return nil
		}
	}
	if trimmed := bytes.TrimLeft(first, " \t\r\ufeff"); len(trimmed) > 0 && trimmed[0] == '{' {
		if json.Valid(first) {
			if isRecord(first) {
				return rd.readLines(name, br, first, lineNo, fn)
			}
			// A JSON error body or a JSON log line, pasted: text.
			return rd.readText(name, br, first, int64(rd.bounds.text)-consumed(), consumed, fn)
		}
		return rd.readDocument(name, br, first, lineNo, int64(rd.bounds.document)-consumed(), fn)
	}
	return rd.readText(name, br, first, int64(rd.bounds.text)-consumed(), consumed, fn)
}

// readers holds the 64 KiB buffered readers of inputs for reuse: deciding
// many small texts should not allocate a buffer for each.
var readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 64<<10) }}

// isRecord reports whether a JSON object is a dump or a chain: it has a
// "chain" or a "layers". Any other object is text that happens to be
// JSON, such as an API's error body.
func isRecord(data []byte) bool {
	var probe struct {
		Chain  json.RawMessage `json:"chain"`
		Layers json.RawMessage `json:"layers"`
	}
	if json.Unmarshal(data, &probe) != nil {
		return false
	}
	return probe.Chain != nil || probe.Layers != nil
}

// inputCounter counts the bytes read from r.
type inputCounter struct {
	r io.Reader
	n int64
}

func (c *inputCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// readRest reads the rest of br if it holds at most limit bytes, and
// reports whether it did.
func readRest(br *bufio.Reader, limit int64) ([]byte, bool, error) {
	if limit < 0 {
		return nil, false, nil
	}
	rest, err := io.ReadAll(io.LimitReader(br, limit+1))
	return rest, int64(len(rest)) <= limit, err
}

// readLine returns the next line without its line break, refusing lines
// longer than max bytes: it reads past such a line, so that the next call
// returns the line after it, and returns an error wrapping
// errLineTooLong. It returns io.EOF with the last line if that has no
// line break.
func readLine(br *bufio.Reader, max int) ([]byte, error) {
	var long []byte
	for {
		frag, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// The line break may follow: allow for "\r\n" until it shows.
			if len(long)+len(frag) > max+2 {
				for err == bufio.ErrBufferFull {
					_, err = br.ReadSlice('\n')
				}
				if err != nil && err != io.EOF {
					return nil, err
				}
				return nil, fmt.Errorf("%w (%d bytes)", errLineTooLong, max)
			}
			long = append(long, frag...)
			continue
		}
		if long != nil {
			frag = append(long, frag...)
		}
		if err == nil {
			frag = frag[:len(frag)-1]
		}
		frag = bytes.TrimSuffix(frag, []byte("\r"))
		if len(frag) > max {
			if err == io.EOF {
				err = nil // the next call reports the end
			}
			if err != nil {
				return nil, err
			}
			return nil, fmt.Errorf("%w (%d bytes)", errLineTooLong, max)
		}
		return frag, err
	}
}

// errLineTooLong is the error for a line over the bound.
var errLineTooLong = errors.New("line longer than the limit")

// readDocument reads JSON that is not one object per line: a dump as
// policy.WriteDump writes it, indented, or several such in a row.
// limit is how many more bytes the input may hold.
func (rd *reader) readDocument(name string, br *bufio.Reader, first []byte, lineNo int, limit int64, fn func(*failure) error) error {
	rest, ok, err := readRest(br, limit)
	if err != nil {
		rd.onError(&inputError{Name: name, Err: err})
		return nil
	}
	if !ok {
		rd.onError(&inputError{Name: name, Err: fmt.Errorf("JSON document larger than %d bytes; write one dump per line (JSON Lines) instead", rd.bounds.document)})
		return nil
	}
	// Keep the skipped blank lines so that positions match the file.
	doc := append(bytes.Repeat([]byte("\n"), lineNo-1), first...)
	doc = append(append(doc, '\n'), rest...)
	if !looksLikeRecords(doc) {
		// Text that starts with "{": a JSON error body written over
		// several lines, a Node.js object, a template.
		return rd.decideText(name, doc, fn)
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	for n := 1; ; n++ {
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			// The decoder's offsets count from the start of doc.
			rd.onError(locateInDocument(name, doc, 0, err))
			return nil
		}
		start := dec.InputOffset() - int64(len(raw))
		// Name the record by its line, as for JSON Lines, when the
		// document holds several.
		rec := name
		if n > 1 || dec.More() {
			line, _ := position(doc, int(start))
			rec = fmt.Sprintf("%s:%d", name, line)
		}
		f, err := rd.decodeJSON(rec, raw)
		if err != nil {
			rd.onError(locateInDocument(name, doc, start, err))
			continue
		}
		if err := fn(f); err != nil {
			return err
		}
	}
}

// looksLikeRecords reports whether a JSON document that starts with "{"
// holds dumps or chains, or was meant to: its first value is a record, or
// it does not parse and names a "chain", "layers" or "schema". Anything
// else is text.
func looksLikeRecords(doc []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(doc))
	var raw json.RawMessage
	if err := dec.Decode(&raw); err == nil {
		return isRecord(raw)
	}
	return bytes.Contains(doc, []byte(`"chain"`)) || bytes.Contains(doc, []byte(`"layers"`)) || bytes.Contains(doc, []byte(`"schema"`))
}

// readText reads error text, with its optional header; limit is how many
// more bytes the input may hold before it is a log, and consumed how many
// it has given so far.
func (rd *reader) readText(name string, br *bufio.Reader, first []byte, limit int64, consumed func() int64, fn func(*failure) error) error {
	rest, ok, err := readRest(br, limit)
	if err != nil {
		rd.onError(&inputError{Name: name, Err: err})
		return nil
	}
	data := append(append(first, '\n'), rest...)
	if ok {
		return rd.decideText(name, data, fn)
	}
	// A log: read on, keeping the head (for the header) and the tail.
	head := data[:min(len(data), rd.bounds.text)]
	tail, err := readTail(br, data, rd.bounds.text, int64(rd.bounds.log)-consumed(), rd.bounds.log)
	if err != nil {
		rd.onError(&inputError{Name: name, Err: err})
		return nil
	}
	if err := checkText(head); err != nil {
		rd.onError(&inputError{Name: name, Err: err})
		return nil
	}
	h, _, herr := parseHeader(string(head))
	if herr != nil {
		rd.onError(&inputError{Name: name, Line: h.errLine, Err: herr})
		return nil
	}
	// The tail starts at a line of its own.
	if i := bytes.IndexByte(tail, '\n'); i >= 0 {
		tail = tail[i+1:]
	}
	return rd.decideTextWith(name, h, string(tail), fn)
}

// readTail reads the rest of br after data, keeping the last keep bytes;
// it refuses more than remaining bytes, which would make the input larger
// than bound.
func readTail(br *bufio.Reader, data []byte, keep int, remaining int64, bound int) ([]byte, error) {
	buf := data
	var read int64
	chunk := make([]byte, 64<<10)
	for {
		n, err := br.Read(chunk)
		read += int64(n)
		if read > remaining {
			return nil, fmt.Errorf("log larger than %d bytes", bound)
		}
		buf = append(buf, chunk[:n]...)
		if len(buf) > 2*keep {
			buf = append(buf[:0:0], buf[len(buf)-keep:]...)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	if len(buf) > keep {
		buf = buf[len(buf)-keep:]
	}
	return buf, nil
}

// checkText refuses input that is not text: a NUL byte, or mostly bytes
// that text does not hold, in its first binaryProbe bytes. UTF-16 with a
// byte-order mark is text, and is decoded before this check.
func checkText(data []byte) error {
	probe := data[:min(len(data), binaryProbe)]
	if i := bytes.IndexByte(probe, 0); i >= 0 {
		return fmt.Errorf("binary input (a NUL byte at offset %d): not error text, a dump or JSON Lines", i)
	}
	odd := 0
	for len(probe) > 0 {
		r, size := utf8.DecodeRune(probe)
		if r == utf8.RuneError && size <= 1 || r < 0x20 && r != '\n' && r != '\r' && r != '\t' && r != '\f' && r != 0x1b {
			odd++
		}
		probe = probe[size:]
	}
	if n := min(len(data), binaryProbe); n > 0 && odd*10 > n {
		return fmt.Errorf("binary input (%d of its first %d bytes are not text): not error text, a dump or JSON Lines", odd, n)
	}
	return nil
}

// fromUTF16 decodes text saved as UTF-16 with a byte-order mark, as
// Windows tools (PowerShell's redirections) write it, and reports whether
// it was.
func fromUTF16(data []byte) ([]byte, bool) {
	var order binary.ByteOrder
	switch {
	case bytes.HasPrefix(data, []byte{0xff, 0xfe}):
		order = binary.LittleEndian
	case bytes.HasPrefix(data, []byte{0xfe, 0xff}):
		order = binary.BigEndian
	default:
		return data, false
	}
	data = data[2:]
	units := make([]uint16, len(data)/2)
	for i := range units {
		units[i] = order.Uint16(data[2*i:])
	}
	return []byte(string(utf16.Decode(units))), true
}

// decideText reads data, a whole text with its optional header.
func (rd *reader) decideText(name string, data []byte, fn func(*failure) error) error {
	data, _ = fromUTF16(bytes.TrimLeft(data, "\n"))
	if err := checkText(data); err != nil {
		rd.onError(&inputError{Name: name, Err: err})
		return nil
	}
	text := string(data)
	if !utf8.ValidString(text) {
		text = strings.ToValidUTF8(text, "\uFFFD")
	}
	text = strings.TrimPrefix(text, "\ufeff")
	h, body, err := parseHeader(text)
	if err != nil {
		rd.onError(&inputError{Name: name, Line: h.errLine, Err: err})
		return nil
	}
	return rd.decideTextWith(name, h, body, fn)
}

// decideTextWith builds the failure of an error text and its header.
func (rd *reader) decideTextWith(name string, h header, body string, fn func(*failure) error) error {
	if !utf8.ValidString(body) {
		body = strings.ToValidUTF8(body, "\uFFFD")
	}
	if strings.TrimSpace(body) == "" {
		rd.onError(&inputError{Name: name, Err: errors.New("no error text after the header")})
		return nil
	}
	c := chain.FromText(body)
	if len(c.Layers) == 0 {
		rd.onError(&inputError{Name: name, Err: errors.New("no error found in the text")})
		return nil
	}
	st, notes := inferState(body)
	if h.flags != nil {
		h.flags.apply(&st, &c, notes)
	}
	rd.flags.apply(&st, &c, notes)
	f := &failure{
		name:   name,
		form:   formText,
		dump:   policy.Dump{Source: name, Chain: c, State: st},
		notes:  notes,
		expect: h.expect,
	}
	return fn(f)
}

// decodeJSON decodes one JSON value: a dump, or a bare chain.
func (rd *reader) decodeJSON(name string, data []byte) (*failure, error) {
	var d policy.Dump
	if err := unmarshal(data, &d); err != nil {
		return nil, err
	}
	d.Upgrade()
	f := &failure{name: name, form: formDump, dump: d, expect: d.Expect}
	if len(d.Chain.Layers) > 0 && (d.Schema < 1 || d.Schema > policy.DumpSchema) {
		// The same rule policy.ReadDumps applies.
		return nil, fmt.Errorf("%w %d (this retrycheck reads 1 to %d)", policy.ErrDumpSchema, d.Schema, policy.DumpSchema)
	}
	if len(d.Chain.Layers) == 0 {
		// Not a dump; perhaps a chain on its own, as chain tests record.
		var c chain.Chain
		if err := unmarshal(data, &c); err != nil {
			return nil, err
		}
		if len(c.Layers) == 0 {
			return nil, errors.New(`neither a dump (no "chain" with layers) nor a chain (no "layers")`)
		}
		st, notes := inferState(c.Layers[0].Message)
		f.form, f.notes = formChain, notes
		f.dump = policy.Dump{Source: name, Chain: c, State: st}
	}
	if err := checkChain(f.dump.Chain); err != nil {
		return nil, err
	}
	rd.flags.apply(&f.dump.State, &f.dump.Chain, f.notes)
	return f, nil
}

// checkChain rejects chains that no walker writes, so that what follows
// (classification, the tree) can trust the structure.
func checkChain(c chain.Chain) error {
	if c.Schema > chain.SchemaVersion {
		return fmt.Errorf("chain schema %d is newer than this retrycheck reads (%d)", c.Schema, chain.SchemaVersion)
	}
	if c.Schema < 0 {
		return fmt.Errorf("invalid chain schema %d", c.Schema)
	}
	for i, l := range c.Layers {
		if l.Parent < -1 || l.Parent >= i {
			return fmt.Errorf("chain layer %d: parent %d is not an earlier layer", i, l.Parent)
		}
	}
	return nil
}

// locateInLine positions an error from decoding line, line lineNo of
// the input.
func locateInLine(name string, lineNo int, line []byte, err error) error {
	off := jsonOffset(err)
	if off < 0 {
		return &inputError{Name: name, Line: lineNo, Err: err}
	}
	_, col := position(line, typeErrorStart(line, off, err))
	return &inputError{Name: name, Line: lineNo, Col: col, Err: jsonMessage(err)}
}

// locateInDocument positions an error from decoding the value at byte
// start of doc; errors without an offset point at the value's start.
func locateInDocument(name string, doc []byte, start int64, err error) error {
	off := jsonOffset(err)
	if off < 0 {
		off = 0
	}
	line, col := position(doc, int(start)+typeErrorStart(doc[start:], off, err))
	return &inputError{Name: name, Line: line, Col: col, Err: jsonMessage(err)}
}

// jsonOffset is the byte offset a JSON error points at, or -1.
func jsonOffset(err error) int64 {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		// Offset counts the offending byte; point at it.
		return max(0, se.Offset-1)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return te.Offset
	}
	return -1
}

// typeErrorStart is the offset to report for err at off in data.
func typeErrorStart(data []byte, off int64, err error) int {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return valueStart(data, int(off))
	}
	return int(off)
}

// valueStart moves an offset just past a JSON value, where encoding/json
// reports type errors, back to the value's first byte, where a reader
// looks for it. Only scalars are moved; for them this cannot go wrong
// by more than the value itself.
func valueStart(data []byte, off int) int {
	if off <= 0 || off > len(data) {
		return off
	}
	i := off - 1
	if data[i] == '"' {
		for i--; i >= 0; i-- {
			if data[i] == '"' && (i == 0 || data[i-1] != '\\') {
				return i
			}
		}
		return off
	}
	for i >= 0 && !strings.ContainsRune(",:[{ \t\r\n", rune(data[i])) {
		i--
	}
	return i + 1
}

// position is the 1-based line and column (in runes) of byte off in data.
func position(data []byte, off int) (line, col int) {
	off = max(0, min(off, len(data)))
	line = 1 + bytes.Count(data[:off], []byte("\n"))
	col = 1 + utf8.RuneCount(data[bytes.LastIndexByte(data[:off], '\n')+1:off])
	return line, col
}

// jsonMessage words encoding/json's errors for people: syntax errors are
// "invalid JSON", and the "json: " prefix goes.
func jsonMessage(err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("invalid JSON: %s", se.Error())
	}
	if jsonOffset(err) >= 0 {
		return errors.New(strings.TrimPrefix(err.Error(), "json: "))
	}
	return err
}
