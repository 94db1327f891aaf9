package chain_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"syscall"
	"testing"

	"golang.org/x/net/http2"

	"github.com/faultline-go/faultline/chain"
)

// realisticError is the seed failure's shape in Go: an unpack error over a
// decode error over a *url.Error whose HTTP/2 stream was reset because the
// connection's read failed with ECONNRESET. Eight layers.
func realisticError() error {
	op := &net.OpError{
		Op: "read", Net: "tcp",
		Source: &net.TCPAddr{IP: net.IPv4(10, 0, 0, 2), Port: 51234},
		Addr:   &net.TCPAddr{IP: net.IPv4(151, 101, 0, 223), Port: 443},
		Err:    os.NewSyscallError("read", syscall.ECONNRESET),
	}
	se := http2.StreamError{StreamID: 3, Code: http2.ErrCodeInternal, Cause: fmt.Errorf("read frame: %w", op)}
	ue := &url.Error{Op: "Get", URL: "https://files.example.com/python-3.12.tar.gz", Err: se}
	return fmt.Errorf("failed to unpack python/lib/libpython3.so: %w",
		fmt.Errorf("error decoding response body: %w", ue))
}

func BenchmarkWalk(b *testing.B) {
	err := realisticError()
	if n := len(chain.Walk(err).Layers); n != 8 {
		b.Fatalf("chain has %d layers, want 8", n)
	}
	b.ReportAllocs()
	for b.Loop() {
		chain.Walk(err)
	}
}

func BenchmarkFromText(b *testing.B) {
	msg := realisticError().Error()
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		chain.FromText(msg)
	}
}

// BenchmarkFromTextReport parses a report as rustup prints it, after its
// progress lines.
func BenchmarkFromTextReport(b *testing.B) {
	data, err := os.ReadFile("testdata/text/rustup.txt")
	if err != nil {
		b.Fatal(err)
	}
	msg := string(data)
	if n := len(chain.FromText(msg).Layers); n != 4 {
		b.Fatalf("chain has %d layers, want 4", n)
	}
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		chain.FromText(msg)
	}
}

func BenchmarkDecode(b *testing.B) {
	data, err := json.Marshal(chain.Walk(realisticError()))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := chain.Decode(data); err != nil {
			b.Fatal(err)
		}
	}
}

// fixedError has a precomputed message, so walking a chain of them
// measures the walker alone, not the errors' Error methods.
type fixedError struct {
	msg string
	err error
}

func (e *fixedError) Error() string { return e.msg }
func (e *fixedError) Unwrap() error { return e.err }

func BenchmarkWalkOverhead(b *testing.B) {
	var err error = syscall.ECONNRESET
	for i := range 7 {
		err = &fixedError{msg: fmt.Sprintf("layer %d: %v", i, err), err: err}
	}
	if n := len(chain.Walk(err).Layers); n != 8 {
		b.Fatalf("chain has %d layers, want 8", n)
	}
	b.ReportAllocs()
	for b.Loop() {
		chain.Walk(err)
	}
}
