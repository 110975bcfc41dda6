// A fetch job: validated rows -> plan -> libcurl multi transfers driven in
// bounded steps -> verified, published blobs, then links, then refs.
#pragma once
#include "common/core_only.hpp"

#include <memory>
#include <string>
#include <vector>

#include "hf_fetch/plan.hpp"
#include "hf_fetch/rows.hpp"
#include "pgml_repl/hf_fetch.h"
#include "common/error.hpp"

namespace pgmlr::hf_fetch {

struct Options {
	std::string cache_root;
	std::string endpoint;
	std::string token;
	std::string ca_file;
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
	volatile sig_atomic_t *abort_flag = nullptr;
};

Result<Options> options_from_c(const pgmlr_fetch_options *c);

class Job {
public:
	static Result<std::unique_ptr<Job>> create(Options opts);
	~Job();
	Status add_row(const Row &row);
	Status plan();
	// finished? Err(CANCELED) when the abort flag stopped it.
	Result<bool> step(int max_ms, pgmlr_fetch_progress *out);
	void cancel();
	int refused_count() const;
	bool refused_item(int index, pgmlr_fetch_refusal *out) const;
	int queue_count() const;
	bool queue_item(int index, pgmlr_fetch_queue_entry *out) const;

	struct Impl;

private:
	explicit Job(std::unique_ptr<Impl> impl);
	std::unique_ptr<Impl> impl_;
};

}  // namespace pgmlr::hf_fetch
