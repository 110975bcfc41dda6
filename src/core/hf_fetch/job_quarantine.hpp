// The fetch job's steps for host pauses and the quarantine: what happens to
// a transfer when its host asks every request to wait, when a file is held,
// when a held file is due (ask the source first) and when that question is
// answered. job_memory.hpp decides; these steps act on the job's transfer.
// Mixed into Job::Impl (job.cpp) as a CRTP base, so job.cpp keeps only the
// hooks. Impl provides: memory (JobMemory), source, retry, plan, transfers,
// task(t), detach(t) and fail(t, why, keep); Transfer: state, next_try,
// last_error, attempts, running, probing, file, ranged, lock.
#pragma once
#include "common/core_only.hpp"

#include <chrono>
#include <string>

#include "hf_fetch/job.hpp"
#include "hf_fetch/job_memory.hpp"

namespace pgmlr::hf_fetch {

template <class Impl, class Transfer>
class JobQuarantine {
public:
	using Clock = std::chrono::steady_clock;

	// A 429 with a pause is not the file's failure: it starts again once the
	// host's window ends (start_ready launches nothing before).
	void wait_for_host(Transfer &t, const std::string &why) {
		wait_not_failed(t, why + " (rate limited: no request to the host until its window ends)", Clock::now());
	}

	// A source busy serving others (an upstream at max_blob_readers) is not
	// the file's failure either: it waits its turn.
	void wait_while_busy(Transfer &t, const std::string &why, long retry_after_s) {
		wait_not_failed(t, why + " (busy: waiting for a turn)",
						Clock::now() + std::chrono::milliseconds(self().retry.next_delay_ms(0, retry_after_s)));
	}

	// Backs off until next_try without counting a failure; the attempt cap
	// still bounds how often.
	void wait_not_failed(Transfer &t, const std::string &why, Clock::time_point next_try) {
		Impl &j = self();
		if (j.retry.gives_up(0, t.attempts))
			return j.fail(t, why + " (gave up after " + std::to_string(t.attempts) + " attempts)", true);
		j.detach(t);
		if (!t.file.is_open() && !t.ranged) t.lock.release();
		t.last_error = why;
		t.state = BlobState::backoff;
		t.next_try = next_try;
	}

	void hold(Transfer &t, FetchMemory::HoldKind kind, const std::string &why, const TransferEnd *end, bool keep) {
		held(t, self().memory.hold(self().task(t), kind, why, end, Clock::now()), keep);
	}

	void held(Transfer &t, const FetchMemory::Hold &h, bool keep) {
		self().fail(t, JobMemory::held_text(h), keep);
		t.state = BlobState::held;
		t.next_try = h.next_try;
	}

	// A due hold: true when the source is asked first (no set-up needed);
	// else the transfer is pending, set up for a download as any other (the
	// hold ends when the file verifies).
	bool probe_held(Transfer &t) {
		Impl &j = self();
		std::string why;
		const FetchMemory::Hold *h = j.memory.held(j.task(t));
		t.running = h && JobMemory::probe_first(*h) ? j.source->probe(j.task(t), t, &why) : nullptr;
		t.probing = t.running != nullptr;
		t.state = t.probing ? BlobState::active : BlobState::pending;
		return t.probing;
	}

	void probe_ended(Transfer &t, const TransferEnd &end) {
		Impl &j = self();
		t.probing = false;
		JobMemory::AfterProbe next = j.memory.after_probe(j.task(t), end, Clock::now());
		if (next == JobMemory::AfterProbe::held) return held(t, *j.memory.held(j.task(t)), false);
		if (next == JobMemory::AfterProbe::failed) return j.fail(t, "asking whether the held file changed: " + end.why, false);
		t.state = next == JobMemory::AfterProbe::download ? BlobState::pending : BlobState::held;
		t.next_try = Clock::now();  // held: asked again once the host's window ends
	}

	// After planning: files the quarantine holds start held; the holds of
	// files the plan does not download are forgotten.
	void apply_holds() {
		Impl &j = self();
		j.memory.retain(j.plan);
		for (auto &t : j.transfers)
			if (const FetchMemory::Hold *h = j.memory.held(j.task(*t))) {
				t->state = BlobState::held;
				t->next_try = h->next_try;
				t->last_error = JobMemory::held_text(*h);
			}
	}

private:
	Impl &self() { return static_cast<Impl &>(*this); }
};

}  // namespace pgmlr::hf_fetch
