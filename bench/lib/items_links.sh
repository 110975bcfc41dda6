# Items 9 and 10 of bench/run: large files over links where one TCP stream
# is the limit, as from a far CDN edge. Source, don't run.
#
# Item 9: nginx with limit_rate CAP per connection (--cap, default 16m),
# one large file and a 4-shard model. Item 10: the same cap with
# bench/lib/latency_proxy.py in front (this kernel has no netem, so item 5
# skips here). Ours (the replica's prefetch worker; the fetch CLI as a
# reference) against curl -o (one stream per file, one file after another)
# and aria2c -x16 -s16 (its default parallelism for an input file).

capped_desc() {
	local one shard
	IFS=, read -r one shard <<<"$CAPPED_SPEC"
	echo "one file of $one MiB; 4 shards of $shard MiB"
}

# bg_start OUT CMD...: starts a helper that prints "READY <port> ..." on
# stdout; waits for that line (30 s at most: Python starts slowly on a busy
# machine). Sets BG_PID and BG_READY (the words after READY). The
# supervisor kills it if the run ends early.
bg_start() {
	local out="$1" i
	shift
	: >"$out"
	"$@" >"$out" 2>>"$BENCH_LOG" &
	BG_PID=$!
	track proc "$BG_PID"
	BG_READY=""
	for ((i = 0; i < 300; i++)); do
		BG_READY="$(sed -n 's/^READY //p' "$out" | head -n 1)"
		[ -n "$BG_READY" ] && return 0
		kill -0 "$BG_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "bg_start: $* did not get ready (see $BENCH_LOG)" >>"$BENCH_LOG"
	bg_stop "$BG_PID"
	return 1
}

bg_stop() {  # PID: SIGTERM, up to 5 s, then SIGKILL
	local i
	kill "$1" 2>/dev/null || return 0
	for ((i = 0; i < 50; i++)); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

# The capped web server, started once per run (items 9 and 10 share it):
# one nginx, the same web root on two ports. CAP_URL has limit_rate CAP per
# connection; OPEN_URL has none and only serves the replica's first cycle
# (the worker must be warm and idle before the timed transfers, and that
# cycle need not take minutes). Sets CAP1 and CAP4 (the generated caches).
CAP_URL="" OPEN_URL=""
capped_env_start() {
	[ -n "$CAP_URL" ] && return 0
	local one shard www="$WORK/www-capped" dir="$WORK/nginx-capped.$$" cport oport i
	IFS=, read -r one shard <<<"$CAPPED_SPEC"
	CAP1="$(gen large "$one" capped-one)" && CAP4="$(gen large "$shard,$shard,$shard,$shard" capped-shards)" || return 1
	rm -rf "$www" && mkdir -p "$www/bench-org"
	ln -s "$CAP1"/www/bench-org/* "$CAP4"/www/bench-org/* "$www/bench-org/"
	chmod -R a+rX "$www"
	cport="$(free_port)" || return 1
	for ((i = 0; i < 20; i++)); do
		oport="$(free_port)" || return 1
		[ "$oport" != "$cport" ] && break
	done
	track nginx "$dir"
	# sendfile_max_chunk: nginx paces a limited request between sendfile
	# calls, and the first call of a request goes out at once; at the 2m
	# default every request (a ranged GET too) would start with a free 2 MiB
	# burst, which a far CDN edge does not give. With 64k the cap holds to
	# within a few percent from the first byte.
	nginx_start "$dir" "$cport" "$www" 127.0.0.1 \
		"limit_rate $CAP; sendfile_max_chunk 64k;
    server { listen 127.0.0.1:$oport; root $www; location / { limit_rate 0; sendfile_max_chunk 2m; } }" || return 1
	CAP_URL="http://127.0.0.1:$cport" OPEN_URL="http://127.0.0.1:$oport"
}

# Pages a cache's blobs in, so no side pays the first read from disk.
warm_cache() { find "$1/cache" -path '*/blobs/*' -type f -print0 | xargs -0 cat >/dev/null; }

# Every file of the manifest is at DEST/<repo_id>/<path> with its size (the
# plain layout curl and aria2c write).
check_plain() {  # MANIFEST DEST
	local bad
	bad="$(awk -F'\t' '{ print $2 "/" $5 "\t" $7 }' "$1" | while IFS=$'\t' read -r p size; do
		[ "$(stat -c %s "$2/$p" 2>/dev/null)" = "$size" ] || echo "$p"
	done | wc -l)"
	((bad == 0)) || { echo "  $bad files missing or short in $2"; return 1; }
}

# aria2c with -x16 -s16 and otherwise its defaults (-j 5 files at once,
# --min-split-size 20M, --file-allocation prealloc), one input file for all
# of the manifest's files, as a user would run it.
side_aria2c() {
	fresh_dest
	awk -F'\t' -v u="${PREFETCH_URL:-$NGX_URL}" -v d="$DEST" '{
		printf "%s/%s/resolve/%s/%s\n  dir=%s/%s\n  out=%s\n", u, $2, $3, $5, d, $2, $5 }' "$PREFETCH_MANIFEST" >"$WORK/aria2.txt"
	local s
	s="$(elapsed aria2c -x16 -s16 -i "$WORK/aria2.txt" --quiet=true --summary-interval=0 \
		--allow-overwrite=true --auto-file-renaming=false)" || return 1
	check_plain "$PREFETCH_MANIFEST" "$DEST" >&2 || return 1
	echo "$s"
}

# curl -o behind the cap: size / cap, nothing else varies, so one run.
side_curl_capped() {
	local s
	s="$(side_curl_o)" || return 1
	check_plain "$PREFETCH_MANIFEST" "$DEST" >&2 || return 1
	echo "$s"
}

# The running replica downloads from URL from its next cycle on (the worker
# rereads hf_endpoint on reload, and reads it again at each cycle).
worker_endpoint() {
	rpsql -c "ALTER SYSTEM SET pgml_replication.hf_endpoint = '$1'" -c "SELECT pg_reload_conf()" >>"$BENCH_LOG" 2>&1 || return 1
	sleep 1
}

# link_case ID ROW_LABEL GEN_OUT URL NOTE: ours, aria2c and curl -o fetching
# one generated cache from URL; two rows per "ours" side (vs curl, vs aria2c).
link_case() {
	local id="$1" what="$2" src="$3" url="$4" note="$5" bytes sides=()
	local PREFETCH_URL="$url" WORKER_ENDPOINT="$OPEN_URL"
	PREFETCH_MANIFEST="$src/manifest.tsv"
	bytes="$(manifest_bytes "$PREFETCH_MANIFEST")"
	echo "  $what: $(manifest_files "$PREFETCH_MANIFEST") files, $((bytes >> 20)) MiB from $url" >&2
	warm_cache "$src"
	MED[side_worker_transfer]="" MED[side_ours_cli]=""
	if have_worker && worker_ready "$src/cache"; then
		worker_endpoint "$url" && sides+=(side_worker_transfer)
	fi
	have_cli && sides+=(side_ours_cli)
	if ((${#sides[@]} == 0)); then
		skipped "${id%[ab]}" "$what" "fetch core (hf_fetch_cli) and prefetch worker not available"
		worker_env_stop
		return
	fi
	measure "$id" "$K_LARGE" "${sides[@]}" side_aria2c && measure "$id" 1 side_curl_capped || {
		worker_env_stop
		return 1
	}
	MED[side_curl_o]="${MED[side_curl_capped]}"
	prefetch_rows "${id%[ab]}" "$what" "$bytes" side_curl_o "curl -o (one stream per file, sequential; 1 run)" \
		"ratio>=6${AIM:-}" "$note; ours hashes + fsyncs every byte, curl and aria2c do neither"
	prefetch_rows "${id%[ab]}" "$what" "$bytes" side_aria2c "aria2c -x16 -s16 (input file)" "ratio>=0.8${AIM:-}" "$note"
	worker_env_stop
}

item9() {
	title "9. Large files behind a per-connection cap ($CAP, nginx limit_rate): ours vs curl -o and aria2c -x16 -s16"
	capped_env_start || { skipped 9 "capped link" "the capped nginx did not start (see $BENCH_LOG)"; return; }
	local one shard
	IFS=, read -r one shard <<<"$CAPPED_SPEC"
	link_case 9a "capped $CAP/conn, 1 x $one MiB" "$CAP1" "$CAP_URL" "limit_rate $CAP per connection"
	link_case 9b "capped $CAP/conn, 4 x $shard MiB shards" "$CAP4" "$CAP_URL" "limit_rate $CAP per connection"
}

item10() {
	local one
	IFS=, read -r one _ <<<"$CAPPED_SPEC"
	title "10. Far link (cap $CAP per connection + ${ITEM10_DELAY_MS} ms one-way delay): ours vs curl -o and aria2c, $one MiB"
	capped_env_start || { skipped 10 "far link" "the capped nginx did not start (see $BENCH_LOG)"; return; }
	local cport="${CAP_URL##*:}"
	bg_start "$WORK/proxy10.out" /usr/bin/python3 "$TOP/bench/lib/latency_proxy.py" --target "$cport" \
		--delay-ms "$ITEM10_DELAY_MS" --max-connections 256 ||
		{ skipped 10 "far link" "latency_proxy.py did not start (see $BENCH_LOG)"; return; }
	local proxy="$BG_PID" purl="http://127.0.0.1:${BG_READY%% *}"
	AIM=" (aim)" link_case 10a "far link: cap $CAP/conn + ${ITEM10_DELAY_MS} ms delay, 1 x $one MiB" "$CAP1" "$purl" \
		"impairment: nginx limit_rate $CAP per connection, latency_proxy.py ${ITEM10_DELAY_MS} ms one-way each direction (every request and chunk; no loss)"
	bg_stop "$proxy"
}
