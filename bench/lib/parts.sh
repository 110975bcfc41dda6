# Which parts of pgml_replication exist yet, and how to drive them.
# Each measurement asks here and prints "skipped: <part> not available"
# when its part has not landed. Source, don't run.

# psql against the scratch cluster of items 1-2 (or any PGPORT given).
bpsql() { as_pg psql -X -q -At -h 127.0.0.1 -p "${BPORT:-$SCRATCH_PORT}" -U postgres -d postgres "$@"; }

have_function() {  # name
	[ -n "${SCRATCH_PORT:-}" ] || return 1
	[ "$(bpsql -c "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'pgml_repl' AND p.proname = '$1'" 2>/dev/null)" -gt 0 ] 2>/dev/null
}

have_manifest() { have_function hf_cache_manifest; }

# The prefetch worker downloads on a standby once its standby cycle calls the
# fetch core; before that it only reports "idle". BENCH_PREFETCH=worker|cli
# forces a choice.
have_worker() {
	case "${BENCH_PREFETCH:-auto}" in
	cli) return 1 ;;
	worker) return 0 ;;
	esac
	have_function prefetch_status && grep -qs 'pgmlr_fetch_new' "$TOP"/src/shim/*/*.c
}

have_cli() { [ -n "${FETCH_CLI:-}" ] && [ -x "$FETCH_CLI" ]; }

# With --no-build: the CLI a previous run built, if any.
FETCH_CLI="$(find "$TOP/build/bench" -type f -name hf_fetch_cli -perm -u+x 2>/dev/null | head -n 1)"

# Builds test/tools/hf_fetch_cli with CMake when the target exists.
build_fetch_cli() {
	FETCH_CLI=""
	grep -qs 'hf_fetch_cli' "$TOP/CMakeLists.txt" "$TOP"/test/tools/CMakeLists.txt 2>/dev/null || return 0
	local b="$TOP/build/bench"
	cmake -S "$TOP" -B "$b" -DCMAKE_BUILD_TYPE=Release >>"$BENCH_LOG" 2>&1 &&
		cmake --build "$b" --target hf_fetch_cli -j2 >>"$BENCH_LOG" 2>&1 || {
		echo "bench: building hf_fetch_cli failed (see $BENCH_LOG)" >&2
		return 0
	}
	FETCH_CLI="$(find "$b" -type f -name hf_fetch_cli -perm -u+x | head -n 1)"
}

# cli_fetch MANIFEST DEST_CACHE ENDPOINT PARALLEL: the fetch core alone.
# BENCH_FETCH_ARGS overrides the argument style if the CLI changes.
cli_fetch() {
	local manifest="$1" dest="$2" endpoint="$3" par="$4"
	if [ -n "${BENCH_FETCH_ARGS:-}" ]; then
		# shellcheck disable=SC2086
		"$FETCH_CLI" ${BENCH_FETCH_ARGS//@CACHE@/$dest} <"$manifest"
	else
		"$FETCH_CLI" --cache "$dest" --endpoint "$endpoint" --parallel "$par" <"$manifest"
	fi
}

# Peak RSS (kB) of a command and its children, via getrusage.
peak_rss_kb() {
	/usr/bin/python3 -c '
import resource, subprocess, sys
rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(rc)' "$@"
}
