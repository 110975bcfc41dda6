// Implements hf_fetch/hub_answer.hpp; what it is for is said at the top of that header.
#include "common/core_only.hpp"
#include "common/text.hpp"
#include "hf_fetch/hub_answer.hpp"

#include <curl/curl.h>
#include <strings.h>

#include "hf_fetch/hub_source.hpp"

namespace pgmlr::hf_fetch {
namespace {

bool named(std::string_view line, std::string_view name, std::string_view *value) {
	if (line.size() <= name.size() || line[name.size()] != ':') return false;
	if (strncasecmp(line.data(), name.data(), name.size()) != 0) return false;
	*value = trim(line.substr(name.size() + 1));
	return true;
}

void append(std::string &to, std::string_view v) {
	if (to.size() > 8192) return;  // a server repeating a header without end
	if (!to.empty()) to += ", ";
	to += v;
}

int64_t size_value(std::string_view v) {
	if (v.empty() || v.size() > 18) return -1;
	int64_t n = 0;
	for (char c : v) {
		if (c < '0' || c > '9') return -1;
		n = n * 10 + (c - '0');
	}
	return n;
}

}  // namespace

std::string bare_etag(std::string_view v) {
	v = trim(v);
	if (v.size() >= 2 && (v[0] == 'W' || v[0] == 'w') && v[1] == '/') v.remove_prefix(2);
	if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
	return std::string(v.substr(0, 256));
}

void HubAnswer::header_line(std::string_view line) {
	if (line.compare(0, 5, "HTTP/") == 0) {
		responses_++;
		return;
	}
	if (responses_ != 1) return;
	std::string_view v;
	if (named(line, "ratelimit", &v))
		append(limits_.ratelimit, v);
	else if (named(line, "ratelimit-policy", &v))
		append(limits_.policy, v);
	else if (named(line, "retry-after", &v))
		limits_.retry_after = std::string(v.substr(0, 128));
	else if (named(line, "x-linked-etag", &v))
		linked_etag_ = bare_etag(v);
	else if (named(line, "etag", &v))
		etag_ = bare_etag(v);
	else if (named(line, "x-linked-size", &v))
		linked_size_ = size_value(v);
	else if (named(line, "content-length", &v))
		content_length_ = size_value(v);
}

void HubAnswer::fill(TransferEnd &end, long http_status, int64_t now_unix) const {
	end.http_status = static_cast<int>(http_status);
	// A 429 of a later response (the CDN) is another host's: the per-file backoff handles it.
	long first_status = responses_ == 1 ? http_status : 0;
	end.host_pause_s = static_cast<long>(host_pause_seconds(first_status, limits_, now_unix));
	end.remote_etag = etag();
	end.remote_size = size();
}

TransferEnd hub_probe_end(int curl_code, long http_code, long retry_after_s, const std::string &url) {
	if (curl_code == CURLE_OK && http_code >= 200 && http_code < 400) {
		TransferEnd end;
		end.kind = TransferEnd::Kind::complete;
		return end;
	}
	return hub_transfer_end(curl_code, http_code, retry_after_s, url);
}

}  // namespace pgmlr::hf_fetch
