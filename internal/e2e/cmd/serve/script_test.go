package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	fs "github.com/faultline-go/faultline/faulttest"
)

func TestParseScript(t *testing.T) {
	tests := []struct {
		in   string
		want []fs.Fault
		err  string
	}{
		{in: "", want: nil},
		{in: "reset@25%,reset@25%,reset@25%", want: []fs.Fault{{Kind: fs.Reset, At: 250}, {Kind: fs.Reset, At: 250}, {Kind: fs.Reset, At: 250}}},
		{in: "none, reset_stream@100 ,goaway@0%", want: []fs.Fault{{}, {Kind: fs.ResetStream, At: 100}, {Kind: fs.GoAway}}},
		{in: "ignore_range,change_content,status", want: []fs.Fault{{Kind: fs.IgnoreRange}, {Kind: fs.ChangeContent}, {Kind: fs.Status}}},
		{in: "truncate@100%", want: []fs.Fault{{Kind: fs.Truncate, At: 1000}}},
		{in: "explode", err: `fault 1 "explode": unknown fault kind "explode"`},
		{in: "reset@-1", err: `fault 1 "reset@-1": offset "-1": want a byte count or a percentage`},
		{in: "reset,reset@101%", err: `fault 2 "reset@101%": offset "101%": want a percentage from 0 to 100`},
		{in: "reset@x%", err: `want a percentage`},
		{in: "reset,", err: `fault 2 "": unknown fault kind ""`},
	}
	for _, tt := range tests {
		got, err := parseScript(tt.in, 1000)
		if tt.err != "" {
			assert.ErrorContains(t, err, tt.err, "%q", tt.in)
			continue
		}
		require.NoError(t, err, "%q", tt.in)
		assert.Equal(t, tt.want, got, "%q", tt.in)
	}
}

func FuzzParseScript(f *testing.F) {
	for _, s := range []string{"reset@25%,reset@25%,reset@25%", "none,reset_stream@100", "stall@50%", "corrupt@1e3", "reset@%"} {
		f.Add(s, int64(157286400))
	}
	f.Fuzz(func(t *testing.T, s string, size int64) {
		if size < 0 {
			t.Skip("a file has no negative size")
		}
		faults, err := parseScript(s, size)
		if err != nil {
			return
		}
		for _, ft := range faults {
			if ft.At < 0 {
				t.Fatalf("%q: negative offset %d", s, ft.At)
			}
		}
	})
}
