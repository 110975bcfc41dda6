// A fetch job's side of the fetch memory (fetch_memory.hpp): the keys of
// its files, the pause of its source's host, and what a transfer's end
// means for the quarantine. job.cpp asks it at a few points (planning,
// starting, a transfer's end); the rules are here. Without a memory from
// the caller the job keeps its own, which dies with it.
#pragma once
#include "common/core_only.hpp"

#include <string>

#include "hf_fetch/fetch_memory.hpp"
#include "hf_fetch/plan.hpp"
#include "hf_fetch/source.hpp"

namespace pgmlr::hf_fetch {

class JobMemory {
public:
	using Clock = FetchMemory::Clock;
	using Hold = FetchMemory::Hold;

	// endpoint: the source's URL (its host is the pause key); token: part of the source key.
	JobMemory(FetchMemory *shared, const std::string &endpoint, const std::string &token);

	FetchMemory::HoldKey key(const BlobTask &b) const;
	// After planning: forgets the holds of every file the plan does not download.
	void retain(const Plan &plan);
	const Hold *held(const BlobTask &b) const { return memory_->held(key(b)); }

	// ---- the host pause ------------------------------------------------
	Clock::time_point paused_until(Clock::time_point now) const { return memory_->paused_until(host_, now); }
	bool paused(Clock::time_point now) const { return paused_until(now) != Clock::time_point{}; }
	// Pauses the host when end asks for it; true when it did.
	bool note(const TransferEnd &end, Clock::time_point now);

	// ---- the quarantine ------------------------------------------------
	// 401, 403, 404, 410: the same request gets the same answer for a while.
	static bool permanent_answer(int http_status);
	// At a held file's due time: ask the source first (a checksum hold
	// whose answer is known, below the longest delay), else download. At
	// the longest delay the file is downloaded again once an hour, so a
	// corruption that is not the source's own heals without an operator.
	static bool probe_first(const Hold &h);
	const Hold &hold(const BlobTask &b, FetchMemory::HoldKind kind, const std::string &reason, const TransferEnd *end,
					 Clock::time_point now);
	void release(const BlobTask &b) { memory_->release(key(b)); }
	// What a probe's end means; records the new hold or the release.
	enum class AfterProbe {
		held,       // the answer is the recorded one (the delay doubles), or a permanent answer
		download,   // the answer changed: released
		ask_later,  // the host paused every request: ask again after its window
		failed,     // no answer: the hold stays as it is, for the next job
	};
	AfterProbe after_probe(const BlobTask &b, const TransferEnd &end, Clock::time_point now);
	// The queue entry's last_error for a held file.
	static std::string held_text(const Hold &h);

private:
	FetchMemory own_;
	FetchMemory *memory_;
	std::string source_;
	std::string host_;
};

}  // namespace pgmlr::hf_fetch
