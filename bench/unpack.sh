#!/usr/bin/env bash
# unpack.sh: time GNU tar against tarx (internal/archivetest/cmd/unpack) on
# a deterministic ~150 MB, 3,000-file tree, as tar.gz and tar.zst.
#
# Runs alternate (GNU tar, tarx, GNU tar, tarx, ...), RUNS of each, into a
# tmpfs when one can be mounted (as root) and on disk otherwise; the output
# says which. Prints medians, the tarx/GNU ratio and peak RSS (from
# /usr/bin/time -v when present). Needs go, tar, zstd (installed with
# apt-get if missing and root).
#
# Usage: bench/unpack.sh            (FILES=3000 BYTES=150000000 RUNS=3 SEED=1)
set -euo pipefail

FILES=${FILES:-3000}
BYTES=${BYTES:-150000000}
RUNS=${RUNS:-3}
SEED=${SEED:-1}

repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/faultline-unpack.XXXXXX")
mounted=""
cleanup() {
	if [[ -n $mounted ]]; then umount "$work/mnt" || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

if ! command -v zstd >/dev/null; then
	if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
		apt-get install -y -qq zstd >/dev/null
	else
		echo "unpack.sh: zstd is missing and cannot be installed" >&2
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
if [[ $(id -u) == 0 ]] && mount -t tmpfs -o size=4g tmpfs "$work/mnt" 2>/dev/null; then
	mounted=1
	where="tmpfs (mounted at $work/mnt)"
else
	where="disk ($(df -P "$work" | awk 'NR==2 {print $1}'))"
fi
area=$work/mnt

echo "generating a $FILES-file, $BYTES-byte tree (seed $SEED)"
for f in gzip zstd; do
	ext=$([[ $f == gzip ]] && echo tar.gz || echo tar.zst)
	"$work/bin/mkarchive" -seed "$SEED" -files "$FILES" -bytes "$BYTES" -format "$f" -o "$area/tree.$ext"
done
ls -l "$area"/tree.* | awk '{printf "  %s %d bytes\n", $NF, $5}'
echo "unpacking into $where, $RUNS runs each, alternating"

# run NAME CMD...: runs CMD with a fresh $area/out, appends "seconds rss_kb"
# to $work/NAME.times.
run() {
	local name=$1
	shift
	rm -rf "$area/out" "$area/out.parent"
	mkdir -p "$area/out.parent"
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
	run gnu-gzip sh -c "mkdir '$area/out' && tar -xzf '$area/tree.tar.gz' -C '$area/out'"
	run tarx-gzip "$work/bin/unpack" "$area/tree.tar.gz" "$area/out"
	run gnu-zstd sh -c "mkdir '$area/out' && tar --zstd -xf '$area/tree.tar.zst' -C '$area/out'"
	run tarx-zstd "$work/bin/unpack" "$area/tree.tar.zst" "$area/out"
	echo "  run $i done"
done

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

echo
printf "%-10s %-8s %12s %12s %14s\n" format tool "median ms" "runs ms" "peak RSS KiB"
for f in gzip zstd; do
	for tool in gnu tarx; do
		t=$work/$tool-$f.times
		med=$(cut -d' ' -f1 "$t" | median)
		runs=$(cut -d' ' -f1 "$t" | paste -sd/)
		rss=$(cut -d' ' -f2 "$t" | sort -n | tail -1)
		printf "%-10s %-8s %12s %12s %14s\n" "$f" "$tool" "$med" "$runs" "$rss"
		eval "med_${tool}_$f=$med"
	done
done
echo
for f in gzip zstd; do
	g=med_gnu_$f
	x=med_tarx_$f
	awk -v f="$f" -v g="${!g}" -v x="${!x}" 'BEGIN {printf "%s: tarx/GNU tar = %.2f (median %d ms vs %d ms)\n", f, x / g, x, g}'
done
echo "destination: $where; GNU tar's RSS is its largest process (tar or its decompressor)"
