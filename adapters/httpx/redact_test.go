package httpx

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	fs "github.com/faultline-go/faultline/faulttest"
	"github.com/faultline-go/faultline/policy"
)

// secrets are the parts of secretURL that must never leave: a user name
// and password, and the values of signed query parameters.
var secrets = []string{"alice", "hunter2", "SIGSECRET", "CREDSECRET", "TOKSECRET"}

// secretURL puts every secret into base, an http://host:port/path URL.
func secretURL(base string) string {
	return strings.Replace(base, "://", "://alice:hunter2@", 1) +
		"?X-Amz-Credential=CREDSECRET&X-Amz-Signature=SIGSECRET&X-Amz-Security-Token=TOKSECRET&v=1"
}

func assertNoSecret(t *testing.T, where, s string) {
	t.Helper()
	for _, sec := range secrets {
		assert.NotContains(t, s, sec, "%s leaks %q:\n%s", where, sec, s)
	}
}

// TestSecretsNeverLeave fails requests to URLs carrying secrets in every
// way httpx reports a failure, and checks the error, the log and the
// dumps: the URL appears masked, never in clear.
func TestSecretsNeverLeave(t *testing.T) {
	body := payload(50_000)
	tests := []struct {
		name   string
		url    func(t *testing.T) string
		script []fs.Fault
		sha    bool
	}{
		// *StatusError: our own message quotes the URL.
		{name: "status", script: []fs.Fault{{Kind: fs.Status, Status: 404}}},
		// *url.Error from net/http: it hides the password but not the
		// user or the query.
		{name: "refused", url: func(t *testing.T) string {
			ln := httptest.NewServer(http.NotFoundHandler())
			u := ln.URL
			ln.Close()
			return u + "/file"
		}},
		// *ChecksumError: not the SHA-256 expected.
		{name: "checksum", sha: true},
		// url.Parse's error quotes the URL with its password.
		{name: "unparsable", url: func(t *testing.T) string { return "http://127.0.0.1:1/%zz" }},
		// A redirect to a signed URL that fails.
		{name: "redirect", url: func(t *testing.T) string {
			target := secretURL("http://127.0.0.1:1/elsewhere")
			srv := httptest.NewServer(http.RedirectHandler(target, http.StatusFound))
			t.Cleanup(srv.Close)
			return srv.URL + "/file"
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var u string
			var hc *http.Client
			if tc.url != nil {
				u = tc.url(t)
				hc = &http.Client{Transport: NewTransport()}
				t.Cleanup(hc.CloseIdleConnections)
			} else {
				s := startServer(t, modes[0], body, tc.script...)
				u, hc = s.URL, s.Client(fs.HTTP1)
			}
			u = secretURL(u)
			var logBuf bytes.Buffer
			dumps := t.TempDir()
			var sl sleeps
			c := &Client{HTTP: hc, Sleep: sl.sleep, Logger: slogTo(&logBuf), DumpDir: dumps}
			var h hashConsumer
			opts := &Options{}
			if tc.sha {
				opts.SHA256 = make([]byte, 32)
			}
			_, err := c.Do(t.Context(), u, h.consume, opts)
			require.Error(t, err)
			assertNoSecret(t, "the error", err.Error())
			assertNoSecret(t, "the log", logBuf.String())
			files, _ := filepath.Glob(filepath.Join(dumps, "*.json"))
			if tc.name != "unparsable" {
				require.NotEmpty(t, files, "a failure was dumped")
				require.NotEmpty(t, logBuf.String(), "a decision was logged")
				assert.Contains(t, logBuf.String(), "REDACTED", "the URL is logged, masked")
			}
			for _, f := range files {
				data, err := os.ReadFile(f)
				require.NoError(t, err)
				assertNoSecret(t, "dump "+filepath.Base(f), string(data))
				require.NoError(t, policy.ReadDumps(bytes.NewReader(data), func(d policy.Dump) error {
					assert.Contains(t, d.Source, "REDACTED@")
					return nil
				}))
			}
		})
	}
}

// TestStatusErrorHeaderRedacted: a response's cookies stay out of the
// error that carries its header.
func TestStatusErrorHeaderRedacted(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "session", Value: "TOKSECRET"})
		w.WriteHeader(http.StatusForbidden)
	}))
	defer srv.Close()
	c := &Client{HTTP: srv.Client()}
	_, err := c.Open(t.Context(), srv.URL, nil)
	var se *StatusError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, []string{"REDACTED"}, se.Header["Set-Cookie"])
	assert.Equal(t, http.StatusForbidden, se.Status)
}
