// What the prefetch worker remembers from one fetch job to the next (the
// worker makes a new job each cycle; this object lives as long as the
// worker process): host pauses, so that after a 429 (or a RateLimit r=0) no
// job sends a request to that host before its window ends, and the
// quarantine, so that a file whose bytes never match its name, or which the
// source answers 401/403/404/410, is held back with a doubling delay
// (1 min up to 1 h) instead of being downloaded again every cycle.
//
// Entries are per source (a source key: the endpoint and a fingerprint of
// its token) and per host, so a second source (the upstream server) fits
// beside the Hub. Bounded: a job forgets the holds of rows that left its
// manifest (retain), and both tables have a hard size cap.
// Used from the job's thread only; no locking.
#pragma once
#include "common/core_only.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <tuple>

namespace pgmlr::hf_fetch {

class FetchMemory {
public:
	using Clock = std::chrono::steady_clock;
	static constexpr std::chrono::seconds kFirstHold{60};
	static constexpr std::chrono::seconds kMaxHold{3600};
	static constexpr std::chrono::seconds kMaxPause{3600};
	static constexpr size_t kMaxHolds = 10000;
	static constexpr size_t kMaxHosts = 64;

	// One file of one source: a change of any part (a corrected manifest
	// row, another endpoint or token) is another key, so it is not held.
	struct HoldKey {
		std::string source;  // source_key()
		std::string folder, blob, revision, path;
		int64_t size = 0;
		bool operator<(const HoldKey &o) const {
			return std::tie(source, folder, blob, revision, path, size) <
				   std::tie(o.source, o.folder, o.blob, o.revision, o.path, o.size);
		}
	};

	enum class HoldKind {
		checksum,  // the whole file came and did not match its name: ask the source cheaply before downloading again
		answer,    // the source answered 401, 403, 404 or 410: ask again (the request itself is cheap)
	};

	struct Hold {
		HoldKind kind = HoldKind::checksum;
		std::string reason;           // for the queue entry
		int count = 0;                // holds so far: the delay is kFirstHold * 2^(count-1), at most kMaxHold
		Clock::duration delay{};
		Clock::time_point next_try{};
		std::string remote_etag;      // what the source said the file was when it was held ("" unknown)
		int64_t remote_size = -1;
	};

	// "endpoint#fingerprint of the token": no token text is kept.
	static std::string source_key(const std::string &endpoint, const std::string &token);

	// ---- host pauses -------------------------------------------------------
	// No request to host before now + d (at most kMaxPause); never shortens a pause.
	void pause_host(const std::string &host, Clock::duration d, Clock::time_point now);
	// The end of host's pause, or nullopt-like Clock::time_point{} when not paused.
	Clock::time_point paused_until(const std::string &host, Clock::time_point now) const;

	// ---- the quarantine ----------------------------------------------------
	const Hold *held(const HoldKey &key) const;
	// Holds key (again): the first hold waits kFirstHold, each next one twice
	// the last, at most kMaxHold. remote_* "" / -1 keep what was known.
	const Hold &hold(const HoldKey &key, HoldKind kind, const std::string &reason, const std::string &remote_etag,
					 int64_t remote_size, Clock::time_point now);
	void release(const HoldKey &key);
	// Forgets the holds whose key is not in keep (rows that left the
	// manifest, a former endpoint or token).
	void retain(const std::set<HoldKey> &keep);
	size_t hold_count() const { return holds_.size(); }
	size_t host_count() const { return pauses_.size(); }

	// The answer the source gives now against the one recorded in the hold:
	// unchanged only when something was recorded and nothing recorded differs.
	static bool same_answer(const Hold &h, const std::string &remote_etag, int64_t remote_size);

private:
	std::map<std::string, Clock::time_point> pauses_;
	std::map<HoldKey, Hold> holds_;
};

}  // namespace pgmlr::hf_fetch
