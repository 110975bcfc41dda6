# Timing and result rows for bench/run. Source, don't run.
#
# A "side" is a shell function that does its own preparation, times only the
# work, and prints the elapsed seconds as its last line of stdout. measure()
# runs every side K times, rotating the order each run so that no side always
# goes first on a noisy shared machine, and keeps the median.

now_ns() { date +%s%N; }

# elapsed CMD...: runs CMD (output to the log), prints wall seconds.
elapsed() {
	local t0 t1
	t0=$(now_ns)
	"$@" >>"$BENCH_LOG" 2>&1 || { echo "failed: $*" >>"$BENCH_LOG"; return 1; }
	t1=$(now_ns)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f\n", (b - a) / 1e9 }'
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) exit 1; if (NR % 2) print v[(NR + 1) / 2]; else printf "%.6f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

declare -A MED

# measure ITEM K SIDE...: fills MED[SIDE] with the median seconds.
measure() {
	local item="$1" k="$2" r j s v n
	shift 2
	local sides=("$@")
	n=${#sides[@]}
	for ((r = 0; r < k; r++)); do
		for ((j = 0; j < n; j++)); do
			s="${sides[$(((j + r) % n))]}"
			v="$("$s" | tail -n 1)"
			if ! [[ "$v" =~ ^[0-9.]+$ ]]; then
				echo "  $s failed (see $BENCH_LOG)" >&2
				return 1
			fi
			echo "$item,$s,$r,$v" >>"$RES/samples.csv"
			printf '  %-28s run %d: %9.3f s\n' "$s" "$((r + 1))" "$v" >&2
		done
	done
	for s in "${sides[@]}"; do
		MED[$s]="$(awk -F, -v i="$item" -v s="$s" '$1 == i && $2 == s { print $4 }' "$RES/samples.csv" | median)"
	done
}

csv_quote() { local x="${1//\"/\"\"}"; printf '"%s"' "$x"; }

# row ITEM WHAT OURS OURS_VALUE BASELINE BASELINE_VALUE UNIT RATIO BAR NOTE
# RATIO is "how many times better ours is" (>1 = ours better); BAR is
# "ratio>=X", "ours<=X" or "ours>=X" (checked by report.py) or empty.
row() {
	local out="" f
	for f in "$@"; do out+="$(csv_quote "$f"),"; done
	echo "${out%,}" >>"$RES/results.csv"
}

skipped() {  # ITEM WHAT REASON
	echo "  skipped: $3" >&2
	row "$1" "$2" "" "" "" "" "" "" "" "skipped: $3"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f\n", a / b; else print "" }'; }
mbps() { awk -v bytes="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.1f\n", bytes / s / 1e6; else print "" }'; }
