// The fetch job's scheduler, private to job.cpp: which blob transfers start
// when (max_parallel, backoff, blob locks, free disk), what happens when one
// ends (verify, retry, fail, publish), the rate limit's resumes and the
// progress report. The bytes come from a Source (source.hpp), the per-blob
// set-up ahead of a transfer (lock, partial file, free space) is
// blob_setup.cpp, the partial file partial_file.cpp (a large file's ranges
// ranged_download.cpp), the retry rules retry_policy.cpp, the rate limit
// rate_limiter.cpp, publishing publisher.cpp, and host pauses and the
// quarantine job_memory.cpp with job_quarantine.hpp.
#pragma once
#include "common/core_only.hpp"

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/work_pool.hpp"
#include "hf_fetch/blob_setup.hpp"
#include "hf_fetch/fs.hpp"
#include "hf_fetch/job.hpp"
#include "hf_fetch/job_quarantine.hpp"
#include "hf_fetch/partial_file.hpp"
#include "hf_fetch/publisher.hpp"
#include "hf_fetch/ranged_download.hpp"
#include "hf_fetch/rate_limiter.hpp"
#include "hf_fetch/retry_policy.hpp"
#include "hf_fetch/source.hpp"

namespace pgmlr::hf_fetch {

// Only job.cpp includes this header: these names stay in its translation unit.
using Clock = std::chrono::steady_clock;
using Ms = std::chrono::milliseconds;

// Publishing (batches of blobs and links, refs) runs on this many threads:
// at most Publisher::kMaxBatches batches at a time, the refs beside them.
constexpr int kPublishThreads = 4;
// Verified files waiting for the disk (each holds its lock and temp file
// open); beyond it no new transfer starts.
constexpr int kMaxPublishing = 128;
constexpr int kLockRetryMs = 100;
// Blob set-ups (lock, partial file) run on their own threads, so they never
// queue behind fsync calls, this many blobs ahead of the free connections.
constexpr int kSetupThreads = 2;
constexpr int kMinSetupAhead = 4;

// One blob the job downloads; the receiver its source's transfer writes to.
struct Transfer final : BlobReceiver {
	Job::Impl *job = nullptr;
	size_t blob = 0;
	BlobState state = BlobState::pending;
	int attempts = 0;
	int failures_without_progress = 0;
	Clock::time_point next_try{};
	Clock::time_point lock_wait_since{};
	bool lock_waiting = false;
	std::string last_error;

	SourceTransfer *running = nullptr;  // the source's transfer, while one runs
	std::unique_ptr<RangedDownload> ranged;  // a large file's ranges, instead of running and file
	bool no_ranges = false;  // the server ignored Range: one stream
	BlobLock lock;
	PartialFile file;
	bool paused = false;      // by the rate limit, until tokens come back
	bool publishing = false;  // verified, handed to the publishing threads
	// On a set-up thread: lock and file belong to it until its completion.
	bool preparing = false;
	bool prepared = false;  // lock held, partial file open: ready to start
	std::shared_ptr<SyncEpoch> epoch;  // taken before the first byte is written (durable_batch.hpp)
	bool probing = false;   // the source is asked whether a held file changed

	Take take(const char *data, size_t n) override;
	bool restart() override { return file.restart(); }
};

struct Job::Impl : JobQuarantine<Job::Impl, Transfer> {
	Options opts;
	std::string root;  // realpath of the cache root
	std::vector<Row> rows;
	RefusalList refused;
	int64_t partials_removed = 0;
	Plan plan;
	bool planned = false;
	bool published_present = false;
	bool finished = false;
	bool canceled = false;
	std::vector<std::unique_ptr<Transfer>> transfers;  // one per blob not present
	Clock::time_point started{};
	bool started_set = false;
	int64_t bytes_received = 0;
	RetryPolicy retry;
	RateLimiter limiter;
	JobMemory memory;  // host pauses and the quarantine, across jobs
	size_t resume_cursor = 0;  // round robin, so every paused transfer moves
	std::unique_ptr<Source> source;
	std::unique_ptr<WorkPool> pool;
	std::unique_ptr<WorkPool> setup_pool;
	std::unique_ptr<Publisher> publisher;
	FreeSpaceGate free_space;
	int publishing = 0;          // transfers handed to the publishing threads
	size_t settled_prefix = 0;   // transfers before it are all done or failed
	RangedFiles ranged;  // settings of ranged downloads, the job's connection budget

	Impl(Options o, std::string real_root, std::unique_ptr<Source> src)
		: opts(std::move(o)),
		  root(std::move(real_root)),
		  retry(opts.max_retries, opts.backoff_base_ms, opts.backoff_max_ms),
		  limiter(opts.max_bytes_per_second),
		  memory(opts.memory, opts.endpoint, opts.token),
		  source(std::move(src)),
		  free_space(opts.min_free_disk),
		  ranged(opts, source->serves_ranges(), &limiter, &bytes_received) {
		Source *s = source.get();
		pool = std::make_unique<WorkPool>(kPublishThreads, [s] { s->wake(); });
		setup_pool = std::make_unique<WorkPool>(kSetupThreads, [s] { s->wake(); });
		publisher = std::make_unique<Publisher>(root, plan, *pool);
	}

	int64_t kept_bytes(const Transfer &t) const { return t.ranged ? t.ranged->accepted() : t.file.accepted(); }
	~Impl() {
		abandon_all();
		publisher.reset();
		pool.reset();  // its threads may wake the source until they stop
		setup_pool.reset();
		transfers.clear();
		source.reset();
	}

	const BlobTask &task(const Transfer &t) const { return plan.blobs[t.blob]; }
	std::string blobs_dir(const Transfer &t) const { return root + "/" + task(t).folder + "/blobs"; }
	// The deterministic partial file: the next job (or the next start after
	// a crash) finds it there.
	std::string partial_path(const Transfer &t) const { return blobs_dir(t) + "/" + task(t).blob + kPartialSuffix; }
	bool aborted() const { return opts.abort_flag && *opts.abort_flag; }

	void detach(Transfer &t) {
		if (t.running) source->stop(t.running);
		if (t.ranged) t.ranged->stop_streams();
		t.running = nullptr;
		t.paused = false;
	}

	void abandon_all() {
		// Files already verified finish publishing (a bounded wait on the
		// disk); their completions may hand refs over, which are waited for too.
		for (int round = 0; pool && (pool->in_flight() > 0 || !publisher->idle()) && round < 1000; ++round) {
			publisher->flush();
			pool->wait_idle();
		}
		if (setup_pool) setup_pool->wait_idle();  // a set-up's completion touches only its transfer
		for (auto &t : transfers) {
			t->prepared = false;
			detach(*t);
			t->file.keep();
			t->ranged.reset();  // keeps its bytes and sidecar
			t->lock.release();
			if (t->state == BlobState::active || t->state == BlobState::backoff) t->state = BlobState::pending;
		}
	}

	// ---- life of one blob ------------------------------------------------
	// keep: the partial file is a clean prefix and the failure says nothing
	// against it (the network or the server): a later job resumes it. Local
	// failures (disk space, refused paths) remove it.
	void fail(Transfer &t, const std::string &why, bool keep = false) {
		detach(t);
		if (keep)
			t.file.keep();
		else
			t.file.drop();
		if (t.ranged && !keep) t.ranged->drop();
		t.ranged.reset();  // keeps its bytes and sidecar unless dropped
		t.lock.release();
		t.epoch.reset();  // an open descriptor on the cache root: one per flush would pile up
		t.state = BlobState::failed;
		t.last_error = why;
		for (size_t li : task(t).links) plan.groups[plan.links[li].group].failed = true;
	}

	// Keeps the blob lock while the partial file stays open: no other writer
	// may touch it until this job either resumes it or gives up.
	void retry_later(Transfer &t, const std::string &why, long retry_after_s) {
		detach(t);
		if (!t.file.is_open() && !t.ranged) t.lock.release();
		t.last_error = why;
		int64_t attempt_start = t.ranged ? t.ranged->attempt_start() : t.file.attempt_start();
		t.failures_without_progress = RetryPolicy::failures_after(t.failures_without_progress, attempt_start, kept_bytes(t));
		if (retry.gives_up(t.failures_without_progress, t.attempts)) {
			fail(t, why + " (gave up after " + std::to_string(t.attempts) + " attempts)", true);
			return;
		}
		t.state = BlobState::backoff;
		t.next_try = Clock::now() + Ms(retry.next_delay_ms(t.failures_without_progress, retry_after_s));
	}

	// On the job's thread: the folders (made once per job), then the rest of
	// the set-up on a set-up thread (blob_setup.hpp).
	void prepare(Transfer &t) {
		const BlobTask &b = task(t);
		if (Status st = publisher->ensure_dir(b.folder + "/blobs")) return fail(t, st->message + " " + st->detail);
		if (Status st = publisher->ensure_dir(".locks/" + b.folder)) return fail(t, st->message + " " + st->detail);
		if (!t.ranged && !t.file.is_open() && !t.no_ranges) t.ranged = ranged.make(b.size, *source, &t);
		BlobSetupArgs args{root + "/.locks/" + b.folder + "/" + b.blob + ".lock", blobs_dir(t) + "/" + b.blob,
						   partial_path(t), b.blob, b.size, opts.verify_present, t.ranged.get()};
		auto outcome = std::make_shared<BlobSetupOutcome>();
		Transfer *tp = &t;
		t.preparing = true;
		setup_pool->submit(
			[args = std::move(args), tp, outcome]() -> Status {
				*outcome = setup_blob(args, tp->lock, tp->file);
				return {};
			},
			[this, tp, outcome](Status st) {
				tp->preparing = false;
				if (st) return fail(*tp, st->message);
				set_up(*tp, *outcome);
			});
	}

	void set_up(Transfer &t, const BlobSetupOutcome &o) {
		switch (o.kind) {
		case BlobSetupOutcome::Kind::failed:
			return fail(t, o.why);
		case BlobSetupOutcome::Kind::present:
			t.ranged.reset();
			t.lock_waiting = false;
			t.state = BlobState::done;
			publisher->publish_links(t.blob);
			return;
		case BlobSetupOutcome::Kind::busy:
			if (!t.lock_waiting) {
				t.lock_waiting = true;
				t.lock_wait_since = Clock::now();
			} else if (Clock::now() - t.lock_wait_since > Ms(opts.lock_wait_ms)) {
				return fail(t, "another process holds the blob lock");
			}
			t.state = BlobState::backoff;
			t.next_try = Clock::now() + Ms(kLockRetryMs);
			return;
		case BlobSetupOutcome::Kind::ready:
			t.lock_waiting = false;
			t.prepared = true;
			return;
		}
	}

	// A set-up blob: free space, then the source. true when a transfer
	// started (it takes a parallel slot).
	bool launch(Transfer &t) {
		t.prepared = false;
		const BlobTask &b = task(t);
		if (std::string why = free_space.reserve(blobs_dir(t), b.size - kept_bytes(t)); !why.empty())
			return fail(t, why), false;
		if (!t.epoch) t.epoch = publisher->epoch();
		if (t.ranged) {  // its streams start in pump_ranged()
			if (std::string why = t.ranged->begin_attempt(); !why.empty()) return fail(t, why), false;
			t.attempts++;
			return t.state = BlobState::active, true;
		}
		if (t.file.on_disk() == b.size && b.size > 0) {
			finish(t);
			return false;
		}
		t.file.begin_attempt(b.size - t.file.on_disk());
		t.attempts++;
		std::string why;
		t.running = source->start(b, t.file.on_disk(), t, &why);
		if (!t.running) return fail(t, why), false;
		t.state = BlobState::active;
		return true;
	}

	// " from <source>" for the messages about wrong bytes ("" : the Hub's stay as they were).
	std::string from_source() const {
		std::string n = source->name();
		return n.empty() ? n : " from " + n;
	}

	// Size and checksum, then the publishing threads (fsync, rename, links).
	// end: the transfer that brought the last bytes (nullptr: a kept file).
	void finish(Transfer &t, const TransferEnd *end = nullptr) {
		const BlobTask &b = task(t);
		bool whole = end && t.file.attempt_start() == 0;  // the source's whole answer, not a kept prefix's fault
		if (t.file.on_disk() != b.size) {
			std::string why = "size mismatch: got " + std::to_string(t.file.on_disk()) + " bytes" + from_source() +
							  ", expected " + std::to_string(b.size);
			t.file.drop();
			// A whole answer of another size never matches its name: held like wrong bytes.
			if (whole) return hold(t, FetchMemory::HoldKind::checksum, why + " (the whole file)", end, false);
			retry_later(t, why, 0);
			return;
		}
		std::string digest = t.file.hex_digest();
		if (digest != b.blob) {
			t.file.drop();
			std::string why = "checksum mismatch: content" + from_source() + " hashes to " + digest;
			if (whole) return hold(t, FetchMemory::HoldKind::checksum, why + " (the whole file)", end, false);
			return retry_later(t, why, 0);
		}
		memory.release(b);
		// Verified. The lock stays held until the blob is in place.
		std::string temp;
		int fd = t.file.hand_over(&temp);
		t.publishing = true;
		publishing++;
		publisher->publish_verified(t.blob, fd, std::move(temp), std::move(t.epoch), [this, &t](Status st) {
			t.publishing = false;
			publishing--;
			t.lock.release();
			if (st) return fail(t, st->message);
			t.state = BlobState::done;
			t.last_error.clear();
		});
	}

	void ended(Transfer &t, const TransferEnd &end) {
		if (t.ranged && end.kind == TransferEnd::Kind::complete) t.ranged->hand_over(t.file);
		t.no_ranges = t.no_ranges || (t.ranged && t.ranged->ranges_ignored());
		if (t.ranged && !t.ranged->is_open()) t.ranged.reset();
		t.running = nullptr;  // the source has freed it
		t.paused = false;
		bool host_paused = memory.note(end, Clock::now());
		if (t.probing) return probe_ended(t, end);
		t.file.settle();
		if (!t.file.write_error().empty()) {
			// Our own refusal (disk error, oversized body): restart from zero.
			std::string why = t.file.write_error();
			bool whole_too_long = t.file.oversized() && t.file.attempt_start() == 0;
			t.file.drop();
			// Asked from byte 0, the source's file is longer than the manifest's:
			// it never matches, so it is held like wrong bytes, not fetched every cycle.
			if (whole_too_long)
				return hold(t, FetchMemory::HoldKind::checksum, "size mismatch: " + why + " (the whole file)", &end, false);
			retry_later(t, why, 0);
			return;
		}
		switch (end.kind) {
		case TransferEnd::Kind::complete:
			return finish(t, &end);
		case TransferEnd::Kind::retry:
			if (!end.keep_bytes) t.file.drop();
			if (host_paused) return wait_for_host(t, end.why);
			if (end.busy) return wait_while_busy(t, end.why, end.retry_after_s);
			return retry_later(t, end.why, end.retry_after_s);
		case TransferEnd::Kind::fail:
			if (JobMemory::permanent_answer(end.http_status))
				return hold(t, FetchMemory::HoldKind::answer, end.why, &end, end.keep_bytes);
			return fail(t, end.why, end.keep_bytes);
		}
	}

	void pump_ranged() {
		ranged.budget.used = 0;
		for (auto &t : transfers) ranged.budget.used += t->running ? 1 : t->ranged ? t->ranged->streams() : 0;
		if (memory.paused(Clock::now())) ranged.budget.used = ranged.budget.cap;  // no new range in a host's window
		TransferEnd end;  // a ranged file that ended as a whole ends as a single stream would (ended())
		for (auto &t : transfers)
			if (t->ranged && t->state == BlobState::active && t->ranged->pump(task(*t), ranged.budget, &end)) ended(*t, end);
	}

	// ---- the rate limit --------------------------------------------------
	// Returns how long to wait for tokens when transfers are paused, else -1.
	int refill_and_resume() {
		if (!limiter.enabled()) {
			// The limit was lifted (set_rate_limit) while transfers were paused.
			for (auto &t : transfers) {
				if (t->ranged) t->ranged->resume_paused(limiter);
				if (t->paused && t->running) {
					t->paused = false;
					source->resume(t->running);
				}
			}
			return -1;
		}
		limiter.refill(Clock::now());
		bool any_paused = false;
		for (auto &t : transfers) any_paused = any_paused || (t->paused && t->running) || (t->ranged && t->ranged->any_paused());
		if (!any_paused) return -1;
		if (!limiter.may_resume()) return limiter.ms_until_resume();
		bool still_paused = false;
		for (size_t k = 0, n = transfers.size(); k < n; ++k) {
			Transfer &t = *transfers[(resume_cursor + k) % n];
			still_paused = (t.ranged && t.ranged->resume_paused(limiter)) || still_paused;
			if (!t.paused || !t.running) continue;
			if (!limiter.has_tokens()) {
				still_paused = true;
				continue;
			}
			resume_cursor = (resume_cursor + k + 1) % n;
			t.paused = false;
			source->resume(t.running);  // may deliver (and pause) at once
			still_paused = still_paused || t.paused;
		}
		if (!still_paused) return -1;
		return limiter.ms_until_resume();
	}

	// ---- the step loop ---------------------------------------------------
	// Starts set-up blobs on free connections, then sets up the next ones,
	// so a connection that frees finds its next blob ready.
	void start_ready() {
		while (settled_prefix < transfers.size() && (transfers[settled_prefix]->state == BlobState::done ||
													 transfers[settled_prefix]->state == BlobState::failed))
			settled_prefix++;
		int active = 0, staged = 0;
		for (size_t i = settled_prefix; i < transfers.size(); ++i) {
			const Transfer &t = *transfers[i];
			active += t.state == BlobState::active && !t.publishing;
			staged += t.preparing || t.prepared;
		}
		Clock::time_point now = Clock::now();
		bool host_paused = memory.paused(now);  // no request to a host in its rate-limit window
		for (size_t i = settled_prefix; i < transfers.size() && staged > 0 && !host_paused; ++i) {
			Transfer &t = *transfers[i];
			if (active >= opts.max_parallel || publishing >= kMaxPublishing) break;
			if (!t.prepared) continue;
			staged--;
			active += launch(t) ? 1 : 0;
		}
		int ahead = std::max(opts.max_parallel, kMinSetupAhead);
		for (size_t i = settled_prefix; i < transfers.size(); ++i) {
			if (active + staged >= opts.max_parallel + ahead || publishing >= kMaxPublishing) break;
			Transfer &t = *transfers[i];
			if (t.preparing || t.prepared) continue;
			if (t.state == BlobState::held && now >= t.next_try && !host_paused && active < opts.max_parallel &&
				probe_held(t))
				active++;
			if (t.state == BlobState::pending || (t.state == BlobState::backoff && now >= t.next_try)) {
				staged++;
				prepare(t);
			}
		}
	}

	// Returns how many transfers ended, so the loop can refill their slots
	// at once instead of waiting with idle connections.
	int collect_done() {
		return source->collect([this](BlobReceiver &rx, const TransferEnd &end) {
			TransferEnd whole;  // a ranged file's stream: the file may end with it
			if (auto *s = dynamic_cast<RangedStream *>(&rx); !s) ended(static_cast<Transfer &>(rx), end);
			else if (RangedDownload *r = s->owner; r->stream_ended(*s, end, &whole)) ended(*static_cast<Transfer *>(r->tag()), whole);
		});
	}

	bool all_settled() const {
		if (pool->in_flight() > 0 || setup_pool->in_flight() > 0 || !publisher->idle()) return false;
		for (size_t i = settled_prefix; i < transfers.size(); ++i)
			if (transfers[i]->state != BlobState::done && transfers[i]->state != BlobState::failed &&
				transfers[i]->state != BlobState::held)
				return false;
		return true;
	}

	void fill_progress(Progress *out) const {
		*out = Progress{};
		out->files_wanted = static_cast<int64_t>(transfers.size());
		const Transfer *cur = nullptr;
		for (auto &t : transfers) {
			const BlobTask &b = task(*t);
			out->bytes_wanted += b.size;
			if (t->state == BlobState::done) {
				out->files_done++;
				out->bytes_done += b.size;
			} else if (t->state == BlobState::failed || t->state == BlobState::held) {
				out->files_failed++;
				out->files_held += t->state == BlobState::held;
				out->bytes_failed += b.size;
			} else if (t->state == BlobState::active) {
				out->files_active++;
				if (!cur) cur = t.get();
			}
		}
		out->bytes_received = bytes_received;
		out->links_created = publisher->links_created();
		out->refs_written = publisher->refs_written();
		out->links_failed = publisher->links_failed();
		out->partials_removed = partials_removed;
		Clock::time_point now = Clock::now(), paused_until = memory.paused_until(now);
		if (paused_until > now) out->paused_ms = std::chrono::duration_cast<Ms>(paused_until - now).count() + 1;
		out->last_publish_error = publisher->last_error();
		if (started_set) {
			double s = std::chrono::duration<double>(Clock::now() - started).count();
			out->throughput_bps = s > 0 ? double(bytes_received) / s : 0;
		}
		if (cur) {
			out->current_repo = task(*cur).source.repo_id;
			out->current_path = task(*cur).source.path;
			out->current_bytes = kept_bytes(*cur);
			out->current_total = task(*cur).size;
		}
		out->canceled = canceled;
	}
};

}  // namespace pgmlr::hf_fetch
