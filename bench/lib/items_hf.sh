# Item 11 of bench/run: huggingface_hub's own snapshot_download, the real
# library in the versions vendored in ../shared/vendor, against ours on the
# same server. Source, don't run.
#
# snapshot_download asks the Hub's API for the repo's file list
# (/api/models/{repo}/revision/{rev}) before it resolves the files, which a
# static nginx cannot answer: both sides use the test Hub
# (test/hub/hub_server.py: the API, resolve, 302 to a "CDN" listener for LFS
# blobs), one server per cache.

HF_VENDOR="${BENCH_HF_VENDOR:-$(cd "$TOP/.." && pwd)/shared/vendor}"

hf_versions_line() {
	local v out=""
	for v in ${HF_VERSIONS//,/ }; do
		[ -f "$HF_VENDOR/huggingface_hub-$v.tar.gz" ] && out+="$v " || out+="$v (missing) "
	done
	echo "${out% } from $HF_VENDOR"
}

# hub_start CACHE: the test Hub serving CACHE's repos; sets HUB_URL HUB_PID.
hub_start() {
	bg_start "$WORK/hub11.out" /usr/bin/python3 "$TOP/test/hub/hub_server.py" --cache "$1" || return 1
	HUB_PID="$BG_PID" HUB_URL="http://127.0.0.1:${BG_READY%% *}"
}

# hf_side VERSION: a fresh cache, then snapshot_download of every repo of
# PREFETCH_MANIFEST at "main", one repo after another (its default
# max_workers = 8 files at once within a repo), timed inside one Python
# process after the import; every blob is then checked like ours.
hf_side() {
	fresh_dest
	local out
	awk -F'\t' '{ print $2 }' "$PREFETCH_MANIFEST" | sort -u >"$WORK/hf-repos.txt"
	out="$(/usr/bin/python3 "$TOP/bench/lib/hf_snapshot.py" --vendor "$HF_VENDOR" --version "$1" \
		--workdir "$WORK/hf-clients" --endpoint "$PREFETCH_URL" --cache "$DEST" --repos "$WORK/hf-repos.txt" \
		2>>"$BENCH_LOG")" || { echo "hf_snapshot.py $1 failed" >>"$BENCH_LOG"; return 1; }
	check_fetched "$PREFETCH_MANIFEST" "$DEST" >&2 || return 1
	echo "$out" | tail -n 1
}
side_hf_0271() { hf_side 0.27.1; }
side_hf_1280() { hf_side 1.28.0; }

# hf_case ID WHAT GEN_OUT: ours and each client version on one cache, K_HF
# runs each (2, --quick 1: a Python client on the many-small cache takes
# minutes per run at the full sizes).
hf_case() {
	local id="$1" what="$2" src="$3" v bytes sides=() hf=() vs=()
	if ! hub_start "$src/cache"; then
		skipped 11 "$what" "the test Hub did not start (see $BENCH_LOG)"
		return
	fi
	local PREFETCH_URL="$HUB_URL" WORKER_ENDPOINT="$HUB_URL"
	PREFETCH_MANIFEST="$src/manifest.tsv"
	bytes="$(manifest_bytes "$PREFETCH_MANIFEST")"
	echo "  $what: $(manifest_files "$PREFETCH_MANIFEST") files, $((bytes >> 20)) MiB from the test Hub at $HUB_URL" >&2
	warm_cache "$src"
	MED[side_worker_transfer]="" MED[side_ours_cli]=""
	have_worker && worker_ready "$src/cache" && sides+=(side_worker_transfer)
	have_cli && sides+=(side_ours_cli)
	for v in ${HF_VERSIONS//,/ }; do
		case "$v" in
		0.27.1 | 1.28.0) hf+=("side_hf_${v//./}") && vs+=("$v") ;;
		*) echo "  no huggingface_hub $v vendored here (0.27.1, 1.28.0)" >&2 ;;
		esac
	done
	if ((${#sides[@]} == 0)); then
		skipped 11 "$what" "fetch core (hf_fetch_cli) and prefetch worker not available"
	elif measure "$id" "$K_HF" "${sides[@]}" "${hf[@]}"; then
		for v in "${vs[@]}"; do
			prefetch_rows 11 "$what, test Hub" "$bytes" "side_hf_${v//./}" "huggingface_hub $v snapshot_download" "" \
				"$(manifest_files "$PREFETCH_MANIFEST") files, repos: $(sort -u -t$'\t' -k2,2 "$PREFETCH_MANIFEST" | wc -l); snapshot_download per repo, max_workers 8, import excluded"
		done
	fi
	worker_env_stop
	bg_stop "$HUB_PID"
}

item11() {
	title "11. huggingface_hub snapshot_download ($HF_VERSIONS) vs ours, both from the test Hub"
	local v
	for v in ${HF_VERSIONS//,/ }; do
		if [ ! -f "$HF_VENDOR/huggingface_hub-$v.tar.gz" ]; then
			skipped 11 "snapshot_download" "huggingface_hub-$v.tar.gz not in $HF_VENDOR (see ../shared/vendor/README.md)"
			return
		fi
	done
	hf_case 11a "many small" "$SMALL"
	hf_case 11b "few large" "$LARGE"
}
