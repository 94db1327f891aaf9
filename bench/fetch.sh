#!/usr/bin/env bash
# bench/fetch.sh: download-and-unpack, retrycheck fetch against curl and
# tar, fault-free and through three connection resets.
#
# Generates a ~150 MB, 3,000-file tree as a tar.gz (internal/e2e/cmd/mkarchive),
# serves it from faultline's fault server on 127.0.0.1 (internal/e2e/cmd/serve),
# and runs the peers alternately (A B A B ...), RUNS times each, unpacking
# into a tmpfs. Prints a Markdown table of medians: wall time, the bytes
# the server sent per byte of archive, peak RSS, and how many runs
# finished with an exact tree.
#
# Usage: bench/fetch.sh [RUNS]        (default 3; run from anywhere, as root
#                                      for the tmpfs mount)
# Environment: FILES (3000), BYTES (157286400), ONLY (a regular expression
# choosing peers), KEEP=1 keeps the work dir.
set -euo pipefail

RUNS=${1:-3}
FILES=${FILES:-3000}
BYTES=${BYTES:-157286400}
ROOT=$(cd "$(dirname "$0")/.." && pwd)

need() { command -v "$1" >/dev/null 2>&1; }
for tool in curl tar; do
	if ! need "$tool"; then
		echo "fetch.sh: $tool is missing; install it (apt-get install $tool)" >&2
		exit 1
	fi
done
if [ ! -x /usr/bin/time ]; then
	if [ "$(id -u)" = 0 ] && need apt-get; then
		apt-get install -y -qq time >/dev/null
	else
		echo "fetch.sh: /usr/bin/time is missing (apt-get install time)" >&2
		exit 1
	fi
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/faultline-fetch-bench.XXXXXX")
MNT="$WORK/mnt"
mkdir -p "$MNT" "$WORK/bin"
SERVER_PID=
cleanup() {
	if [ -n "$SERVER_PID" ]; then kill -INT "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
	if mountpoint -q "$MNT"; then umount "$MNT"; fi
	if [ "${KEEP:-}" != 1 ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT

# Unpacking 3,000 files on the work disk swings by seconds from run to
# run; a tmpfs measures the download and the unpacker, not the disk.
if mount -t tmpfs -o size=4g tmpfs "$MNT" 2>/dev/null; then
	FSNOTE="a tmpfs mounted for the run (mount -t tmpfs)"
elif [ -d /dev/shm ] && [ -w /dev/shm ]; then
	MNT=$(mktemp -d /dev/shm/faultline-fetch-bench.XXXXXX)
	FSNOTE="/dev/shm (tmpfs; mount -t tmpfs was refused)"
else
	FSNOTE="the work disk (no tmpfs available): expect noisy figures"
fi

echo "== building" >&2
(cd "$ROOT" && go build -o "$WORK/bin/retrycheck" ./cmd/retrycheck &&
	go build -o "$WORK/bin/serve" ./internal/e2e/cmd/serve &&
	go build -o "$WORK/bin/mkarchive" ./internal/e2e/cmd/mkarchive)

echo "== generating the archive" >&2
ARCHIVE="$MNT/archive.tar.gz"
read -r _ SIZE _ _ SHA < <("$WORK/bin/mkarchive" -files "$FILES" -bytes "$BYTES" "$ARCHIVE")
mkdir "$MNT/ref"
tar -xzf "$ARCHIVE" -C "$MNT/ref"
NFILES=$(find "$MNT/ref" -type f | wc -l)
echo "archive: $SIZE bytes, $NFILES files, $(du -sb "$MNT/ref" | cut -f1) bytes unpacked" >&2

H2C=no
if curl --version | grep -q HTTP2; then H2C=yes; fi

# start_server SCRIPT: starts the fault server, sets URL and SERVER_PID.
start_server() {
	# Remove the last server's output first: reading its URL would send
	# the peer to a closed port.
	rm -f "$WORK/serve.out"
	"$WORK/bin/serve" -script "$1" "$ARCHIVE" >"$WORK/serve.out" 2>&1 &
	SERVER_PID=$!
	for _ in $(seq 100); do
		URL=$(awk '/^url /{print $2}' "$WORK/serve.out" 2>/dev/null || true)
		[ -n "$URL" ] && return 0
		sleep 0.05
	done
	echo "fetch.sh: the server did not start:" >&2
	cat "$WORK/serve.out" >&2
	exit 1
}

# stop_server: stops it and sets SERVED to the body bytes it sent.
stop_server() {
	kill -INT "$SERVER_PID"
	wait "$SERVER_PID" || true
	SERVER_PID=
	SERVED=$(awk '/^served /{print $2}' "$WORK/serve.out")
}

# Each peer is a command line run by bash with URL, DEST and FILE set.
declare -A PEER
PEER[retrycheck-h1]='"$BIN"/retrycheck fetch --progress none --to "$DEST" "$URL"'
PEER[curl-tar-h1]='curl -sSf "$URL" | tar -xzf - -C "$DEST"'
PEER[retrycheck-h2c]='"$BIN"/retrycheck fetch --h2c --progress none --to "$DEST" "$URL"'
PEER[curl-tar-h2c]='curl -sSf --http2-prior-knowledge "$URL" | tar -xzf - -C "$DEST"'
PEER[curl-retry-file-tar-h1]='curl -sSf --retry 5 --retry-delay 1 -C - -o "$FILE" "$URL" && tar -xzf "$FILE" -C "$DEST"'
PEER[curl-retry-all-file-tar-h1]='curl -sSf --retry 5 --retry-delay 1 --retry-all-errors -C - -o "$FILE" "$URL" && tar -xzf "$FILE" -C "$DEST"'

# ONLY, if set, is a regular expression: only the peers it matches run.
selected() { [ -z "${ONLY:-}" ] || [[ $1 =~ $ONLY ]]; }

# measure NAME SCRIPT: one run of peer NAME against a server running
# SCRIPT; appends "name script wall_s served_ratio rss_kb exact" to RESULTS.
measure() {
	local name=$1 script=$2
	start_server "$script"
	export URL BIN="$WORK/bin" DEST="$MNT/dest" FILE="$MNT/download.tar.gz"
	rm -rf "$DEST" "$FILE"
	# curl and tar need the directory; retrycheck makes it (and refuses
	# an existing one).
	case $name in curl*) mkdir -p "$DEST" ;; esac
	local status=0
	/usr/bin/time -v -o "$WORK/time.out" bash -c "${PEER[$name]}" >"$WORK/peer.out" 2>&1 || status=$?
	stop_server
	local wall rss exact=no
	wall=$(awk -F': ' '/Elapsed \(wall clock\)/{n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$WORK/time.out")
	rss=$(awk -F': ' '/Maximum resident set size/{print $2}' "$WORK/time.out")
	if [ "$status" = 0 ] && diff -rq --no-dereference "$MNT/ref" "$DEST" >"$WORK/diff.out" 2>&1; then exact=yes; fi
	if [ "$exact" = no ]; then
		# Say why, briefly: the peer's last words, or the first differences.
		{
			echo "$name: exit $status"
			tail -n 3 "$WORK/peer.out"
			head -n 3 "$WORK/diff.out"
			grep -v '^url ' "$WORK/serve.out" | head -n 5
		} | sed 's/^/    | /' >&2
	fi
	echo "$name $script $wall $(awk -v s="$SERVED" -v z="$SIZE" 'BEGIN{printf "%.3f", s/z}') $rss $exact" >>"$WORK/results"
	printf '  %-28s %-32s %6.2fs served %s× rss %6d KB exact %s\n' "$name" "${script:-none}" "$wall" \
		"$(awk -v s="$SERVED" -v z="$SIZE" 'BEGIN{printf "%.3f", s/z}')" "$rss" "$exact" >&2
	rm -rf "$DEST" "$FILE"
}

CLEAN=none
RESETS=reset@25%,reset@25%,reset@25%
: >"$WORK/results"

echo "== (b) fault-free, alternating, $RUNS runs each" >&2
B_PEERS=(retrycheck-h1 curl-tar-h1)
if [ "$H2C" = yes ]; then B_PEERS+=(retrycheck-h2c curl-tar-h2c); fi
for _ in $(seq "$RUNS"); do
	for p in "${B_PEERS[@]}"; do if selected "$p"; then measure "$p" "$CLEAN"; fi; done
done

echo "== (c) three resets (at 25%, 50%, 75% for a resuming client), $RUNS runs each" >&2
C_PEERS=(retrycheck-h1 curl-tar-h1 curl-retry-file-tar-h1 curl-retry-all-file-tar-h1)
if [ "$H2C" = yes ]; then C_PEERS+=(retrycheck-h2c); fi
for _ in $(seq "$RUNS"); do
	for p in "${C_PEERS[@]}"; do if selected "$p"; then measure "$p" "$RESETS"; fi; done
done

# The table: medians over the runs that finished (wall time and RSS of
# all runs when none finished).
echo
echo "Fetch and unpack, $SIZE-byte tar.gz ($NFILES files), loopback, unpacked into $FSNOTE; $(nproc) cores; medians of $RUNS runs; $(date -u +%Y-%m-%d)."
echo
echo "| peer | faults | wall (s) | vs retrycheck | served / archive | peak RSS (MB) | exact tree |"
echo "|---|---|---:|---:|---:|---:|---:|"
awk -v runs="$RUNS" '
function median(list,   n, a, i, j, t) {
	n = split(list, a, " ")
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
	if (n == 0) return ""
	return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
{
	key = $1 SUBSEP $2
	if (!(key in seen)) { seen[key] = 1; order[++k] = key }
	all_wall[key] = all_wall[key] " " $3; all_rss[key] = all_rss[key] " " $5
	if ($6 == "yes") { ok[key]++; wall[key] = wall[key] " " $3; served[key] = served[key] " " $4; rss[key] = rss[key] " " $5 }
	else { served_fail[key] = served_fail[key] " " $4 }
}
END {
	for (i = 1; i <= k; i++) {
		key = order[i]; split(key, kk, SUBSEP)
		w = (ok[key] > 0) ? median(wall[key]) : median(all_wall[key])
		med[key] = w
	}
	for (i = 1; i <= k; i++) {
		key = order[i]; split(key, kk, SUBSEP)
		proto = (kk[1] ~ /h2c$/) ? "h2c" : "h1"
		ref = med["retrycheck-" proto SUBSEP kk[2]]
		vs = (ref > 0 && ok[key] > 0) ? sprintf("%.2f×", med[key] / ref) : "-"
		s = (ok[key] > 0) ? median(served[key]) : median(served_fail[key])
		r = (ok[key] > 0) ? median(rss[key]) : median(all_rss[key])
		note = (ok[key] > 0) ? "" : " (failed)"
		printf "| %s | %s | %.2f%s | %s | %.3f | %.0f | %d/%d |\n", kk[1], (kk[2] == "none" ? "none" : "3 resets"), med[key], note, vs, s, r / 1024, ok[key] + 0, runs
	}
}' "$WORK/results"
