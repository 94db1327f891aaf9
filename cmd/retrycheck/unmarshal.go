package main

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"

	gojson "github.com/goccy/go-json"
)

// unmarshal decodes data into *v exactly as encoding/json does, about
// four times faster: goccy/go-json decodes first, and encoding/json
// decodes again whatever it refuses (or panics on), so that every error,
// with its offset, is encoding/json's own. FuzzUnmarshalAsStd holds the
// two to the same values. Decoding dumps is most of decide's work over
// JSON Lines; see the README's figures.
func unmarshal[T any](data []byte, v *T) error {
	if fastUnmarshal(data, v) {
		return nil
	}
	var zero T
	*v = zero
	return json.Unmarshal(data, v)
}

func fastUnmarshal[T any](data []byte, v *T) (ok bool) {
	// goccy/go-json accepts some invalid JSON (a trailing comma) and
	// keeps invalid UTF-8 as it is, where encoding/json writes U+FFFD.
	if !validJSON(data) || !utf8.Valid(data) {
		return false
	}
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	return gojson.Unmarshal(data, v) == nil
}

// appendJSON appends v as JSON and a line break to b, byte for byte as an
// encoding/json Encoder with SetEscapeHTML(false) writes it, about three
// times faster; TestAppendJSONAsStd and FuzzAppendJSONAsStd hold the two
// to the same bytes over decide's output. An error from goccy/go-json is
// left to encoding/json to report.
func appendJSON(b []byte, v any) ([]byte, error) {
	buf := bytes.NewBuffer(b)
	fast := gojson.NewEncoder(buf)
	fast.SetEscapeHTML(false)
	if err := fast.Encode(v); err == nil {
		return buf.Bytes(), nil
	}
	buf = bytes.NewBuffer(b)
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(v)
	return buf.Bytes(), err
}
