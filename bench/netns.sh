# bench/netns.sh: shared by the benchmarks that run real servers (nginx,
# Caddy) in a network namespace and break the path with iptables and tc,
# with the recipes of internal/realserver (see firewall.go there and
# ../shared/NOTES-REAL-SERVERS.md). Source it after setting WORK (a
# world-readable scratch directory whose www/ is served) and TAG (the
# prefix of namespace names: "faultline-rs-$$", so that internal/realserver's
# Sweep removes what a killed run leaves).
#
# State: NS (the namespace), SERVER_PID, PORT, URL_BASE, CA (Caddy's
# authority, empty for nginx).
NS= SERVER_PID= PORT= URL_BASE= CA=

in_ns() { ip netns exec "$NS" "$@"; }
ipt() { in_ns iptables -w 10 "$@"; }

# new_ns: a namespace as internal/realserver makes them: loopback up, and
# no tail loss probes, which on loopback's microsecond round trips resend
# data that was never lost whenever the reader is slow to acknowledge (2–6%
# more on the wire).
new_ns() {
	NS="$TAG-$RANDOM$RANDOM"
	ip netns add "$NS"
	in_ns ip link set lo up
	in_ns sh -c 'echo 0 >/proc/sys/net/ipv4/tcp_early_retrans'
}

# start_nginx [DIRECTIVES]: nginx on 127.0.0.1:8080 serving WORK/www, one
# process in the foreground, so $! is the server.
start_nginx() {
	local d="$WORK/nginx"
	rm -rf "$d" && mkdir -p "$d"
	cat >"$d/nginx.conf" <<EOF
daemon off;
master_process off;
user root;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 256; }
http {
	access_log $d/access.log;
	client_body_temp_path $d/body;
	default_type application/octet-stream;
	sendfile on;
	tcp_nopush on;
	server {
		listen 127.0.0.1:8080;
		root $WORK/www;
		${1:-}
	}
}
EOF
	ip netns exec "$NS" nginx -e "$d/error.log" -p "$d/" -c "$d/nginx.conf" >"$d/out" 2>&1 &
	SERVER_PID=$!
	PORT=8080 URL_BASE=http://127.0.0.1:8080 CA=
	wait_ready
}

# start_caddy: Caddy on 127.0.0.1:8443, HTTPS with its own authority
# (never installed in the system's trust store), HTTP/2.
start_caddy() {
	local d="$WORK/caddy"
	rm -rf "$d" && mkdir -p "$d/home"
	cat >"$d/Caddyfile" <<EOF
{
	admin off
	skip_install_trust
	auto_https disable_redirects
	storage file_system $d/storage
	servers {
		protocols h1 h2
	}
}
https://127.0.0.1:8443 {
	tls internal
	root * $WORK/www
	file_server
}
EOF
	HOME="$d/home" XDG_DATA_HOME="$d/home" XDG_CONFIG_HOME="$d/home" \
		ip netns exec "$NS" caddy run --adapter caddyfile --config "$d/Caddyfile" >"$d/out" 2>&1 &
	SERVER_PID=$!
	PORT=8443 URL_BASE=https://127.0.0.1:8443 CA="$d/storage/pki/authorities/local/root.crt"
	wait_ready
}

wait_ready() {
	for _ in $(seq 250); do
		if [ -z "$CA" ] || [ -s "$CA" ]; then
			if in_ns curl -s -o /dev/null ${CA:+--cacert "$CA"} "$URL_BASE/" 2>/dev/null; then return 0; fi
		fi
		sleep 0.02
	done
	echo "$(basename "$0"): the server did not start" >&2
	cat "$WORK"/nginx/out "$WORK"/nginx/error.log "$WORK"/caddy/out 2>/dev/null | tail -20 >&2
	exit 1
}

# The faults: the recipes of internal/realserver (see firewall.go there).
# Every connection is reset once the server has sent N bytes on it; the
# client's own RSTs pass, so the server learns of the reset.
reset_every() { ipt -A INPUT -p tcp --dport "$PORT" -m tcp ! --tcp-flags RST RST -m connbytes --connbytes "$1": --connbytes-dir reply --connbytes-mode bytes -j REJECT --reject-with tcp-reset; }
# The first connection to cross N bytes (N = 0: the one in progress) is
# reset, or black-holed, and no other.
mark_once() {
	local extra=()
	if [ "$1" -gt 0 ]; then extra=(-m connbytes --connbytes "$1": --connbytes-dir reply --connbytes-mode bytes); fi
	ipt -A INPUT -p tcp --dport "$PORT" -m connmark --mark 0 "${extra[@]}" -m statistic --mode nth --every 2000000000 --packet 0 -j CONNMARK --set-mark "$2"
}
reset_once() { mark_once "$1" 0x7e1 && ipt -A INPUT -p tcp --dport "$PORT" -m tcp ! --tcp-flags RST RST -m connmark --mark 0x7e1 -j REJECT --reject-with tcp-reset; }
blackhole_once() { mark_once "$1" 0x7e2 && ipt -A INPUT -p tcp --dport "$PORT" -m connmark --mark 0x7e2 -j DROP; }
count_wire() { ipt -A OUTPUT -p tcp --sport "$PORT" -m comment --comment faultline-wire; }
wire() { ipt -L OUTPUT -v -n -x | awk '/faultline-wire/ {print $2; exit}'; }

stop_server() {
	if [ -n "$SERVER_PID" ]; then
		kill "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
		SERVER_PID=
	fi
}
drop_ns() {
	if [ -n "$NS" ]; then
		# Anything still in it was started by this script.
		for pid in $(ip netns pids "$NS" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
		ip netns del "$NS" 2>/dev/null || true
		NS=
	fi
}

# manifest DIR: every entry's type, mode and link target, and every
# regular file's SHA-256: two trees with the same manifest are the same
# tree (times aside).
manifest() {
	(
		cd "$1"
		find . -mindepth 1 -printf '%y %m %p -> %l\n' | LC_ALL=C sort
		find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum
	)
}
