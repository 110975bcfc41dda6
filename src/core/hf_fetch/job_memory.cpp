// Implements hf_fetch/job_memory.hpp; what it is for is said at the top of that header.
#include "common/core_only.hpp"
#include "hf_fetch/job_memory.hpp"

#include <set>

#include "hf_fetch/rate_limit_headers.hpp"

namespace pgmlr::hf_fetch {

JobMemory::JobMemory(FetchMemory *shared, const std::string &endpoint, const std::string &token)
	: memory_(shared ? shared : &own_), source_(FetchMemory::source_key(endpoint, token)), host_(host_of(endpoint)) {}

FetchMemory::HoldKey JobMemory::key(const BlobTask &b) const {
	FetchMemory::HoldKey k;
	k.source = source_;
	k.folder = b.folder;
	k.blob = b.blob;
	k.revision = b.source.revision;
	k.path = b.source.path;
	k.size = b.size;
	return k;
}

bool JobMemory::note(const TransferEnd &end, Clock::time_point now) {
	if (end.host_pause_s <= 0) return false;
	memory_->pause_host(host_, std::chrono::seconds(end.host_pause_s), now);
	return true;
}

bool JobMemory::permanent_answer(int http_status) {
	return http_status == 401 || http_status == 403 || http_status == 404 || http_status == 410;
}

bool JobMemory::probe_first(const Hold &h) {
	if (h.kind != FetchMemory::HoldKind::checksum) return false;
	if (h.remote_etag.empty() && h.remote_size < 0) return false;  // nothing to compare with
	return h.delay < Clock::duration(FetchMemory::kMaxHold);
}

const JobMemory::Hold &JobMemory::hold(const BlobTask &b, FetchMemory::HoldKind kind, const std::string &reason,
									   const TransferEnd *end, Clock::time_point now) {
	return memory_->hold(key(b), kind, reason, end ? end->remote_etag : std::string(), end ? end->remote_size : -1, now);
}

void JobMemory::retain(const Plan &plan) {
	std::set<FetchMemory::HoldKey> keys;
	for (const BlobTask &b : plan.blobs)
		if (!b.present) keys.insert(key(b));
	memory_->retain(keys);
}

JobMemory::AfterProbe JobMemory::after_probe(const BlobTask &b, const TransferEnd &end, Clock::time_point now) {
	const Hold *h = held(b);
	if (end.kind == TransferEnd::Kind::complete) {
		if (h && FetchMemory::same_answer(*h, end.remote_etag, end.remote_size)) {
			std::string reason = h->reason;  // hold() rewrites it
			hold(b, h->kind, reason, &end, now);
			return AfterProbe::held;
		}
		release(b);
		return AfterProbe::download;
	}
	if (permanent_answer(end.http_status)) {
		hold(b, FetchMemory::HoldKind::answer, end.why, &end, now);
		return AfterProbe::held;
	}
	return end.host_pause_s > 0 ? AfterProbe::ask_later : AfterProbe::failed;
}

std::string JobMemory::held_text(const Hold &h) {
	auto s = std::chrono::duration_cast<std::chrono::seconds>(h.delay).count();
	return h.reason + "; held back " + std::to_string(s) + " s (hold " + std::to_string(h.count) + ")";
}

}  // namespace pgmlr::hf_fetch
