package main

import (
	"crypto/tls"
	"errors"
	"net/url"
)

// peerCert returns the DER certificate the TLS server at rawURL presents,
// checked against cfg.
func peerCert(rawURL string, cfg *tls.Config) ([]byte, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	c, err := tls.Dial("tcp", u.Host, cfg.Clone())
	if err != nil {
		return nil, err
	}
	defer c.Close()
	certs := c.ConnectionState().PeerCertificates
	if len(certs) == 0 {
		return nil, errors.New("the server sent no certificate")
	}
	return certs[0].Raw, nil
}
