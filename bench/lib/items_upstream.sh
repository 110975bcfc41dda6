# Item 12 of bench/run: a standby's prefetch worker fetching from its
# upstream PostgreSQL server (pgml_replication.hf_sources = 'upstream',
# hf_blob_read_rows() over libpq, 256 KiB rows in 64 MiB queries) against the Hub path (nginx).
# Source, don't run.
#
# 12a: one replica, the few-large cache: worker from the upstream vs worker
#      from the Hub vs rsync -a of the primary's cache folder (local copy).
# 12b: four replicas at once: 2 direct standbys + 2 cascading (one below
#      each), all from the upstream, vs the same four all direct, from the Hub.

# Reading transactions a server serves at once per standby below it: 64,
# the most connections one worker opens. At the default (4), and even at 8
# (= max_parallel_downloads), a standby was told "busy" (a 3 s wait), which
# prefetch_status() records as last_error: the done check (no error since
# T0) then never held. 12b's primary serves two direct standbys: twice that.
ITEM12_READERS="${ITEM12_READERS:-64}"
# hf_sources of 12a's upstream side. Only to see the byte check fail:
# ITEM12_UP_SOURCES='upstream, hub' ITEM12_READERS=0 (serving off) sends
# every byte through the Hub, and the run must fail.
ITEM12_UP_SOURCES="${ITEM12_UP_SOURCES:-upstream}"

# bench_fail MSG: a broken side. Loud on stderr, in the log and in
# $RES/failed.txt (bench/run then exits 1; report.py lists it).
bench_fail() {
	echo "  FAILED: $1" >&2
	echo "FAILED: $1" >>"$BENCH_LOG"
	echo "$1" >>"$RES/failed.txt"
}

# "BYTES_FROM_UPSTREAM BYTES_FROM_HUB WORKER_PID" of the replica on RPORT
# (the counters are since its worker started).
repl_bytes() { rpsql -c "SELECT bytes_from_upstream || ' ' || bytes_from_hub || ' ' || coalesce(worker_pid, 0) FROM pgml_repl.prefetch_status()"; }
# bytes_delta BEFORE AFTER: "FROM_UPSTREAM FROM_HUB RESTARTED" in between;
# when the worker restarted meanwhile (another pid: the counters started
# again from 0) the counts of the new worker and RESTARTED 1, logged.
bytes_delta() {
	awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " ")
		r = 0; if (x[3] != y[3]) { r = 1; x[1] = 0; x[2] = 0; printf "bytes_delta: the worker restarted (pid %s -> %s)\n", x[3], y[3] > "/dev/stderr" }
		printf "%.0f %.0f %d\n", y[1] - x[1], y[2] - x[2], r }' 2>>"$BENCH_LOG"
}

# ------------------------------------------------- 12a. one replica, 3 ways
# upstream_side SOURCES: side_worker_transfer with hf_sources = SOURCES (a
# reload, outside the timed window), then checks where every byte came
# from: all of them from that source, none from the other. Appends
# "SOURCES FROM_UPSTREAM FROM_HUB" to $WORK/item12a.bytes.
upstream_side() {
	local src="$1" b0 b1 du dh restarted s want setting="$1"
	want="$(manifest_bytes "$PREFETCH_MANIFEST")"
	[ "$src" = upstream ] && setting="$ITEM12_UP_SOURCES"
	rpsql -c "ALTER SYSTEM SET pgml_replication.hf_sources = '$setting'" -c "SELECT pg_reload_conf()" >>"$BENCH_LOG" 2>&1 || return 1
	sleep 1 # the worker takes the reload before prefetch_now() (the byte check below catches it if not)
	b0="$(repl_bytes)" || return 1
	s="$(side_worker_transfer)" || return 1
	b1="$(repl_bytes)" || return 1
	read -r du dh restarted <<<"$(bytes_delta "$b0" "$b1")"
	((restarted)) && { bench_fail "12a: the replica's worker restarted during a $src run (see $BENCH_LOG)"; return 1; }
	echo "$src $du $dh" >>"$WORK/item12a.bytes"
	if [ "$src" = upstream ] && { [ "$dh" != 0 ] || ((du < want)); }; then
		bench_fail "12a: the upstream run took $dh bytes from the Hub and $du from the upstream (want 0 and >= $want)"
		return 1
	fi
	if [ "$src" = hub ] && { [ "$du" != 0 ] || ((dh < want)); }; then
		bench_fail "12a: the Hub run took $du bytes from the upstream and $dh from the Hub (want 0 and >= $want)"
		return 1
	fi
	echo "$s"
}
side_from_upstream() { upstream_side upstream; }
side_from_hub() { upstream_side hub; }

item12a() {
	local bytes up hub rs nup
	PREFETCH_MANIFEST="$LARGE/manifest.tsv" PREFETCH_SRC="$LARGE/cache" PREFETCH_URL="$NGX_URL" WORKER_ENDPOINT=""
	bytes="$(manifest_bytes "$PREFETCH_MANIFEST")"
	title "12a. One replica, few large ($((bytes >> 20)) MiB): worker from its upstream vs worker from the Hub vs rsync -a"
	if ! have_worker; then skipped 12a "upstream vs Hub, one replica" "prefetch worker (standby downloads) not available"; return; fi
	warm_large
	: >"$WORK/item12a.bytes"
	MED[side_from_upstream]="" MED[side_from_hub]="" MED[side_rsync]=""
	if ! BENCH_PRIMARY_CONF="pgml_replication.max_blob_readers = $ITEM12_READERS" WORKER_SOURCES="$ITEM12_UP_SOURCES" worker_ready "$LARGE/cache"; then
		bench_fail "12a: the primary + replica set-up (first cycle from the upstream) failed (see $BENCH_LOG)"
		row 12a "upstream vs Hub, one replica, few large" "prefetch worker from its upstream" "" "" "" s "" "ratio>=0.8" \
			"FAILED: set-up (first cycle from the upstream) failed"
		return
	fi
	if ! measure 12a "$K_LARGE" side_from_upstream side_from_hub side_rsync; then
		bench_fail "12a: a side failed (see above and $BENCH_LOG)"
		row 12a "upstream vs Hub, one replica, few large" "prefetch worker from its upstream" "" "" "" s "" "ratio>=0.8" \
			"FAILED: a side failed; bytes per run (source, from_upstream, from_hub): $(tr '\n' ';' <"$WORK/item12a.bytes")"
		worker_env_stop
		return
	fi
	up="${MED[side_from_upstream]}" hub="${MED[side_from_hub]}" rs="${MED[side_rsync]}"
	nup="$(awk '$1 == "upstream"' "$WORK/item12a.bytes" | wc -l)"
	row 12a "upstream vs Hub, one replica, few large" "prefetch worker from its upstream (hf_sources = upstream)" "$up" \
		"prefetch worker from the Hub (nginx, hf_sources = hub)" "$hub" s "$(ratio "$hub" "$up")" "ratio>=0.8" \
		"$(awk '$1 == "upstream" { print "bytes_from_upstream " $2 ", bytes_from_hub " $3 " (per upstream run"; exit }' "$WORK/item12a.bytes"), all $nup checked: none from the Hub); every byte sha256-hashed and fsynced on both sides; ours $(mbps "$bytes" "$up") MB/s, Hub $(mbps "$bytes" "$hub") MB/s; primary max_blob_readers = $ITEM12_READERS, replica max_parallel_downloads = ${BENCH_PARALLEL:-8}"
	row 12a "upstream vs rsync, one replica, few large" "prefetch worker from its upstream (hf_sources = upstream)" "$up" \
		"rsync -a (local copy of the primary's cache folder, no hash)" "$rs" s "$(ratio "$rs" "$up")" "" \
		"report; rsync copies files on the same machine (no network, no hash, no fsync); $(mbps "$bytes" "$rs") MB/s"
	worker_env_stop
}

# ----------------------------------------------- 12b. four replicas at once
# FAN_DIRS/FAN_PORTS: the four standbys; 0 and 1 direct, 2 below 0, 3 below
# 1 (FAN_UP: the port each replicates from in the cascading layout).
FAN_DIRS=() FAN_PORTS=() FAN_UP=()
use_replica() { RDIR="${FAN_DIRS[$1]}" RPORT="${FAN_PORTS[$1]}" RCACHE="${FAN_DIRS[$1]}/hf-cache"; }

# fan_env_start CACHE: primary (max_blob_readers = 2 x ITEM12_READERS) and
# the four standbys, started one after another (a cascading one is cloned
# from its direct standby, so that one runs first), hf_sources = upstream.
fan_env_start() {
	local i up
	FAN_DIRS=() FAN_PORTS=() FAN_UP=()
	BENCH_PRIMARY_CONF="pgml_replication.max_blob_readers = $((2 * ITEM12_READERS))" worker_primary_start "$1" || return 1
	for i in 0 1 2 3; do
		up="$PPORT" && ((i >= 2)) && up="${FAN_PORTS[$((i - 2))]}"
		BENCH_REPLICA_CONF="pgml_replication.max_blob_readers = $ITEM12_READERS${BENCH_REPLICA_CONF:+$'\n'$BENCH_REPLICA_CONF}" \
			WORKER_SOURCES=upstream worker_replica_add "$up" || return 1
		FAN_DIRS+=("$RDIR") FAN_PORTS+=("$RPORT") FAN_UP+=("$up")
		install -d -o "$PG_OS_USER" -m 755 "$RCACHE"
		replica_start || return 1
	done
}

fan_env_stop() {
	local i
	for i in "${!FAN_DIRS[@]}"; do
		[ -n "${FAN_DIRS[$i]}" ] && { scratch_cluster_stop "${FAN_DIRS[$i]}"; rm -rf "${FAN_DIRS[$i]}"; }
	done
	FAN_DIRS=() FAN_PORTS=() FAN_UP=() RDIR=""
	worker_env_stop
}

# fan_layout SOURCES: hf_sources on all four; "upstream": 2 and 3 replicate
# from (and fetch from) 0 and 1; "hub": all four replicate from the primary
# (primary_conninfo is reloadable). Waits until each walreceiver streams
# from the intended server (pg_stat_wal_receiver.sender_port).
fan_layout() {
	local src="$1" i port deadline
	for i in 0 1 2 3; do
		use_replica "$i"
		port="${FAN_UP[$i]}" && [ "$src" = hub ] && port="$PPORT"
		rpsql -c "ALTER SYSTEM SET pgml_replication.hf_sources = '$src'" \
			-c "ALTER SYSTEM SET primary_conninfo = 'host=127.0.0.1 port=$port user=postgres'" \
			-c "SELECT pg_reload_conf()" >>"$BENCH_LOG" 2>&1 || return 1
	done
	for i in 0 1 2 3; do
		use_replica "$i"
		port="${FAN_UP[$i]}" && [ "$src" = hub ] && port="$PPORT"
		deadline=$(($(date +%s) + 30))
		until [ "$(rpsql -c "SELECT sender_port FROM pg_stat_wal_receiver WHERE status = 'streaming'" 2>/dev/null)" = "$port" ]; do
			(($(date +%s) < deadline)) || { echo "fan_layout: replica $i does not stream from port $port" >>"$BENCH_LOG"; return 1; }
			sleep 0.2
		done
	done
	sleep 1 # the workers take the reload (the byte checks catch it if not)
}

# fan_wait T0 T0_NS TIMEOUT_S: until all four are done (a cycle started at or
# after T0 finished idle with nothing queued or failed, files_done =
# files_wanted, and every blob is on disk). Prints the seconds until the
# last one was: its last_cycle_finished_at - T0, or, when the poll caught a
# later empty cycle (files_wanted 0; a cascading standby cycles every
# second), the local time of detection (logged).
fan_wait() {
	local t0="$1" t0_ns="$2" deadline=$(($(date +%s) + $3)) i n=0 out fin=(0 0 0 0) secs=(0 0 0 0)
	while ((n < 4)); do
		if (($(date +%s) >= deadline)); then
			for i in 0 1 2 3; do
				use_replica "$i"
				echo "fan_wait: replica $i not done after $3 s: $(rpsql -c 'SELECT state, detail, files_done, files_wanted, files_failed, queued_files, last_error FROM pgml_repl.prefetch_status()' 2>&1)" >>"$BENCH_LOG"
			done
			return 1
		fi
		for i in 0 1 2 3; do
			((fin[i])) && continue
			use_replica "$i"
			out="$(rpsql -c "SELECT files_wanted || ' ' || extract(epoch FROM last_cycle_finished_at - '$t0'::timestamptz)
			                   FROM pgml_repl.prefetch_status()
			                  WHERE state = 'idle' AND last_cycle_started_at >= '$t0'::timestamptz
			                    AND last_cycle_finished_at >= last_cycle_started_at
			                    AND coalesce(queued_files, 0) = 0 AND coalesce(files_failed, 0) = 0
			                    AND files_done = files_wanted" 2>/dev/null)"
			[ -n "$out" ] || continue
			check_fetched "$PREFETCH_MANIFEST" "$RCACHE" >/dev/null || continue
			if [ "${out%% *}" -gt 0 ]; then
				secs[i]="${out#* }"
			else
				secs[i]="$(awk -v a="$t0_ns" -v b="$(now_ns)" 'BEGIN { printf "%.6f\n", (b - a) / 1e9 }')"
				echo "fan_wait: replica $i: caught a later empty cycle, using the local time ${secs[i]}" >>"$BENCH_LOG"
			fi
			fin[i]=1 n=$((n + 1))
		done
		((n < 4)) && sleep "${BENCH_POLL:-0.25}"
	done
	echo "fan_wait: per replica (0, 1 direct; 2, 3 below them): ${secs[*]}" >>"$BENCH_LOG"
	printf '%s\n' "${secs[@]}" | sort -g | tail -n 1
}

# fan_side SOURCES: all four caches emptied (renames, the old trees removed
# before T0), T0, prefetch_now() on the four at once, until all four are
# warm. Checks the byte counters: "upstream": nothing from the Hub, each
# replica the whole cache from its upstream; "hub": nothing from an
# upstream. Appends "SOURCES PRIMARY_SENT CASCADE_SENT HUB_SENT" to
# $WORK/item12b.bytes (primary sent = the direct standbys' (0, 1)
# bytes_from_upstream; cascade = 2 and 3's; hub = all four's bytes_from_hub).
fan_side() {
	local src="$1" i b0=() b1=() t0 t0_ns s want du dh restarted min psent=0 csent=0 hsent=0 usent=0
	want="$(manifest_bytes "$PREFETCH_MANIFEST")"
	fan_layout "$src" || return 1
	for i in 0 1 2 3; do
		use_replica "$i"
		wait_state '^idle$' 60 || return 1
		b0[i]="$(repl_bytes)" || return 1
	done
	for i in 0 1 2 3; do use_replica "$i" && replica_wipe_cache && replica_empty_trash; done
	t0_ns=$(now_ns)
	t0="$(BPORT="$PPORT" bpsql -c 'SELECT clock_timestamp()')" || return 1
	for i in 0 1 2 3; do (use_replica "$i" && rpsql -c 'SELECT pgml_repl.prefetch_now()' >/dev/null) & done
	wait
	s="$(fan_wait "$t0" "$t0_ns" "${BENCH_TIMEOUT:-600}")" || return 1
	for i in 0 1 2 3; do
		use_replica "$i"
		b1[i]="$(repl_bytes)" || return 1
		read -r du dh restarted <<<"$(bytes_delta "${b0[i]}" "${b1[i]}")"
		echo "fan_side $src: replica $i from_upstream $du from_hub $dh" >>"$BENCH_LOG"
		# A worker that restarted mid-run counts only what it fetched since:
		# no lower bound then, and the restart goes into the note and the log.
		min="$want"
		if ((restarted)); then
			min=0
			echo "$src replica $i" >>"$WORK/item12b.restarts"
			{ echo "replica $i server log, last lines:"; tail -n 20 "$RDIR/server.log"; } >>"$BENCH_LOG" 2>&1
		fi
		((i < 2)) && psent=$((psent + du)) || csent=$((csent + du))
		hsent=$((hsent + dh)) usent=$((usent + du))
		if [ "$src" = upstream ] && { ((dh != 0)) || ((du < min)); }; then
			bench_fail "12b: replica $i took $dh bytes from the Hub and $du from its upstream in an upstream run (want 0 and >= $want)"
			return 1
		fi
		if [ "$src" = hub ] && { ((du != 0)) || ((dh < min)); }; then
			bench_fail "12b: replica $i took $du bytes from an upstream and $dh from the Hub in a Hub run (want 0 and >= $want)"
			return 1
		fi
	done
	echo "$src $psent $csent $hsent" >>"$WORK/item12b.bytes"
	echo "$s"
}
side_fan_upstream() { fan_side upstream; }
side_fan_hub() { fan_side hub; }

item12b() {
	local src="$LARGE" bytes avail need cnote="the few-large cache of item 3" up hub
	title "12b. Four replicas at once: 2 direct + 2 cascading from upstream vs 4 direct from the Hub"
	if ! have_worker; then skipped 12b "four replicas" "prefetch worker (standby downloads) not available"; return; fi
	# Four copies of the cache live in the clusters' folder (TMPDIR), plus
	# 2 GiB for WAL and the rest; else the first large file alone.
	bytes="$(manifest_bytes "$LARGE/manifest.tsv")"
	avail="$(df --output=avail -B1 "${TMPDIR:-/tmp}" | tail -n 1)"
	need=$((4 * bytes + (2 << 30)))
	if ((avail < need)); then
		local one="${LARGE_SPEC%%,*}"
		echo "  $((avail >> 20)) MiB free in ${TMPDIR:-/tmp}, 4 x the few-large cache needs $((need >> 20)): using one $one MiB file" >&2
		src="$(gen large "$one" fan-model)" || { bench_fail "12b: could not generate the smaller cache"; return; }
		ln -sfn "$src"/www/bench-org/* "$WORK/www/bench-org/" && chmod -R a+rX "$WORK/www" "$src"
		bytes="$(manifest_bytes "$src/manifest.tsv")"
		cnote="one $one MiB file instead of the few-large cache: $((avail >> 20)) MiB free in ${TMPDIR:-/tmp}, 4 copies of it need $((need >> 20))"
	fi
	PREFETCH_MANIFEST="$src/manifest.tsv" PREFETCH_URL="$NGX_URL" WORKER_ENDPOINT=""
	warm_cache "$src"
	: >"$WORK/item12b.bytes"
	: >"$WORK/item12b.restarts"
	MED[side_fan_upstream]="" MED[side_fan_hub]=""
	local t0_ns t0
	t0_ns=$(now_ns) t0="$(local_ts)"
	if ! fan_env_start "$src/cache" || ! fan_wait "$t0" "$t0_ns" "${BENCH_TIMEOUT:-600}" >/dev/null; then
		bench_fail "12b: the four replicas did not get warm from the upstream at start (see $BENCH_LOG)"
		row 12b "four replicas at once" "2 direct + 2 cascading from upstream" "" "" "" s "" "" "FAILED: set-up failed"
		fan_env_stop
		return
	fi
	if ! measure 12b "$K_FAN" side_fan_upstream side_fan_hub; then
		bench_fail "12b: a side failed (see above and $BENCH_LOG)"
		row 12b "four replicas at once" "2 direct + 2 cascading from upstream" "" "" "" s "" "" \
			"FAILED: a side failed; bytes per run (source, primary sent, cascade sent, hub sent): $(tr '\n' ';' <"$WORK/item12b.bytes")"
		fan_env_stop
		return
	fi
	up="${MED[side_fan_upstream]}" hub="${MED[side_fan_hub]}"
	row 12b "four replicas at once, until all warm" "2 direct + 2 cascading standbys, hf_sources = upstream" "$up" \
		"4 direct standbys, hf_sources = hub (nginx)" "$hub" s "$(ratio "$hub" "$up")" "" \
		"report; $((bytes >> 20)) MiB each ($cnote); $(awk -v b="$bytes" '$1 == "upstream" { printf "upstream runs: primary sent %.2fx the cache (direct standbys bytes_from_upstream %.0f), the direct standbys sent %.0f to the cascading ones, the Hub %.0f; ", $2 / b, $2, $3, $4; exit }' "$WORK/item12b.bytes")$(awk -v b="$bytes" '$1 == "hub" { printf "Hub runs: the Hub sent %.2fx the cache (bytes_from_hub summed %.0f), the primary %.0f; ", $4 / b, $4, $2; exit }' "$WORK/item12b.bytes")primary max_blob_readers = $((2 * ITEM12_READERS)), direct standbys' $ITEM12_READERS, max_parallel_downloads ${BENCH_PARALLEL:-8}; every byte hashed$( [ -s "$WORK/item12b.restarts" ] && echo "; a worker restarted mid-run (its bytes counted from the restart): $(sort "$WORK/item12b.restarts" | uniq -c | awk '{ printf "%s%s x%s", (NR > 1 ? ", " : ""), $2 " " $3 " " $4, $1 }')")"
	fan_env_stop
}

item12() {
	item12a
	item12b
}
