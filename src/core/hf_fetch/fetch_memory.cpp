// Implements hf_fetch/fetch_memory.hpp; what it is for is said at the top of that header.
#include "common/core_only.hpp"
#include "hf_fetch/fetch_memory.hpp"

#include <algorithm>
#include <functional>

namespace pgmlr::hf_fetch {

std::string FetchMemory::source_key(const std::string &endpoint, const std::string &token) {
	// In-process only (the memory dies with the worker), so std::hash is enough.
	return endpoint + "#" + (token.empty() ? std::string("anonymous") : std::to_string(std::hash<std::string>{}(token)));
}

void FetchMemory::pause_host(const std::string &host, Clock::duration d, Clock::time_point now) {
	d = std::clamp<Clock::duration>(d, Clock::duration::zero(), kMaxPause);
	Clock::time_point until = now + d;
	for (auto it = pauses_.begin(); it != pauses_.end();) it = it->second <= now ? pauses_.erase(it) : std::next(it);
	auto it = pauses_.find(host);
	if (it != pauses_.end()) {
		it->second = std::max(it->second, until);
		return;
	}
	if (d <= Clock::duration::zero()) return;
	if (pauses_.size() >= kMaxHosts) {  // the pause ending first goes
		auto first = std::min_element(pauses_.begin(), pauses_.end(),
									  [](const auto &a, const auto &b) { return a.second < b.second; });
		pauses_.erase(first);
	}
	pauses_.emplace(host, until);
}

FetchMemory::Clock::time_point FetchMemory::paused_until(const std::string &host, Clock::time_point now) const {
	auto it = pauses_.find(host);
	if (it == pauses_.end() || it->second <= now) return {};
	return it->second;
}

const FetchMemory::Hold *FetchMemory::held(const HoldKey &key) const {
	auto it = holds_.find(key);
	return it == holds_.end() ? nullptr : &it->second;
}

const FetchMemory::Hold &FetchMemory::hold(const HoldKey &key, HoldKind kind, const std::string &reason,
										   const std::string &remote_etag, int64_t remote_size, Clock::time_point now) {
	auto it = holds_.find(key);
	if (it == holds_.end()) {
		if (holds_.size() >= kMaxHolds) {  // the hold due first goes: it would be tried soonest anyway
			auto first = std::min_element(holds_.begin(), holds_.end(), [](const auto &a, const auto &b) {
				return a.second.next_try < b.second.next_try;
			});
			holds_.erase(first);
		}
		it = holds_.emplace(key, Hold{}).first;
	}
	Hold &h = it->second;
	h.kind = kind;
	h.reason = reason;
	h.count++;
	Clock::duration first = kFirstHold, cap = kMaxHold;
	h.delay = h.count == 1 ? first : std::min<Clock::duration>(cap, h.delay * 2);
	h.next_try = now + h.delay;
	if (!remote_etag.empty()) h.remote_etag = remote_etag;
	if (remote_size >= 0) h.remote_size = remote_size;
	return h;
}

void FetchMemory::release(const HoldKey &key) { holds_.erase(key); }

void FetchMemory::retain(const std::set<HoldKey> &keep) {
	for (auto it = holds_.begin(); it != holds_.end();) it = keep.count(it->first) ? std::next(it) : holds_.erase(it);
}

bool FetchMemory::same_answer(const Hold &h, const std::string &remote_etag, int64_t remote_size) {
	if (h.remote_etag.empty() && h.remote_size < 0) return false;  // nothing to compare: it may have changed
	if (!h.remote_etag.empty() && h.remote_etag != remote_etag) return false;
	if (h.remote_size >= 0 && h.remote_size != remote_size) return false;
	return true;
}

}  // namespace pgmlr::hf_fetch
