package policies

import (
	"context"
	"io/fs"
	"testing"

	"github.com/faultline-go/faultline/policy"
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

func TestNames(t *testing.T) {
	assert.Equal(t, []string{"ci", "default", "interactive"}, Names())
}

// TestSource checks that the text Source returns is the policy Load loads,
// so a copy of it decides as the shipped one does.
func TestSource(t *testing.T) {
	for _, name := range Names() {
		src, err := Source(name)
		require.NoError(t, err)
		copied, err := policy.Parse(name+".yaml", src)
		require.NoError(t, err)
		shipped, err := Load(name)
		require.NoError(t, err)
		assert.Equal(t, shipped.Name(), copied.Name())
		assert.Equal(t, shipped.Rules(), copied.Rules())
		assert.Equal(t, len(shipped.Cases()), len(copied.Cases()))
	}
	_, err := Source("nonesuch")
	require.ErrorIs(t, err, fs.ErrNotExist)
}

// Every kind of the vocabulary is decided by a rule of each shipped
// policy, either way: none falls to the default unseen.
func TestShippedCoverTheVocabulary(t *testing.T) {
	for _, name := range Names() {
		p, err := Load(name)
		require.NoError(t, err)
		assert.Empty(t, p.Unreached(), "kinds no rule of %s.yaml reaches", name)
	}
}
