// Implements hf_fetch/hub_api.hpp; what it is for is said at the top of that header.
#include "common/core_only.hpp"
#include "hf_fetch/hub_api.hpp"

#include <errno.h>
#include <fcntl.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <ctime>
#include <memory>

#include <curl/curl.h>

#include "common/unique_fd.hpp"
#include "hf_cache/extras.hpp"
#include "hf_cache/names.hpp"
#include "hf_fetch/curl_options.hpp"
#include "hf_fetch/rate_limit_headers.hpp"

namespace pgmlr::hf_fetch {

namespace {

int64_t now_ms() {
	return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
		.count();
}

std::string trim(std::string_view s) {
	size_t a = 0, b = s.size();
	while (a < b && (s[a] == ' ' || s[a] == '\t' || s[a] == '\r' || s[a] == '\n')) ++a;
	while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t' || s[b - 1] == '\r' || s[b - 1] == '\n')) --b;
	return std::string(s.substr(a, b - a));
}

// What one transfer collects; the callbacks only touch this.
struct Collect {
	volatile sig_atomic_t *abort_flag = nullptr;
	std::string body;
	bool too_large = false;
	bool failed = false;  // a callback caught something
	std::string hub_error;
	std::string link;
	RateLimitHeaders rate;
};

void append_joined(std::string *to, const std::string &v) {
	if (!to->empty()) *to += ", ";
	*to += v;
}

size_t on_header(char *data, size_t size, size_t n, void *ud) noexcept {
	auto *c = static_cast<Collect *>(ud);
	const size_t len = size * n;
	try {
		std::string_view line(data, len);
		if (line.compare(0, 5, "HTTP/") == 0) {  // a new response (after a redirect): forget the last one's
			c->hub_error.clear();
			c->link.clear();
			c->rate = RateLimitHeaders{};
			return len;
		}
		const size_t colon = line.find(':');
		if (colon == std::string_view::npos) return len;
		const std::string name = trim(line.substr(0, colon));
		const std::string value = trim(line.substr(colon + 1));
		if (strcasecmp(name.c_str(), "x-error-code") == 0) {
			c->hub_error.clear();
			for (char ch : value)
				if (c->hub_error.size() < 63 && (isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-'))
					c->hub_error += ch;
		} else if (strcasecmp(name.c_str(), "link") == 0) {
			if (c->link.size() < 65536) append_joined(&c->link, value);
		} else if (strcasecmp(name.c_str(), "ratelimit") == 0) {
			append_joined(&c->rate.ratelimit, value);
		} else if (strcasecmp(name.c_str(), "ratelimit-policy") == 0) {
			append_joined(&c->rate.policy, value);
		} else if (strcasecmp(name.c_str(), "retry-after") == 0) {
			c->rate.retry_after = value;
		}
		return len;
	} catch (...) {
		c->failed = true;
		return 0;
	}
}

size_t on_body(char *data, size_t size, size_t n, void *ud) noexcept {
	auto *c = static_cast<Collect *>(ud);
	const size_t len = size * n;
	try {
		if (c->body.size() + len > kMaxApiBodyBytes) {
			c->too_large = true;
			return 0;
		}
		c->body.append(data, len);
		return len;
	} catch (...) {
		c->failed = true;
		return 0;
	}
}

int on_progress(void *ud, curl_off_t, curl_off_t, curl_off_t, curl_off_t) noexcept {
	auto *c = static_cast<Collect *>(ud);
	return (c->abort_flag && *c->abort_flag) ? 1 : 0;
}

struct EasyDeleter {
	void operator()(CURL *e) const { curl_easy_cleanup(e); }
};
struct ListDeleter {
	void operator()(curl_slist *l) const { curl_slist_free_all(l); }
};

bool starts_with_ci(std::string_view s, std::string_view prefix) {
	return s.size() >= prefix.size() && strncasecmp(s.data(), prefix.data(), prefix.size()) == 0;
}

// One link-value's parameters: whether rel lists "next".
bool rel_is_next(std::string_view params) {
	size_t pos = 0;
	while (pos < params.size()) {
		size_t semi = params.find(';', pos);
		std::string param = trim(params.substr(pos, semi == std::string_view::npos ? std::string_view::npos : semi - pos));
		pos = semi == std::string_view::npos ? params.size() : semi + 1;
		const size_t eq = param.find('=');
		if (eq == std::string::npos || strcasecmp(trim(param.substr(0, eq)).c_str(), "rel") != 0) continue;
		std::string v = trim(param.substr(eq + 1));
		if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
		size_t p = 0;
		while (p < v.size()) {  // rel="next last": space-separated relation types
			size_t sp = v.find(' ', p);
			std::string_view word = std::string_view(v).substr(p, sp == std::string::npos ? std::string::npos : sp - p);
			if (word.size() == 4 && strncasecmp(word.data(), "next", 4) == 0) return true;
			p = sp == std::string::npos ? v.size() : sp + 1;
		}
	}
	return false;
}

std::string endpoint_of(const HubApiOptions &opts) {
	std::string e = opts.endpoint;
	while (!e.empty() && e.back() == '/') e.pop_back();
	return e;
}

}  // namespace

std::string link_next(std::string_view link, std::string_view endpoint) {
	size_t pos = 0;
	while (true) {
		const size_t lt = link.find('<', pos);
		if (lt == std::string_view::npos) return {};
		const size_t gt = link.find('>', lt + 1);
		if (gt == std::string_view::npos) return {};
		const std::string_view target = link.substr(lt + 1, gt - lt - 1);
		const size_t next_lt = link.find('<', gt + 1);
		const std::string_view params =
			link.substr(gt + 1, next_lt == std::string_view::npos ? std::string_view::npos : next_lt - gt - 1);
		pos = gt + 1;
		if (!rel_is_next(params)) continue;
		for (char ch : target)
			if (static_cast<unsigned char>(ch) <= 0x20 || ch == 0x7f) return {};  // no header tricks in a URL
		if (starts_with_ci(target, "https://") || starts_with_ci(target, "http://")) return std::string(target);
		if (!target.empty() && target[0] == '/' && (target.size() < 2 || target[1] != '/')) {
			const std::string origin = host_of(endpoint);
			return origin.empty() ? std::string() : origin + std::string(target);
		}
		return {};
	}
}

ApiAnswer hub_api_get(const HubApiOptions &opts, const std::string &url, int64_t deadline_ms) {
	ApiAnswer a;
	Collect c;
	c.abort_flag = opts.abort_flag;
	if (opts.abort_flag && *opts.abort_flag) {
		a.kind = ApiAnswer::Kind::canceled;
		return a;
	}
	const int64_t left = deadline_ms - now_ms();
	if (left <= 0) {
		a.kind = ApiAnswer::Kind::timed_out;
		return a;
	}
	std::unique_ptr<CURL, EasyDeleter> easy(curl_easy_init());
	if (!easy) {
		a.why = "could not create a curl handle";
		return a;
	}
	CURL *e = easy.get();
	std::unique_ptr<curl_slist, ListDeleter> headers;
	auto add_header = [&](const std::string &h) {
		curl_slist *l = curl_slist_append(headers.get(), h.c_str());
		if (l) {
			headers.release();
			headers.reset(l);
		}
		return l != nullptr;
	};
	// The token goes to the endpoint's own origin only: a next page on
	// another host gets none, and libcurl drops this custom header itself
	// when a redirect leaves the host (CURLOPT_UNRESTRICTED_AUTH stays off).
	if (!opts.token.empty() && host_of(url) == host_of(endpoint_of(opts))) {
		if (!add_header("Authorization: Bearer " + opts.token)) {
			a.why = "out of memory for a request header";
			return a;
		}
		a.token_sent = true;
	}
	add_header("Accept: application/json");
	set_hub_request_options(e, url, opts.ca_file);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(left));
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::min<int64_t>(left, 15000)));
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");  // gzip if libcurl has it; the cap counts decoded bytes
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers.get());
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, &c);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &c);
	curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, &on_progress);
	curl_easy_setopt(e, CURLOPT_XFERINFODATA, &c);
	const CURLcode rc = curl_easy_perform(e);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &a.http_status);
	a.hub_error = std::move(c.hub_error);
	if (rc == CURLE_ABORTED_BY_CALLBACK) {
		a.kind = ApiAnswer::Kind::canceled;
		return a;
	}
	if (c.too_large) {
		a.kind = ApiAnswer::Kind::too_large;
		return a;
	}
	if (c.failed) {
		a.why = "a response could not be read (out of memory)";
		return a;
	}
	if (rc == CURLE_OPERATION_TIMEDOUT) {
		a.kind = ApiAnswer::Kind::timed_out;
		return a;
	}
	if (rc != CURLE_OK) {
		a.why = curl_easy_strerror(rc);
		return a;
	}
	if (a.http_status != 200) {
		a.kind = ApiAnswer::Kind::http_error;
		if (a.http_status == 429)
			a.retry_after_ms = host_pause_seconds(429, c.rate, static_cast<int64_t>(std::time(nullptr))) * 1000;
		return a;
	}
	a.kind = ApiAnswer::Kind::ok;
	a.body = std::move(c.body);
	a.next_url = link_next(c.link, endpoint_of(opts));
	return a;
}

AnswerMeaning classify_answer(const ApiAnswer &a, const ModelSpec &spec, std::string_view endpoint, bool revision_stage,
							  int timeout_ms) {
	AnswerMeaning m;
	const std::string label = repo_label(spec.repo_type, spec.repo_id);
	const std::string answered = "the Hub answered " + std::to_string(a.http_status) +
								 (a.hub_error.empty() ? std::string() : " " + a.hub_error) + " for ";
	switch (a.kind) {
	case ApiAnswer::Kind::ok:
		m.outcome = ModelOutcome::resolved;
		return m;
	case ApiAnswer::Kind::canceled:
		m.outcome = ModelOutcome::canceled;
		m.detail = "canceled while asking the Hub about " + label;
		return m;
	case ApiAnswer::Kind::timed_out:
		m.outcome = ModelOutcome::unreachable;
		m.detail = "no complete answer from " + hf::shown(endpoint) + " about " + label + " within " +
				   std::to_string(timeout_ms) + " ms";
		return m;
	case ApiAnswer::Kind::unreachable:
		m.outcome = ModelOutcome::unreachable;
		m.detail = "could not reach " + hf::shown(endpoint) + " about " + label + ": " + a.why;
		return m;
	case ApiAnswer::Kind::too_large:
		m.outcome = ModelOutcome::bad_answer;
		m.detail = "the Hub's answer about " + label + " is larger than " + std::to_string(kMaxApiBodyBytes >> 20) + " MiB";
		return m;
	case ApiAnswer::Kind::http_error:
		break;
	}
	const long s = a.http_status;
	const std::string &code = a.hub_error;
	if (code == "RepoNotFound") {
		m.outcome = ModelOutcome::repo_not_found;
		m.detail = answered + label;
		if (!a.token_sent) m.detail += " (no token was sent: a private repo answers so too)";
	} else if (code == "RevisionNotFound" || (code == "EntryNotFound" && (revision_stage || s == 404))) {
		m.outcome = ModelOutcome::revision_not_found;
		m.detail = answered + "revision " + hf::shown(spec.revision) + " of " + label;
	} else if (code == "GatedRepo" || s == 401 || s == 403) {
		m.outcome = ModelOutcome::gated;
		m.detail = answered + label + (a.token_sent ? "; a token was sent and refused" : "; no token was sent");
	} else if (s == 429) {
		m.outcome = ModelOutcome::rate_limited;
		m.detail = answered + label + "; retry in " + std::to_string((a.retry_after_ms + 999) / 1000) + " s";
	} else if (s == 404) {
		m.outcome = ModelOutcome::repo_not_found;
		m.detail = answered + label;
	} else if (s == 408 || s >= 500) {
		m.outcome = ModelOutcome::unreachable;
		m.detail = answered + label;
	} else {
		m.outcome = ModelOutcome::bad_answer;
		m.detail = answered + label + ", which the Hub's API does not answer";
	}
	return m;
}

std::optional<std::string> read_cached_tree(const std::string &cache_root, std::string_view repo_type,
											std::string_view repo_id, std::string_view commit) {
	if (cache_root.empty() || cache_root[0] != '/' || !hf::is_commit_hash(commit)) return std::nullopt;
	UniqueFd root(::open(cache_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
	if (root.get() < 0) return std::nullopt;
	const std::string folder = hf::repo_folder_name(repo_type, repo_id);
	UniqueFd repo(::openat(root.get(), folder.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
	if (repo.get() < 0) return std::nullopt;
	UniqueFd trees(::openat(repo.get(), "trees", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
	if (trees.get() < 0) return std::nullopt;
	const std::string name = std::string(commit) + ".json";
	UniqueFd fd(::openat(trees.get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
	if (fd.get() < 0) return std::nullopt;
	struct stat st {};
	if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > hf::kMaxTreeFileBytes) return std::nullopt;
	std::string out(static_cast<size_t>(st.st_size), '\0');
	size_t done = 0;
	while (done < out.size()) {
		ssize_t n = ::pread(fd.get(), &out[done], out.size() - done, static_cast<off_t>(done));
		if (n < 0 && errno == EINTR) continue;
		if (n <= 0) return std::nullopt;  // shrank while read: someone is replacing it
		done += static_cast<size_t>(n);
	}
	return out;
}

Resolution resolve_model(const ModelSpec &spec, const HubApiOptions &opts) {
	Resolution r;
	const std::string endpoint = endpoint_of(opts);
	const int64_t deadline = now_ms() + std::max(opts.timeout_ms, 1);
	auto failed = [&](const ApiAnswer &a, bool revision_stage) {
		AnswerMeaning m = classify_answer(a, spec, endpoint, revision_stage, opts.timeout_ms);
		r.outcome = m.outcome;
		r.detail = std::move(m.detail);
		r.http_status = a.kind == ApiAnswer::Kind::http_error ? a.http_status : 0;
		r.hub_error = a.hub_error;
		r.retry_after_ms = m.outcome == ModelOutcome::rate_limited ? a.retry_after_ms : 0;
		return r;
	};
	auto bad_answer = [&](const std::string &what, const std::string &why) {
		r.outcome = ModelOutcome::bad_answer;
		r.detail = "the Hub's " + what + " for " + repo_label(spec.repo_type, spec.repo_id) + " is not valid: " + why;
		return r;
	};

	std::string commit = spec.revision;
	if (!hf::is_commit_hash(commit)) {
		ApiAnswer a = hub_api_get(opts, revision_url(endpoint, spec), deadline);
		if (a.kind != ApiAnswer::Kind::ok) return failed(a, true);
		Result<std::string> sha = parse_revision_answer(a.body);
		if (!sha) return bad_answer("revision answer", sha.error().message);
		commit = *sha;
	}

	std::vector<TreeFile> files;
	bool xet_ok = true;
	bool listed = false;
	if (std::optional<std::string> cached = read_cached_tree(opts.cache_root, spec.repo_type, spec.repo_id, commit)) {
		if (std::optional<std::vector<TreeFile>> parsed = parse_tree_json(*cached)) {
			files = std::move(*parsed);
			listed = true;
			r.tree_from_cache = true;
		}
	}
	std::string url = tree_url(endpoint, spec, commit);
	for (int page = 0; !listed; ++page) {
		if (page >= kMaxTreePages)
			return bad_answer("tree listing", "it goes on for more than " + std::to_string(kMaxTreePages) + " pages");
		ApiAnswer a = hub_api_get(opts, url, deadline);
		if (a.kind != ApiAnswer::Kind::ok) return failed(a, false);
		if (Status st = parse_tree_page(a.body, &files, &xet_ok)) return bad_answer("tree listing", st->message);
		if (files.size() > kMaxListedFiles)
			return bad_answer("tree listing", "it lists more than " + std::to_string(kMaxListedFiles) + " files");
		if (a.next_url.empty()) listed = true;
		url = std::move(a.next_url);
	}
	Result<ModelListing> listing = build_listing(spec, commit, std::move(files), xet_ok);
	if (!listing) return bad_answer("tree listing", listing.error().message);
	r.outcome = ModelOutcome::resolved;
	r.commit = commit;
	r.listing = std::move(*listing);
	return r;
}

}  // namespace pgmlr::hf_fetch
