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
PEER_PID= WATCHDOG=
# shellcheck source=bench/netns.sh
. "$ROOT/bench/netns.sh"

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
