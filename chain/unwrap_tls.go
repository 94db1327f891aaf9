package chain

import (
	"crypto/tls"
	"crypto/x509"
	"reflect"
	"strconv"
)

// unwrapTLS marks TLS and certificate failures. A certificate that does
// not verify is certain to fail again until someone changes the
// certificate or the trust store, which is worth a kind of its own.
func unwrapTLS(err error, a *Attrs) (error, bool) {
	switch e := err.(type) {
	case tls.RecordHeaderError:
		// Usually a plain-text server on a TLS port.
		a.Kind = "tls"
		return nil, true
	case *tls.CertificateVerificationError:
		if e == nil {
			return nil, false
		}
		a.Kind = "certificate"
		return nil, true
	case tls.AlertError:
		a.Kind = "tls"
		a.Extra = map[string]string{"tls.alert": e.Error()}
		return nil, true
	case x509.UnknownAuthorityError:
		a.Kind = "certificate"
		// Its unexported hintErr is a diagnostic, not a cause: recognising
		// the type keeps the field fallback from following it.
		return nil, true
	case x509.HostnameError:
		a.Kind = "certificate"
		a.Host = e.Host
		return nil, true
	case x509.CertificateInvalidError:
		a.Kind = "certificate"
		a.Extra = map[string]string{"x509.reason": strconv.Itoa(int(e.Reason))}
		return nil, true
	}
	// The alert a peer sends arrives as crypto/tls's unexported alert type,
	// inside a *net.OpError with Op "remote error".
	if t := reflect.TypeOf(err); t.PkgPath() == "crypto/tls" && t.Name() == "alert" {
		a.Kind = "tls"
		return nil, true
	}
	return nil, false
}
