#!/usr/bin/env bash
# unpack.sh: time the usual extractors against tarx
# (internal/archivetest/cmd/unpack) on a deterministic ~150 MB, 3,000-file
# tree, in every format tarx reads:
#
#   tar.gz   GNU tar -xzf         tar.zst  GNU tar --zstd -xf
#   tar.xz   GNU tar -xJf         tar.bz2  GNU tar -xjf
#   zip      unzip -q
#
# Runs alternate (peer, tarx, peer, tarx, ...), RUNS of each, into a tmpfs
# when one can be mounted (as root) and on disk otherwise; the output says
# which. Prints medians, the tarx/peer time ratio and peak RSS (from
# /usr/bin/time -v when present) with its ratio. Needs go, tar, and zstd,
# xz, bzip2 and unzip, which it installs with apt-get if missing and root.
# The tar.xz is written by the xz tool (-6, two threads, so several
# blocks), the tar.bz2 by bzip2 -9, the zip as a streaming writer makes it
# (deflate, data descriptors).
#
# Usage: bench/unpack.sh   (FILES=3000 BYTES=150000000 RUNS=3 SEED=1 FORMATS="gzip zstd xz bzip2 zip")
set -euo pipefail

FILES=${FILES:-3000}
BYTES=${BYTES:-150000000}
RUNS=${RUNS:-3}
SEED=${SEED:-1}
FORMATS=${FORMATS:-gzip zstd xz bzip2 zip}

repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/faultline-unpack.XXXXXX")
mounted=""
cleanup() {
	if [[ -n $mounted ]]; then umount "$work/mnt" || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

missing=()
command -v zstd >/dev/null || missing+=(zstd)
command -v xz >/dev/null || missing+=(xz-utils)
command -v bzip2 >/dev/null || missing+=(bzip2)
command -v unzip >/dev/null || missing+=(unzip)
if [[ ${#missing[@]} -gt 0 ]]; then
	if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
		echo "installing ${missing[*]}"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null ||
			{ apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; }
	else
		echo "unpack.sh: ${missing[*]} missing and cannot be installed" >&2
		exit 1
	fi
fi
timebin=""
if [[ -x /usr/bin/time ]] && /usr/bin/time -v true >/dev/null 2>&1; then
	timebin=/usr/bin/time
fi

echo "building tools"
(cd "$repo" && go build -o "$work/bin/mkarchive" ./internal/archivetest/cmd/mkarchive &&
	go build -o "$work/bin/unpack" ./internal/archivetest/cmd/unpack)

mkdir -p "$work/mnt"
if [[ $(id -u) == 0 ]] && mount -t tmpfs -o size=6g tmpfs "$work/mnt" 2>/dev/null; then
	mounted=1
	where="tmpfs (mounted at $work/mnt)"
else
	where="disk ($(df -P "$work" | awk 'NR==2 {print $1}'))"
fi
area=$work/mnt

ext() {
	case $1 in
	gzip) echo tar.gz ;; zstd) echo tar.zst ;; xz) echo tar.xz ;; bzip2) echo tar.bz2 ;; zip) echo zip ;;
	esac
}
# make FORMAT OUT: writes the tree in FORMAT. The tar.xz is written by
# the xz tool as distributions run it (xz -6 -T2: blocks of 24 MiB).
make_archive() {
	local args=(-seed "$SEED" -files "$FILES" -bytes "$BYTES")
	case $1 in
	xz) "$work/bin/mkarchive" "${args[@]}" -format tar | xz -6 -T2 -c >"$2" ;;
	*) "$work/bin/mkarchive" "${args[@]}" -format "$1" -o "$2" ;;
	esac
}
# peer FORMAT FILE: the command the peer runs into $area/out.
peer() {
	case $1 in
	gzip) echo "tar -xzf '$2' -C '$area/out'" ;;
	zstd) echo "tar --zstd -xf '$2' -C '$area/out'" ;;
	xz) echo "tar -xJf '$2' -C '$area/out'" ;;
	bzip2) echo "tar -xjf '$2' -C '$area/out'" ;;
	zip) echo "unzip -q '$2' -d '$area/out'" ;;
	esac
}
peername() {
	case $1 in
	gzip) echo "tar -xzf" ;; zstd) echo "tar --zstd -xf" ;; xz) echo "tar -xJf" ;; bzip2) echo "tar -xjf" ;; zip) echo "unzip -q" ;;
	esac
}

echo "generating a $FILES-file, $BYTES-byte tree (seed $SEED) as: $FORMATS"
for f in $FORMATS; do
	make_archive "$f" "$area/tree.$(ext "$f")"
done
ls -l "$area"/tree.* | awk '{printf "  %s %d bytes\n", $NF, $5}'
echo "unpacking into $where, $RUNS runs each, alternating"

# run NAME CMD...: runs CMD with a fresh $area/out, appends "ms rss_kb" to
# $work/NAME.times.
run() {
	local name=$1
	shift
	rm -rf "$area/out"
	sync
	local start end rss=0
	start=$(date +%s%N)
	if [[ -n $timebin ]]; then
		"$timebin" -v -o "$work/time.txt" "$@"
		rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
	else
		"$@"
	fi
	end=$(date +%s%N)
	echo "$(((end - start) / 1000000)) $rss" >>"$work/$name.times"
}

for i in $(seq "$RUNS"); do
	for f in $FORMATS; do
		file=$area/tree.$(ext "$f")
		run "peer-$f" sh -c "mkdir '$area/out' && $(peer "$f" "$file")"
		run "tarx-$f" "$work/bin/unpack" "$file" "$area/out"
	done
	echo "  run $i done"
done

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

echo
printf "%-7s %-16s %10s %18s %14s\n" format tool "median ms" "runs ms" "peak RSS KiB"
for f in $FORMATS; do
	for tool in peer tarx; do
		t=$work/$tool-$f.times
		med=$(cut -d' ' -f1 "$t" | median)
		runs=$(cut -d' ' -f1 "$t" | paste -sd/)
		rss=$(cut -d' ' -f2 "$t" | sort -n | tail -1)
		name=$([[ $tool == peer ]] && peername "$f" || echo tarx)
		printf "%-7s %-16s %10s %18s %14s\n" "$f" "$name" "$med" "$runs" "$rss"
		eval "med_${tool}_$f=$med rss_${tool}_$f=$rss"
	done
done
echo
for f in $FORMATS; do
	p=med_peer_$f x=med_tarx_$f pr=rss_peer_$f xr=rss_tarx_$f
	awk -v f="$f" -v n="$(peername "$f")" -v p="${!p}" -v x="${!x}" -v pr="${!pr}" -v xr="${!xr}" \
		'BEGIN {printf "%-6s tarx/%s: time %.2f× (%d ms vs %d ms), peak RSS %.2f× (%.1f MB vs %.1f MB)\n", f, n, x / p, x, p, (pr > 0 ? xr / pr : 0), xr / 1024, pr / 1024}'
done
echo "destination: $where; a peer's RSS is its largest process (tar or its decompressor)"
