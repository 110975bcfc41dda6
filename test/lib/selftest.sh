# The "selftest" suite of test/run: the result counting checked against
# probes with known numbers (test/selftest). Each probe runs through the same
# runner and counter as the real suites, and the counter's whole report must
# equal test/selftest/expected/<probe>.out. One count per probe.
# Source, don't run; needs test/lib/common.sh, counting.sh, $top and $log_dir.

selftest_dir="$top/test/selftest"

# selftest_compare PROBE KIND OUTPUT_FILE RC [FILE...]: one result line.
selftest_compare() {
	local probe="$1" got want
	shift
	got="$(count_output "$@")"
	want="$(cat "$selftest_dir/expected/$probe.out")"
	if [ "$got" == "$want" ]; then
		echo "ok     $probe: ${got##*$'\n'}"
		selftest_passed=$((selftest_passed + 1))
	else
		echo "not ok $probe: the counts differ from test/selftest/expected/$probe.out"
		diff <(echo "$want") <(echo "$got") | sed 's/^/    /'
		selftest_failed=$((selftest_failed + 1))
	fi
}

selftest_tap() {
	local out="$log_dir/selftest.tap" rc
	(cd "$selftest_dir/tap" && prove -v mixed.pl skip_all.pl died.pl no_plan.pl todo_subtest.pl) >"$out" 2>"$out.err"
	rc=$?
	selftest_compare tap tap "$out" "$rc" mixed.pl skip_all.pl died.pl no_plan.pl todo_subtest.pl
	# a bail-out stops the run: the file after it must not vanish
	(cd "$selftest_dir/tap" && prove -v bail_out.pl mixed.pl) >"$out.bail" 2>"$out.bail.err"
	rc=$?
	selftest_compare tap_bail_out tap "$out.bail" "$rc" bail_out.pl mixed.pl
}

selftest_sql() {  # with_scratch_cluster: pg_prove and pg_regress probes
	local out="$log_dir/selftest.pgtap" rc
	psql -X -q -v ON_ERROR_STOP=1 -c 'CREATE EXTENSION pgtap' -c 'CREATE DATABASE selftest_regress' >/dev/null || return 1
	(cd "$selftest_dir/pgtap" && pg_prove --verbose -d postgres -U postgres -h "$PGHOST" -p "$PGPORT" mixed.sql skip_all.sql died.sql) >"$out" 2>"$out.err"
	rc=$?
	selftest_compare pgtap tap "$out" "$rc" mixed.sql skip_all.sql died.sql
	out="$log_dir/selftest.regress"
	"$PG_REGRESS_BIN" --inputdir="$selftest_dir/regress" --outputdir="$log_dir/selftest_regress" \
		--host="$PGHOST" --port="$PGPORT" --user=postgres --use-existing --dbname=selftest_regress \
		--schedule="$selftest_dir/regress/schedule" >"$out" 2>&1
	rc=$?
	selftest_compare regress regress "$out" "$rc"
}

selftest_ctest() {
	local bdir="$log_dir/selftest_ctest" out="$log_dir/selftest.ctest" rc
	if ! cmake -S "$selftest_dir/ctest" -B "$bdir" >"$out.build" 2>&1 || ! cmake --build "$bdir" >>"$out.build" 2>&1; then
		tail -20 "$out.build"
		echo "not ok ctest: the probe did not build"
		selftest_failed=$((selftest_failed + 1))
		return
	fi
	(cd "$bdir" && ctest --output-on-failure) >"$out" 2>&1
	rc=$?
	selftest_compare ctest ctest "$out" "$rc"
}

selftest_unittest() {
	local out="$log_dir/selftest.unittest" rc
	(cd "$selftest_dir/unittest" && /usr/bin/python3 probe_unittest.py -v) >"$out" 2>&1
	rc=$?
	selftest_compare unittest unittest "$out" "$rc"
}

# A suite that returns without recording, and a scratch cluster that cannot
# get a port, must both show up as failed suites in the summary.
selftest_not_started() {
	local got
	got="$(
		summary=()
		total_fail=0
		quiet_suite() { return 1; }
		run_suite quiet quiet_suite >/dev/null
		free_port() { return 1; }
		run_suite regress with_scratch_cluster regress_suite >/dev/null 2>&1
		printf '%s|' "${summary[@]}" "$total_fail"
	)"
	if [[ "$got" =~ ^quiet\ +0\ passed,\ 1\ failed,\ 0\ skipped\|regress\ +0\ passed,\ 1\ failed,\ 0\ skipped\|2\|$ ]]; then
		echo "ok     not_started: a suite that cannot start is one failure"
		selftest_passed=$((selftest_passed + 1))
	else
		echo "not ok not_started: got '$got'"
		selftest_failed=$((selftest_failed + 1))
	fi
}

selftest_suite() {
	selftest_passed=0
	selftest_failed=0
	selftest_tap
	selftest_unittest
	selftest_not_started
	local before=$((selftest_passed + selftest_failed))
	with_scratch_cluster selftest_sql
	if ((selftest_passed + selftest_failed - before < 2)); then
		echo "not ok pgtap, regress: the probe cluster or its databases did not start"
		selftest_failed=$((selftest_failed + 2 - (selftest_passed + selftest_failed - before)))
	fi
	selftest_ctest
	record selftest "$selftest_passed" "$selftest_failed"
}
