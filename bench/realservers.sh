#!/usr/bin/env bash
# bench/realservers.sh: retrycheck fetch against curl and aria2c (each
# followed by tar) on real servers, nginx (HTTP/1.1) and Caddy (HTTP/2
# over TLS), in a network namespace of their own, through the faults of
# internal/realserver made by the kernel: a middlebox that resets every
# connection after 10 MB, a black hole, resets that let nothing through, a
# slow steady rate, ranges switched off, the file replaced mid-download, and
# the client killed (kill -9) half-way and run again.
#
# For each scenario and peer, one run, in a fresh namespace and server:
# whether it finished with the exact tree, the bytes the server put on the
# wire (an iptables OUTPUT counter) per byte of archive, and the wall time.
# Prints a Markdown table on standard output; progress on standard error.
#
# Usage: bench/realservers.sh        (as root; run from anywhere)
# Environment: ONLY (a regular expression choosing scenarios), PEERS (one
# choosing peers), CAP (seconds a peer may run before it is stopped, 90),
# BIG_BYTES (content of the large archive, 460000000: ~200 MB tar.gz),
# MID_BYTES (200000000: ~90 MB), KEEP=1 keeps the work directory.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CAP=${CAP:-90}
BIG_BYTES=${BIG_BYTES:-460000000}
MID_BYTES=${MID_BYTES:-200000000}

if [ "$(id -u)" != 0 ]; then
	echo "realservers.sh: needs root (network namespaces, iptables, tc)" >&2
	exit 1
fi
for tool in ip iptables tc nginx caddy curl aria2c tar sha256sum timeout go; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "realservers.sh: $tool is missing (apt-get install nginx-light caddy iptables iproute2 aria2 curl)" >&2
		exit 1
	fi
done

# Named like internal/realserver's namespaces and scratch directories
# (faultline-rs-PID-...), so that its Sweep removes what a killed run of
# this script leaves.
TAG="faultline-rs-$$"
WORK=$(mktemp -d "/dev/shm/$TAG-bench.XXXXXX")
chmod 755 "$WORK"
mkdir -p "$WORK/bin" "$WORK/www"
NS= SERVER_PID= PEER_PID= WATCHDOG=

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
cleanup() {
	if [ -n "$PEER_PID" ]; then kill -9 "$PEER_PID" 2>/dev/null || true; fi
	if [ -n "$WATCHDOG" ]; then kill "$WATCHDOG" 2>/dev/null || true; fi
	stop_server
	drop_ns
	if [ "${KEEP:-}" != 1 ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== building" >&2
(cd "$ROOT" && go build -o "$WORK/bin/retrycheck" ./cmd/retrycheck &&
	go build -o "$WORK/bin/mkarchive" ./internal/e2e/cmd/mkarchive)

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

# archive NAME SEED BYTES: generates WORK/NAME.tar.gz and its manifest.
archive() {
	local name=$1 seed=$2 bytes=$3
	"$WORK/bin/mkarchive" -seed "$seed" -files 3000 -bytes "$bytes" "$WORK/$name.tar.gz" >/dev/null
	mkdir "$WORK/ref"
	tar -xzf "$WORK/$name.tar.gz" -C "$WORK/ref"
	manifest "$WORK/ref" >"$WORK/$name.manifest"
	rm -rf "$WORK/ref"
	echo "   $name.tar.gz: $(stat -c %s "$WORK/$name.tar.gz") bytes" >&2
}
echo "== generating archives" >&2
archive big 200 "$BIG_BYTES"
archive mid 90 "$MID_BYTES"
archive mid2 91 "$((MID_BYTES / 3))"
archive small 12 2000000
size() { stat -c %s "$WORK/$1.tar.gz"; }

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
	echo "realservers.sh: the server did not start" >&2
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

# The peers. Each is a download command and an unpack command, run by bash
# with URL, DEST, FILE and CA set. curl and aria2c download to FILE, then
# tar unpacks it; retrycheck does both at once. curl's retries wait a
# fixed second (its default doubles up to ten minutes).
declare -A DOWNLOAD UNPACK
DOWNLOAD[retrycheck]='"$BIN"/retrycheck fetch --progress none ${CA:+--ca "$CA"} --to "$DEST" "$URL"'
UNPACK[retrycheck]=':'
DOWNLOAD[curl]='curl -sS --retry 10 --retry-all-errors --retry-delay 1 -C - ${CA:+--cacert "$CA"} -o "$FILE" "$URL"'
UNPACK[curl]='mkdir -p "$DEST" && tar -xzf "$FILE" -C "$DEST"'
DOWNLOAD[aria2c]='aria2c -c --console-log-level=error --summary-interval=0 --show-console-readout=false --download-result=hide --max-tries=10 --retry-wait=1 ${CA:+--ca-certificate="$CA"} -d "$(dirname "$FILE")" -o "$(basename "$FILE")" "$URL"'
UNPACK[aria2c]='mkdir -p "$DEST" && tar -xzf "$FILE" -C "$DEST"'
PEER_LIST=(retrycheck curl aria2c)

export BIN="$WORK/bin"

now() { date +%s.%N; }

# download_bg PEER: runs PEER's download in the namespace in the
# background, and sets PEER_PID to the download's own process (ip netns
# exec execs bash, which execs the command), so kill -9 hits it. A
# watchdog kills it after CAP seconds.
download_bg() {
	ip netns exec "$NS" bash -c "exec ${DOWNLOAD[$1]}" >>"$WORK/peer.out" 2>&1 &
	PEER_PID=$!
	(
		trap 'kill "$sp" 2>/dev/null; exit 0' TERM
		sleep "$CAP" &
		sp=$!
		wait "$sp"
		kill -9 "$PEER_PID" 2>/dev/null
	) &
	WATCHDOG=$!
}

# wait_wire N: waits until the server has sent N bytes, or the download
# ended.
wait_wire() {
	while [ "$(wire)" -lt "$1" ]; do
		if ! kill -0 "$PEER_PID" 2>/dev/null; then return 1; fi
		sleep 0.02
	done
}

# finish PEER: waits for the background download, then unpacks.
finish() {
	local status=0
	wait "$PEER_PID" || status=$?
	PEER_PID=
	kill "$WATCHDOG" 2>/dev/null || true
	wait "$WATCHDOG" 2>/dev/null || true
	if [ "$status" = 0 ]; then bash -c "${UNPACK[$1]}" >>"$WORK/peer.out" 2>&1 || status=$?; fi
	return "$status"
}

# aria2_status N: what aria2c's exit status N means (aria2c(1), EXIT STATUS).
aria2_status() {
	case $1 in
	1) echo "unknown error" ;;
	2) echo "timeout" ;;
	6) echo "network problem" ;;
	7) echo "unfinished downloads" ;;
	8) echo "the server does not support resume" ;;
	22) echo "unexpected HTTP response header" ;;
	*) echo "see aria2c(1)" ;;
	esac
}

# measure SCENARIO PEER: one run in a fresh namespace and server.
measure() {
	local scenario=$1 peer=$2 arch=mid status=0 note=
	new_ns
	rm -rf "$WORK/www"/* "$WORK/out" && mkdir -p "$WORK/out"
	export DEST="$WORK/out/tree" FILE="$WORK/out/archive.tar.gz"
	: >"$WORK/peer.out"
	case $scenario in
	reset10-*) arch=big ;;
	slow) arch=small ;;
	esac
	ln "$WORK/$arch.tar.gz" "$WORK/www/a.tar.gz"
	local size
	size=$(size "$arch")
	case $scenario in
	*-caddy) start_caddy ;;
	rangesoff) start_nginx "max_ranges 0;" ;;
	replaced | kill9) start_nginx "limit_rate 50m;" ;;
	*) start_nginx ;;
	esac
	export URL="$URL_BASE/a.tar.gz" CA
	case $scenario in
	reset10-*) reset_every 10000000 ;;
	blackhole) blackhole_once 40000000 ;;
	noprogress) in_ns ip link set lo mtu 1500 && reset_every 8192 ;;
	slow) in_ns ip link set lo mtu 1500 && in_ns tc qdisc replace dev lo root tbf rate 1600kbit burst 8kb limit 1mb ;;
	rangesoff) reset_once $((size / 2)) ;;
	esac
	count_wire

	local start end
	start=$(now)
	case $scenario in
	replaced)
		# Half-way, a deploy renames a new archive over the file, and the
		# connection is reset.
		download_bg "$peer"
		if wait_wire $((size / 2)); then
			ln "$WORK/mid2.tar.gz" "$WORK/www/.next" && mv -f "$WORK/www/.next" "$WORK/www/a.tar.gz"
			reset_once 0
		fi
		finish "$peer" || status=$?
		arch=mid2
		;;
	kill9)
		# Killed half-way, then run again as it was.
		download_bg "$peer"
		if wait_wire $((size / 2)); then
			kill -9 "$PEER_PID" 2>/dev/null || true
			note="killed at $(awk -v w="$(wire)" -v s="$size" 'BEGIN{printf "%.0f%%", 100*w/s}')"
		fi
		wait "$PEER_PID" 2>/dev/null || true
		kill "$WATCHDOG" 2>/dev/null || true
		wait "$WATCHDOG" 2>/dev/null || true
		download_bg "$peer"
		finish "$peer" || status=$?
		;;
	*)
		download_bg "$peer"
		finish "$peer" || status=$?
		;;
	esac
	end=$(now)
	local w exact=no
	w=$(wire)
	if [ "$status" = 0 ] && [ -d "$DEST" ] && manifest "$DEST" 2>/dev/null | cmp -s - "$WORK/$arch.manifest"; then exact=yes; fi
	if [ "$status" = 137 ]; then note="${note:+$note; }killed at the ${CAP}s cap"; fi
	if [ "$exact" = no ] && [ "$status" = 0 ]; then note="${note:+$note; }WRONG TREE"; fi
	if [ "$status" != 0 ] && [ "$status" != 137 ]; then
		local said
		said=$({ grep -v '^$' "$WORK/peer.out" || true; } | tail -n 1 | cut -c1-100 | tr '|' '/')
		# aria2c says only "see the log file"; its exit status says what.
		if [ "$peer" = aria2c ]; then
			grep -v '^$' "$WORK/peer.out" | tail -n 3 | sed 's/^/    | /' >&2 || true
			said=$(aria2_status "$status")
		fi
		note="${note:+$note; }exit $status: $said"
	fi
	stop_server
	drop_ns
	local ratio wall mb
	# Against the archive that had to arrive (for "replaced", the new one).
	ratio=$(awk -v w="$w" -v s="$(size "$arch")" 'BEGIN{printf "%.3f", w/s}')
	mb=$(awk -v w="$w" 'BEGIN{printf "%.1f", w/1e6}')
	wall=$(awk -v a="$start" -v b="$end" 'BEGIN{printf "%.1f", b-a}')
	printf '  %-14s %-10s exact %-3s wire %7s MB %s× %6ss %s\n' "$scenario" "$peer" "$exact" "$mb" "$ratio" "$wall" "$note" >&2
	echo "| $scenario | $peer | $exact | $mb | $ratio | $wall | $note |" >>"$WORK/results"
	rm -rf "$WORK/out"
}

SCENARIOS=(none reset10-nginx reset10-caddy blackhole noprogress slow rangesoff replaced kill9)
: >"$WORK/results"
echo "== running (one run each, peers alternating)" >&2
for s in "${SCENARIOS[@]}"; do
	if [ -n "${ONLY:-}" ] && ! [[ $s =~ $ONLY ]]; then continue; fi
	for p in "${PEER_LIST[@]}"; do
		if [ -n "${PEERS:-}" ] && ! [[ $p =~ $PEERS ]]; then continue; fi
		measure "$s" "$p"
	done
done

echo
echo "Real servers in a network namespace, one run each, $(date -u +%Y-%m-%d): $(nproc) cores shared with other builds;"
echo "nginx $(nginx -v 2>&1 | sed 's/.*nginx\///'), Caddy $(caddy version | cut -d' ' -f1), curl $(curl --version | head -1 | cut -d' ' -f2), aria2 $(aria2c --version | head -1 | awk '{print $3}'), $(go version | cut -d' ' -f3)."
echo "Archives: big $(size big) bytes, mid $(size mid) bytes (mid2 $(size mid2) replaces it), small $(size small) bytes; unpacked into /dev/shm."
echo
echo "| scenario | peer | exact tree | wire (MB) | wire / archive | wall (s) | note |"
echo "|---|---|:-:|---:|---:|---:|---|"
cat "$WORK/results"
