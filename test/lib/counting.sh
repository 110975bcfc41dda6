# Result bookkeeping of test/run: every suite records one summary line, and
# its numbers come from the runner's own output through
# test/lib/count_results.py. Source, don't run; needs $top.

total_pass=0
total_skip=0
total_fail=0
summary=()

record() {  # suite passed failed [skipped]
	local skipped="${4:-0}"
	total_pass=$((total_pass + $2))
	total_fail=$((total_fail + $3))
	total_skip=$((total_skip + skipped))
	summary+=("$(printf '%-10s %5d passed, %d failed, %d skipped' "$1" "$2" "$3" "$skipped")")
}

# count_output KIND OUTPUT_FILE RC [FILE...]: the counter's report, whose
# last line is "COUNTS passed failed skipped".
count_output() {
	local kind="$1" file="$2" rc="$3"
	shift 3
	/usr/bin/python3 "$top/test/lib/count_results.py" "$kind" "$file" --rc "$rc" --files "$@" 2>&1
}

# record_counts SUITE KIND OUTPUT_FILE RC [FILE...]: prints the counter's
# lines (failures, skips, files) and records SUITE with its numbers. A
# counter that does not answer is a failure of the suite.
record_counts() {
	local name="$1" out last
	shift
	out="$(count_output "$@")"
	last="${out##*$'\n'}"
	[[ "$out" == *$'\n'* ]] && printf '%s\n' "${out%$'\n'*}"
	if [[ "$last" =~ ^COUNTS\ ([0-9]+)\ ([0-9]+)\ ([0-9]+)$ ]]; then
		record "$name" "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}" "${BASH_REMATCH[3]}"
	else
		echo "$name: the result counter failed: $last"
		record "$name" 0 1
	fi
}

# run_suite NAME COMMAND...: a suite that ends without recording anything
# (it could not start: a missing tool, no free port, a cluster that did
# not come up) is recorded as one failure, never left out of the summary.
run_suite() {
	local name="$1" before=${#summary[@]}
	shift
	"$@"
	if ((${#summary[@]} == before)); then
		echo "$name: the suite ended before it counted anything; recorded as failed"
		record "$name" 0 1
	fi
}
