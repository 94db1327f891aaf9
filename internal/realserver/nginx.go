package realserver

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// NginxConfig says how to run nginx.
type NginxConfig struct {
	// Root is the directory served at the site's root. nginx reads it as
	// root, so its permissions do not matter.
	Root string
	// Port defaults to 8080.
	Port int
	// LimitRate, when set, is nginx's per-request rate limit
	// (limit_rate, in nginx's units: "200k", "20m" bytes a second).
	LimitRate string
	// NoRanges sets max_ranges 0: Range is ignored, every answer is a
	// whole 200, and Accept-Ranges is not sent.
	NoRanges bool
	// Dir holds the configuration, logs and temporary files; it must
	// exist. Empty makes a scratch directory that Close removes.
	Dir string
}

// StartNginx starts nginx (HTTP/1.1, plain text) in ns and waits until it
// accepts connections. It runs in the foreground as one process (no
// master, no workers), so its pid is the server's, and Stop ends it.
func StartNginx(ctx context.Context, ns *Namespace, cfg NginxConfig) (*Server, error) {
	if cfg.Port == 0 {
		cfg.Port = 8080
	}
	root, err := filepath.Abs(cfg.Root)
	if err != nil {
		return nil, err
	}
	s, err := newServer("http", cfg.Port, cfg.Dir)
	if err != nil {
		return nil, err
	}
	s.errorLog = filepath.Join(s.Dir, "error.log")
	conf := filepath.Join(s.Dir, "nginx.conf")
	err = s.launch(ctx, ns, conf, nginxConf(s.Dir, root, cfg), s.probeTCP,
		"nginx", nil, "-e", s.errorLog, "-p", s.Dir+"/", "-c", conf)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// nginxConf writes nginx's configuration. Its access log imitates Caddy's
// JSON, so that Requests reads both.
func nginxConf(dir, root string, cfg NginxConfig) string {
	var b strings.Builder
	q := strconv.Quote
	fmt.Fprintf(&b, `daemon off;
master_process off;
user root;
pid %s;
error_log %s warn;
events { worker_connections 256; }
http {
	log_format faultline escape=json '{"request":{"method":"$request_method","uri":"$request_uri","proto":"$server_protocol","headers":{"Range":["$http_range"],"If-Range":["$http_if_range"]}},"status":$status,"size":$body_bytes_sent,"ts":$msec,"duration":$request_time}';
	access_log %s faultline;
	client_body_temp_path %s;
	default_type application/octet-stream;
	sendfile on;
	tcp_nopush on;
	keepalive_timeout 10s;
	server {
		listen 127.0.0.1:%d;
		root %s;
`, q(filepath.Join(dir, "nginx.pid")), q(filepath.Join(dir, "error.log")), q(filepath.Join(dir, "access.log")),
		q(filepath.Join(dir, "client_body")), cfg.Port, q(root))
	if cfg.LimitRate != "" {
		fmt.Fprintf(&b, "\t\tlimit_rate %s;\n", cfg.LimitRate)
	}
	if cfg.NoRanges {
		b.WriteString("\t\tmax_ranges 0;\n")
	}
	b.WriteString("\t}\n}\n")
	return b.String()
}
