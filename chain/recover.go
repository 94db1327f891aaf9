package chain

import "fmt"

// An error's own methods are code we do not control: each call goes through
// one of these wrappers, which turn a panic into data instead of letting it
// escape the walk.

// errorText returns err.Error(), or a description of the panic it raised
// (a nil pointer receiver is the usual cause).
func errorText(err error) (s string) {
	defer func() {
		if r := recover(); r != nil {
			s = "(" + typeName(err) + ").Error() panicked: " + panicText(r)
		}
	}()
	return err.Error()
}

func callSingle(f func() error) (err error) {
	defer func() {
		if recover() != nil {
			err = nil
		}
	}()
	return f()
}

func callMulti(f func() []error) (errs []error) {
	defer func() {
		if recover() != nil {
			errs = nil
		}
	}()
	return f()
}

func callUnwrapper(u Unwrapper, err error, a *Attrs) (cause error, ok bool) {
	defer func() {
		if recover() != nil {
			cause, ok = nil, false
		}
	}()
	return u.Unwrap(err, a)
}

// describe lets an error that implements Describer fill in its attributes.
// It works on a copy, which the interface call moves to the heap, so that
// a stays where the caller keeps it; a panic keeps the attributes as they
// were.
func describe(err error, a *Attrs) {
	d, ok := err.(Describer)
	if !ok {
		return
	}
	h := new(Attrs)
	*h = *a
	defer func() {
		if recover() == nil {
			*a = *h
		}
	}()
	d.DescribeFault(h)
}

// timeoutFlags records the Timeout() and Temporary() answers of err, for
// every type that has them (net errors, url.Error, context's deadline).
func timeoutFlags(err error, a *Attrs) {
	defer func() { _ = recover() }()
	if t, ok := err.(interface{ Timeout() bool }); ok && t.Timeout() {
		a.Timeout = true
	}
	if t, ok := err.(interface{ Temporary() bool }); ok && t.Temporary() {
		a.Temporary = true
	}
}

// safeEqual compares two errors of the same comparable dynamic type; a
// struct with an interface field holding an uncomparable value still
// panics, which counts as "not equal".
func safeEqual(a, b error) (eq bool) {
	defer func() {
		if recover() != nil {
			eq = false
		}
	}()
	return a == b
}

// panicText formats a recovered value, which may itself panic when printed.
func panicText(r any) (s string) {
	defer func() {
		if recover() != nil {
			s = "unprintable panic value"
		}
	}()
	return fmt.Sprint(r)
}
