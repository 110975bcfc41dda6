# The eight measurements of bench/run. Source, don't run.
# Each itemN prints its progress on stderr and appends rows to results.csv.

title() { printf '\n== %s\n' "$*" >&2; }
quiet() { "$@" >/dev/null; }
manifest_bytes() { awk -F'\t' '{ s += $7 } END { printf "%.0f\n", s }' "$1"; }
manifest_files() { wc -l <"$1"; }

# curl config (url/output pairs) for every row of a manifest.
curl_config() {  # MANIFEST DEST [BASE_URL]
	awk -F'\t' -v u="${3:-$NGX_URL}" -v d="$2" '{
		printf "url = \"%s/%s/resolve/%s/%s\"\noutput = \"%s/%s/%s\"\n", u, $2, $3, $5, d, $2, $5 }' "$1"
}

fresh_dest() { rm -rf "$DEST" && mkdir -p "$DEST"; }

# ---------------------------------------------------------------- 1. listing
side_find() { elapsed quiet find -L "$SMALL/cache" -type f -printf '%s %p\n'; }
side_manifest_list() { pg_time "SELECT count(*) FROM pgml_repl.hf_cache_manifest('$SMALL/cache')"; }

# Server round trip of one statement, from psql's \timing (excludes the
# connection set-up, which find does not pay either).
pg_time() {
	local out ms
	out="$(bpsql -c '\timing on' -c "$1" 2>&1)" || { echo "$out" >>"$BENCH_LOG"; return 1; }
	echo "$out" >>"$BENCH_LOG"
	ms="$(echo "$out" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -n 1)"
	[ -n "$ms" ] && awk -v m="$ms" 'BEGIN { printf "%.6f\n", m / 1000 }'
}

item1() {
	title "1. Cache listing: hf_cache_manifest() vs find -L ($(manifest_files "$SMALL/manifest.tsv") files)"
	if ! have_manifest; then
		measure 1 "$K_FAST" side_find || return
		row 1 "listing, many small" "hf_cache_manifest()" "" "find -L" "${MED[side_find]}" s "" "ratio>=1.0; ours<=0.1" \
			"skipped: hf_cache_manifest not available"
		echo "  skipped: hf_cache_manifest not available" >&2
		return
	fi
	measure 1 "$K_FAST" side_manifest_list side_find || return
	row 1 "listing, many small" "hf_cache_manifest()" "${MED[side_manifest_list]}" "find -L" "${MED[side_find]}" s \
		"$(ratio "${MED[side_find]}" "${MED[side_manifest_list]}")" "ratio>=1.0; ours<=0.1" ""
}

# ------------------------------------------------------------ 2. verification
large_blobs() { find "$LARGE/cache" -path '*/blobs/*' -type f | sort; }
warm_large() { large_blobs | xargs cat >/dev/null; }
drop_caches() { sync && echo 3 >/proc/sys/vm/drop_caches; }

side_verify() { pg_time "SELECT count(*) FROM pgml_repl.hf_cache_manifest('$LARGE/cache', verify => true)"; }
side_openssl_1() { elapsed sh -c "find '$LARGE/cache' -path '*/blobs/*' -type f -print0 | xargs -0 openssl dgst -sha256"; }
side_openssl_p2() { elapsed sh -c "find '$LARGE/cache' -path '*/blobs/*' -type f -print0 | xargs -0 -n1 -P2 openssl dgst -sha256"; }
side_sha256sum() { elapsed sh -c "find '$LARGE/cache' -path '*/blobs/*' -type f -print0 | xargs -0 sha256sum"; }
side_cold_verify() { drop_caches && side_verify; }
side_cold_openssl_p2() { drop_caches && side_openssl_p2; }

item2() {
	local bytes have=1 sides
	bytes="$(manifest_bytes "$LARGE/manifest.tsv")"
	title "2. Verification: hf_cache_manifest(verify => true) vs openssl dgst ($((bytes >> 20)) MiB)"
	have_manifest || have=0
	warm_large
	sides=(side_openssl_1 side_openssl_p2)
	((have)) && sides=(side_verify "${sides[@]}")
	measure 2 "$K_LARGE" "${sides[@]}" || return
	measure 2 1 side_sha256sum || return
	local note="" ours="" r1="" r2="" r3=""
	if ((have)); then
		ours="${MED[side_verify]}"
		r1="$(ratio "${MED[side_openssl_p2]}" "$ours")"
		r2="$(ratio "${MED[side_openssl_1]}" "$ours")"
		r3="$(ratio "${MED[side_sha256sum]}" "$ours")"
	else
		note="skipped: hf_cache_manifest not available"
		echo "  $note" >&2
	fi
	row 2 "verify, warm" "verify => true" "$ours" "xargs -P2 openssl dgst" "${MED[side_openssl_p2]}" s "$r1" "ratio>=0.95" \
		"${note:-ours $(mbps "$bytes" "$ours") MB/s; baseline $(mbps "$bytes" "${MED[side_openssl_p2]}") MB/s}"
	row 2 "verify, warm" "verify => true" "$ours" "openssl dgst (1 process)" "${MED[side_openssl_1]}" s "$r2" "" \
		"${note:-baseline $(mbps "$bytes" "${MED[side_openssl_1]}") MB/s}"
	row 2 "verify, warm" "verify => true" "$ours" "sha256sum (1 run)" "${MED[side_sha256sum]}" s "$r3" "" \
		"${note:-baseline $(mbps "$bytes" "${MED[side_sha256sum]}") MB/s}"
	if ! drop_caches 2>/dev/null; then
		skipped 2 "verify, cold" "cannot drop the page cache here (needs root and a writable /proc/sys/vm/drop_caches)"
		return
	fi
	sides=(side_cold_openssl_p2)
	((have)) && sides=(side_cold_verify "${sides[@]}")
	measure 2c "$K_COLD" "${sides[@]}" || return
	((have)) && ours="${MED[side_cold_verify]}" && r1="$(ratio "${MED[side_cold_openssl_p2]}" "$ours")"
	row 2 "verify, cold" "verify => true" "$ours" "xargs -P2 openssl dgst" "${MED[side_cold_openssl_p2]}" s "$r1" "" \
		"${note:-ours $(mbps "$bytes" "$ours") MB/s; baseline $(mbps "$bytes" "${MED[side_cold_openssl_p2]}") MB/s}"
	warm_large
}

# ------------------------------------------------------- 3-4. prefetch sides
# "ours" in items 3 and 4 is the replica's prefetch worker, timed from
# prefetch_now() to the end of the cycle (side_worker_transfer: start-up is
# item 8), and, for reference, the fetch core alone through
# test/tools/hf_fetch_cli (no PostgreSQL around it). PREFETCH_MANIFEST says
# what to fetch, PREFETCH_URL from where (default: the uncapped nginx).
prefetch_mode() {
	if have_worker; then echo worker; elif have_cli; then echo cli; else echo none; fi
}

side_ours_cli() {
	fresh_dest
	local s
	s="$(elapsed cli_fetch "$PREFETCH_MANIFEST" "$DEST" "${PREFETCH_URL:-$NGX_URL}" "${BENCH_PARALLEL:-8}")" || return 1
	check_fetched "$PREFETCH_MANIFEST" "$DEST" >&2 || return 1
	echo "$s"
}

# Every blob of the manifest is in the fetched cache, with the right size.
check_fetched() {
	local missing
	missing="$(awk -F'\t' '{ r = $2; gsub("/", "--", r); print "models--" r "/blobs/" $6 "\t" $7 }' "$1" | sort -u |
		while IFS=$'\t' read -r p size; do
			[ "$(stat -c %s "$2/$p" 2>/dev/null)" = "$size" ] || echo "$p"
		done | wc -l)"
	((missing == 0)) || { echo "  fetched cache is missing $missing blobs"; return 1; }
}

side_curl_o() {
	fresh_dest
	curl_config "$PREFETCH_MANIFEST" "$DEST" "${PREFETCH_URL:-$NGX_URL}" >"$WORK/curl.cfg"
	elapsed curl -s --fail --create-dirs -K "$WORK/curl.cfg"
}

side_rsync() { fresh_dest && elapsed rsync -a "$PREFETCH_SRC/" "$DEST/cache/"; }

# One curl process per file, one after another. Its cost is linear in the
# file count (a process start and a connection per file), so with more than
# 1,000 files it runs on every SEQ_EVERY-th file and is scaled up; the
# report says so.
SEQ_EVERY=1
side_curl_seq() {
	fresh_dest
	awk -F'\t' -v u="$NGX_URL" -v d="$DEST" -v k="$SEQ_EVERY" '(NR - 1) % k == 0 {
		print u "/" $2 "/resolve/" $3 "/" $5 "\t" d "/" $2 "/" $5 }' "$PREFETCH_MANIFEST" >"$WORK/seq.tsv"
	local s
	s="$(elapsed sh -c "while IFS='	' read -r url out; do curl -s --fail --create-dirs -o \"\$out\" \"\$url\" || exit 1; done <'$WORK/seq.tsv'")" || return 1
	awk -v s="$s" -v k="$SEQ_EVERY" 'BEGIN { printf "%.6f\n", s * k }'
}

side_curl_par8() {
	fresh_dest
	curl_config "$PREFETCH_MANIFEST" "$DEST" >"$WORK/curl.cfg"
	elapsed curl -s --fail --create-dirs --parallel --parallel-max 8 -K "$WORK/curl.cfg"
}

# Starts the primary + replica for items 3/4 and waits for the replica's
# first complete cycle. Returns 1 (after a log line) when it cannot.
worker_ready() {  # CACHE
	worker_env_start "$1" && replica_ready && return 0
	echo "  worker set-up failed (see $BENCH_LOG)" >&2
	worker_env_stop
	return 1
}

# prefetch_rows ITEM WHAT BYTES_OR_EMPTY BASELINE_SIDE LABEL BAR NOTE: one row
# for the worker (with the bar) and one for the fetch CLI (reference).
prefetch_rows() {
	local item="$1" what="$2" bytes="$3" base="$4" label="$5" bar="$6" note="$7" o speed
	if [ -n "${MED[side_worker_transfer]:-}" ]; then
		o="${MED[side_worker_transfer]}"
		speed="" && [ -n "$bytes" ] && speed="ours $(mbps "$bytes" "$o") MB/s, baseline $(mbps "$bytes" "${MED[$base]}") MB/s; "
		row "$item" "$what" "prefetch worker (prefetch_now() to done)" "$o" "$label" "${MED[$base]}" s \
			"$(ratio "${MED[$base]}" "$o")" "$bar" "${speed}${note}"
	fi
	if [ -n "${MED[side_ours_cli]:-}" ]; then
		o="${MED[side_ours_cli]}"
		speed="" && [ -n "$bytes" ] && speed="ours $(mbps "$bytes" "$o") MB/s; "
		row "$item" "$what" "hf_fetch_cli (fetch core alone, reference)" "$o" "$label" "${MED[$base]}" s \
			"$(ratio "${MED[$base]}" "$o")" "" "${speed}${note}"
	fi
}

item3() {
	local bytes sides=()
	bytes="$(manifest_bytes "$LARGE/manifest.tsv")"
	title "3. Prefetch, large files ($((bytes >> 20)) MiB), uncapped loopback: ours vs curl -o and rsync -a"
	PREFETCH_MANIFEST="$LARGE/manifest.tsv" PREFETCH_SRC="$LARGE/cache" PREFETCH_URL="$NGX_URL" WORKER_ENDPOINT=""
	warm_large
	MED[side_worker_transfer]="" MED[side_ours_cli]=""
	have_worker && worker_ready "$LARGE/cache" && sides+=(side_worker_transfer)
	have_cli && sides+=(side_ours_cli)
	if ((${#sides[@]} == 0)); then
		skipped 3 "prefetch, large" "fetch core (hf_fetch_cli) and prefetch worker not available"
		return
	fi
	measure 3 "$K_LARGE" "${sides[@]}" side_curl_o side_rsync
	# The same worker pulled the whole cache K times: its peak RSS is item 7's.
	[ -n "${MED[side_worker_transfer]}" ] && ITEM7_KB="$(awk '/^VmHWM:/ { print $2 }' "/proc/$(worker_pid)/status" 2>/dev/null)"
	prefetch_rows 3 "prefetch, large, uncapped loopback" "$bytes" side_curl_o "curl -o (sequential, no hash)" "ratio>=1.5" "ours hashed + fsynced"
	prefetch_rows 3 "prefetch, large, uncapped loopback" "$bytes" side_rsync "rsync -a (local copy)" "ratio>=1.8" ""
	worker_env_stop
}

item4() {
	local n sides=()
	n="$(manifest_files "$SMALL/manifest.tsv")"
	title "4. Prefetch, many small files ($n files): ours vs curl loop and curl --parallel"
	PREFETCH_MANIFEST="$SMALL/manifest.tsv" PREFETCH_SRC="$SMALL/cache" PREFETCH_URL="$NGX_URL" WORKER_ENDPOINT=""
	MED[side_worker_transfer]="" MED[side_ours_cli]=""
	have_worker && worker_ready "$SMALL/cache" && sides+=(side_worker_transfer)
	have_cli && sides+=(side_ours_cli)
	if ((${#sides[@]} == 0)); then
		skipped 4 "prefetch, many small" "fetch core (hf_fetch_cli) and prefetch worker not available"
		return
	fi
	measure 4 "$K_LARGE" "${sides[@]}" side_curl_par8
	SEQ_EVERY=1 && ((n > 1000)) && SEQ_EVERY=5
	measure 4 1 side_curl_seq
	local seqnote="$n files"
	((SEQ_EVERY > 1)) && seqnote="$n files; the loop ran on 1 file in $SEQ_EVERY ($(((n + SEQ_EVERY - 1) / SEQ_EVERY)) files), scaled x$SEQ_EVERY"
	prefetch_rows 4 "prefetch, many small" "" side_curl_seq "sequential curl loop (1 run)" "ratio>=3" "$seqnote"
	prefetch_rows 4 "prefetch, many small" "" side_curl_par8 "curl --parallel-max 8" "ratio>=1.0" "$n files"
	worker_env_stop
}

# ------------------------------------------------------- 5. slow, lossy link
NS=pgmlr_bench_hub

side_ns_curl() {
	fresh_dest
	elapsed ip netns exec "$NS" curl -s --fail -o "$DEST/one" "$NS_URL/$ITEM5_URLPATH"
}
side_ns_ours() {
	fresh_dest
	elapsed ip netns exec "$NS" "$FETCH_CLI" --cache "$DEST" --endpoint "$NS_URL" --parallel "${BENCH_PARALLEL:-8}" \
		<"$WORK/item5.tsv"
}

item5() {
	title "5. Slow, lossy link (netem ${ITEM5_DELAY} delay, ${ITEM5_LOSS} loss): ranged parallel vs one curl stream"
	local why=""
	track netns "$NS"
	if ! ip netns add "$NS" 2>>"$BENCH_LOG"; then
		why="ip netns does not work here (needs root)"
	elif ! ip netns exec "$NS" ip link set lo up 2>>"$BENCH_LOG" ||
		! ip netns exec "$NS" tc qdisc add dev lo root netem delay "$ITEM5_DELAY" loss "$ITEM5_LOSS" 2>>"$BENCH_LOG"; then
		why="tc netem is not available in this kernel (sch_netem missing: \"Specified qdisc kind is unknown\")"
	fi
	if [ -n "$why" ]; then
		ip netns del "$NS" 2>/dev/null
		skipped 5 "slow lossy link" "$why"
		return
	fi
	# One file of ITEM5_MB, served by an nginx inside the namespace.
	local f
	f="$(find "$LARGE/cache" -path '*/blobs/*' -size +1M -type f | head -n 1)"
	head -c "$((ITEM5_MB << 20))" "$f" >"$WORK/item5.bin"
	local sha
	sha="$(sha256sum "$WORK/item5.bin" | cut -d' ' -f1)"
	mkdir -p "$WORK/www5/bench-org/slow/resolve/0000000000000000000000000000000000000005"
	ln -sf "$WORK/item5.bin" "$WORK/www5/bench-org/slow/resolve/0000000000000000000000000000000000000005/model.bin"
	printf 'model\tbench-org/slow\t0000000000000000000000000000000000000005\tmain\tmodel.bin\t%s\t%s\n' \
		"$sha" "$((ITEM5_MB << 20))" >"$WORK/item5.tsv"
	ITEM5_URLPATH="bench-org/slow/resolve/0000000000000000000000000000000000000005/model.bin"
	local port=18080
	NS_URL="http://127.0.0.1:$port"
	chmod -R a+rX "$WORK/www5" "$WORK/item5.bin"
	track nginx "$WORK/nginx5"
	ip netns exec "$NS" bash -c "$(declare -f nginx_start); BENCH_LOG='$BENCH_LOG' nginx_start '$WORK/nginx5' $port '$WORK/www5'" || {
		ip netns del "$NS"
		skipped 5 "slow lossy link" "nginx did not start in the namespace"
		return
	}
	if have_cli; then
		measure 5 "$K_LARGE" side_ns_ours side_ns_curl
		row 5 "slow lossy link, 1 file" "hf_fetch_cli" "${MED[side_ns_ours]}" "single-stream curl" "${MED[side_ns_curl]}" s \
			"$(ratio "${MED[side_ns_curl]}" "${MED[side_ns_ours]}")" "ratio>=2 (aim)" "$ITEM5_MB MiB file"
	else
		measure 5 1 side_ns_curl
		row 5 "slow lossy link, 1 file" "fetch core" "" "single-stream curl" "${MED[side_ns_curl]}" s "" "ratio>=2 (aim)" \
			"skipped: fetch core (hf_fetch_cli) not available"
	fi
	nginx_stop "$WORK/nginx5"
	ip netns del "$NS"
}

# ----------------------------------------------- 6. cost to replica's users
pgbench_tps() {  # prints tps of a read-only pgbench on the replica
	as_pg pgbench -n -S -c 2 -j 2 -T "$ITEM6_SECONDS" -h 127.0.0.1 -p "$RPORT" -U postgres postgres 2>>"$BENCH_LOG" |
		sed -n 's/^tps = \([0-9.]*\).*/\1/p' | tail -n 1
}
set_prefetch() {  # on|off
	rpsql -c "ALTER SYSTEM SET pgml_replication.prefetch = $1" -c "SELECT pg_reload_conf()" >>"$BENCH_LOG" 2>&1
}
# Every psql start costs the replica a backend: polling prefetch_status()
# 4 times a second alone took about 20 % of pgbench -S's tps here. Item 6
# polls every ITEM6_POLL seconds, and the "off" side runs the same polls,
# so both sides carry the same overhead.
ITEM6_POLL="${ITEM6_POLL:-2}"

# Prefetch off: the worker idles (state disabled) for the whole pgbench run.
side_tps_off() {
	set_prefetch off && wait_state '^disabled$' 30 || return 1
	(
		end=$(($(date +%s) + ITEM6_SECONDS))
		while (($(date +%s) < end)); do
			rpsql -c 'SELECT state FROM pgml_repl.prefetch_status()' >/dev/null 2>&1
			sleep "$ITEM6_POLL"
		done
	) &
	local poll=$! tps
	tps="$(pgbench_tps)"
	wait "$poll"
	echo "$tps"
}
# Prefetch on: the worker refetches the whole cache for the whole pgbench
# run (wipe, prefetch_now(), wait, again), bounded by the run's length.
side_tps_on() {
	set_prefetch off && wait_state '^disabled$' 30 || return 1
	replica_wipe_cache
	set_prefetch on && rpsql -c "SELECT pgml_repl.prefetch_now()" >/dev/null 2>&1
	wait_state '^(scanning|downloading)$' 30 || return 1
	local want
	want="$(manifest_blobs "$PREFETCH_MANIFEST")"
	(
		end=$(($(date +%s) + ITEM6_SECONDS))
		rounds=0
		while (($(date +%s) < end)); do
			t0="$(rpsql -c 'SELECT clock_timestamp() - interval '\''1 hour'\''')"
			# The first round's cycle is already running (started above).
			((rounds > 0)) && t0="$(rpsql -c 'SELECT clock_timestamp()')" && replica_wipe_cache &&
				rpsql -c 'SELECT pgml_repl.prefetch_now()' >/dev/null
			BENCH_POLL="$ITEM6_POLL" wait_prefetch_done "$t0" "$(now_ns)" "$want" "$((end - $(date +%s) + 1))" >/dev/null || break
			rounds=$((rounds + 1))
			echo "item 6: refetch round $rounds done" >>"$BENCH_LOG"
			(($(date +%s) < end)) && wait_state '^idle$' 10
		done
	) &
	local loop=$! tps c0 c1 pid
	pid="$(worker_pid)"
	c0="$(cpu_ticks "$pid") $(cpu_ticks $(cat "$NGX_DIR/nginx.pid") $(pgrep -P "$(cat "$NGX_DIR/nginx.pid")"))"
	tps="$(pgbench_tps)"
	c1="$(cpu_ticks "$pid") $(cpu_ticks $(cat "$NGX_DIR/nginx.pid") $(pgrep -P "$(cat "$NGX_DIR/nginx.pid")"))"
	echo "$c0 $c1" | awk -v hz="$(getconf CLK_TCK)" -v t="$ITEM6_SECONDS" '{
		printf "item 6 cpu during pgbench: worker %.2f s, nginx %.2f s of %d s\n", ($3 - $1) / hz, ($4 - $2) / hz, t }' >>"$RES/item6_cpu.txt"
	echo "item 6: bytes fetched during pgbench: $(rpsql -c 'SELECT bytes_done, state FROM pgml_repl.prefetch_status()')" >>"$BENCH_LOG"
	wait "$loop"
	# The worker yields while pgbench runs: it must still finish once the
	# readers stop. How long the cycle running now takes after pgbench ends
	# (bounded), against its bytes.
	local t_end
	t_end=$(date +%s.%N)
	if wait_state '^idle$' 120; then
		awk -v a="$t_end" -v b="$(date +%s.%N)" -v d="$(rpsql -c 'SELECT bytes_done FROM pgml_repl.prefetch_status()')" \
			'BEGIN { printf "item 6 after pgbench: the running cycle finished %.1f s later (%d bytes done)\n", b - a, d }' >>"$RES/item6_cpu.txt"
	else
		echo "item 6 after pgbench: the prefetch did not finish within 120 s" >>"$RES/item6_cpu.txt"
	fi
	echo "$tps"
}

# Prefetch on without yielding (yield_to_queries = off): the defaults before
# the worker yielded to queries.
side_tps_noyield() {
	rpsql -c "ALTER SYSTEM SET pgml_replication.yield_to_queries = off" >>"$BENCH_LOG" 2>&1 || return 1
	local v rc
	v="$(side_tps_on)"
	rc=$?
	rpsql -c "ALTER SYSTEM RESET pgml_replication.yield_to_queries" -c "SELECT pg_reload_conf()" >>"$BENCH_LOG" 2>&1
	((rc == 0)) && echo "$v"
	return $rc
}

# Prefetch on with pgml_replication.max_download_rate = ITEM6_RATE (default
# 50MB): what a DBA would set on a replica that serves queries while it warms.
side_tps_rate() {
	rpsql -c "ALTER SYSTEM SET pgml_replication.max_download_rate = '${ITEM6_RATE:-50MB}'" >>"$BENCH_LOG" 2>&1 || return 1
	local v rc
	v="$(side_tps_on)"
	rc=$?
	rpsql -c "ALTER SYSTEM RESET pgml_replication.max_download_rate" -c "SELECT pg_reload_conf()" >>"$BENCH_LOG" 2>&1
	((rc == 0)) && echo "$v"
	return $rc
}

cpu_ticks() {  # PID...: utime + stime of those processes, in clock ticks
	local p t=0
	for p in "$@"; do
		t=$((t + $(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$p/stat" 2>/dev/null || echo 0)))
	done
	echo "$t"
}

# The replica has replayed everything the primary wrote so far.
replica_caught_up() {
	local lsn i
	lsn="$(BPORT="$PPORT" bpsql -c 'SELECT pg_current_wal_lsn()')" || return 1
	for ((i = 0; i < 600; i++)); do
		[ "$(rpsql -c "SELECT pg_last_wal_replay_lsn() >= '$lsn'" 2>/dev/null)" = t ] && return 0
		sleep 0.1
	done
	return 1
}

item6() {
	title "6. Cost to the replica's users: read-only pgbench while prefetching vs prefetch off"
	if ! have_worker; then skipped 6 "pgbench on replica" "prefetch worker (standby downloads) not available"; return; fi
	PREFETCH_MANIFEST="$LARGE/manifest.tsv"
	worker_env_start "$LARGE/cache" || { skipped 6 "pgbench on replica" "worker set-up failed"; worker_env_stop; return; }
	as_pg pgbench -i -s "$ITEM6_SCALE" -q -h 127.0.0.1 -p "$PPORT" -U postgres postgres >>"$BENCH_LOG" 2>&1 ||
		{ skipped 6 "pgbench on replica" "pgbench -i failed (see $BENCH_LOG)"; worker_env_stop; return; }
	replica_ready && replica_caught_up ||
		{ skipped 6 "pgbench on replica" "the replica did not get ready (see $BENCH_LOG)"; worker_env_stop; return; }
	measure 6 "$K_LARGE" side_tps_on side_tps_off side_tps_rate side_tps_noyield
	row 6 "pgbench -S on replica" "tps, prefetch on" "${MED[side_tps_on]}" "tps, prefetch off" "${MED[side_tps_off]}" tps \
		"$(ratio "${MED[side_tps_on]}" "${MED[side_tps_off]}")" "ratio>=0.9" \
		"pgbench -S -c 2 -j 2 -T $ITEM6_SECONDS, scale $ITEM6_SCALE; the worker refetches $(($(manifest_bytes "$PREFETCH_MANIFEST") >> 20)) MiB throughout (defaults: prefetch_nice 10, no rate limit, yield_to_queries on, yield_download_rate 5MB)"
	row 6 "pgbench -S on replica" "tps, prefetch on, yield_to_queries off" "${MED[side_tps_noyield]}" "tps, prefetch off" "${MED[side_tps_off]}" tps \
		"$(ratio "${MED[side_tps_noyield]}" "${MED[side_tps_off]}")" "-" \
		"the defaults before the worker yielded to queries (prefetch_nice 10, no rate limit)"
	row 6 "pgbench -S on replica" "tps, prefetch on, max_download_rate ${ITEM6_RATE:-50MB}" "${MED[side_tps_rate]}" "tps, prefetch off" "${MED[side_tps_off]}" tps \
		"$(ratio "${MED[side_tps_rate]}" "${MED[side_tps_off]}")" "-" \
		"the same with the rate limit a DBA would set on a busy replica"
	worker_env_stop
}

# ------------------------------------------------------------ 7. peak RSS
item7() {
	local bytes kb=""
	bytes="$(manifest_bytes "$LARGE/manifest.tsv")"
	title "7. Worker memory: peak RSS during a $((bytes >> 20)) MiB transfer"
	if ! have_worker; then skipped 7 "peak RSS" "prefetch worker (standby downloads) not available"; return; fi
	local note="after $K_LARGE transfers in item 3"
	if [ -n "${ITEM7_KB:-}" ]; then
		kb="$ITEM7_KB"
	else
		PREFETCH_MANIFEST="$LARGE/manifest.tsv"
		worker_ready "$LARGE/cache" || { skipped 7 "peak RSS" "worker set-up failed"; return; }
		kb="$(awk '/^VmHWM:/ { print $2 }' "/proc/$(worker_pid)/status" 2>/dev/null)"
		note="after one transfer"
		worker_env_stop
	fi
	if [ -z "$kb" ]; then skipped 7 "peak RSS" "could not read the worker's VmHWM (see $BENCH_LOG)"; return; fi
	row 7 "peak RSS, $((bytes >> 20)) MiB" "prefetch worker VmHWM" "$(awk -v k="$kb" 'BEGIN { printf "%.1f", k / 1024 }')" \
		"" "" MB "" "ours<=64" "$note (VmHWM includes shared memory the worker touched)"
}

# ---------------------------------------------------------- 8. time to warm
side_on_demand() {
	fresh_dest
	curl_config "$COMBINED_MANIFEST" "$DEST" >"$WORK/curl8.cfg"
	elapsed curl -s --fail --create-dirs -K "$WORK/curl8.cfg"
}

item8() {
	title "8. Time to warm: new replica start to prefetch done vs one client on demand"
	if ! have_worker; then skipped 8 "time to warm" "prefetch worker (standby downloads) not available"; return; fi
	PREFETCH_MANIFEST="$COMBINED_MANIFEST"
	worker_env_start "$COMBINED" || { skipped 8 "time to warm" "worker set-up failed"; worker_env_stop; return; }
	measure 8 "$K_LARGE" side_worker_warm side_on_demand
	row 8 "time to warm, $(manifest_files "$COMBINED_MANIFEST") files" "replica start to done (start-up included)" "${MED[side_worker_warm]}" \
		"one client, sequential on demand" "${MED[side_on_demand]}" s \
		"$(ratio "${MED[side_on_demand]}" "${MED[side_worker_warm]}")" "" "report both; $(($(manifest_bytes "$COMBINED_MANIFEST") >> 20)) MiB"
	worker_env_stop
}
