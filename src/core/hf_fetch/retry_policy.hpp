// When a failed transfer is tried again, and when the job gives up on it:
// attempts without progress are limited (max_retries), a transfer that
// made progress starts counting again (bounded by a hard cap), the delay
// doubles from backoff_base_ms up to backoff_max_ms with +-25 % jitter so
// parallel retries spread out, and a server's Retry-After is honoured up
// to a minute.
#pragma once
#include "common/core_only.hpp"

#include <cstdint>
#include <random>

namespace pgmlr::hf_fetch {

class RetryPolicy {
public:
	static constexpr int kHardAttemptCap = 100;  // progress resets the retry count; this bounds it anyway
	static constexpr int kMaxRetryAfterMs = 60000;

	RetryPolicy(int max_retries, int backoff_base_ms, int backoff_max_ms);

	// The failure count after an attempt that began with start_bytes on
	// disk and ended with end_bytes: progress resets it.
	static int failures_after(int failures_without_progress, int64_t start_bytes, int64_t end_bytes);
	bool gives_up(int failures_without_progress, int attempts) const;
	// The delay before the next attempt; jitter is the factor in [0.75, 1.25).
	long delay_ms(int failures_without_progress, long retry_after_s, double jitter) const;
	// delay_ms with a random jitter.
	long next_delay_ms(int failures_without_progress, long retry_after_s);

private:
	int max_retries_;
	int base_ms_;
	int max_ms_;
	std::mt19937 rng_{std::random_device{}()};
};

}  // namespace pgmlr::hf_fetch
