# A primary publishing a cache and a hot standby whose prefetch worker pulls
# it from the local nginx. Used by items 3, 4, 6, 7, 8 once the worker
# downloads. Source, don't run.

# worker_env_start PRIMARY_CACHE: sets PDIR PPORT RDIR RPORT RCACHE. The
# replica downloads from WORKER_SOURCES (pgml_replication.hf_sources,
# default hub: these items measure the Hub path, though the primary could
# serve) at WORKER_ENDPOINT, default the uncapped nginx. BENCH_PRIMARY_CONF:
# extra postgresql.conf lines for the primary (item 12: max_blob_readers).
worker_env_start() {
	worker_primary_start "$1" && worker_replica_add "$PPORT"
}

# worker_primary_start PRIMARY_CACHE: the primary alone; sets PDIR PPORT.
worker_primary_start() {
	local cache="$1"
	PDIR="$(make_pg_dir bench-primary)" && track pg "$PDIR"
	PPORT="$(free_port)" || return 1
	HF_HUB_CACHE="$cache" scratch_cluster_start "$PDIR" "$PPORT" \
		"shared_preload_libraries = 'pgml_replication'" \
		"pgml_replication.naptime = 3600" \
		${BENCH_PRIMARY_CONF:+"$BENCH_PRIMARY_CONF"} >>"$BENCH_LOG" 2>&1 || return 1
	BPORT="$PPORT" bpsql -c "CREATE EXTENSION pgml_replication" >>"$BENCH_LOG" 2>&1 || return 1
	BPORT="$PPORT" bpsql -c "SELECT * FROM pgml_repl.publish_hf_manifest()" >>"$BENCH_LOG" 2>&1 || return 1
}

# worker_replica_add UPSTREAM_PORT: a standby (not started) cloned from the
# server on UPSTREAM_PORT, the primary or a standby (cascading: its
# primary_conninfo, hence its upstream, is that standby); sets RDIR RPORT
# RCACHE.
worker_replica_add() {
	RDIR="$(make_pg_dir bench-replica)" && track pg "$RDIR"
	RPORT="$(free_port)" || return 1
	RCACHE="$RDIR/hf-cache"
	as_pg "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$1" -U postgres -D "$RDIR/data" -R -X stream \
		>>"$BENCH_LOG" 2>&1 || return 1
	{
		echo "port = $RPORT"
		echo "unix_socket_directories = '$RDIR'"
		echo "pgml_replication.hf_sources = '${WORKER_SOURCES:-hub}'"
		echo "pgml_replication.hf_endpoint = '${WORKER_ENDPOINT:-http://127.0.0.1:$NGX_PORT}'"
		echo "pgml_replication.max_parallel_downloads = ${BENCH_PARALLEL:-8}"
		echo "pgml_replication.min_free_disk = 0"
		echo "pgml_replication.naptime = 1"
		# An if, not `[ ] && printf`: an empty knob must not fail the pipeline (pipefail).
		if [ -n "${BENCH_REPLICA_CONF:-}" ]; then printf '%s\n' "$BENCH_REPLICA_CONF"; fi
	} | as_pg tee -a "$RDIR/data/postgresql.conf" >/dev/null
}

# Atomic for the worker: with naptime = 1 a cycle may scan at any moment,
# and must see either the full cache or an empty one, never a half-removed
# tree it would start refilling under rm. Only the rename: the old tree is
# removed by replica_empty_trash, outside the timed window (rm -rf of 6,000
# files took up to a second, on the same cores as the transfer, and left a
# naptime cycle time to start before prefetch_now()).
replica_wipe_cache() {
	replica_empty_trash
	[ -d "$RCACHE" ] && mv "$RCACHE" "$RCACHE.trash"
	install -d -o "$PG_OS_USER" -m 755 "$RCACHE"
}

replica_empty_trash() { rm -rf "$RCACHE.trash"; }

replica_start() {
	HF_HUB_CACHE="$RCACHE" as_pg "$PGBIN/pg_ctl" -D "$RDIR/data" -l "$RDIR/server.log" -w -t 60 start \
		>>"$BENCH_LOG" 2>&1
}

replica_stop() { as_pg "$PGBIN/pg_ctl" -D "$RDIR/data" -m fast -w -t 60 stop >>"$BENCH_LOG" 2>&1; }

rpsql() { BPORT="$RPORT" bpsql "$@"; }

# Distinct blobs of a manifest: what one complete cycle fetches.
manifest_blobs() { awk -F'\t' '{ print $2 "\t" $6 }' "$1" | sort -u | wc -l; }

# Done, from prefetch_status() counters only (never the detail wording): a
# cycle that started at or after T0 has finished, is idle, has nothing
# queued, failed nothing, fetched every file it wanted, and no error was
# recorded since T0. Prints "FILES_DONE SECONDS" where SECONDS is the
# server's last_cycle_finished_at - T0, or nothing while not done.
prefetch_done_sql() {  # T0 (timestamptz literal)
	cat <<EOF
SELECT files_done || ' ' || extract(epoch FROM last_cycle_finished_at - '$1'::timestamptz)
  FROM pgml_repl.prefetch_status()
 WHERE state = 'idle'
   AND last_cycle_started_at >= '$1'::timestamptz
   AND last_cycle_finished_at >= last_cycle_started_at
   AND coalesce(queued_files, 0) = 0
   AND coalesce(files_failed, 0) = 0
   AND files_done = files_wanted
   AND (last_error IS NULL OR last_error_at < '$1'::timestamptz)
EOF
}

# wait_prefetch_done T0 T0_NS WANT TIMEOUT_S: polls every BENCH_POLL s (0.25; a psql
# start per poll costs CPU the worker shares, and the server's timestamps
# make the figure independent of the poll interval). Prints the seconds from
# T0 to the end of the cycle that fetched WANT files; if a poll only caught
# the next (empty) cycle, the local time of detection instead, logged.
wait_prefetch_done() {
	local t0="$1" t0_ns="$2" want="$3" deadline=$(($(date +%s) + $4)) out sql
	sql="$(prefetch_done_sql "$t0")"
	while (($(date +%s) < deadline)); do
		out="$(rpsql -c "$sql" 2>/dev/null)"
		if [ -n "$out" ]; then
			if [ "${out%% *}" = "$want" ]; then
				echo "${out#* }"
			else
				echo "wait_prefetch_done: caught a later cycle ($out), using the local time" >>"$BENCH_LOG"
				awk -v a="$t0_ns" -v b="$(now_ns)" 'BEGIN { printf "%.6f\n", (b - a) / 1e9 }'
			fi
			return 0
		fi
		sleep "${BENCH_POLL:-0.25}"
	done
	echo "prefetch not done after $4 s: $(rpsql -c 'SELECT state, detail, files_done, files_wanted, queued_files, last_error FROM pgml_repl.prefetch_status()' 2>&1)" >>"$BENCH_LOG"
	return 1
}

wait_state() {  # STATE_REGEX TIMEOUT_S: until prefetch_status().state matches
	local deadline=$(($(date +%s) + $2))
	while (($(date +%s) < deadline)); do
		[ "$(rpsql -c "SELECT state ~ '$1' FROM pgml_repl.prefetch_status()" 2>/dev/null)" = t ] && return 0
		sleep 0.1
	done
	echo "prefetch state never matched $1: $(rpsql -c 'SELECT state, detail FROM pgml_repl.prefetch_status()' 2>&1)" >>"$BENCH_LOG"
	return 1
}

local_ts() { date -u '+%Y-%m-%d %H:%M:%S.%N+00'; }

# The worker's transfer alone, on a running replica: wait until idle, wipe
# the cache, take T0 on the server, prefetch_now(), wait for the counters.
side_worker_transfer() {
	wait_state '^idle$' 60 || return 1
	local t0_ns t0 s pid c0 before
	replica_empty_trash
	pid="$(worker_pid)" && c0="$(cpu_ticks "$pid")"
	before="$(rpsql -c 'SELECT last_cycle_started_at FROM pgml_repl.prefetch_status()')"
	replica_wipe_cache
	# T0 and prefetch_now() in one session, one statement apart: until
	# 2026-12-06 T0 came before the wipe, and the row carried a psql start,
	# the rename and another psql start (0.1-0.2 s, measured from the
	# replica's log). Safe because the naptime is 3600 by now: no cycle
	# starts on its own after the wipe. That is checked, not assumed: T0 is
	# empty, and the run fails, when a cycle started since "before".
	t0_ns=$(now_ns)
	t0="$(rpsql -c "SELECT clock_timestamp() FROM pgml_repl.prefetch_status()
	                 WHERE state = 'idle' AND last_cycle_started_at IS NOT DISTINCT FROM nullif('$before', '')::timestamptz" \
		-c 'SELECT pgml_repl.prefetch_now()')"
	# Two lines (T0, then prefetch_now()'s t) when the check held; one when not.
	[[ "$t0" == *$'\n'* ]] && t0="${t0%%$'\n'*}" || t0=""
	[ -n "$t0" ] || { echo "side_worker_transfer: a cycle started before prefetch_now()" >>"$BENCH_LOG"; return 1; }
	s="$(wait_prefetch_done "$t0" "$t0_ns" "$(manifest_blobs "$PREFETCH_MANIFEST")" "${BENCH_TIMEOUT:-300}")" || return 1
	# CPU the worker used (all its threads) against the wall time: tells a
	# CPU-bound worker from one that waits (fsync, a poll, a lock).
	awk -v a="$c0" -v b="$(cpu_ticks "$pid")" -v hz="$(getconf CLK_TCK)" -v s="$s" -v m="$PREFETCH_MANIFEST" \
		'BEGIN { printf "worker transfer %s: %.2f s wall, %.2f s CPU\n", m, s, (b - a) / hz }' >>"$RES/worker_cpu.txt"
	check_fetched "$PREFETCH_MANIFEST" "$RCACHE" >&2 || return 1
	echo "$s"
}

# A new replica's start to "done" (time to warm, start-up included): stop,
# wipe the cache, start, wait for the first complete cycle.
side_worker_warm() {
	replica_stop
	replica_wipe_cache
	local t0_ns t0 s
	t0_ns=$(now_ns)
	t0="$(local_ts)"
	replica_start || return 1
	s="$(wait_prefetch_done "$t0" "$t0_ns" "$(manifest_blobs "$PREFETCH_MANIFEST")" "${BENCH_TIMEOUT:-300}")" || return 1
	check_fetched "$PREFETCH_MANIFEST" "$RCACHE" >&2 || return 1
	echo "$s"
}

# The replica up with a complete cache (before a series of transfers). Then
# only prefetch_now() (or a reload) starts a cycle: a no-op cycle every
# second (a scan of the manifest and the cache, 0.1 s of CPU with 6,000
# files) would take CPU from the baselines and could start between the wipe
# and prefetch_now(). The primary publishes once (publish_hf_manifest()) and
# its worker sleeps likewise.
replica_ready() {
	replica_wipe_cache
	local t0_ns t0
	t0_ns=$(now_ns) t0="$(local_ts)"
	replica_start || return 1
	wait_prefetch_done "$t0" "$t0_ns" "$(manifest_blobs "$PREFETCH_MANIFEST")" "${BENCH_TIMEOUT:-300}" >/dev/null || return 1
	rpsql -c "ALTER SYSTEM SET pgml_replication.naptime = 3600" -c "SELECT pg_reload_conf()" >>"$BENCH_LOG" 2>&1
}

worker_pid() { BPORT="$RPORT" bpsql -c "SELECT worker_pid FROM pgml_repl.prefetch_status() LIMIT 1"; }

worker_env_stop() {
	[ -n "${RDIR:-}" ] && { scratch_cluster_stop "$RDIR"; rm -rf "$RDIR"; }
	[ -n "${PDIR:-}" ] && { scratch_cluster_stop "$PDIR"; rm -rf "$PDIR"; }
	RDIR="" PDIR=""
}
