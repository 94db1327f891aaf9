package classify

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faultline-go/faultline/chain"
)

// everyAttr returns Attrs with only field i set, to a value that is not
// its zero: v, or a pointer to v == 1, or a map holding v.
func everyAttr(t *testing.T, i, v int) chain.Attrs {
	t.Helper()
	var a chain.Attrs
	f := reflect.ValueOf(&a).Elem().Field(i)
	b := v == 1
	switch f.Kind() {
	case reflect.String:
		f.SetString(fmt.Sprint(v))
	case reflect.Int, reflect.Int64:
		f.SetInt(int64(v))
	case reflect.Uint32:
		f.SetUint(uint64(v))
	case reflect.Float64:
		f.SetFloat(float64(v))
	case reflect.Bool:
		f.SetBool(true)
	case reflect.Pointer:
		f.Set(reflect.ValueOf(&b))
	case reflect.Map:
		f.Set(reflect.ValueOf(map[string]string{"k": fmt.Sprint(v)}))
	default:
		require.Failf(t, "a field addAttrs does not know", "%s is a %s", reflect.TypeFor[chain.Attrs]().Field(i).Name, f.Kind())
	}
	require.False(t, a.IsZero())
	return a
}

// addAttrs and sameAttrs know every attribute: a field added to
// chain.Attrs and forgotten here would be lost when a policy's
// recognisers read a layer first, or would make two readings look equal.
func TestAddSameAttrsEveryField(t *testing.T) {
	n := reflect.TypeFor[chain.Attrs]().NumField()
	for i := range n {
		name := reflect.TypeFor[chain.Attrs]().Field(i).Name
		b := everyAttr(t, i, 1)
		var a chain.Attrs
		if name == "Transient" {
			a.Kind, b.Kind = "", "k" // a hint only comes with its kind
		}
		addAttrs(&a, &b)
		assert.Equal(t, b, a, "%s is added", name)
		assert.True(t, sameAttrs(&a, &b), name)
		if name != "Transient" {
			assert.False(t, sameAttrs(&chain.Attrs{}, &b), "%s is compared", name)
		}

		// A field already set stays (a boolean set is set either way).
		a, c := everyAttr(t, i, 1), everyAttr(t, i, 2)
		if name == "Transient" {
			a.Kind, c.Kind = "k", "j"
		}
		want := a
		addAttrs(&a, &c)
		assert.Equal(t, want, a, "%s stays", name)
		if reflect.ValueOf(a).Field(i).Kind() != reflect.Bool {
			assert.False(t, sameAttrs(&a, &c), "%s is compared by value", name)
		}
	}

	// A user's kind keeps its own transience, not the built-in's.
	yes, no := true, false
	a := chain.Attrs{Kind: "rate_limited", Transient: &yes}
	addAttrs(&a, &chain.Attrs{Kind: "connection_reset", Transient: &no, ErrnoName: "ECONNRESET", Errno: 104})
	assert.Equal(t, chain.Attrs{Kind: "rate_limited", Transient: &yes, ErrnoName: "ECONNRESET", Errno: 104}, a)
	a = chain.Attrs{Kind: "server_error"}
	addAttrs(&a, &chain.Attrs{Kind: "deadline", Transient: &yes})
	assert.Nil(t, a.Transient, "the user's kind with its default transience")
	assert.False(t, sameAttrs(&chain.Attrs{Transient: &yes}, &chain.Attrs{Transient: &no}))
	assert.False(t, sameAttrs(&chain.Attrs{Extra: map[string]string{"k": "v"}}, &chain.Attrs{Extra: map[string]string{"k": "w"}}))
}
