# A primary publishing a cache and a hot standby whose prefetch worker pulls
# it from the local nginx. Used by items 3, 4, 6, 7, 8 once the worker
# downloads. Source, don't run.

# worker_env_start PRIMARY_CACHE: sets PDIR PPORT RDIR RPORT RCACHE.
worker_env_start() {
	local cache="$1"
	PDIR="$(make_pg_dir bench-primary)"
	PPORT="$(free_port)" || return 1
	HF_HUB_CACHE="$cache" scratch_cluster_start "$PDIR" "$PPORT" \
		"shared_preload_libraries = 'pgml_replication'" \
		"pgml_replication.naptime = 1" >>"$BENCH_LOG" 2>&1 || return 1
	BPORT="$PPORT" bpsql -c "CREATE EXTENSION pgml_replication" >>"$BENCH_LOG" 2>&1 || return 1
	BPORT="$PPORT" bpsql -c "SELECT * FROM pgml_repl.publish_hf_manifest()" >>"$BENCH_LOG" 2>&1 || return 1
	RDIR="$(make_pg_dir bench-replica)"
	RPORT="$(free_port)" || return 1
	RCACHE="$RDIR/hf-cache"
	as_pg "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$PPORT" -U postgres -D "$RDIR/data" -R -X stream \
		>>"$BENCH_LOG" 2>&1 || return 1
	{
		echo "port = $RPORT"
		echo "unix_socket_directories = '$RDIR'"
		echo "pgml_replication.hf_endpoint = 'http://127.0.0.1:$NGX_PORT'"
		echo "pgml_replication.max_parallel_downloads = ${BENCH_PARALLEL:-8}"
		echo "pgml_replication.min_free_disk = 0"
	} | as_pg tee -a "$RDIR/data/postgresql.conf" >/dev/null
}

replica_wipe_cache() {
	rm -rf "$RCACHE"
	install -d -o "$PG_OS_USER" -m 755 "$RCACHE"
}

replica_start() {
	HF_HUB_CACHE="$RCACHE" as_pg "$PGBIN/pg_ctl" -D "$RDIR/data" -l "$RDIR/server.log" -w -t 60 start \
		>>"$BENCH_LOG" 2>&1
}

replica_stop() { as_pg "$PGBIN/pg_ctl" -D "$RDIR/data" -m fast -w -t 60 stop >>"$BENCH_LOG" 2>&1; }

# Done: a cycle finished with nothing queued and the cache complete (the
# worker's counters are per cycle, so files_wanted is 0 again once done).
prefetch_done_sql="SELECT state = 'idle' AND coalesce(queued_files, 0) = 0 AND last_cycle_finished_at IS NOT NULL AND detail LIKE 'cache complete%' FROM pgml_repl.prefetch_status() LIMIT 1"

# wait_prefetch_done TIMEOUT_S: polls every 50 ms; fails on timeout.
wait_prefetch_done() {
	local deadline=$(($(date +%s) + $1))
	while (($(date +%s) < deadline)); do
		[ "$(BPORT="$RPORT" bpsql -c "$prefetch_done_sql" 2>/dev/null)" = t ] && return 0
		sleep 0.05
	done
	echo "prefetch not done after $1 s: $(BPORT="$RPORT" bpsql -c 'SELECT state, detail, files_done, files_wanted, last_error FROM pgml_repl.prefetch_status()' 2>&1)" >>"$BENCH_LOG"
	return 1
}

# A new replica's start to "done": stop, wipe the cache, start, poll.
side_worker_warm() {
	replica_stop
	replica_wipe_cache
	local t0 t1
	t0=$(now_ns)
	replica_start || return 1
	wait_prefetch_done "${BENCH_TIMEOUT:-300}" || return 1
	t1=$(now_ns)
	check_fetched "$PREFETCH_MANIFEST" "$RCACHE" >&2 || return 1
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f\n", (b - a) / 1e9 }'
}

worker_pid() { BPORT="$RPORT" bpsql -c "SELECT worker_pid FROM pgml_repl.prefetch_status() LIMIT 1"; }

worker_env_stop() {
	[ -n "${RDIR:-}" ] && { scratch_cluster_stop "$RDIR"; rm -rf "$RDIR"; }
	[ -n "${PDIR:-}" ] && { scratch_cluster_stop "$PDIR"; rm -rf "$PDIR"; }
	RDIR="" PDIR=""
}
