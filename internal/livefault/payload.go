package livefault

import (
	"context"
	"net/http"
	"strconv"
	"testing"
)

func payloadCases() []Case {
	return []Case{
		{
			Name: "gzip-corrupt",
			Doc:  "HTTP/1.1: the whole body arrives, but bytes inside the deflate stream are damaged",
			Provoke: func(ctx context.Context, t testing.TB) Failure {
				return serveBody(ctx, t, corruptArchive())
			},
		},
		{
			Name: "gzip-checksum",
			Doc:  "HTTP/1.1: the whole body arrives and decodes, but the gzip CRC-32 does not match",
			Provoke: func(ctx context.Context, t testing.TB) Failure {
				return serveBody(ctx, t, badChecksumArchive())
			},
		},
		{
			Name: "gzip-truncated",
			Doc:  "HTTP/1.1: an archive cut short at the source, delivered in full with a matching Content-Length",
			Provoke: func(ctx context.Context, t testing.TB) Failure {
				return serveBody(ctx, t, truncatedArchive())
			},
		},
		{
			Name: "tar-invalid-header",
			Doc:  "HTTP/1.1: a valid gzip stream whose content is not a tar archive",
			Provoke: func(ctx context.Context, t testing.TB) Failure {
				return serveBody(ctx, t, badTarArchive())
			},
		},
		{
			Name:    "h1-status-503",
			Doc:     "HTTP/1.1: 503 Service Unavailable with Retry-After: 7",
			Provoke: func(ctx context.Context, t testing.TB) Failure { return serveStatus(ctx, t, h1) },
		},
		{
			Name:    "h2-status-429",
			Doc:     "net/http HTTP/2: 429 Too Many Requests with Retry-After: 7",
			Provoke: func(ctx context.Context, t testing.TB) Failure { return serveStatus(ctx, t, h2) },
		},
	}
}

// serveBody serves body whole over HTTP/1.1 and unpacks it.
func serveBody(ctx context.Context, t testing.TB, body []byte) Failure {
	s := newServer(t, h1, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = w.Write(body)
	}))
	return fetch(ctx, newClient(t, h1, s, clientOptions{}), archiveURL(s), nil)
}

// serveStatus answers with an error status and a Retry-After.
func serveStatus(ctx context.Context, t testing.TB, c client) Failure {
	code := http.StatusServiceUnavailable
	if c != h1 {
		code = http.StatusTooManyRequests
	}
	s := newServer(t, c, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "7")
		http.Error(w, http.StatusText(code), code)
	}))
	return fetch(ctx, newClient(t, c, s, clientOptions{}), archiveURL(s), nil)
}
