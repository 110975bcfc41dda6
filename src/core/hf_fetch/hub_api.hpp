// The Hub's JSON API as a declared model needs it (issue 16): which commit
// a revision names and which files that commit holds. Blocking on purpose:
// the worker asks it between fetch cycles, a few documents per model, so a
// plain easy handle bounded by one deadline for the whole resolution and an
// abort flag read from libcurl's progress callback is simpler than the
// fetch job's multi handle and as safe. Every answer is untrusted: bodies
// are capped per page and pages per listing, and the Hub's refusals become
// outcomes (model_listing.hpp's ModelOutcome) with a one-line detail for a
// DBA, never an exception and never the token.
#pragma once
#include "common/core_only.hpp"

#include <csignal>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "hf_fetch/model_listing.hpp"

namespace pgmlr::hf_fetch {

// A revision answer lists every file of the repo, so it is the big one; a
// tree page holds about a thousand entries.
inline constexpr size_t kMaxApiBodyBytes = size_t{64} << 20;
inline constexpr int kMaxTreePages = 10000;
// Files in one commit at most (the biggest Hub repos hold tens of thousands).
inline constexpr size_t kMaxListedFiles = 1000000;

struct HubApiOptions {
	std::string endpoint;    // no trailing '/'
	std::string token;       // empty: none; sent only to the endpoint's scheme, host and port
	std::string ca_file;     // empty: the system's CAs
	std::string cache_root;  // empty: never read a cached tree
	int timeout_ms = 30000;  // the whole resolution
	volatile sig_atomic_t *abort_flag = nullptr;
};

// One GET's end.
struct ApiAnswer {
	enum class Kind { ok, http_error, unreachable, timed_out, canceled, too_large } kind = Kind::unreachable;
	long http_status = 0;
	std::string hub_error;   // X-Error-Code, reduced to [A-Za-z0-9_-], at most 63 bytes
	std::string body;        // at most kMaxApiBodyBytes
	std::string next_url;    // the Link header's rel="next", absolute, or empty
	int64_t retry_after_ms = 0;  // a 429's RateLimit / Retry-After
	bool token_sent = false;
	std::string why;         // libcurl's reason when unreachable
};

// GETs one document: redirects followed (at most 5, http and https only;
// libcurl drops the Authorization header when one leaves the host), the
// body decoded and capped, the deadline and the abort flag honoured.
ApiAnswer hub_api_get(const HubApiOptions &opts, const std::string &url, int64_t deadline_ms_monotonic);

// The rel="next" target of a Link header value (several values joined by
// ", "), made absolute against endpoint when it is a path; empty when there
// is none or it is not http(s).
std::string link_next(std::string_view link, std::string_view endpoint);

// What a failed answer means, for the stage that got it ("revision" or
// "tree"), with a one-line detail naming the repo (and the revision for a
// revision that is not there).
struct AnswerMeaning {
	ModelOutcome outcome = ModelOutcome::bad_answer;
	std::string detail;
};
AnswerMeaning classify_answer(const ApiAnswer &a, const ModelSpec &spec, std::string_view endpoint, bool revision_stage,
							  int timeout_ms);

struct Resolution {
	ModelOutcome outcome = ModelOutcome::bad_answer;
	std::string commit;
	long http_status = 0;
	std::string hub_error;
	int64_t retry_after_ms = 0;
	std::string detail;
	bool tree_from_cache = false;
	std::optional<ModelListing> listing;  // set when resolved
};

// The revision's commit (no question asked for a commit), then its files
// from cache_root's trees/<commit>.json when valid, else from the tree
// listing's pages.
Resolution resolve_model(const ModelSpec &spec, const HubApiOptions &opts);

// The bytes of <cache_root>/<repo folder>/trees/<commit>.json: folders
// opened without following links, a regular file of at most
// hf::kMaxTreeFileBytes; nullopt otherwise.
std::optional<std::string> read_cached_tree(const std::string &cache_root, std::string_view repo_type,
											std::string_view repo_id, std::string_view commit);

}  // namespace pgmlr::hf_fetch
