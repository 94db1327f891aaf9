package chain

import (
	"reflect"
	"strings"
	"sync"
)

// typeNames caches the formatted name of each dynamic type seen. It is a
// cache of a pure function, not a registry: it only saves the allocation of
// joining a package path to a name on every walk.
var typeNames sync.Map // reflect.Type -> string

// typeName formats the dynamic type of v with its full package path:
// "*net.OpError", "golang.org/x/net/http2.StreamError",
// "net/http.http2GoAwayError", "compress/flate.CorruptInputError". Each
// leading "*" is one pointer indirection. Unnamed types print as reflect
// prints them ("[]error").
func typeName(v any) string {
	t := reflect.TypeOf(v)
	if t == nil {
		return ""
	}
	if s, ok := typeNames.Load(t); ok {
		return s.(string)
	}
	s := formatType(t)
	typeNames.Store(t, s)
	return s
}

func formatType(t reflect.Type) string {
	stars := 0
	for t.Kind() == reflect.Pointer && t.Name() == "" {
		stars++
		t = t.Elem()
	}
	name := t.String()
	if t.Name() != "" && t.PkgPath() != "" {
		name = t.PkgPath() + "." + t.Name()
	}
	return strings.Repeat("*", stars) + name
}
