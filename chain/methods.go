package chain

import (
	"net/http"
	"reflect"
	"sync"
)

// Go libraries expose the facts of a failure through methods and fields
// rather than through Unwrap: an SDK's HTTP status, an API's error code, a
// gRPC status, its own verdict on a retry. methodFacts reads them without
// importing any SDK — by the interfaces the SDKs define, which any type
// can satisfy, and by reflection where a method's result is a type of the
// SDK's own (gRPC's *status.Status) — so that a chain carries them as
// attributes like any other.
//
// What they give, and where:
//
//	HTTPStatusCode() int            HTTPStatus (aws-sdk-go-v2's smithy ResponseError)
//	StatusCode() int                HTTPStatus
//	a StatusCode, HTTPStatusCode    HTTPStatus (Azure's azcore.ResponseError); Code with a Header
//	  or HTTPStatus int field         or Body field (Google's googleapi.Error); ErrStatus.Code
//	                                  (Kubernetes' StatusError), with ErrStatus.Reason as ErrorCode
//	ErrorCode() string              ErrorCode (smithy's APIError); an ErrorCode string field
//	GRPCStatus() *status.Status     GRPCCode, from the status's Code() (grpc-go)
//	RetryableError() bool           Retryable (aws-sdk-go-v2's retry.RetryableError)
//	ConnectionError() bool          Kind "connection" when true (smithy's RequestSendError)
//	Timeout(), Temporary()          Timeout, Temporary (net errors; see timeoutFlags)
//
// A fact an Unwrapper or a Describer already gave is kept: they know the
// type better. A method that panics gives nothing.
func methodFacts(err error, a *Attrs) {
	defer func() { _ = recover() }()
	if a.HTTPStatus == 0 {
		switch e := err.(type) {
		case interface{ HTTPStatusCode() int }:
			a.HTTPStatus = validStatus(e.HTTPStatusCode())
		case interface{ StatusCode() int }:
			a.HTTPStatus = validStatus(e.StatusCode())
		}
	}
	if e, ok := err.(interface{ ErrorCode() string }); ok && a.ErrorCode == "" {
		a.ErrorCode = cleanCode(e.ErrorCode())
	}
	if e, ok := err.(interface{ RetryableError() bool }); ok && a.Retryable == nil {
		r := e.RetryableError()
		a.Retryable = &r
	}
	if e, ok := err.(interface{ ConnectionError() bool }); ok && e.ConnectionError() && a.Kind == "" {
		a.Kind = "connection"
	}
	t := reflect.TypeOf(err)
	if t == nil {
		return
	}
	m := methodsOf(t)
	if m.grpcStatus >= 0 && a.GRPCCode == "" {
		a.GRPCCode = grpcStatusCode(reflect.ValueOf(err).Method(m.grpcStatus))
	}
	if m.fields {
		fieldFacts(reflect.ValueOf(err), m, a)
	}
}

// validStatus returns code when it is an HTTP status, else 0.
func validStatus(code int) int {
	if code < 100 || code > 599 {
		return 0
	}
	return code
}

// cleanCode bounds an error code to something a code can be: a short word.
func cleanCode(s string) string {
	if len(s) > 128 {
		return ""
	}
	return s
}

// typeMethods is what methodFacts learned about a type, once.
type typeMethods struct {
	grpcStatus int // index of a usable GRPCStatus method, or -1
	fields     bool
	status     []int // the index path of an int status field, or nil
	code       []int // of an ErrorCode string field
	needHeader bool  // status is a "Code" field, believed with a Header or Body beside it
	k8sCode    []int // ErrStatus.Code
	k8sReason  []int // ErrStatus.Reason
}

var typeMethodsCache sync.Map // reflect.Type → *typeMethods

// methodsOf returns, from the cache, what a type offers.
func methodsOf(t reflect.Type) *typeMethods {
	if v, ok := typeMethodsCache.Load(t); ok {
		return v.(*typeMethods)
	}
	m := &typeMethods{grpcStatus: -1}
	if meth, ok := t.MethodByName("GRPCStatus"); ok && meth.Type.NumIn() == 1 && meth.Type.NumOut() == 1 {
		out := meth.Type.Out(0)
		if code, ok := out.MethodByName("Code"); ok && code.Type.NumIn() == 1 && code.Type.NumOut() == 1 &&
			isUint(code.Type.Out(0).Kind()) {
			m.grpcStatus = meth.Index
		}
	}
	st := t
	for st.Kind() == reflect.Pointer {
		st = st.Elem()
	}
	if st.Kind() == reflect.Struct {
		for _, name := range [...]string{"StatusCode", "HTTPStatusCode", "HTTPStatus"} {
			if f, ok := st.FieldByName(name); ok && f.IsExported() && isInt(f.Type.Kind()) {
				m.status = f.Index
				break
			}
		}
		if m.status == nil {
			if f, ok := st.FieldByName("Code"); ok && f.IsExported() && isInt(f.Type.Kind()) && hasResponseField(st) {
				m.status, m.needHeader = f.Index, true
			}
		}
		if f, ok := st.FieldByName("ErrorCode"); ok && f.IsExported() && f.Type.Kind() == reflect.String {
			m.code = f.Index
		}
		if f, ok := st.FieldByName("ErrStatus"); ok && f.IsExported() && f.Type.Kind() == reflect.Struct {
			if c, ok := f.Type.FieldByName("Code"); ok && isInt(c.Type.Kind()) {
				m.k8sCode = append(append([]int(nil), f.Index...), c.Index...)
			}
			if r, ok := f.Type.FieldByName("Reason"); ok && r.Type.Kind() == reflect.String {
				m.k8sReason = append(append([]int(nil), f.Index...), r.Index...)
			}
		}
		m.fields = m.status != nil || m.code != nil || m.k8sCode != nil || m.k8sReason != nil
	}
	v, _ := typeMethodsCache.LoadOrStore(t, m)
	return v.(*typeMethods)
}

var headerType = reflect.TypeFor[http.Header]()

// hasResponseField reports whether a struct carries an HTTP response's
// parts beside a Code: a Header or a Body, as googleapi.Error does. A
// bare "Code" is too common a name to be taken for a status alone.
func hasResponseField(st reflect.Type) bool {
	if f, ok := st.FieldByName("Header"); ok && f.Type == headerType {
		return true
	}
	f, ok := st.FieldByName("Body")
	return ok && f.Type.Kind() == reflect.String
}

// fieldFacts reads the fields methodsOf found.
func fieldFacts(v reflect.Value, m *typeMethods, a *Attrs) {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return
	}
	if a.HTTPStatus == 0 {
		for _, path := range [][]int{m.status, m.k8sCode} {
			if path == nil {
				continue
			}
			if f, err := v.FieldByIndexErr(path); err == nil {
				if s := validStatus(intValue(f)); s != 0 {
					a.HTTPStatus = s
					break
				}
			}
		}
	}
	if a.ErrorCode == "" {
		for _, path := range [][]int{m.code, m.k8sReason} {
			if path == nil {
				continue
			}
			if f, err := v.FieldByIndexErr(path); err == nil && f.String() != "" {
				a.ErrorCode = cleanCode(f.String())
				break
			}
		}
	}
}

// grpcStatusCode calls a GRPCStatus method and names the status's code,
// or returns "" for a nil status or OK.
func grpcStatusCode(method reflect.Value) string {
	out := method.Call(nil)[0]
	if out.Kind() == reflect.Pointer && out.IsNil() || !out.IsValid() {
		return ""
	}
	code := out.MethodByName("Code").Call(nil)[0].Uint()
	if code == 0 {
		return ""
	}
	return GRPCCodeName(code)
}

// intValue reads an integer of any kind.
func intValue(v reflect.Value) int {
	if isUint(v.Kind()) {
		return int(min(v.Uint(), 1<<31))
	}
	return int(v.Int())
}

func isInt(k reflect.Kind) bool {
	return k >= reflect.Int && k <= reflect.Int64 || isUint(k)
}

func isUint(k reflect.Kind) bool { return k >= reflect.Uint && k <= reflect.Uint64 }
