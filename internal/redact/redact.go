// Package redact removes secrets from text before it leaves the process:
// the output of retrycheck, log records, dumps and error messages. A URL
// may carry a password (userinfo) or a signature in its query, a header a
// bearer token or a session cookie; none of them may be printed, logged or
// recorded, since dumps and logs are shared when a failure is reported.
//
// What is a secret:
//
//   - the userinfo of a URL, user name included (tokens are often passed
//     as the user name: https://TOKEN@host/);
//   - the values of the query parameters that SensitiveParam names;
//   - the values of the header fields that SensitiveHeader names, written
//     as a header line ("Authorization: Bearer …") or held in an
//     http.Header.
//
// A secret is replaced by Mask; the name of the parameter or field stays,
// so the text still says what was there.
package redact

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// Mask replaces every secret.
const Mask = "REDACTED"

// sensitiveParams are query parameter names whose values are secrets,
// compared without regard to case. They cover pre-signed URLs (AWS
// SigV4, Google Cloud Storage V4, Azure SAS, CloudFront) and common API
// token parameters.
var sensitiveParams = map[string]bool{
	"x-amz-signature":      true,
	"x-amz-credential":     true,
	"x-amz-security-token": true,
	"x-goog-signature":     true,
	"x-goog-credential":    true,
	"awsaccesskeyid":       true, // S3 SigV2 pre-signed URLs
	"signature":            true, // SigV2, CloudFront
	"sig":                  true, // Azure SAS
	"token":                true,
	"access_token":         true,
	"refresh_token":        true,
	"id_token":             true,
	"auth":                 true,
	"key":                  true,
	"api_key":              true,
	"apikey":               true,
	"api-key":              true,
	"secret":               true,
	"client_secret":        true,
	"password":             true,
	"passwd":               true,
	"code":                 true, // OAuth authorization codes
}

// sensitiveParamParts make any parameter whose name contains one of them
// a secret too: "upload_token", "X-Custom-Signature", "db_password".
var sensitiveParamParts = []string{"token", "signature", "secret", "password", "credential"}

// SensitiveParam reports whether the value of the query parameter name is
// a secret: one of X-Amz-Signature, X-Amz-Credential, X-Amz-Security-Token,
// X-Goog-Signature, X-Goog-Credential, AWSAccessKeyId, Signature, sig,
// token, access_token, refresh_token, id_token, auth, key, api_key, apikey,
// api-key, secret, client_secret, password, passwd, code; or any name
// containing token, signature, secret, password or credential. Case does
// not matter.
func SensitiveParam(name string) bool {
	n := strings.ToLower(name)
	if sensitiveParams[n] {
		return true
	}
	for _, p := range sensitiveParamParts {
		if strings.Contains(n, p) {
			return true
		}
	}
	return false
}

// sensitiveHeaders are header fields whose values are secrets, in
// canonical form.
var sensitiveHeaders = map[string]bool{
	"Authorization":        true, // RFC 9110 §11.6.2
	"Proxy-Authorization":  true, // RFC 9110 §11.7.2
	"Cookie":               true, // RFC 6265 §5.4
	"Set-Cookie":           true, // RFC 6265 §4.1
	"X-Api-Key":            true,
	"X-Auth-Token":         true,
	"X-Amz-Security-Token": true,
	"X-Goog-Api-Key":       true,
	"Private-Token":        true, // GitLab
}

// SensitiveHeader reports whether the value of header field name is a
// secret: Authorization, Proxy-Authorization, Cookie, Set-Cookie,
// X-Api-Key, X-Auth-Token, X-Amz-Security-Token, X-Goog-Api-Key,
// Private-Token. Case does not matter.
func SensitiveHeader(name string) bool {
	return sensitiveHeaders[http.CanonicalHeaderKey(name)]
}

// URL returns raw with its secrets masked: the userinfo and the values of
// sensitive query parameters. Anything else, including the order and
// spelling of the other parameters, is kept. A string that does not parse
// as a URL is masked as Text masks it.
func URL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" {
		return maskURLish(raw)
	}
	changed := false
	if u.User != nil {
		u.User = url.User(Mask)
		changed = true
	}
	if u.RawQuery != "" {
		if q, ok := query(u.RawQuery); ok {
			u.RawQuery = q
			changed = true
		}
	}
	if !changed {
		return raw
	}
	return u.String()
}

// query masks the sensitive values of a raw query, keeping the rest
// byte for byte; ok is false when nothing was masked.
func query(raw string) (string, bool) {
	parts := strings.Split(raw, "&")
	changed := false
	for i, p := range parts {
		k, _, found := strings.Cut(p, "=")
		name, err := url.QueryUnescape(k)
		if err != nil {
			name = k
		}
		if SensitiveParam(name) && (found || k != p) {
			parts[i] = k + "=" + Mask
			changed = true
		}
	}
	return strings.Join(parts, "&"), changed
}

// Header returns a copy of h with the values of sensitive fields masked.
func Header(h http.Header) http.Header {
	out := make(http.Header, len(h))
	for k, vs := range h {
		if SensitiveHeader(k) {
			m := make([]string, len(vs))
			for i := range m {
				m[i] = Mask
			}
			out[k] = m
			continue
		}
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// urlRE finds URLs in text: a scheme, "://" and everything up to a space,
// a quote or a bracket.
var urlRE = regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.\-]{0,30}://[^\s"'<>` + "`" + `\\]+`)

// headerRE finds a sensitive header field written as a line or inline:
// "Authorization: Bearer abc" keeps "Authorization: " and loses the rest
// of the line.
var headerRE = regexp.MustCompile(`(?i)\b(authorization|proxy-authorization|cookie|set-cookie|x-api-key|x-auth-token|x-amz-security-token|x-goog-api-key|private-token)(\s*:\s*)([^\r\n]*)`)

// credentialsRE finds credentials after the authentication scheme names
// Bearer (RFC 6750) and Basic (RFC 7617) anywhere in text.
var credentialsRE = regexp.MustCompile(`(?i)\b(bearer|basic)(\s+)([A-Za-z0-9\-._~+/]{8,}=*)`)

// Text returns s with every secret it carries masked: the secrets of each
// URL in it, sensitive header fields written out, and credentials after
// "Bearer " or "Basic ". It is the one function every exit applies.
func Text(s string) string {
	if s == "" {
		return s
	}
	if strings.Contains(s, "://") {
		s = urlRE.ReplaceAllStringFunc(s, func(m string) string {
			// Trailing punctuation belongs to the sentence, not the URL.
			end := len(m)
			for end > 0 && strings.ContainsRune(".,;:!?)]}", rune(m[end-1])) {
				end--
			}
			return URL(m[:end]) + m[end:]
		})
	}
	if headerRE.MatchString(s) {
		s = headerRE.ReplaceAllString(s, "${1}${2}"+Mask)
	}
	if credentialsRE.MatchString(s) {
		s = credentialsRE.ReplaceAllStringFunc(s, func(m string) string {
			sub := credentialsRE.FindStringSubmatch(m)
			// A word after "basic" is prose ("basic authentication"); a
			// Basic credential is base64: a digit, a symbol, or an upper
			// case letter past the first.
			if strings.EqualFold(sub[1], "basic") && !strings.ContainsAny(sub[3], "0123456789+/=") &&
				strings.ToLower(sub[3][1:]) == sub[3][1:] {
				return m
			}
			return sub[1] + sub[2] + Mask
		})
	}
	return s
}

// maskURLish masks what looks like userinfo and a query in a string that
// did not parse as a URL.
func maskURLish(s string) string {
	if i := strings.Index(s, "://"); i >= 0 {
		rest := s[i+3:]
		end := strings.IndexAny(rest, "/?#")
		if end < 0 {
			end = len(rest)
		}
		if at := strings.LastIndex(rest[:end], "@"); at >= 0 {
			s = s[:i+3] + Mask + rest[at:]
		}
	}
	if q := strings.IndexByte(s, '?'); q >= 0 {
		frag := ""
		rest := s[q+1:]
		if h := strings.IndexByte(rest, '#'); h >= 0 {
			rest, frag = rest[:h], rest[h:]
		}
		if masked, ok := query(rest); ok {
			s = s[:q+1] + masked + frag
		}
	}
	return s
}
