// hf_fetch_cli: the fetch core outside PostgreSQL, for tests, interop checks
// and benchmarks. Not part of the extension (built by CMake only).
//
//   hf_fetch_cli --cache DIR (--endpoint URL | --upstream CONNINFO) [--token T] [--ca-file F]
//                [--parallel N] [--min-free BYTES] [--retries N]
//                [--max-rate BYTES_PER_S] [--range-size BYTES] [--streams N]
//                [--upstream-chunk BYTES] [--verify-present] [--extras] [--quiet]  < manifest.tsv
//
// --extras (with --upstream): after the fetch, copies the upstream's
// trees/<commit>.json files and .no_exist markers (pgml_repl.hf_cache_extras)
// with pgmlr_upstream_extras_sync and prints one "extras: ..." line; a failed
// sync exits 1.
// --upstream: the blobs come from a server with pgml_replication over libpq
// (pgml_repl.hf_blob_read_rows) instead of the Hub; the conninfo names the
// database the extension is in. --upstream-chunk: bytes per query (64 KiB to
// 64 MiB; default 64 MiB).
// Manifest: one row per line, tab-separated:
//   repo_type  repo_id  revision  ref  path  blob  size     ("" or "-" ref: none)
// Exit status: 0 all present, 1 some file failed, 2 bad usage or rows, 3 canceled.
#include "pgml_repl/hf_fetch.h"
#include "pgml_repl/upstream_extras.h"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace {

volatile sig_atomic_t g_abort = 0;
void on_signal(int) { g_abort = 1; }

std::vector<std::string> split_tabs(const std::string &line) {
	std::vector<std::string> out;
	size_t start = 0;
	while (true) {
		size_t t = line.find('\t', start);
		out.push_back(line.substr(start, t == std::string::npos ? std::string::npos : t - start));
		if (t == std::string::npos) break;
		start = t + 1;
	}
	return out;
}

int usage() {
	std::fprintf(stderr,
				 "usage: hf_fetch_cli --cache DIR (--endpoint URL | --upstream CONNINFO) [--token T] [--ca-file F]\n"
				 "                    [--parallel N]\n"
				 "                    [--min-free BYTES] [--retries N] [--max-rate BYTES_PER_S] [--range-size BYTES]\n"
				 "                    [--upstream-chunk BYTES]\n"
				 "                    [--streams N] [--verify-present] [--extras] [--quiet]\n"
				 "                    < rows.tsv\n");
	return 2;
}

}  // namespace

int main(int argc, char **argv) {
	pgmlr_fetch_options o;
	pgmlr_fetch_options_init(&o);
	bool quiet = false;
	bool extras = false;
	for (int i = 1; i < argc; ++i) {
		std::string a = argv[i];
		auto next = [&]() -> const char * { return i + 1 < argc ? argv[++i] : nullptr; };
		const char *v = nullptr;
		if (a == "--cache" && (v = next())) o.cache_root = v;
		else if (a == "--endpoint" && (v = next())) o.endpoint = v;
		else if (a == "--upstream" && (v = next())) o.upstream_conninfo = v;
		else if (a == "--token" && (v = next())) o.token = v;
		else if (a == "--ca-file" && (v = next())) o.ca_file = v;
		else if (a == "--parallel" && (v = next())) o.max_parallel = std::atoi(v);
		else if (a == "--min-free" && (v = next())) o.min_free_disk = std::atoll(v);
		else if (a == "--retries" && (v = next())) o.max_retries = std::atoi(v);
		else if (a == "--max-rate" && (v = next())) o.max_bytes_per_second = std::atoll(v);
		else if (a == "--range-size" && (v = next())) o.range_size = std::atoll(v);
		else if (a == "--upstream-chunk" && (v = next())) o.upstream_chunk = std::atoll(v);
		else if (a == "--streams" && (v = next())) o.max_streams_per_file = std::atoi(v);
		else if (a == "--max-connections" && (v = next())) o.max_connections = std::atoi(v);
		else if (a == "--verify-present") o.verify_present = true;
		else if (a == "--extras") extras = true;
		else if (a == "--quiet") quiet = true;
		else return usage();
	}
	if (!o.token) o.token = std::getenv("HF_TOKEN");
	struct sigaction sa;
	std::memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, nullptr);
	sigaction(SIGTERM, &sa, nullptr);
	o.abort_flag = &g_abort;

	pgmlr_status st;
	pgmlr_fetch_global_init(&st);
	pgmlr_fetch_job *job = pgmlr_fetch_new(&o, &st);
	if (!job) {
		std::fprintf(stderr, "error: %s\n%s\n%s\n", st.message, st.detail, st.hint);
		return 2;
	}
	std::string line;
	int lineno = 0, bad = 0;
	while (std::getline(std::cin, line)) {
		++lineno;
		if (line.empty() || line[0] == '#') continue;
		auto f = split_tabs(line);
		if (f.size() != 7) {
			std::fprintf(stderr, "line %d: expected 7 tab-separated fields, got %zu\n", lineno, f.size());
			++bad;
			continue;
		}
		char *end = nullptr;
		long long size = std::strtoll(f[6].c_str(), &end, 10);
		if (f[6].empty() || *end) size = -1;
		const char *ref = f[3] == "-" ? "" : f[3].c_str();
		pgmlr_hf_manifest_row r = {f[0].c_str(), f[1].c_str(), f[2].c_str(), &ref, 1,
								   f[4].c_str(), f[5].c_str(), static_cast<int64_t>(size)};
		if (!pgmlr_fetch_add_row(job, &r, &st)) {
			std::fprintf(stderr, "line %d: %s\n  %s\n", lineno, st.message, st.detail);
			++bad;
		}
	}
	if (bad) {
		pgmlr_fetch_free(job);
		return 2;
	}
	pgmlr_fetch_plan(job, &st);
	if (st.code != PGMLR_OK) {
		std::fprintf(stderr, "error: %s\n%s\n", st.message, st.detail);
		pgmlr_fetch_free(job);
		return 2;
	}
	auto t0 = std::chrono::steady_clock::now();
	auto last_print = t0;
	pgmlr_fetch_progress p;
	bool done = false;
	while (!done) {
		done = pgmlr_fetch_step(job, 250, &p, &st);
		auto now = std::chrono::steady_clock::now();
		if (!quiet && (done || now - last_print > std::chrono::seconds(1))) {
			last_print = now;
			std::fprintf(stderr, "files %lld/%lld (%lld failed, %lld active)  bytes %lld/%lld  %.1f MB/s  %s %lld/%lld\n",
						 (long long)p.files_done, (long long)p.files_wanted, (long long)p.files_failed,
						 (long long)p.files_active, (long long)p.bytes_done, (long long)p.bytes_wanted,
						 p.throughput_bps / 1e6, p.current_path, (long long)p.current_bytes, (long long)p.current_total);
		}
	}
	double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
	int n = pgmlr_fetch_queue_count(job);
	for (int i = 0; i < n; ++i) {
		pgmlr_fetch_queue_entry e;
		if (pgmlr_fetch_queue_item(job, i, &e))
			std::fprintf(stderr, "not fetched: %s %s %s (%d attempts): %s\n", e.repo_type, e.repo_id, e.path, e.attempts,
						 e.last_error);
	}
	std::printf("files_done=%lld files_failed=%lld bytes=%lld links=%lld refs=%lld seconds=%.3f MBps=%.1f\n",
				(long long)p.files_done, (long long)p.files_failed, (long long)p.bytes_received,
				(long long)p.links_created, (long long)p.refs_written, secs, secs > 0 ? p.bytes_received / secs / 1e6 : 0.0);
	pgmlr_fetch_free(job);
	if (st.code == PGMLR_ERR_CANCELED) return 3;
	if (extras && o.upstream_conninfo) {
		pgmlr_extras_result x;
		if (!pgmlr_upstream_extras_sync(o.cache_root, o.upstream_conninfo, 60000, &g_abort, &x, &st)) {
			std::fprintf(stderr, "extras error: %s\n%s\n%s\n", st.message, st.detail, st.hint);
			return st.code == PGMLR_ERR_CANCELED ? 3 : 1;
		}
		std::printf("extras: trees_written=%lld markers_written=%lld unchanged=%lld refused=%lld\n",
					(long long)x.trees_written, (long long)x.markers_written, (long long)x.unchanged,
					(long long)x.refused);
		if (x.refused) std::fprintf(stderr, "extras refused: %s\n", x.first_refusal);
	}
	return p.files_failed ? 1 : 0;
}
