package policy

import (
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// withinCaps knows every string, list and map of Input: each one made
// longer than its cap, alone, takes the input out of the caps, so a field
// added to Facts or State without a cap falls back to the tracked
// program. Every string at its cap, and every list at its cap, is within.
func TestWithinCapsEveryField(t *testing.T) {
	var in Input
	assert.True(t, withinCaps(&in))
	n := 0
	forEachCapped(reflect.ValueOf(&in).Elem(), "input", func(path string, set func(over bool)) {
		n++
		set(false)
		assert.True(t, withinCaps(&in), "%s at its cap", path)
		set(true)
		assert.False(t, withinCaps(&in), "%s over its cap", path)
		set(false)
	})
	assert.Greater(t, n, 20, "the walk found the fields")
}

// TestBoundInputEveryField: whatever field is past its cap, boundInput
// brings the input back within the caps the cost estimate assumes, so the
// estimate is a true bound for every input a policy sees.
func TestBoundInputEveryField(t *testing.T) {
	var in Input
	n := 0
	forEachCapped(reflect.ValueOf(&in).Elem(), "input", func(path string, set func(over bool)) {
		n++
		set(true)
		b := boundInput(in)
		assert.True(t, withinCaps(&b), "boundInput leaves %s over its cap", path)
		set(false)
	})
	assert.Greater(t, n, 20, "the walk found the fields")
}

// forEachCapped calls fn for every string, slice and map reachable in v
// (a slice or map holding one element whose strings are visited too),
// with a function that sets it at (over false) or one past (over true)
// its cap.
func forEachCapped(v reflect.Value, path string, fn func(path string, set func(over bool))) {
	switch v.Kind() {
	case reflect.String:
		fn(path, func(over bool) {
			n := capText
			if over {
				n++
			}
			v.SetString(strings.Repeat("x", n))
		})
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				forEachCapped(v.Field(i), path+"."+v.Type().Field(i).Name, fn)
			}
		}
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		forEachCapped(v.Elem(), path, fn)
		v.SetZero()
	case reflect.Slice:
		limit := map[string]int{"input.Error.Layers": capLayers, "input.State.History": capHistory}[path]
		fn(path, func(over bool) {
			n := limit
			if over {
				n++
			}
			v.Set(reflect.MakeSlice(v.Type(), n, n))
		})
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		forEachCapped(v.Index(0), path+"[0]", fn)
		v.SetZero()
	case reflect.Map:
		fn(path, func(over bool) {
			n := capLabels
			if over {
				n++
			}
			m := reflect.MakeMap(v.Type())
			for i := range n {
				m.SetMapIndex(reflect.ValueOf(strings.Repeat("k", i+1)), reflect.ValueOf("v"))
			}
			v.Set(m)
		})
		fn(path+" key", func(over bool) {
			n := capText
			if over {
				n++
			}
			v.Set(reflect.ValueOf(map[string]string{strings.Repeat("k", n): "v"}))
		})
		fn(path+" value", func(over bool) {
			n := capText
			if over {
				n++
			}
			v.Set(reflect.ValueOf(map[string]string{"k": strings.Repeat("v", n)}))
		})
	}
}
