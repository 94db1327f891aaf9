package chain_test

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-multierror"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/http2"

	"github.com/faultline-go/faultline/chain"
)

// shape is the part of a layer most tests check.
type shape struct {
	Type   string
	Via    chain.Via
	Parent int
	Own    string
}

func shapes(c chain.Chain) []shape {
	out := make([]shape, len(c.Layers))
	for i, l := range c.Layers {
		out[i] = shape{l.Type, l.Via, l.Parent, l.Own}
	}
	return out
}

// Error types for the walker to see through.

// causer is a pkg/errors-style wrapper: Cause, no Unwrap.
type causer struct {
	msg   string
	cause error
}

func (e causer) Error() string { return e.msg + ": " + e.cause.Error() }
func (e causer) Cause() error  { return e.cause }

// forgetful keeps its cause in an unexported field and declares no way to
// unwrap it.
type forgetful struct {
	op  string
	err error
}

func (e *forgetful) Error() string { return e.op + ": " + e.err.Error() }

// custom hides its cause from every standard method; only a user
// Unwrapper knows where it is.
type custom struct {
	code  int
	inner error
}

func (e custom) Error() string { return fmt.Sprintf("custom %d", e.code) }

// described reports its own attributes.
type described struct{ status int }

func (e described) Error() string { return fmt.Sprintf("status %d", e.status) }
func (e described) DescribeFault(a *chain.Attrs) {
	a.HTTPStatus = e.status
	a.RetryAfter = 2.5
}

func TestWalkStructure(t *testing.T) {
	reset := os.NewSyscallError("read", syscall.ECONNRESET)
	op := &net.OpError{Op: "read", Net: "tcp",
		Source: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000},
		Addr:   &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}, Err: reset}

	tests := []struct {
		name string
		err  error
		want []shape
	}{
		{"nil-free leaf", io.ErrUnexpectedEOF, []shape{{"*errors.errorString", chain.ViaRoot, -1, "unexpected EOF"}}},
		{"fmt wrap", fmt.Errorf("fetch: %w", io.ErrUnexpectedEOF), []shape{
			{"*fmt.wrapError", chain.ViaRoot, -1, "fetch"},
			{"*errors.errorString", chain.ViaUnwrap, 0, "unexpected EOF"},
		}},
		{"net stack", fmt.Errorf("body: %w", op), []shape{
			{"*fmt.wrapError", chain.ViaRoot, -1, "body"},
			{"*net.OpError", chain.ViaUnwrap, 0, "read tcp 127.0.0.1:40000->127.0.0.1:8080"},
			{"*os.SyscallError", chain.ViaUnwrap, 1, "read"},
			{"syscall.Errno", chain.ViaUnwrap, 2, "connection reset by peer"},
		}},
		{"join is a tree", errors.Join(io.EOF, fmt.Errorf("b: %w", context.Canceled)), []shape{
			{"*errors.joinError", chain.ViaRoot, -1, ""},
			{"*errors.errorString", chain.ViaMulti, 0, "EOF"},
			{"*fmt.wrapError", chain.ViaMulti, 0, "b"},
			{"*errors.errorString", chain.ViaUnwrap, 2, "context canceled"},
		}},
		{"Cause", causer{"outer", io.ErrUnexpectedEOF}, []shape{
			{"github.com/faultline-go/faultline/chain_test.causer", chain.ViaRoot, -1, "outer"},
			{"*errors.errorString", chain.ViaCause, 0, "unexpected EOF"},
		}},
		{"field fallback", &forgetful{"copy", io.ErrUnexpectedEOF}, []shape{
			{"*github.com/faultline-go/faultline/chain_test.forgetful", chain.ViaRoot, -1, "copy"},
			{"*errors.errorString", chain.ViaField, 0, "unexpected EOF"},
		}},
		{"stream error cause", http2.StreamError{StreamID: 5, Code: http2.ErrCodeCancel, Cause: io.ErrUnexpectedEOF}, []shape{
			{"golang.org/x/net/http2.StreamError", chain.ViaRoot, -1, "stream error: stream ID 5; CANCEL"},
			{"*errors.errorString", chain.ViaUnwrapper, 0, "unexpected EOF"},
		}},
		{"url", &url.Error{Op: "Get", URL: "http://h:1/p", Err: io.EOF}, []shape{
			{"*net/url.Error", chain.ViaRoot, -1, `Get "http://h:1/p"`},
			{"*errors.errorString", chain.ViaUnwrap, 0, "EOF"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := chain.Walk(tt.err)
			assert.Equal(t, tt.want, shapes(c))
			assert.Empty(t, c.Truncated)
			require.NotEmpty(t, c.Layers)
			assert.Equal(t, tt.err.Error(), c.Layers[0].Message)
			assertTree(t, c)
		})
	}
}

// assertTree checks the invariants every Chain keeps.
func assertTree(t *testing.T, c chain.Chain) {
	t.Helper()
	assert.Equal(t, chain.SchemaVersion, c.Schema)
	for i, l := range c.Layers {
		if i == 0 {
			assert.Equal(t, -1, l.Parent)
			assert.Equal(t, 0, l.Depth)
			assert.Equal(t, chain.ViaRoot, l.Via)
			continue
		}
		if assert.Less(t, l.Parent, i, "layer %d: parent must precede it", i) && assert.GreaterOrEqual(t, l.Parent, 0) {
			assert.Equal(t, c.Layers[l.Parent].Depth+1, l.Depth, "layer %d depth", i)
		}
		assert.NotEqual(t, chain.ViaRoot, l.Via)
	}
}

func TestWalkAttrs(t *testing.T) {
	tests := []struct {
		name  string
		err   error
		layer int
		want  chain.Attrs
	}{
		{"errno", syscall.ECONNREFUSED, 0, chain.Attrs{Errno: int(syscall.ECONNREFUSED), ErrnoName: "ECONNREFUSED"}},
		{"syscall", os.NewSyscallError("connect", syscall.ECONNREFUSED), 0, chain.Attrs{Op: "connect"}},
		{"op error", &net.OpError{Op: "dial", Net: "tcp", Addr: &net.TCPAddr{IP: net.IPv4(10, 1, 2, 3), Port: 443}, Err: syscall.ETIMEDOUT}, 0,
			chain.Attrs{Op: "dial", Net: "tcp", Addr: "10.1.2.3:443", Timeout: true, Temporary: true}},
		{"op error unix", &net.OpError{Op: "dial", Net: "unix", Addr: &net.UnixAddr{Name: "/run/x: y.sock", Net: "unix"}, Err: syscall.ENOENT}, 0,
			chain.Attrs{Op: "dial", Net: "unix", Addr: "/run/x: y.sock"}},
		{"dns", &net.DNSError{Err: "no such host", Name: "nope.invalid", Server: "127.0.0.53:53", IsNotFound: true}, 0,
			chain.Attrs{Host: "nope.invalid", Addr: "127.0.0.53:53", NotFound: true, Kind: "dns"}},
		{"path", &fs.PathError{Op: "open", Path: "/x/y", Err: syscall.EACCES}, 0, chain.Attrs{Op: "open", Addr: "/x/y"}},
		{"url", &url.Error{Op: "Get", URL: "https://a/b", Err: io.EOF}, 0, chain.Attrs{Op: "Get", Addr: "https://a/b"}},
		{"stream from peer", http2.StreamError{StreamID: 3, Code: http2.ErrCodeInternal, Cause: errors.New("received from peer")}, 0,
			chain.Attrs{H2StreamID: 3, H2Code: "INTERNAL_ERROR", H2Remote: true, Kind: "h2_stream"}},
		//lint:ignore SA1019 the deprecated type is still what x/net's transport returns
		{"goaway", http2.GoAwayError{LastStreamID: 7, ErrCode: http2.ErrCodeEnhanceYourCalm, DebugData: "slow down"}, 0,
			chain.Attrs{H2LastStreamID: 7, H2Code: "ENHANCE_YOUR_CALM", H2Debug: "slow down", H2Remote: true, H2GoAway: true, Kind: "h2_goaway"}},
		{"connection error", http2.ConnectionError(http2.ErrCodeProtocol), 0, chain.Attrs{H2Code: "PROTOCOL_ERROR", Kind: "h2_connection"}},
		{"unknown h2 code", http2.ConnectionError(99), 0, chain.Attrs{H2Code: "ERR_UNKNOWN_99", Kind: "h2_connection"}},
		{"gzip checksum", fmt.Errorf("unpack: %w", gzip.ErrChecksum), 1, chain.Attrs{Format: "gzip", Kind: "checksum"}},
		{"tar header", tar.ErrHeader, 0, chain.Attrs{Format: "tar", Kind: "archive"}},
		{"tar insecure", tar.ErrInsecurePath, 0, chain.Attrs{Format: "tar", Kind: "unsafe_archive"}},
		{"deadline", context.DeadlineExceeded, 0, chain.Attrs{Kind: "deadline", Timeout: true, Temporary: true}},
		{"canceled", context.Canceled, 0, chain.Attrs{Kind: "canceled"}},
		{"i/o timeout", os.ErrDeadlineExceeded, 0, chain.Attrs{Timeout: true, Temporary: true}},
		{"describer", fmt.Errorf("get: %w", described{503}), 1, chain.Attrs{HTTPStatus: 503, RetryAfter: 2.5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := chain.Walk(tt.err)
			require.Greater(t, len(c.Layers), tt.layer)
			assert.Equal(t, tt.want, c.Layers[tt.layer].Attrs)
		})
	}
}

// multierror's Unwrap fakes a linear chain through its siblings; the walker
// must keep them siblings.
func TestWalkMultierror(t *testing.T) {
	var merr *multierror.Error
	merr = multierror.Append(merr, io.ErrUnexpectedEOF, syscall.EPIPE, context.Canceled)
	c := chain.Walk(merr)
	require.Len(t, c.Layers, 4)
	assert.Equal(t, "*github.com/hashicorp/go-multierror.Error", c.Layers[0].Type)
	for i := 1; i < 4; i++ {
		assert.Equal(t, 0, c.Layers[i].Parent, "layer %d", i)
		assert.Equal(t, chain.ViaMulti, c.Layers[i].Via)
	}
	assert.Equal(t, "EPIPE", c.Layers[2].Attrs.ErrnoName)
}

func TestWalkUnwrapper(t *testing.T) {
	err := fmt.Errorf("call: %w", custom{code: 14, inner: syscall.ECONNRESET})
	u := chain.UnwrapperFunc(func(err error, a *chain.Attrs) (error, bool) {
		c, ok := err.(custom)
		if !ok {
			return nil, false
		}
		a.Extra = map[string]string{"grpc.code": fmt.Sprint(c.code)}
		return c.inner, true
	})

	// Without it the cause is still found, by the field fallback.
	plain := chain.Walk(err)
	require.Len(t, plain.Layers, 3)
	assert.Equal(t, chain.ViaField, plain.Layers[2].Via)

	w := chain.Walker{Unwrappers: []chain.Unwrapper{u}}
	c := w.Walk(err)
	require.Len(t, c.Layers, 3)
	assert.Equal(t, "14", c.Layers[1].Attrs.Extra["grpc.code"])
	assert.Equal(t, chain.ViaUnwrapper, c.Layers[2].Via)
	assert.Equal(t, "ECONNRESET", c.Layers[2].Attrs.ErrnoName)

	// A user unwrapper comes before the built-ins and may override them.
	override := chain.UnwrapperFunc(func(err error, a *chain.Attrs) (error, bool) {
		if errors.Is(err, syscall.ECONNRESET) && err == syscall.ECONNRESET {
			a.Kind = "mine"
			return nil, true
		}
		return nil, false
	})
	w = chain.Walker{Unwrappers: []chain.Unwrapper{u, override}}
	c = w.Walk(err)
	assert.Equal(t, chain.Attrs{Kind: "mine"}, c.Layers[2].Attrs)
}

func TestWalkFallbackSwitches(t *testing.T) {
	hidden := &forgetful{"copy", errors.New("read tcp 1.2.3.4:5->6.7.8.9:80: read: connection reset by peer")}

	c := chain.Walk(hidden)
	require.Len(t, c.Layers, 5, "field, then text layers")
	assert.Equal(t, chain.ViaField, c.Layers[1].Via)
	assert.Equal(t, "", c.Layers[1].Own, "a leaf re-read as text adds nothing of its own")
	assert.Equal(t, chain.ViaText, c.Layers[2].Via)
	assert.Equal(t, "ECONNRESET", c.Layers[4].Attrs.ErrnoName)

	w := chain.Walker{NoTextFallback: true}
	assert.Len(t, w.Walk(hidden).Layers, 2)
	w = chain.Walker{NoFieldFallback: true}
	c = w.Walk(hidden)
	require.Len(t, c.Layers, 5, "the root is now a leaf, read as text")
	assert.Equal(t, chain.ViaText, c.Layers[1].Via)
	w = chain.Walker{NoFieldFallback: true, NoTextFallback: true}
	assert.Len(t, w.Walk(hidden).Layers, 1)
	w = chain.Walker{NoBuiltins: true, NoTextFallback: true}
	assert.Empty(t, w.Walk(syscall.ECONNRESET).Layers[0].Attrs.ErrnoName)
	w = chain.Walker{NoBuiltins: true}
	c = w.Walk(syscall.ECONNRESET)
	require.Len(t, c.Layers, 1, "a one-error text adds no layer")
	assert.Equal(t, "ECONNRESET", c.Layers[0].Attrs.ErrnoName, "read from the text onto the leaf")
}

// Text layers appear only when the text names a cause no type exposed;
// a text that is one error gives its facts to the leaf itself.
func TestWalkTextFallback(t *testing.T) {
	tests := []struct {
		msg   string
		n     int // layers, including the leaf itself
		check func(t *testing.T, last chain.Attrs)
	}{
		{"something odd happened", 1, nil},
		{"http2: client connection lost", 1, func(t *testing.T, a chain.Attrs) { assert.Equal(t, "h2_connection", a.Kind) }},
		{"http2: Transport received GOAWAY from server ErrCode:INTERNAL_ERROR", 1, func(t *testing.T, a chain.Attrs) {
			assert.Equal(t, chain.Attrs{H2Code: "INTERNAL_ERROR", H2Remote: true, H2GoAway: true, H2Unprocessed: true, Kind: "h2_goaway"}, a)
		}},
		{"error decoding response body: unexpected EOF", 3, func(t *testing.T, a chain.Attrs) { assert.Equal(t, "unexpected_eof", a.Kind) }},
		{"write: broken pipe", 3, func(t *testing.T, a chain.Attrs) { assert.Equal(t, "EPIPE", a.ErrnoName) }},
	}
	for _, tt := range tests {
		t.Run(tt.msg, func(t *testing.T) {
			c := chain.Walk(errors.New(tt.msg))
			require.Len(t, c.Layers, tt.n)
			assertTree(t, c)
			if tt.check != nil {
				last := c.Layers[len(c.Layers)-1]
				if tt.n > 1 {
					assert.Equal(t, chain.ViaText, last.Via)
					assert.Empty(t, last.Type)
				}
				tt.check(t, last.Attrs)
			}
		})
	}
}

// Hostile errors: the walk stays bounded and never panics.

type selfLoop struct{}

func (selfLoop) Error() string { return "loop" }
func (e selfLoop) Unwrap() error {
	return fmt.Errorf("again: %w", e)
}

type pointerLoop struct{ next *pointerLoop }

func (e *pointerLoop) Error() string { return "p" }
func (e *pointerLoop) Unwrap() error { return e.next }

type panicky struct{ where string }

func (e panicky) Error() string {
	if e.where == "Error" {
		panic("boom in Error")
	}
	return "panicky " + e.where
}

func (e panicky) Unwrap() error {
	if e.where == "Unwrap" {
		panic(e) // a panic value whose own Error panics is fine too
	}
	return nil
}

type nilReceiver struct{ msg string }

func (e *nilReceiver) Error() string { return e.msg }

type deep struct {
	n    int
	next error
}

func (e *deep) Error() string { return "d" }
func (e *deep) Unwrap() error { return e.next }

type uncomparable struct {
	parts []string
	next  error
}

func (e uncomparable) Error() string { return strings.Join(e.parts, ",") }
func (e uncomparable) Unwrap() error { return e.next }

func TestWalkHostile(t *testing.T) {
	t.Run("self cycle", func(t *testing.T) {
		c := chain.Walk(selfLoop{})
		assert.Equal(t, chain.TruncatedCycle, c.Truncated)
		assert.Len(t, c.Layers, 2)
	})
	t.Run("pointer cycle", func(t *testing.T) {
		a, b := &pointerLoop{}, &pointerLoop{}
		a.next, b.next = b, a
		c := chain.Walk(a)
		assert.Equal(t, chain.TruncatedCycle, c.Truncated)
		assert.Len(t, c.Layers, 2)
	})
	t.Run("depth 10000", func(t *testing.T) {
		var err error = io.EOF
		for i := range 10000 {
			err = &deep{n: i, next: err}
		}
		c := chain.Walk(err)
		assert.Equal(t, chain.TruncatedDepth, c.Truncated)
		assert.Len(t, c.Layers, chain.DefaultMaxDepth)
		w := chain.Walker{MaxDepth: 20000, MaxLayers: 20000}
		c = w.Walk(err)
		assert.Empty(t, c.Truncated)
		assert.Len(t, c.Layers, 10001)
		assertTree(t, c)
	})
	t.Run("million wide", func(t *testing.T) {
		errs := make([]error, 1_000_000)
		for i := range errs {
			errs[i] = syscall.EPIPE
		}
		for _, err := range []error{&multiOnly{errs}, errors.Join(errs...)} {
			start := time.Now()
			c := chain.Walk(err)
			assert.Less(t, time.Since(start), 5*time.Second)
			assert.Equal(t, chain.TruncatedWidth, c.Truncated)
			assert.Len(t, c.Layers, chain.DefaultMaxWidth+1)
			assert.LessOrEqual(t, len(c.Layers[0].Message), chain.DefaultMaxMessage)
		}
	})
	t.Run("layer cap", func(t *testing.T) {
		errs := make([]error, 50)
		for i := range errs {
			errs[i] = errors.Join(io.EOF, io.EOF, io.EOF)
		}
		w := chain.Walker{MaxLayers: 40}
		c := w.Walk(errors.Join(errs...))
		assert.Equal(t, chain.TruncatedLayers, c.Truncated)
		assert.Len(t, c.Layers, 40)
		assertTree(t, c)
	})
	t.Run("panic in Error", func(t *testing.T) {
		c := chain.Walk(fmt.Errorf("x: %w", panicky{"Error"}))
		require.Len(t, c.Layers, 2)
		assert.Contains(t, c.Layers[1].Message, "panicked: boom in Error")
	})
	t.Run("panic in Unwrap", func(t *testing.T) {
		c := chain.Walk(panicky{"Unwrap"})
		require.Len(t, c.Layers, 1)
		assert.Equal(t, "panicky Unwrap", c.Layers[0].Message)
	})
	t.Run("panic in Unwrapper", func(t *testing.T) {
		w := chain.Walker{Unwrappers: []chain.Unwrapper{chain.UnwrapperFunc(func(error, *chain.Attrs) (error, bool) { panic("bad") })}}
		c := w.Walk(syscall.ECONNRESET)
		assert.Equal(t, "ECONNRESET", c.Layers[0].Attrs.ErrnoName, "built-ins still run")
	})
	t.Run("nil pointer receivers", func(t *testing.T) {
		var ne *nilReceiver
		var op *net.OpError
		var ue *url.Error
		c := chain.Walk(errors.Join(ne, op, ue, &net.OpError{Op: "read", Addr: (*net.TCPAddr)(nil), Err: io.EOF}))
		require.Len(t, c.Layers, 6)
		assert.Contains(t, c.Layers[1].Message, "panicked")
		assert.Equal(t, "<nil>", c.Layers[2].Message)
		assertTree(t, c)
	})
	t.Run("uncomparable", func(t *testing.T) {
		err := uncomparable{[]string{"a"}, uncomparable{[]string{"b"}, io.EOF}}
		c := chain.Walk(err)
		assert.Len(t, c.Layers, 3)
		assert.Empty(t, c.Truncated)
	})
	t.Run("huge message", func(t *testing.T) {
		big := strings.Repeat("é", 1<<20)
		c := chain.Walk(fmt.Errorf("%s: %w", big, io.EOF))
		require.Len(t, c.Layers, 2)
		assert.Equal(t, chain.TruncatedMessage, c.Truncated)
		assert.LessOrEqual(t, len(c.Layers[0].Message), chain.DefaultMaxMessage)
		assert.True(t, strings.HasPrefix(big, c.Layers[0].Message), "cut on a rune boundary")
		assert.LessOrEqual(t, len(c.Layers[0].Own), chain.DefaultMaxMessage)
	})
	t.Run("nil", func(t *testing.T) {
		c := chain.Walk(nil)
		assert.Empty(t, c.Layers)
		assert.Equal(t, chain.SchemaVersion, c.Schema)
	})
}

// multiOnly hands out its list without copying, as errors.Join does.
type multiOnly struct{ errs []error }

func (e *multiOnly) Error() string   { return "many" }
func (e *multiOnly) Unwrap() []error { return e.errs }

func TestWalkTypeNames(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{io.EOF, "*errors.errorString"},
		{syscall.EPIPE, "syscall.Errno"},
		{&url.Error{Op: "Get", URL: "u", Err: io.EOF}, "*net/url.Error"},
		{http2.ConnectionError(1), "golang.org/x/net/http2.ConnectionError"},
		{&multierror.Error{}, "*github.com/hashicorp/go-multierror.Error"},
		{causer{"a", io.EOF}, "github.com/faultline-go/faultline/chain_test.causer"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, chain.Walk(tt.err).Layers[0].Type)
	}
}
