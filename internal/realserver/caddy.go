package realserver

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// CaddyConfig says how to run Caddy.
type CaddyConfig struct {
	// Root is the directory served at the site's root.
	Root string
	// Port defaults to 8443.
	Port int
	// Dir holds the configuration, the certificate authority, logs and
	// state; it must exist. Empty makes a scratch directory that Close
	// removes.
	Dir string
}

// StartCaddy starts Caddy in ns, serving HTTPS on 127.0.0.1 with HTTP/2
// (and HTTP/1.1 by ALPN; HTTP/3 off), and waits until a TLS handshake
// succeeds. Caddy is a Go server with its own Range, If-Range and ETag
// code.
//
// The certificate comes from Caddy's own authority ("tls internal"),
// kept in Dir: skip_install_trust stops Caddy from adding that authority
// to the system's trust store, which it does by default, so the client
// must be given Server.CAFile. The admin endpoint is off and HOME and the
// XDG directories point into Dir, so nothing outside Dir changes.
func StartCaddy(ctx context.Context, ns *Namespace, cfg CaddyConfig) (*Server, error) {
	if cfg.Port == 0 {
		cfg.Port = 8443
	}
	root, err := filepath.Abs(cfg.Root)
	if err != nil {
		return nil, err
	}
	s, err := newServer("https", cfg.Port, cfg.Dir)
	if err != nil {
		return nil, err
	}
	storage := filepath.Join(s.Dir, "storage")
	s.CAFile = filepath.Join(storage, "pki", "authorities", "local", "root.crt")
	home := filepath.Join(s.Dir, "home")
	env := []string{"HOME=" + home, "XDG_DATA_HOME=" + filepath.Join(home, "data"), "XDG_CONFIG_HOME=" + filepath.Join(home, "config")}
	probe := func(ctx context.Context) error {
		pem, err := os.ReadFile(s.CAFile)
		if err != nil {
			return err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("%s: no certificate yet", s.CAFile)
		}
		return s.probeTLS(ctx, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", NextProtos: []string{"h2"}})
	}
	conf := filepath.Join(s.Dir, "Caddyfile")
	err = s.launch(ctx, ns, conf, caddyfile(storage, root, s.AccessLog, cfg.Port), probe,
		"caddy", env, "run", "--adapter", "caddyfile", "--config", conf)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// caddyfile writes Caddy's configuration.
func caddyfile(storage, root, accessLog string, port int) string {
	q := strconv.Quote
	return fmt.Sprintf(`{
	admin off
	skip_install_trust
	auto_https disable_redirects
	storage file_system %s
	grace_period %s
	servers {
		protocols h1 h2
	}
}

https://127.0.0.1:%d {
	tls internal
	root * %s
	file_server
	log {
		output file %s
		format json
	}
}
`, q(storage), time.Second, port, q(root), q(accessLog))
}
