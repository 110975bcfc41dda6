// A fetch job: validated rows -> plan -> transfers from a Source driven in
// bounded steps -> verified, published blobs, then links, then refs.
// Plain C++ types only; api.cpp converts them to and from pgml_repl/hf_fetch.h.
#pragma once
#include "common/core_only.hpp"

#include <csignal>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "hf_fetch/plan.hpp"
#include "hf_fetch/rows.hpp"
#include "common/error.hpp"

namespace pgmlr::hf_fetch {

class FetchMemory;
class Source;

struct Options {
	std::string cache_root;
	std::string endpoint;
	std::string token;
	std::string ca_file;
	// Not empty: the blobs come from this upstream server over libpq
	// (UpstreamSource) instead of the Hub; endpoint and token are unused.
	std::string upstream_conninfo;
	int max_parallel = 4;
	int64_t min_free_disk = 0;
	int connect_timeout_ms = 10000;
	int low_speed_limit = 1024;
	int low_speed_time_s = 30;
	int max_retries = 5;
	int backoff_base_ms = 500;
	int backoff_max_ms = 30000;
	int lock_wait_ms = 10000;
	bool verify_present = false;
	int64_t max_bytes_per_second = 0;
	// Files of at least two ranges go over several connections at once
	// (ranged_download.hpp); max_streams_per_file 1 keeps one stream each.
	int64_t range_size = int64_t{16} << 20;
	int max_streams_per_file = 16;
	// Connections to the source at once, every transfer and range together;
	// 0: RangedFiles::connection_cap's default. The worker sets what it could
	// reserve from PostgreSQL's descriptor budget (AcquireExternalFD).
	int max_connections = 0;
	int64_t upstream_chunk = 0;  // bytes per hf_blob_read_rows() query; 0: kUpstreamChunk
	volatile sig_atomic_t *abort_flag = nullptr;
	FetchMemory *memory = nullptr;  // host pauses and holds across jobs (the worker's); nullptr: the job's own
};

// The same values as pgmlr_fetch_state (api.cpp maps them).
// held: the quarantine (fetch_memory.hpp) holds it back until next_try.
enum class BlobState { pending, active, backoff, failed, done, held };

struct Progress {
	int64_t files_wanted = 0;
	int64_t files_done = 0;
	int64_t files_failed = 0;
	int64_t files_active = 0;
	int64_t bytes_wanted = 0;
	int64_t bytes_done = 0;
	int64_t bytes_failed = 0;
	int64_t bytes_received = 0;
	int64_t links_created = 0;
	int64_t refs_written = 0;
	int64_t links_failed = 0;
	int64_t partials_removed = 0;
	int64_t files_held = 0;  // held back by the quarantine (also counted in files_failed)
	int64_t paused_ms = 0;   // the source's host asked every request to wait this long yet (0: no pause)
	std::string last_publish_error;
	double throughput_bps = 0;
	std::string current_repo;
	std::string current_path;
	int64_t current_bytes = 0;
	int64_t current_total = 0;
	bool canceled = false;
};

struct QueueEntry {
	std::string repo_type, repo_id, revision, path, blob;
	int64_t size = 0;
	int64_t bytes_done = 0;
	int attempts = 0;
	BlobState state = BlobState::pending;
	std::string last_error;
	int64_t next_try_ms = -1;  // held or backing off: milliseconds until the next try; -1: none
};

class Job {
public:
	// Fetches from the Hub (HubSource over libcurl), or from the upstream
	// server when opts.upstream_conninfo is set (UpstreamSource over libpq).
	static Result<std::unique_ptr<Job>> create(Options opts);
	// Fetches from source (tests, other sources); opts' Hub fields are unused.
	static Result<std::unique_ptr<Job>> create(Options opts, std::unique_ptr<Source> source);
	~Job();
	Status add_row(const Row &row);
	Status plan();
	bool planned() const;
	// finished? Err(CANCELED) when the abort flag stopped it.
	Result<bool> step(int max_ms, Progress *out);
	// All transfers together from now on (<= 0: no limit); between steps.
	void set_rate_limit(int64_t bytes_per_second);
	void cancel();
	const std::vector<RefusedRow> &refused() const;
	int queue_count() const;
	bool queue_item(int index, QueueEntry *out) const;

	struct Impl;

private:
	explicit Job(std::unique_ptr<Impl> impl);
	std::unique_ptr<Impl> impl_;
};

}  // namespace pgmlr::hf_fetch
