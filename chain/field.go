package chain

import (
	"reflect"
	"unsafe"
)

var errorType = reflect.TypeFor[error]()

// fieldErrors appends to dst the non-nil errors held in the fields of the
// struct behind err, exported or not: the fallback for wrappers that keep
// a cause but forgot to declare Unwrap. Only error-typed interface fields
// and pointer fields whose type implements error are followed.
func fieldErrors(err error, dst []error) []error {
	v := reflect.ValueOf(err)
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return dst
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return dst
	}
	t := v.Type()
	for i := range t.NumField() {
		ft := t.Field(i).Type
		switch {
		case ft.Kind() == reflect.Interface && ft.Implements(errorType):
		case ft.Kind() == reflect.Pointer && ft.Implements(errorType):
		default:
			continue
		}
		f := v.Field(i)
		if f.IsNil() {
			continue
		}
		if e, ok := readField(v, i).(error); ok && e != nil {
			dst = append(dst, e)
		}
	}
	return dst
}

// readField returns field i of struct v as an interface value, even when
// the field is unexported: reflect refuses Interface() on those, so the
// value is read through its address (copying v first when it is not
// addressable).
func readField(v reflect.Value, i int) any {
	f := v.Field(i)
	if f.CanInterface() {
		return f.Interface()
	}
	if !v.CanAddr() {
		c := reflect.New(v.Type()).Elem()
		c.Set(v)
		v, f = c, c.Field(i)
	}
	return reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem().Interface()
}
