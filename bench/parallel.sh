#!/usr/bin/env bash
# bench/parallel.sh: faster than one connection. retrycheck fetch with 1,
# 4, 8 and auto connections against `curl | tar` and `aria2c -x 8 -s 8`
# then tar, on nginx in a network namespace of its own that limits each
# request's rate (limit_rate, as CDNs and object stores do), fault-free and
# behind a middlebox that resets every connection after 10 MB; and on plain
# loopback without a limit, where more connections cannot help and auto
# must not hurt.
#
# Each run gets a fresh namespace and server; the peers run alternately
# (A B C … A B C …), RUNS times each. Prints a Markdown table of medians on
# standard output: wall time, throughput against `curl | tar`, bytes the
# server put on the wire (an iptables OUTPUT counter) per byte of archive,
# peak RSS, and how many runs ended with the exact tree.
#
# Usage: bench/parallel.sh            (as root; run from anywhere)
# Environment: RUNS (3), BYTES (content of the archive, 340000000: ~150 MB
# tar.gz), RATE (nginx limit_rate, 20m), ONLY (a regular expression
# choosing scenarios), PEERS (one choosing peers), KEEP=1 keeps the work
# directory.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
RUNS=${RUNS:-3}
BYTES=${BYTES:-340000000}
RATE=${RATE:-20m}

if [ "$(id -u)" != 0 ]; then
	echo "parallel.sh: needs root (network namespaces, iptables)" >&2
	exit 1
fi
for tool in ip iptables nginx curl aria2c tar sha256sum go; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "parallel.sh: $tool is missing (apt-get install nginx-light iptables iproute2 aria2 curl)" >&2
		exit 1
	fi
done
if [ ! -x /usr/bin/time ]; then
	if command -v apt-get >/dev/null 2>&1; then apt-get install -y -qq time >/dev/null; else
		echo "parallel.sh: /usr/bin/time is missing (apt-get install time)" >&2
		exit 1
	fi
fi

TAG="faultline-rs-$$"
WORK=$(mktemp -d "/dev/shm/$TAG-parallel.XXXXXX")
chmod 755 "$WORK"
mkdir -p "$WORK/bin" "$WORK/www"
# shellcheck source=bench/netns.sh
. "$ROOT/bench/netns.sh"
cleanup() {
	stop_server
	drop_ns
	if [ "${KEEP:-}" != 1 ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== building" >&2
(cd "$ROOT" && go build -o "$WORK/bin/retrycheck" ./cmd/retrycheck &&
	go build -o "$WORK/bin/mkarchive" ./internal/e2e/cmd/mkarchive)
export BIN="$WORK/bin"

echo "== generating the archive" >&2
"$BIN/mkarchive" -seed 12 -files 3000 -bytes "$BYTES" "$WORK/www/a.tar.gz" >/dev/null
SIZE=$(stat -c %s "$WORK/www/a.tar.gz")
mkdir "$WORK/ref"
tar -xzf "$WORK/www/a.tar.gz" -C "$WORK/ref"
manifest "$WORK/ref" >"$WORK/ref.manifest"
rm -rf "$WORK/ref"
echo "   a.tar.gz: $SIZE bytes" >&2

# The peers: command lines run by bash in the namespace, with URL, DEST
# and FILE set. curl and aria2c need DEST to exist; retrycheck makes it.
declare -A PEER
PEER[retrycheck-1]='"$BIN"/retrycheck fetch --progress none --connections 1 --to "$DEST" "$URL"'
PEER[retrycheck-4]='"$BIN"/retrycheck fetch --progress none --connections 4 --to "$DEST" "$URL"'
PEER[retrycheck-8]='"$BIN"/retrycheck fetch --progress none --connections 8 --to "$DEST" "$URL"'
PEER[retrycheck-auto]='"$BIN"/retrycheck fetch --progress none --connections auto --to "$DEST" "$URL"'
PEER[curl-tar]='mkdir -p "$DEST" && curl -sS "$URL" | tar -xzf - -C "$DEST"'
PEER[aria2c-tar]='mkdir -p "$DEST" && aria2c -x 8 -s 8 --console-log-level=error --summary-interval=0 --show-console-readout=false --download-result=hide -d "$(dirname "$FILE")" -o "$(basename "$FILE")" "$URL" && tar -xzf "$FILE" -C "$DEST"'

# The scenarios: nginx's directives, the fault, the peers.
declare -A DIRECTIVES FAULT PEERS_OF
DIRECTIVES[limited]="limit_rate $RATE;"
FAULT[limited]=
PEERS_OF[limited]="retrycheck-1 retrycheck-4 retrycheck-8 retrycheck-auto curl-tar aria2c-tar"
DIRECTIVES[limited-reset10]="limit_rate $RATE;"
FAULT[limited-reset10]="reset_every 10000000"
PEERS_OF[limited-reset10]="retrycheck-1 retrycheck-4 retrycheck-auto"
DIRECTIVES[loopback]=
FAULT[loopback]=
PEERS_OF[loopback]="retrycheck-1 retrycheck-auto curl-tar"
SCENARIOS=(limited limited-reset10 loopback)

# measure SCENARIO PEER: one run; appends a line to WORK/results.
measure() {
	local scenario=$1 peer=$2 status=0 exact=no
	new_ns
	start_nginx "${DIRECTIVES[$scenario]}"
	if [ -n "${FAULT[$scenario]}" ]; then ${FAULT[$scenario]}; fi
	count_wire
	rm -rf "$WORK/out" && mkdir -p "$WORK/out"
	export URL="$URL_BASE/a.tar.gz" DEST="$WORK/out/tree" FILE="$WORK/out/a.tar.gz"
	/usr/bin/time -f '%e %M' -o "$WORK/time.out" ip netns exec "$NS" bash -c "${PEER[$peer]}" >"$WORK/peer.out" 2>&1 || status=$?
	local w wall rss
	w=$(wire)
	# time says "Command exited with non-zero status N" first when it did.
	read -r wall rss < <(tail -n 1 "$WORK/time.out") || true
	stop_server
	drop_ns
	if [ "$status" = 0 ] && manifest "$DEST" 2>/dev/null | cmp -s - "$WORK/ref.manifest"; then exact=yes; fi
	if [ "$exact" = no ]; then
		{
			echo "$scenario $peer: exit $status"
			tail -n 3 "$WORK/peer.out"
		} | sed 's/^/    | /' >&2
	fi
	local ratio
	ratio=$(awk -v w="$w" -v s="$SIZE" 'BEGIN{printf "%.4f", w/s}')
	printf '  %-16s %-16s %6.2fs wire %s× rss %6d KB exact %s\n' "$scenario" "$peer" "$wall" "$ratio" "$rss" "$exact" >&2
	echo "$scenario $peer $wall $ratio $rss $exact" >>"$WORK/results"
	rm -rf "$WORK/out"
}

: >"$WORK/results"
for s in "${SCENARIOS[@]}"; do
	if [ -n "${ONLY:-}" ] && ! [[ $s =~ $ONLY ]]; then continue; fi
	echo "== $s, $RUNS runs, peers alternating" >&2
	for _ in $(seq "$RUNS"); do
		for p in ${PEERS_OF[$s]}; do
			if [ -n "${PEERS:-}" ] && ! [[ $p =~ $PEERS ]]; then continue; fi
			measure "$s" "$p"
		done
	done
done

echo
echo "Parallel download and unpack of a $SIZE-byte tar.gz (3,000 files) from nginx $(nginx -v 2>&1 | sed 's/.*nginx\///') in a network namespace; limited: limit_rate $RATE per request; $(nproc) cores shared with other builds; medians of $RUNS runs; unpacked into /dev/shm; $(date -u +%Y-%m-%d)."
echo
echo "| scenario | peer | wall (s) | throughput vs curl \\| tar | wire / archive | peak RSS (MB) | exact tree |"
echo "|---|---|---:|---:|---:|---:|---:|"
awk -v runs="$RUNS" '
function median(list,   n, a, i, j, t) {
	n = split(list, a, " ")
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
	if (n == 0) return 0
	return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
{
	key = $1 SUBSEP $2
	if (!(key in seen)) { seen[key] = 1; order[++k] = key }
	wall[key] = wall[key] " " $3; wire[key] = wire[key] " " $4; rss[key] = rss[key] " " $5
	if ($6 == "yes") ok[key]++
}
END {
	for (i = 1; i <= k; i++) { key = order[i]; med[key] = median(wall[key]) }
	for (i = 1; i <= k; i++) {
		key = order[i]; split(key, kk, SUBSEP)
		ref = med[kk[1] SUBSEP "curl-tar"]
		vs = (ref > 0 && med[key] > 0) ? sprintf("%.2f×", ref / med[key]) : "-"
		printf "| %s | %s | %.2f | %s | %.4f | %.0f | %d/%d |\n", kk[1], kk[2], med[key], vs, median(wire[key]), median(rss[key]) / 1024, ok[key] + 0, runs
	}
}' "$WORK/results"
