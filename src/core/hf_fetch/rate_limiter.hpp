// max_download_rate: one token bucket for the whole job (a per-transfer cap
// would leave bandwidth unused while fewer transfers run). A transfer that
// finds the bucket empty pauses; paused transfers resume only once the
// bucket is half full again, so the job wakes about 40 times a second
// instead of after every few kilobytes (each wake-up costs the replica's
// queries a context switch). The rate may change while a job runs (the
// worker yields to queries, see yield_controller.hpp).
#pragma once
#include "common/core_only.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace pgmlr::hf_fetch {

class RateLimiter {
public:
	using Clock = std::chrono::steady_clock;

	explicit RateLimiter(int64_t bytes_per_second);  // <= 0: no limit
	bool enabled() const { return rate_ > 0; }
	// A new rate (<= 0: no limit) from now on. From no limit to a limit the
	// next refill fills the bucket; a lower limit keeps the debt but not more
	// tokens than its own (smaller) burst.
	void set_rate(int64_t bytes_per_second);
	double rate() const { return rate_; }
	// false: the bucket is empty, pause. Otherwise the n bytes are taken
	// (the bucket may go below zero: one piece is never split).
	bool take(size_t n);
	void refill(Clock::time_point now);  // the first call fills the bucket
	bool has_tokens() const { return tokens_ > 0; }
	bool may_resume() const { return tokens_ >= resume_at(); }
	// Milliseconds until may_resume() (at least 1).
	int ms_until_resume() const;
	double tokens() const { return tokens_; }
	double burst() const { return burst_; }

private:
	double resume_at() const { return burst_ / 2.0; }
	static double burst_for(double rate);

	double rate_;
	double burst_;
	double tokens_ = 0;
	Clock::time_point refilled_{};
};

}  // namespace pgmlr::hf_fetch
