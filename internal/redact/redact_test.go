package redact

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://example.com/a.tar.gz", "https://example.com/a.tar.gz"},
		{"https://user:hunter2@example.com/a", "https://REDACTED@example.com/a"},
		{"https://ghp_token123@github.com/x", "https://REDACTED@github.com/x"},
		{"https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F20250101&X-Amz-Signature=abc123&X-Amz-Security-Token=tok",
			"https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=REDACTED&X-Amz-Signature=REDACTED&X-Amz-Security-Token=REDACTED"},
		{"https://a.blob.core.windows.net/c/f?sv=2021&se=2025&sp=r&sig=Zm9v%3D", "https://a.blob.core.windows.net/c/f?sv=2021&se=2025&sp=r&sig=REDACTED"},
		{"http://h/f?token=t&v=1&API_KEY=k&upload_token=u&key=z", "http://h/f?token=REDACTED&v=1&API_KEY=REDACTED&upload_token=REDACTED&key=REDACTED"},
		{"http://h/f?monkey=1&keys=2", "http://h/f?monkey=1&keys=2"},
		{"http://u:p@h/f?sig=s#frag", "http://REDACTED@h/f?sig=REDACTED#frag"},
		// Not a parsable URL: still masked.
		{"http://u:p@h%zz/f?sig=s", "http://REDACTED@h%zz/f?sig=REDACTED"},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, URL(tc.in), tc.in)
	}
}

func TestText(t *testing.T) {
	tests := []struct{ in, want string }{
		{`Get "https://alice:s3cret@example.com/f.tgz?sig=abc": dial tcp: connection refused`,
			`Get "https://REDACTED@example.com/f.tgz?sig=REDACTED": dial tcp: connection refused`},
		{`GET https://alice:s3cret@example.com/f: 503 Service Unavailable`, `GET https://REDACTED@example.com/f: 503 Service Unavailable`},
		{"fetched http://u:p@h/f.tgz, 1 MiB.", "fetched http://REDACTED@h/f.tgz, 1 MiB."},
		{"Authorization: Bearer abc.def.ghi\nHost: h", "Authorization: REDACTED\nHost: h"},
		{"cookie: session=abc; id=2", "cookie: REDACTED"},
		{"Set-Cookie: a=b", "Set-Cookie: REDACTED"},
		{"sent Bearer eyJhbGciOiJIUzI1NiJ9.e30.x to the server", "sent Bearer REDACTED to the server"},
		{"Basic dXNlcjpwYXNz", "Basic REDACTED"},
		{"basic authentication failed", "basic authentication failed"},
		{"connection reset by peer", "connection reset by peer"},
		{"", ""},
	}
	for _, tc := range tests {
		got := Text(tc.in)
		assert.Equal(t, tc.want, got, tc.in)
		assert.Equal(t, got, Text(got), "idempotent: %q", tc.in)
	}
}

func TestHeader(t *testing.T) {
	h := http.Header{
		"Authorization":       {"Bearer x"},
		"Proxy-Authorization": {"Basic y"},
		"Cookie":              {"a=b", "c=d"},
		"Set-Cookie":          {"s=1"},
		"X-Api-Key":           {"k"},
		"Etag":                {`"v1"`},
	}
	got := Header(h)
	for k, vs := range got {
		if k == "Etag" {
			assert.Equal(t, []string{`"v1"`}, vs)
			continue
		}
		for _, v := range vs {
			assert.Equal(t, Mask, v, k)
		}
		assert.Len(t, vs, len(h[k]))
	}
	assert.Equal(t, "Bearer x", h.Get("Authorization"), "the original is not changed")
}

func TestSensitiveParam(t *testing.T) {
	for _, n := range []string{"X-Amz-Signature", "x-amz-credential", "X-Amz-Security-Token", "sig", "Signature", "token",
		"access_token", "key", "api_key", "client_secret", "db_password", "X-Goog-Credential"} {
		assert.True(t, SensitiveParam(n), n)
	}
	for _, n := range []string{"X-Amz-Algorithm", "X-Amz-Date", "X-Amz-Expires", "sv", "se", "v", "monkey", "name"} {
		assert.False(t, SensitiveParam(n), n)
	}
}

func FuzzText(f *testing.F) {
	f.Add(`Get "https://alice:s3cret@example.com/f.tgz?sig=abc": EOF`)
	f.Add("Authorization: Bearer abc")
	f.Add("http://[::1")
	f.Fuzz(func(t *testing.T, s string) {
		out := Text(s)
		if strings.Contains(s, "s3cret@") && strings.Contains(s, "https://alice:s3cret@") && strings.Contains(out, "s3cret@") {
			t.Errorf("password left in %q", out)
		}
	})
}
