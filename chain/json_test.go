package chain_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faultline-go/faultline/chain"
)

func TestJSONRoundTrip(t *testing.T) {
	sources := map[string]chain.Chain{
		"realistic": chain.Walk(realisticError()),
		"join":      chain.Walk(errors.Join(io.EOF, fmt.Errorf("w: %w", syscall.EPIPE))),
		"text":      chain.FromText("error: a\n  Caused by: b\n  Caused by: connection refused"),
		"describer": chain.Walk(described{429}),
		"empty":     chain.Walk(nil),
	}
	for name, c := range sources {
		t.Run(name, func(t *testing.T) {
			data, err := json.Marshal(c)
			require.NoError(t, err)
			back, err := chain.Decode(data)
			require.NoError(t, err)
			assert.Equal(t, c, back)
			again, err := json.Marshal(back)
			require.NoError(t, err)
			assert.Equal(t, string(data), string(again))
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	valid := `{"schema":1,"layers":[{"message":"a: b","own":"a","via":"root","parent":-1},{"message":"b","via":"unwrap","parent":0,"depth":1}]}`
	_, err := chain.Decode([]byte(valid))
	require.NoError(t, err)

	// Offsets point at the layer or value at fault; for syntax, type and
	// unknown-field errors they are encoding/json's: just past the token.
	tests := []struct {
		name   string
		in     string
		offset int64
		field  string
		msg    string
	}{
		{"future schema", `{"schema":3,"layers":[]}`, 10, "schema", "unsupported schema version 3"},
		{"future schema with new fields", `{"layers":[], "newthing":1, "schema": 9}`, 38, "schema", "unsupported schema version 9"},
		{"no schema", `{"layers":[]}`, 0, "schema", "unsupported schema version 0"},
		{"unknown field", `{"schema":1,"layerz":[]}`, 24, "", "unknown field"},
		{"syntax", `{"schema":1,"layers":[}`, 23, "", "invalid character"},
		{"type", `{"schema":1,"layers":[{"parent":"x"}]}`, 35, "layers.parent", "cannot unmarshal"},
		{"empty", ``, 0, "", "no JSON value"},
		{"trailing", valid + ` {}`, int64(len(valid)) + 1, "", "unexpected data"},
		{"bad parent", strings.Replace(valid, `"parent":0`, `"parent":1`, 1), 76, "layers[1].parent", "does not precede"},
		{"bad depth", strings.Replace(valid, `"depth":1`, `"depth":3`, 1), 76, "layers[1].depth", "want 1"},
		{"bad via", strings.Replace(valid, `"unwrap"`, `"teleport"`, 1), 76, "layers[1].via", "unknown via"},
		{"second root", strings.Replace(valid, `"unwrap"`, `"root"`, 1), 76, "layers[1].via", "only the first layer"},
		{"root with parent", strings.Replace(valid, `"parent":-1`, `"parent":0`, 1), 22, "layers[0].parent", "want -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := chain.Decode([]byte(tt.in))
			require.Error(t, err)
			var de *chain.DecodeError
			require.ErrorAs(t, err, &de)
			assert.Equal(t, tt.offset, de.Offset, "offset: %v", err)
			assert.Equal(t, tt.field, de.Field)
			assert.Contains(t, err.Error(), tt.msg)
			if strings.Contains(tt.name, "schema") {
				assert.ErrorIs(t, err, chain.ErrSchema)
			}
		})
	}
}
