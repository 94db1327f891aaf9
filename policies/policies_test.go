package policies

import (
	"context"
	"io/fs"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestShipped loads every shipped policy, runs its test cases, and fails
// if a case fails or a rule is never fired by any case.
func TestShipped(t *testing.T) {
	names, err := fs.Glob(FS, "*.yaml")
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"default.yaml", "ci.yaml", "interactive.yaml"}, names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			p, err := Load(name)
			require.NoError(t, err)
			require.NotEmpty(t, p.Cases(), "a shipped policy carries test cases")
			results := p.RunCases(context.Background())
			for _, r := range results {
				assert.NoError(t, r.Err, "case %q", r.Case.Name)
				assert.Empty(t, r.Diff, "case %q (line %d): trace %+v", r.Case.Name, r.Case.Line, r.Decision.Trace)
			}
			assert.Empty(t, p.Unfired(results), "rules no test case fires")
		})
	}
}

func TestDefault(t *testing.T) {
	p := Default()
	assert.Equal(t, "default", p.Name())
	assert.Same(t, p, Default(), "Default loads once")
}

func TestLoadUnknown(t *testing.T) {
	_, err := Load("nonesuch")
	require.ErrorIs(t, err, fs.ErrNotExist)
}
