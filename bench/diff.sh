#!/usr/bin/env bash
# Times "retrycheck diff --json default interactive" over N dumps as JSON
# Lines (default 100,000), cycling through the dumps in testdata/corpus,
# and reports failures compared per second and peak RSS (from
# /usr/bin/time -v), then the peak RSS over a tenth as many: the report
# holds counts and a few names per group, so memory does not grow with the
# input.
#
#   bench/diff.sh            # 100,000 dumps
#   N=1000000 bench/diff.sh  # a million
#
# The machine is shared: rerun when the load is high.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-100000}
out=bench/out
mkdir -p "$out"

echo "== build"
go build -o "$out/retrycheck" ./cmd/retrycheck

echo "== generate $N dumps"
. bench/dumps.sh
dump_templates "$out/diff-templates.jsonl"
cycle_lines "$N" "$out/diff-templates.jsonl" "$out/diff.jsonl"
cycle_lines $((N / 10)) "$out/diff-templates.jsonl" "$out/diff-small.jsonl"

# measure FILE COUNT prints "seconds failures/s rss_kib" for one run.
measure() {
	local code=0
	/usr/bin/time -v "$out/retrycheck" diff --json default interactive "$1" \
		> "$out/diff.json" 2> "$out/diff-time.txt" || code=$?
	if [ "$code" -ne 1 ]; then
		echo "diff exited $code, want 1 (decisions change)" >&2
		tail -5 "$out/diff-time.txt" >&2
		exit 1
	fi
	local got
	got=$(sed -n 's/^  "decided": \([0-9]*\),$/\1/p' "$out/diff.json")
	if [ "$got" -ne "$2" ]; then
		echo "compared $got of $2 failures" >&2
		exit 1
	fi
	timed_rate "$out/diff-time.txt" "$2"
}

echo "== diff --json default interactive (load: $(cut -d' ' -f1-3 /proc/loadavg))"
read -r wall rate rss <<< "$(measure "$out/diff.jsonl" "$N")"
printf "%d failures: %.2f s, %d failures/s, peak RSS %d KiB\n" "$N" "$wall" "$rate" "$rss"
small=$((N / 10))
read -r wall rate rss_small <<< "$(measure "$out/diff-small.jsonl" "$small")"
printf "%d failures: peak RSS %d KiB (memory does not grow with the input)\n" "$small" "$rss_small"
