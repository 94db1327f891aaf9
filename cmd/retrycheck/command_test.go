package main

import (
	"flag"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseInterspersed(t *testing.T) {
	tests := []struct {
		args     []string
		wantPos  []string
		wantCase string
		wantV    bool
	}{
		{[]string{"a.yaml", "--cases", "dir"}, []string{"a.yaml"}, "dir", false},
		{[]string{"--cases", "dir", "a.yaml", "b.yaml"}, []string{"a.yaml", "b.yaml"}, "dir", false},
		{[]string{"a.yaml", "-v", "b.yaml"}, []string{"a.yaml", "b.yaml"}, "", true},
		{[]string{"-", "--cases=d"}, []string{"-"}, "d", false},
		{[]string{"--", "-v", "x"}, []string{"-v", "x"}, "", false},
		{[]string{"a", "--", "--cases", "x"}, []string{"a", "--cases", "x"}, "", false},
		{nil, nil, "", false},
	}
	for _, tt := range tests {
		fs := newFlagSet("t")
		cases := fs.String("cases", "", "")
		v := fs.Bool("v", false, "")
		pos, err := parseInterspersed(fs, tt.args)
		require.NoError(t, err, "%q", tt.args)
		assert.Equal(t, tt.wantPos, pos, "%q", tt.args)
		assert.Equal(t, tt.wantCase, *cases, "%q", tt.args)
		assert.Equal(t, tt.wantV, *v, "%q", tt.args)
	}
	_, err := parseInterspersed(newFlagSet("t"), []string{"x", "--nope"})
	assert.ErrorContains(t, err, "nope")
}

// TestEveryCommandHasHelp checks each command's help: a usage line, an
// example, and --help exiting 0 with the same text.
func TestEveryCommandHasHelp(t *testing.T) {
	for _, c := range commands() {
		t.Run(c.name, func(t *testing.T) {
			h := commandHelp(c)
			assert.Contains(t, h, "Usage: retrycheck "+c.name)
			assert.Contains(t, h, "Example:")
			for _, form := range [][]string{{c.name, "--help"}, {c.name, "-h"}, {"help", c.name}} {
				r := runCLI(t, "", form...)
				assert.Equal(t, exitOK, r.code, "%q", form)
				assert.Equal(t, h, r.stdout, "%q", form)
			}
		})
	}
}

func TestCommandsHaveDistinctFlagSets(t *testing.T) {
	// Building the table twice must give independent flag sets: nothing
	// about one run may leak into the next.
	a, b := newFlagSet("decide"), newFlagSet("decide")
	cl1, cl2 := &cli{}, &cli{}
	decideCommand().setup(a, cl1)
	decideCommand().setup(b, cl2)
	require.NoError(t, a.Parse([]string{"--policy", "x.yaml", "--json"}))
	assert.Equal(t, "x.yaml", cl1.policyPath)
	assert.Empty(t, cl2.policyPath)
	assert.False(t, cl2.json)
	var names []string
	b.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	assert.Contains(t, names, "retry-after")
}
