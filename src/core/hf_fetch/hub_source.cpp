// The Hub over libcurl (see hub_source.hpp): URL and header building, easy
// handle setup, the body/header/progress callbacks and the mapping of
// libcurl's and the server's answers to a TransferEnd.
#include "common/core_only.hpp"
#include "hf_fetch/hub_source.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include <ctime>

#include <curl/curl.h>
#include <strings.h>

#include "hf_fetch/curl_options.hpp"
#include "hf_fetch/hub_answer.hpp"
#include "hf_fetch/rows.hpp"

namespace pgmlr::hf_fetch {

struct HubSource::Transfer final : SourceTransfer {
	HubSource *source = nullptr;
	BlobReceiver *rx = nullptr;
	CURL *easy = nullptr;
	curl_slist *headers = nullptr;
	std::string url;
	int64_t next_byte = 0;  // where the next delivered byte lands in the blob
	bool bounded = false;  // a ranged stream: [next_byte, end) of the blob, over HTTP/1.1
	bool body_checked = false;
	bool discard_body = false;
	int64_t content_range_start = -1;
	std::string error;  // our own reason to abort (a protocol error or a failure in a callback)
	bool probe = false;  // a HEAD for the quarantine (hub_answer.hpp)
	HubAnswer answer;
};

namespace {

CURLM *as_multi(void *m) { return static_cast<CURLM *>(m); }

// Every callback: noexcept, and whatever goes wrong inside ends the transfer
// with a reason instead of unwinding through libcurl's C frames.
void record(HubSource::Transfer *t, const char *what) noexcept {
	try {
		if (t->error.empty()) t->error = what;
	} catch (...) {
	}
}

size_t on_header(char *data, size_t size, size_t n, void *ud) noexcept {
	auto *t = static_cast<HubSource::Transfer *>(ud);
	size_t len = size * n;
	try {
		std::string_view line(data, len);
		t->answer.header_line(line);
		if (line.compare(0, 5, "HTTP/") == 0) {  // a new response (after a redirect)
			t->body_checked = false;
			t->discard_body = false;
			t->content_range_start = -1;
		} else if (line.size() > 14 && strncasecmp(line.data(), "content-range:", 14) == 0) {
			size_t p = line.find("bytes ");
			if (p != std::string_view::npos) {
				// strtoll needs a terminated string; the header line is not one.
				std::string num(line.substr(p + 6));
				t->content_range_start = std::strtoll(num.c_str(), nullptr, 10);
			}
		}
		return len;
	} catch (...) {
		record(t, "could not read a response header");
		return 0;
	}
}

size_t on_body(char *data, size_t size, size_t n, void *ud) noexcept {
	auto *t = static_cast<HubSource::Transfer *>(ud);
	size_t len = size * n;
	try {
		if (!t->body_checked) {
			t->body_checked = true;
			long code = 0;
			curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code);
			if (code == 200 && (t->next_byte > 0 || t->bounded)) {
				// The server ignored our Range: start over, hash included
				// (a ranged stream's receiver refuses: one stream instead).
				if (!t->rx->restart()) return 0;
				t->next_byte = 0;
			} else if (code == 206 && t->content_range_start != t->next_byte) {
				record(t, "the server answered a different range than asked");
				return 0;
			} else if (code != 200 && code != 206) {
				t->discard_body = true;  // an error page or a redirect body
			}
		}
		if (t->discard_body) return len;
		switch (t->rx->take(data, len)) {
		case BlobReceiver::Take::ok:
			t->next_byte += static_cast<int64_t>(len);
			return len;
		case BlobReceiver::Take::pause:
			return CURL_WRITEFUNC_PAUSE;  // libcurl hands the same bytes again on resume
		case BlobReceiver::Take::refuse:
			break;
		}
		return 0;
	} catch (...) {
		record(t, "could not take a piece of the download");
		return 0;
	}
}

int on_progress(void *ud, curl_off_t, curl_off_t, curl_off_t, curl_off_t) noexcept {
	auto *t = static_cast<HubSource::Transfer *>(ud);
	volatile sig_atomic_t *flag = t->source ? t->source->abort_flag() : nullptr;
	return (flag && *flag) ? 1 : 0;
}

}  // namespace

TransferEnd hub_transfer_end(int curl_code, long http_code, long retry_after_s, const std::string &url) {
	CURLcode rc = static_cast<CURLcode>(curl_code);
	TransferEnd end;
	if (rc == CURLE_OK && (http_code == 200 || http_code == 206)) {
		end.kind = TransferEnd::Kind::complete;
		return end;
	}
	if (rc == CURLE_OK) {
		end.why = "HTTP " + std::to_string(http_code) + " from " + url;
		if (http_code == 408 || http_code == 429 || http_code >= 500) {
			end.kind = TransferEnd::Kind::retry;
			end.retry_after_s = retry_after_s;
		} else {
			end.kind = TransferEnd::Kind::fail;  // the prefix may still serve a later job
		}
		return end;
	}
	if (rc == CURLE_ABORTED_BY_CALLBACK) {
		end.why = "aborted";
		return end;
	}
	end.why = curl_easy_strerror(rc);
	if (rc == CURLE_TOO_MANY_REDIRECTS || rc == CURLE_UNSUPPORTED_PROTOCOL || rc == CURLE_URL_MALFORMAT ||
		rc == CURLE_SSL_CACERT_BADFILE || rc == CURLE_PEER_FAILED_VERIFICATION) {
		end.kind = TransferEnd::Kind::fail;
		end.keep_bytes = false;
	}
	return end;  // dropped, timed out, refused: resume later
}

HubSource::HubSource(HubOptions opts) : opts_(std::move(opts)) {}

Result<std::unique_ptr<HubSource>> HubSource::create(HubOptions opts) {
	std::unique_ptr<HubSource> s(new HubSource(std::move(opts)));
	CURLM *m = curl_multi_init();
	if (!m) return make_error(ErrCode::Internal, "could not create a curl multi handle");
	s->multi_ = m;
	curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, static_cast<long>(s->opts_.max_connections));
	return s;
}

HubSource::~HubSource() {
	while (!transfers_.empty()) release(transfers_.back().get());
	if (multi_) curl_multi_cleanup(as_multi(multi_));
}

SourceTransfer *HubSource::start(const BlobTask &task, ByteRange range, BlobReceiver &rx, std::string *why) {
	int64_t from = range.from;
	auto owned = std::make_unique<Transfer>();
	Transfer &t = *owned;
	t.source = this;
	t.rx = &rx;
	t.next_byte = from;
	CURL *e = curl_easy_init();
	if (!e) {
		*why = "could not create a curl handle";
		return nullptr;
	}
	t.easy = e;
	transfers_.push_back(std::move(owned));
	t.url = resolve_url(opts_.endpoint, task.source);
	set_hub_request_options(e, t.url, opts_.ca_file);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(opts_.connect_timeout_ms));
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, static_cast<long>(opts_.low_speed_limit));
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, static_cast<long>(opts_.low_speed_time_s));
	// Large bodies get a large receive buffer; a small file's would be
	// fresh pages (a fault each) allocated for every transfer. A ranged
	// stream gets at most 128 KiB: a job may run 64 of them, and each is
	// capped by its link rather than by the buffer.
	int64_t max_buffer = range.bounded() ? 128 * 1024 : 512 * 1024;
	curl_easy_setopt(e, CURLOPT_BUFFERSIZE, static_cast<long>(std::clamp<int64_t>((range.bounded() ? range.end : task.size) - from, 16 * 1024, max_buffer)));
	// A custom Authorization header: libcurl drops it when a redirect leaves
	// the original host (we never set CURLOPT_UNRESTRICTED_AUTH).
	if (!opts_.token.empty()) t.headers = curl_slist_append(t.headers, ("Authorization: Bearer " + opts_.token).c_str());
	t.headers = curl_slist_append(t.headers, "Accept-Encoding: identity");
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, t.headers);
	if (probing_) {  // the resolve host's own answer: its headers say what the file is
		t.probe = true;
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
		curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	} else if (range.bounded()) {
		// Separate HTTP/1.1 connections: over HTTP/2 the ranges would share
		// one connection and its per-connection rate cap.
		t.bounded = true;
		curl_easy_setopt(e, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
		curl_easy_setopt(e, CURLOPT_RANGE, (std::to_string(from) + "-" + std::to_string(range.end - 1)).c_str());
	} else if (from > 0) {
		curl_easy_setopt(e, CURLOPT_RANGE, (std::to_string(from) + "-").c_str());
	}
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, &t);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &t);
	curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, &on_progress);
	curl_easy_setopt(e, CURLOPT_XFERINFODATA, &t);
	curl_easy_setopt(e, CURLOPT_PRIVATE, &t);
	if (curl_multi_add_handle(as_multi(multi_), e) != CURLM_OK) {
		release(&t);
		*why = "could not start a transfer";
		return nullptr;
	}
	return &t;
}

void HubSource::release(Transfer *t) {
	if (t->easy) {
		curl_multi_remove_handle(as_multi(multi_), t->easy);
		curl_easy_cleanup(t->easy);
		t->easy = nullptr;
	}
	if (t->headers) curl_slist_free_all(t->headers);
	t->headers = nullptr;
	auto it = std::find_if(transfers_.begin(), transfers_.end(), [t](const auto &p) { return p.get() == t; });
	if (it != transfers_.end()) transfers_.erase(it);
}

SourceTransfer *HubSource::probe(const BlobTask &task, BlobReceiver &rx, std::string *why) {
	probing_ = true;
	SourceTransfer *t = start(task, 0, rx, why);
	probing_ = false;
	return t;
}

void HubSource::resume(SourceTransfer *t) {
	auto *h = static_cast<Transfer *>(t);
	if (h && h->easy) curl_easy_pause(h->easy, CURLPAUSE_CONT);  // may deliver (and pause) at once
}

void HubSource::stop(SourceTransfer *t) {
	if (t) release(static_cast<Transfer *>(t));
}

void HubSource::run() {
	int running = 0;
	curl_multi_perform(as_multi(multi_), &running);
}

int HubSource::collect(const std::function<void(BlobReceiver &, const TransferEnd &)> &ended) {
	int left = 0;
	int count = 0;
	while (CURLMsg *m = curl_multi_info_read(as_multi(multi_), &left)) {
		if (m->msg != CURLMSG_DONE) continue;
		Transfer *t = nullptr;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, reinterpret_cast<char **>(&t));
		CURLcode rc = m->data.result;
		count++;
		if (!t) continue;
		long code = 0;
		long retry_after = 0;
		curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code);
		curl_off_t ra = 0;
		if (curl_easy_getinfo(t->easy, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK) retry_after = static_cast<long>(ra);
		TransferEnd end;
		if (!t->error.empty()) {
			end.why = t->error;
			end.keep_bytes = false;  // the bytes of this attempt cannot be trusted: restart from zero
		} else {
			end = t->probe ? hub_probe_end(rc, code, retry_after, t->url) : hub_transfer_end(rc, code, retry_after, t->url);
		}
		t->answer.fill(end, code, static_cast<int64_t>(std::time(nullptr)));
		BlobReceiver &rx = *t->rx;
		release(t);
		ended(rx, end);
	}
	return count;
}

void HubSource::wait(int max_ms) { curl_multi_poll(as_multi(multi_), nullptr, 0, max_ms, nullptr); }

void HubSource::wake() { curl_multi_wakeup(as_multi(multi_)); }

}  // namespace pgmlr::hf_fetch
