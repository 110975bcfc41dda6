// The job's token bucket (see rate_limiter.hpp).
#include "common/core_only.hpp"
#include "hf_fetch/rate_limiter.hpp"

#include <algorithm>

namespace pgmlr::hf_fetch {

// 50 ms of traffic, at least one curl buffer
double RateLimiter::burst_for(double rate) { return std::max(rate / 20.0, 256.0 * 1024.0); }

RateLimiter::RateLimiter(int64_t bytes_per_second)
	: rate_(bytes_per_second > 0 ? static_cast<double>(bytes_per_second) : 0.0), burst_(burst_for(rate_)) {}

void RateLimiter::set_rate(int64_t bytes_per_second) {
	double rate = bytes_per_second > 0 ? static_cast<double>(bytes_per_second) : 0.0;
	if (rate == rate_) return;
	bool was_enabled = enabled();
	rate_ = rate;
	burst_ = burst_for(rate_);
	if (!enabled() || !was_enabled) {
		// Tokens saved under no limit mean nothing: the first refill starts full.
		tokens_ = 0;
		refilled_ = Clock::time_point{};
		return;
	}
	tokens_ = std::min(tokens_, burst_);
}

bool RateLimiter::take(size_t n) {
	if (tokens_ <= 0) return false;
	tokens_ -= static_cast<double>(n);
	return true;
}

void RateLimiter::refill(Clock::time_point now) {
	if (refilled_ == Clock::time_point{}) {
		tokens_ = burst_;
	} else {
		double dt = std::chrono::duration<double>(now - refilled_).count();
		tokens_ = std::min(burst_, tokens_ + dt * rate_);
	}
	refilled_ = now;
}

int RateLimiter::ms_until_resume() const {
	if (rate_ <= 0) return 1;
	return static_cast<int>(std::max(0.0, resume_at() - tokens_) * 1000.0 / rate_) + 1;
}

}  // namespace pgmlr::hf_fetch
