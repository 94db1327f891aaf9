package chain

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// A DecodeError reports JSON that is not a valid Chain: what is wrong
// (Err), where in the input (Offset, in bytes from its start) and in which
// field (Field, such as "layers[3].parent").
type DecodeError struct {
	Offset int64
	Field  string
	Err    error
}

func (e *DecodeError) Error() string {
	s := "chain: decode: offset " + strconv.FormatInt(e.Offset, 10)
	if e.Field != "" {
		s += ": " + e.Field
	}
	return s + ": " + e.Err.Error()
}

func (e *DecodeError) Unwrap() error { return e.Err }

// ErrSchema is the cause of a DecodeError for a schema version this
// package does not know: missing, older than 1 or newer than SchemaVersion.
var ErrSchema = errors.New("unsupported schema version")

// Decode parses the JSON form of a Chain, as json.Marshal writes it. It is
// strict: an unknown schema version, an unknown field, a Via it does not
// know, or layers that do not form a tree in pre-order are errors, of type
// *DecodeError.
func Decode(data []byte) (Chain, error) {
	var c Chain
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		// A newer writer may add fields: report its schema, not the field.
		if serr := checkSchemaOf(data); serr != nil {
			return Chain{}, serr
		}
		return Chain{}, jsonError(err, dec.InputOffset())
	}
	if off := dec.InputOffset(); hasMore(data[off:]) {
		return Chain{}, &DecodeError{Offset: off + leadingSpace(data[off:]), Err: errors.New("unexpected data after the chain")}
	}
	if c.Schema < 1 || c.Schema > SchemaVersion {
		return Chain{}, schemaError(data, c.Schema)
	}
	if i, field, err := c.check(); err != nil {
		return Chain{}, &DecodeError{Offset: layerOffset(data, i), Field: field, Err: err}
	}
	return c, nil
}

// jsonError turns encoding/json's errors into a DecodeError with the
// offset they carry (or the decoder's position when they carry none).
func jsonError(err error, pos int64) error {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &syn):
		return &DecodeError{Offset: syn.Offset, Err: err}
	case errors.As(err, &typ):
		return &DecodeError{Offset: typ.Offset, Field: typ.Field, Err: err}
	case errors.Is(err, io.EOF):
		return &DecodeError{Offset: pos, Err: errors.New("no JSON value")}
	}
	return &DecodeError{Offset: pos, Err: err}
}

// checkSchemaOf reads only the schema field, leniently, and returns a
// DecodeError when it is unknown.
func checkSchemaOf(data []byte) error {
	var probe struct {
		Schema *json.RawMessage `json:"schema"`
	}
	if json.Unmarshal(data, &probe) != nil || probe.Schema == nil {
		return nil
	}
	n, err := strconv.Atoi(string(*probe.Schema))
	if err != nil || (n >= 1 && n <= SchemaVersion) {
		return nil
	}
	return schemaError(data, n)
}

func schemaError(data []byte, n int) error {
	return &DecodeError{
		Offset: keyOffset(data, "schema"),
		Field:  "schema",
		Err:    fmt.Errorf("%w %d (this reader knows 1 to %d)", ErrSchema, n, SchemaVersion),
	}
}

// check validates what JSON cannot: the layers form one tree in pre-order
// with consistent depths and known Via values. It returns the index of the
// first bad layer and the field at fault.
func (c *Chain) check() (int, string, error) {
	for i, l := range c.Layers {
		field := "layers[" + strconv.Itoa(i) + "]"
		switch {
		case i == 0 && l.Parent != -1:
			return i, field + ".parent", fmt.Errorf("root has parent %d, want -1", l.Parent)
		case i == 0 && l.Depth != 0:
			return i, field + ".depth", fmt.Errorf("root has depth %d, want 0", l.Depth)
		case i > 0 && (l.Parent < 0 || l.Parent >= i):
			return i, field + ".parent", fmt.Errorf("parent %d does not precede layer %d", l.Parent, i)
		case i > 0 && l.Depth != c.Layers[l.Parent].Depth+1:
			return i, field + ".depth", fmt.Errorf("depth %d, want %d (parent's plus one)", l.Depth, c.Layers[l.Parent].Depth+1)
		case !l.Via.valid():
			return i, field + ".via", fmt.Errorf("unknown via %q", l.Via)
		case (i == 0) != (l.Via == ViaRoot):
			return i, field + ".via", fmt.Errorf("via %q on layer %d: only the first layer is the root", l.Via, i)
		}
	}
	return 0, "", nil
}

func (v Via) valid() bool {
	switch v {
	case ViaRoot, ViaUnwrap, ViaMulti, ViaCause, ViaField, ViaUnwrapper, ViaText:
		return true
	}
	return false
}

// hasMore reports whether b holds anything but white space.
func hasMore(b []byte) bool { return len(bytes.TrimSpace(b)) > 0 }

func leadingSpace(b []byte) int64 { return int64(len(b) - len(bytes.TrimLeft(b, " \t\r\n"))) }

// keyOffset finds the offset of a top-level key's value, for errors found
// after decoding. It returns 0 when the key cannot be found.
func keyOffset(data []byte, key string) int64 {
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return 0
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return 0
		}
		if t == key {
			return dec.InputOffset() + 1 + leadingSpace(data[dec.InputOffset()+1:])
		}
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return 0
		}
	}
	return 0
}

// layerOffset finds the offset of layers[i] in data: the error path runs
// the decoder a second time rather than slowing every successful decode.
func layerOffset(data []byte, i int) int64 {
	off := keyOffset(data, "layers")
	if off == 0 {
		return 0
	}
	dec := json.NewDecoder(bytes.NewReader(data[off:]))
	if t, err := dec.Token(); err != nil || t != json.Delim('[') {
		return off
	}
	for n := 0; dec.More(); n++ {
		pos := dec.InputOffset()
		if n == i {
			rest := data[off+pos:]
			return off + pos + int64(len(rest)-len(bytes.TrimLeft(rest, " \t\r\n,")))
		}
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return off
		}
	}
	return off
}
