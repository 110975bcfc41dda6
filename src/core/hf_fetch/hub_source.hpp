// The HuggingFace Hub as a Source: one libcurl easy handle per transfer on a
// curl multi handle, GET {endpoint}/.../resolve/{revision}/{path} with the
// token, a Range for a resumed prefix, redirects to the CDN, TLS checks.
// The libcurl callbacks live here; each is noexcept and turns any failure
// into that transfer's end instead of unwinding through libcurl.
#pragma once
#include "common/core_only.hpp"

#include <csignal>
#include <memory>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "hf_fetch/source.hpp"

namespace pgmlr::hf_fetch {

struct HubOptions {
	std::string endpoint;  // no trailing slash
	std::string token;     // empty: anonymous
	std::string ca_file;   // empty: the system's bundle
	int max_connections = 4;
	int connect_timeout_ms = 10000;
	int low_speed_limit = 1024;
	int low_speed_time_s = 30;
	volatile sig_atomic_t *abort_flag = nullptr;  // set: every transfer ends (retry, "aborted")
};

class HubSource final : public Source {
public:
	static Result<std::unique_ptr<HubSource>> create(HubOptions opts);
	~HubSource() override;
	HubSource(const HubSource &) = delete;
	HubSource &operator=(const HubSource &) = delete;

	SourceTransfer *start(const BlobTask &task, ByteRange range, BlobReceiver &rx, std::string *why) override;
	SourceTransfer *probe(const BlobTask &task, BlobReceiver &rx, std::string *why) override;  // HEAD, no redirect
	bool serves_ranges() const override { return true; }
	void resume(SourceTransfer *t) override;
	void stop(SourceTransfer *t) override;
	void run() override;
	int collect(const std::function<void(BlobReceiver &, const TransferEnd &)> &ended) override;
	void wait(int max_ms) override;
	void wake() override;
	volatile sig_atomic_t *abort_flag() const { return opts_.abort_flag; }

	struct Transfer;

private:
	explicit HubSource(HubOptions opts);
	void release(Transfer *t);

	HubOptions opts_;
	bool probing_ = false;  // start() makes a HEAD (probe())
	void *multi_ = nullptr;  // CURLM; kept out of this header so callers need no curl.h
	std::vector<std::unique_ptr<Transfer>> transfers_;
};

// How a finished Hub transfer ends, from libcurl's result and the HTTP
// status (408, 429 and 5xx are retried; other statuses fail but keep the
// prefix; TLS, redirect and URL errors fail and drop it; anything else on
// the network is retried). Separate for the unit tests.
TransferEnd hub_transfer_end(int curl_code, long http_code, long retry_after_s, const std::string &url);

}  // namespace pgmlr::hf_fetch
