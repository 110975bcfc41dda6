// Retry decisions of the fetch job (see retry_policy.hpp).
#include "common/core_only.hpp"
#include "hf_fetch/retry_policy.hpp"

#include <algorithm>
#include <cstdint>

namespace pgmlr::hf_fetch {

RetryPolicy::RetryPolicy(int max_retries, int backoff_base_ms, int backoff_max_ms)
	: max_retries_(max_retries), base_ms_(backoff_base_ms), max_ms_(backoff_max_ms) {}

int RetryPolicy::failures_after(int failures_without_progress, int64_t start_bytes, int64_t end_bytes) {
	return end_bytes > start_bytes ? 0 : failures_without_progress + 1;
}

bool RetryPolicy::gives_up(int failures_without_progress, int attempts) const {
	return failures_without_progress > max_retries_ || attempts >= kHardAttemptCap;
}

long RetryPolicy::delay_ms(int failures_without_progress, long retry_after_s, double jitter) const {
	int exp = std::min(failures_without_progress, 16);
	double delay = std::min<double>(max_ms_, base_ms_ * double(1 << exp) / 2.0);
	delay *= jitter;
	if (retry_after_s > 0) delay = std::max<double>(delay, std::min<double>(retry_after_s * 1000.0, kMaxRetryAfterMs));
	return static_cast<long>(delay);
}

long RetryPolicy::next_delay_ms(int failures_without_progress, long retry_after_s) {
	double jitter = std::uniform_real_distribution<double>(0.75, 1.25)(rng_);
	return delay_ms(failures_without_progress, retry_after_s, jitter);
}

}  // namespace pgmlr::hf_fetch
