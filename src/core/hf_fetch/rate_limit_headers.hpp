// A server's rate-limit answers, read without trusting them: the IETF draft
// headers RateLimit ("resolvers";r=0;t=20: r requests remain, the window
// resets in t seconds) and RateLimit-Policy ("fixed window";"resolvers";
// q=3000;w=300: q requests per w seconds) that the HuggingFace Hub sends,
// and Retry-After (delta-seconds or an HTTP-date). Pure functions; the job
// turns their answer into a pause of every request to that host
// (fetch_memory.hpp) instead of a retry of one file.
#pragma once
#include "common/core_only.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pgmlr::hf_fetch {

// The longest a host pause lasts, whatever the server says.
inline constexpr int64_t kMaxHostPauseS = 3600;

// One item of a RateLimit header; -1: the parameter is missing or garbage.
struct RateLimitItem {
	std::string policy;      // the quoted name ("resolvers"), may be empty
	int64_t remaining = -1;  // r (also remaining=)
	int64_t reset_s = -1;    // t (also reset=)
};

// One item of a RateLimit-Policy header; -1: missing or garbage.
struct RateLimitPolicyItem {
	std::string policy;       // the last quoted name ("resolvers")
	std::string kind;         // an earlier quoted name ("fixed window"), may be empty
	int64_t quota = -1;       // q (also limit=)
	int64_t window_s = -1;    // w (also window=)
};

// Items separated by commas, parameters by semicolons; quoted strings may
// hold either. Items without a usable parameter are dropped; garbage gives
// an empty list, never an error.
std::vector<RateLimitItem> parse_ratelimit(std::string_view value);
std::vector<RateLimitPolicyItem> parse_ratelimit_policy(std::string_view value);

// Seconds since 1970 of an HTTP-date (IMF-fixdate, RFC 850 or asctime form).
std::optional<int64_t> parse_http_date(std::string_view value);
// Seconds to wait from now_unix: delta-seconds, or an HTTP-date (0 when it
// is past). nullopt when missing or garbage.
std::optional<int64_t> parse_retry_after(std::string_view value, int64_t now_unix);

// The raw values of one response (several headers of a name joined by ", ").
struct RateLimitHeaders {
	std::string ratelimit;
	std::string policy;
	std::string retry_after;
	bool empty() const { return ratelimit.empty() && policy.empty() && retry_after.empty(); }
};

// How long every request to the answering host must wait, in seconds, at
// most kMaxHostPauseS; 0: no pause. A 429 waits for Retry-After, else for
// the reset of an exhausted RateLimit item (else of any item); any other
// answer pauses only when a RateLimit item says r=0. A 429 without any of
// these gives 0: the caller falls back to its per-file backoff.
int64_t host_pause_seconds(long http_status, const RateLimitHeaders &h, int64_t now_unix);

// "scheme://host[:port]" of a URL, the host in lower case: the key of a
// host's pause. Empty when url has no scheme.
std::string host_of(std::string_view url);

}  // namespace pgmlr::hf_fetch
