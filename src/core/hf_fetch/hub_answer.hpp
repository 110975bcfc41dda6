// What the first response of a Hub request says besides its body: the
// resolve host's rate-limit headers (rate_limit_headers.hpp) and what the
// Hub says the file is (X-Linked-Etag / X-Linked-Size of an LFS file's
// redirect, else ETag / Content-Length), for the quarantine's cheap question
// (fetch_memory.hpp). Only the first response counts: it is the endpoint's
// (the resolve host's) answer; a redirect's target is another host.
#pragma once
#include "common/core_only.hpp"

#include <cstdint>
#include <string>
#include <string_view>

#include "hf_fetch/rate_limit_headers.hpp"
#include "hf_fetch/source.hpp"

namespace pgmlr::hf_fetch {

class HubAnswer {
public:
	// Every header line libcurl hands over, status lines included.
	void header_line(std::string_view line);
	// Sets end's http_status, host_pause_s, remote_etag and remote_size.
	void fill(TransferEnd &end, long http_status, int64_t now_unix) const;

	const RateLimitHeaders &limits() const { return limits_; }
	std::string etag() const { return linked_etag_.empty() ? etag_ : linked_etag_; }
	int64_t size() const { return linked_size_ >= 0 ? linked_size_ : content_length_; }

private:
	int responses_ = 0;
	RateLimitHeaders limits_;
	std::string linked_etag_, etag_;
	int64_t linked_size_ = -1, content_length_ = -1;
};

// An ETag without W/ and quotes.
std::string bare_etag(std::string_view v);

// How a HEAD on the resolve URL (no redirect followed) ends: any 2xx or 3xx
// is complete (the answer is in the headers); the rest as hub_transfer_end.
TransferEnd hub_probe_end(int curl_code, long http_code, long retry_after_s, const std::string &url);

}  // namespace pgmlr::hf_fetch
