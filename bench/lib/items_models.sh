# Item 13 of bench/run: a model declared in SQL (pgml_repl.want_model(),
# issue 16), fetched by the primary's prefetch worker through a Hub that caps
# every connection, against huggingface_hub's snapshot_download and aria2c
# -x16 -s16 on the same files. Source, don't run.
#
# The Hub is the test Hub (test/hub/hub_server.py: the API the worker and
# snapshot_download ask first, resolve, a 302 to its "CDN" listener for LFS
# blobs) with --rate-limit ITEM13_CAP bytes/s on every TCP connection's file
# bodies, over item 9's 4-shard repo (bench-org/capped-shards, 4 x SHARD_MB
# MiB + config.json). The cap is low enough that the Python Hub is not the
# limit on 2 cores: before the timed runs one aria2c run with the Hub's
# pacing at 1 GB/s a connection measures the Hub's own ceiling, and the rows
# give it beside each side's throughput.

# Bytes/s per connection. 2 MB/s: the worker and aria2c open up to 64 and
# 48 connections here (128 and 96 MB/s), snapshot_download one a file.
ITEM13_CAP="${ITEM13_CAP:-2000000}"
M13_DIR="" M13_PORT="" M13_CACHE="" M13_REPO=""

m13psql() { BPORT="$M13_PORT" bpsql "$@"; }

# m13_primary_start HUB_URL: a scratch primary with the library preloaded,
# an empty cache folder, the Hub as hf_endpoint and naptime 1; sets
# M13_DIR M13_PORT M13_CACHE.
m13_primary_start() {
	M13_DIR="$(make_pg_dir bench-models)" && track pg "$M13_DIR"
	M13_PORT="$(free_port)" || return 1
	M13_CACHE="$M13_DIR/hf-cache"
	install -d -o "$PG_OS_USER" -m 755 "$M13_CACHE"
	scratch_cluster_start "$M13_DIR" "$M13_PORT" \
		"shared_preload_libraries = 'pgml_replication'" \
		"pgml_replication.database = 'postgres'" \
		"pgml_replication.hf_cache_dir = '$M13_CACHE'" \
		"pgml_replication.hf_endpoint = '$1'" \
		"pgml_replication.naptime = 1" \
		"pgml_replication.min_free_disk = 0" >>"$BENCH_LOG" 2>&1 || return 1
	m13psql -c "CREATE EXTENSION pgml_replication" >>"$BENCH_LOG" 2>&1
}

m13_primary_stop() {
	[ -n "$M13_DIR" ] && { scratch_cluster_stop "$M13_DIR"; rm -rf "$M13_DIR"; }
	M13_DIR=""
}

# Nothing declared, a whole cycle run since, the cache empty: the state
# before each timed run (outside the window). unwant_model() first, then a
# cycle that started after it has finished (the worker dropped the model),
# then the cache folder is renamed away and removed, and created again.
m13_reset() {
	local t i
	m13psql -c "SELECT pgml_repl.unwant_model('$M13_REPO')" >>"$BENCH_LOG" 2>&1 || return 1
	t="$(m13psql -c 'SELECT clock_timestamp()')" || return 1
	for ((i = 0; i < 300; i++)); do
		[ "$(m13psql -c "SELECT state = 'idle' AND last_cycle_started_at > '$t' AND last_cycle_finished_at >= last_cycle_started_at
		                   FROM pgml_repl.prefetch_status()" 2>/dev/null)" = t ] && break
		sleep 0.1
	done
	((i < 300)) || { echo "m13_reset: no idle cycle after unwant_model(): $(m13psql -c 'TABLE pgml_repl.prefetch_status()' 2>&1)" >>"$BENCH_LOG"; return 1; }
	rm -rf "$M13_CACHE.trash"
	mv "$M13_CACHE" "$M13_CACHE.trash" && install -d -o "$PG_OS_USER" -m 755 "$M13_CACHE" || return 1
	rm -rf "$M13_CACHE.trash"
}

# Ours: want_model() and prefetch_now() in one psql (what a migration runs),
# then model_status() polled every 0.1 s until the model is ready with every
# file present; local wall time (the poll adds up to 0.1 s plus a psql start).
side_declared() {
	m13_reset || return 1
	local t0 t1 out deadline=$(($(date +%s) + ${BENCH_TIMEOUT:-300}))
	t0=$(now_ns)
	m13psql -c "SELECT pgml_repl.want_model('$M13_REPO')" -c "SELECT pgml_repl.prefetch_now()" >>"$BENCH_LOG" 2>&1 || return 1
	while (($(date +%s) < deadline)); do
		out="$(m13psql -c "SELECT state = 'ready' AND files_present = files_wanted FROM pgml_repl.model_status()
		                    WHERE repo_id = '$M13_REPO'" 2>/dev/null)"
		[ "$out" = t ] && t1=$(now_ns) && break
		sleep 0.1
	done
	if [ -z "${t1:-}" ]; then
		echo "side_declared: not ready after ${BENCH_TIMEOUT:-300} s: $(m13psql -c 'TABLE pgml_repl.model_status()' -c 'TABLE pgml_repl.prefetch_status()' 2>&1)" >>"$BENCH_LOG"
		return 1
	fi
	m13psql -c "SELECT state, files_present, files_wanted, bytes_present FROM pgml_repl.model_status()" >>"$BENCH_LOG" 2>&1
	check_fetched "$PREFETCH_MANIFEST" "$M13_CACHE" >&2 || return 1
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f\n", (b - a) / 1e9 }'
}

# hub13_rate BPS: the running Hub's per-connection cap from now on.
hub13_rate() {
	curl -s --fail -X POST -H 'Content-Type: application/json' -d "{\"rate_limit\": $1}" \
		"$HUB_URL/_control/settings" >>"$BENCH_LOG" 2>&1
}

item13() {
	local shard
	IFS=, read -r _ shard <<<"$CAPPED_SPEC"
	local what="declared 4 x $shard MiB model, test Hub capped $ITEM13_CAP B/s/conn"
	title "13. Declared model (want_model()) through a capped test Hub ($ITEM13_CAP B/s a connection): ours vs snapshot_download and aria2c -x16 -s16"
	if ! have_function want_model; then
		skipped 13 "$what" "pgml_repl.want_model not available"
		return
	fi
	local src v vs=() hf=()
	src="$(gen large "$shard,$shard,$shard,$shard" capped-shards)" || { skipped 13 "$what" "cache generation failed"; return; }
	for v in ${HF_VERSIONS//,/ }; do
		case "$v" in
		0.27.1 | 1.28.0) [ -f "$HF_VENDOR/huggingface_hub-$v.tar.gz" ] && hf+=("side_hf_${v//./}") && vs+=("$v") ||
			echo "  huggingface_hub-$v.tar.gz not in $HF_VENDOR: no side for it" >&2 ;;
		*) echo "  no huggingface_hub $v vendored here (0.27.1, 1.28.0)" >&2 ;;
		esac
	done
	bg_start "$WORK/hub13.out" /usr/bin/python3 "$TOP/test/hub/hub_server.py" --cache "$src/cache" --rate-limit "$ITEM13_CAP" ||
		{ skipped 13 "$what" "the test Hub did not start (see $BENCH_LOG)"; return; }
	local hub="$BG_PID" HUB_URL="http://127.0.0.1:${BG_READY%% *}"
	# shellcheck disable=SC2034 # read by side_aria2c and hf_side
	local PREFETCH_URL="$HUB_URL" PREFETCH_MANIFEST="$src/manifest.tsv" bytes
	bytes="$(manifest_bytes "$PREFETCH_MANIFEST")"
	M13_REPO="$(cut -f2 "$PREFETCH_MANIFEST" | head -n 1)"
	echo "  $M13_REPO: $(manifest_files "$PREFETCH_MANIFEST") files, $((bytes >> 20)) MiB from the test Hub at $HUB_URL" >&2
	warm_cache "$src"
	# The Hub's own ceiling: the same pacing code at 1 GB/s a connection, one
	# aria2c run (not a row: a figure for the notes).
	local ceil=""
	if hub13_rate 1000000000; then
		ceil="$(side_aria2c | tail -n 1)"
		[[ "$ceil" =~ ^[0-9.]+$ ]] && ceil="$(mbps "$bytes" "$ceil")" || ceil=""
	fi
	hub13_rate "$ITEM13_CAP" || { skipped 13 "$what" "could not set the test Hub's cap"; bg_stop "$hub"; return; }
	echo "  test Hub ceiling (pacing at 1 GB/s a connection, aria2c): ${ceil:-?} MB/s" >&2
	if ! m13_primary_start "$HUB_URL"; then
		skipped 13 "$what" "the scratch primary did not start (see $BENCH_LOG)"
		m13_primary_stop
		bg_stop "$hub"
		return
	fi
	if measure 13 "$K_LARGE" side_declared side_aria2c && { ((${#hf[@]} == 0)) || measure 13 "$K_HF" "${hf[@]}"; }; then
		local o="${MED[side_declared]}" note i bases=(side_aria2c) labels=("aria2c -x16 -s16 (input file, resolve URLs)")
		for ((i = 0; i < ${#hf[@]}; i++)); do
			bases+=("${hf[$i]}") && labels+=("huggingface_hub ${vs[$i]} snapshot_download (max_workers 8)")
		done
		note="cap $ITEM13_CAP B/s per connection (hub_server.py --rate-limit); test Hub ceiling ${ceil:-?} MB/s (aria2c, pacing at 1 GB/s a connection)"
		note+="; ours: the primary's worker with its defaults (max_parallel_downloads 4, max_streams_per_file 16), hashed + fsynced, huggingface_hub layout; poll 0.1 s"
		for ((i = 0; i < ${#bases[@]}; i++)); do
			row 13 "$what" "want_model() + prefetch_now() to ready" "$o" "${labels[$i]}" "${MED[${bases[$i]}]}" s \
				"$(ratio "${MED[${bases[$i]}]}" "$o")" "" "ours $(mbps "$bytes" "$o") MB/s, baseline $(mbps "$bytes" "${MED[${bases[$i]}]}") MB/s; $note"
		done
	fi
	m13_primary_stop
	bg_stop "$hub"
}
