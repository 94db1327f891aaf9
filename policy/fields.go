package policy

import (
	"reflect"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
)

// fieldProvider is the environment's type provider with a cheaper way to
// read the fields of the native struct types. cel-go's own getter returns
// each field as a Go value through reflect.Value.Interface, which
// allocates for strings and most integers, and the interpreter then
// converts that value to a CEL value, twice when the cost is tracked.
// Here a scalar field is read straight into its CEL value, and a struct
// field is handed on by pointer; the values are the ones cel-go would
// produce, only built with fewer allocations.
type fieldProvider struct {
	types.Provider
	fields map[fieldKey]*types.FieldType // the fields with a faster getter
}

type fieldKey struct{ structType, field string }

// fastFields wraps the environment's provider in a fieldProvider for the
// given struct types and those nested in them. It must come after every
// option that registers types, since those need cel-go's own registry.
func fastFields(roots ...reflect.Type) cel.EnvOption {
	return func(e *cel.Env) (*cel.Env, error) {
		structs := map[string]reflect.Type{}
		for _, t := range roots {
			addStructs(structs, t)
		}
		p := &fieldProvider{Provider: e.CELTypeProvider(), fields: map[fieldKey]*types.FieldType{}}
		for name, t := range structs {
			for _, f := range reflect.VisibleFields(t) {
				if !f.IsExported() || len(f.Index) != 1 {
					continue
				}
				ft, ok := p.Provider.FindStructFieldType(name, celName(f))
				if !ok || ft == nil || ft.GetFrom == nil {
					continue
				}
				fast := *ft
				fast.GetFrom = fastGetter(t, f, ft.GetFrom)
				p.fields[fieldKey{name, celName(f)}] = &fast
			}
		}
		return cel.CustomTypeProvider(p)(e)
	}
}

// addStructs records t and the struct types of its fields under the names
// ext.NativeTypes gives them: the last element of the package path, a dot,
// the type name.
func addStructs(m map[string]reflect.Type, t reflect.Type) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || t == reflect.TypeFor[time.Time]() {
		return
	}
	pkg := t.PkgPath()
	name := pkg[strings.LastIndex(pkg, "/")+1:] + "." + t.Name()
	if _, seen := m[name]; seen {
		return
	}
	m[name] = t
	for _, f := range reflect.VisibleFields(t) {
		if f.IsExported() {
			addStructs(m, f.Type)
		}
	}
}

// celName is the name CEL gives field f: the first element of its cel
// tag, or its Go name, as ext.ParseStructTags(true) has it.
func celName(f reflect.StructField) string {
	if tag, ok := f.Tag.Lookup("cel"); ok {
		name, _, _ := strings.Cut(tag, ",")
		return name
	}
	return f.Name
}

// FindStructFieldType returns cel-go's description of the field, with the
// faster getter when there is one.
func (p *fieldProvider) FindStructFieldType(structType, fieldName string) (*types.FieldType, bool) {
	if ft, ok := p.fields[fieldKey{structType, fieldName}]; ok {
		return ft, true
	}
	return p.Provider.FindStructFieldType(structType, fieldName)
}

// fastGetter reads field f of a *t into a CEL value. Anything else, or a
// field kind it has no short way for, goes to slow, cel-go's own getter.
func fastGetter(t reflect.Type, f reflect.StructField, slow ref.FieldGetter) ref.FieldGetter {
	var conv func(v reflect.Value) any
	switch k := f.Type.Kind(); {
	case f.Type == reflect.TypeFor[time.Duration]():
		conv = func(v reflect.Value) any { return types.Duration{Duration: time.Duration(v.Int())} }
	case k == reflect.String:
		conv = new(stringCache).conv
	case k == reflect.Bool:
		conv = func(v reflect.Value) any { return types.Bool(v.Bool()) }
	case k >= reflect.Int && k <= reflect.Int64:
		conv = func(v reflect.Value) any { return types.Int(v.Int()) }
	case k >= reflect.Uint && k <= reflect.Uint64:
		conv = func(v reflect.Value) any { return types.Uint(v.Uint()) }
	case k == reflect.Float32 || k == reflect.Float64:
		conv = func(v reflect.Value) any { return types.Double(v.Float()) }
	case k == reflect.Struct && f.Type != reflect.TypeFor[time.Time]():
		// A pointer to the field stands for the field: the adapter
		// treats both alike, and the pointer costs no copy.
		conv = func(v reflect.Value) any { return v.Addr().Interface() }
	default:
		return slow
	}
	ptr := reflect.PointerTo(t)
	i := f.Index[0]
	return func(obj any) (any, error) {
		v := reflect.ValueOf(obj)
		if !v.IsValid() || v.Type() != ptr || v.IsNil() {
			return slow(obj)
		}
		return conv(v.Elem().Field(i)), nil
	}
}

// A stringCache remembers the last CEL string one field getter made.
// Putting a string in an interface allocates, and a decision reads the
// same field (error.kind above all) several times, as does the next
// decision more often than not. It is a cache of a pure conversion, safe
// for concurrent use; a miss costs one allocation more than no cache, and
// the one string kept is bounded like every string of the Input.
type stringCache struct {
	last atomic.Pointer[cachedString]
}

type cachedString struct {
	s string
	v any // types.String(s)
}

func (c *stringCache) conv(v reflect.Value) any {
	s := v.String()
	if l := c.last.Load(); l != nil && l.s == s {
		return l.v
	}
	l := &cachedString{s: s, v: types.String(s)}
	c.last.Store(l)
	return l.v
}
