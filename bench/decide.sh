#!/usr/bin/env bash
# Times "retrycheck decide --json" over N dumps as JSON Lines (default
# 100,000), built by cycling through the dumps in testdata/corpus, and
# reports dumps per second and peak RSS (from /usr/bin/time -v). It runs
# RUNS times (default 3) and prints every run and the median; a run over a
# tenth as many dumps shows that memory does not grow with the input.
#
#   bench/decide.sh            # 100,000 dumps
#   N=1000000 bench/decide.sh  # a million
#
# The machine is shared: quote medians, and rerun when the load is high.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-100000}
RUNS=${RUNS:-3}
out=bench/out
mkdir -p "$out"

echo "== build"
go build -o "$out/retrycheck" ./cmd/retrycheck

echo "== generate $N dumps"
. bench/dumps.sh
# One dump a line, compact as a recorder writing JSON Lines would write it.
dump_templates "$out/templates.jsonl" --compact
cycle_lines "$N" "$out/templates.jsonl" "$out/dumps.jsonl"
cycle_lines $((N / 10)) "$out/templates.jsonl" "$out/dumps-small.jsonl"
echo "$(wc -l < "$out/templates.jsonl") distinct dumps, $(du -h "$out/dumps.jsonl" | cut -f1) of JSON Lines"

# measure FILE COUNT prints "seconds dumps/s rss_kib" for one run.
measure() {
	/usr/bin/time -v "$out/retrycheck" decide --json --policy policies/default.yaml "$1" \
		> "$out/decisions.jsonl" 2> "$out/time.txt"
	local got
	got=$(wc -l < "$out/decisions.jsonl")
	if [ "$got" -ne "$2" ]; then
		echo "decided $got of $2 dumps" >&2
		exit 1
	fi
	timed_rate "$out/time.txt" "$2"
}

echo "== decide --json, $RUNS runs of $N dumps (load: $(cut -d' ' -f1-3 /proc/loadavg))"
: > "$out/runs.txt"
for run in $(seq "$RUNS"); do
	m=$(measure "$out/dumps.jsonl" "$N")
	echo "$m" >> "$out/runs.txt"
	read -r wall rate rss <<< "$m"
	printf "run %d: %6.2f s  %8d dumps/s  peak RSS %6d KiB\n" "$run" "$wall" "$rate" "$rss"
done
read -r wall rate rss <<< "$(sort -n -k2 "$out/runs.txt" | awk -v m=$(((RUNS + 1) / 2)) 'NR == m')"
printf "median: %d dumps/s, peak RSS %d KiB (%d MiB)\n" "$rate" "$rss" $((rss / 1024))

small=$((N / 10))
read -r wall rate rss_small <<< "$(measure "$out/dumps-small.jsonl" "$small")"
printf "%d dumps: peak RSS %d KiB; %d dumps: %d KiB (memory does not grow with the input)\n" \
	"$small" "$rss_small" "$N" "$rss"
