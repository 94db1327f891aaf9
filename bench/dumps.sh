# Sourced by decide.sh and diff.sh, not run: the dumps they feed retrycheck
# and what /usr/bin/time -v says of a run. Paths are from the repository's
# root, where both scripts run.

# dump_templates OUT [--compact] writes each dump in testdata/corpus to
# OUT, one a line. The indented dumps just lose their line breaks (JSON
# strings hold none raw, so they stay valid); --compact has jq, when there
# is one, write them as a recorder writing JSON Lines would (the
# indentation makes the input larger and the run slower).
dump_templates() {
	local out=$1 compact=${2:-}
	: > "$out"
	for f in testdata/corpus/*.json; do
		if [ "$compact" = --compact ] && command -v jq > /dev/null; then
			jq -c . "$f" >> "$out"
		else
			tr -d '\n' < "$f" >> "$out"
			echo >> "$out"
		fi
	done
	cat testdata/corpus/*.jsonl >> "$out"
}

# cycle_lines N IN OUT writes N lines to OUT, cycling through those of IN.
cycle_lines() {
	awk -v n="$1" '{ t[NR] = $0 } END { for (i = 0; i < n; i++) print t[i % NR + 1] }' "$2" > "$3"
}

# seconds converts /usr/bin/time's "h:mm:ss" or "m:ss.ss" to seconds.
seconds() { awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }'; }

# timed_rate TIME COUNT prints "seconds COUNT/s rss_kib" for a run of
# COUNT items whose /usr/bin/time -v report is in the file TIME.
timed_rate() {
	local wall rss
	wall=$(sed -n 's/.*Elapsed (wall clock) time.*: //p' "$1" | seconds)
	rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$1")
	awk -v w="$wall" -v n="$2" -v r="$rss" 'BEGIN { printf "%.2f %.0f %d\n", w, n / w, r }'
}
