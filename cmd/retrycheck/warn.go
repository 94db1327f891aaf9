package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"

	"github.com/faultline-go/faultline/internal/redact"
)

// warnHandler prints the warnings httpx logs (a dump that could not be
// written, a spool that was not used) as retrycheck's own messages, one a
// line: "retrycheck fetch: warning: httpx: spool …: …; starting clean".
// Records below level Warn are dropped.
type warnHandler struct {
	mu    *sync.Mutex
	w     io.Writer
	name  string
	attrs []slog.Attr
}

func newWarnHandler(w io.Writer, name string) *warnHandler {
	return &warnHandler{mu: new(sync.Mutex), w: w, name: name}
}

func (h *warnHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }

func (h *warnHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	fmt.Fprintf(&b, "retrycheck %s: warning: ", h.name)
	detail := ""
	add := func(a slog.Attr) bool {
		if a.Key == "err" {
			detail = a.Value.String()
		}
		return true
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(add)
	if detail != "" {
		b.WriteString(detail)
	} else {
		b.WriteString(r.Message)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.w, redact.Text(b.String())+"\n")
	return err
}

func (h *warnHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), attrs...)
	return &c
}

func (h *warnHandler) WithGroup(string) slog.Handler { return h }
