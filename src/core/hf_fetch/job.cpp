// The fetch job's scheduling: which blob transfers start when (max_parallel,
// backoff, blob locks, free disk), what happens when one ends (verify,
// retry, fail, publish), and the bounded step(max_ms) loop that drives the
// Source, the rate limiter and the publishing threads. The bytes come from
// a Source (source.hpp), the partial file is partial_file.cpp, the retry
// rules retry_policy.cpp, the rate limit rate_limiter.cpp and publishing
// publisher.cpp.
#include "common/core_only.hpp"
#include "hf_fetch/job.hpp"

#include <algorithm>
#include <chrono>
#include <set>

#include <sys/stat.h>
#include <unistd.h>

#include "common/work_pool.hpp"
#include "hf_fetch/fs.hpp"
#include "hf_cache/checksum.hpp"
#include "hf_fetch/hub_source.hpp"
#include "hf_fetch/partial_file.hpp"
#include "hf_fetch/publisher.hpp"
#include "hf_fetch/rate_limiter.hpp"
#include "hf_fetch/retry_policy.hpp"
#include "hf_fetch/source.hpp"
#include "hf_fetch/sweep.hpp"

namespace pgmlr::hf_fetch {
namespace {

using Clock = std::chrono::steady_clock;
using Ms = std::chrono::milliseconds;

// Publishing (fsync, rename, links) runs on this many threads: side-by-side
// fsyncs share journal commits, and more threads than this gain little.
constexpr int kPublishThreads = 8;
constexpr int kMaxPublishing = 64;  // verified files waiting for the disk; beyond it no new transfer starts
constexpr int kLockRetryMs = 100;

}  // namespace

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
	BlobLock lock;
	PartialFile file;
	bool paused = false;      // by the rate limit, until tokens come back
	bool publishing = false;  // verified, handed to the publishing threads

	Take take(const char *data, size_t n) override;
	bool restart() override { return file.restart(); }
};

struct Job::Impl {
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
	size_t resume_cursor = 0;  // round robin, so every paused transfer moves
	std::unique_ptr<Source> source;
	std::unique_ptr<WorkPool> pool;
	std::unique_ptr<Publisher> publisher;

	Impl(Options o, std::string real_root, std::unique_ptr<Source> src)
		: opts(std::move(o)),
		  root(std::move(real_root)),
		  retry(opts.max_retries, opts.backoff_base_ms, opts.backoff_max_ms),
		  limiter(opts.max_bytes_per_second),
		  source(std::move(src)) {
		Source *s = source.get();
		pool = std::make_unique<WorkPool>(kPublishThreads, [s] { s->wake(); });
		publisher = std::make_unique<Publisher>(root, plan, *pool);
	}

	~Impl() {
		abandon_all();
		publisher.reset();
		pool.reset();  // its threads may wake the source until they stop
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
		t.running = nullptr;
		t.paused = false;
	}

	void abandon_all() {
		// Files already verified finish publishing (a bounded wait on the
		// disk); their completions may hand refs over, which are waited for too.
		for (int round = 0; pool && pool->in_flight() > 0 && round < 1000; ++round) pool->wait_idle();
		for (auto &t : transfers) {
			detach(*t);
			t->file.keep();
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
		t.lock.release();
		t.state = BlobState::failed;
		t.last_error = why;
		for (size_t li : task(t).links) plan.groups[plan.links[li].group].failed = true;
	}

	// Keeps the blob lock while the partial file stays open: no other writer
	// may touch it until this job either resumes it or gives up.
	void retry_later(Transfer &t, const std::string &why, long retry_after_s) {
		detach(t);
		if (!t.file.is_open()) t.lock.release();
		t.last_error = why;
		t.failures_without_progress =
			RetryPolicy::failures_after(t.failures_without_progress, t.file.attempt_start(), t.file.on_disk());
		if (retry.gives_up(t.failures_without_progress, t.attempts)) {
			fail(t, why + " (gave up after " + std::to_string(t.attempts) + " attempts)", true);
			return;
		}
		t.state = BlobState::backoff;
		t.next_try = Clock::now() + Ms(retry.next_delay_ms(t.failures_without_progress, retry_after_s));
	}

	// true when a transfer started (it takes a parallel slot).
	bool start(Transfer &t) {
		const BlobTask &b = task(t);
		if (Status st = publisher->ensure_dir(b.folder + "/blobs")) return fail(t, st->message + " " + st->detail), false;
		if (Status st = publisher->ensure_dir(".locks/" + b.folder)) return fail(t, st->message + " " + st->detail), false;
		bool busy = false;
		if (Status st = t.lock.try_acquire(root + "/.locks/" + b.folder + "/" + b.blob + ".lock", &busy))
			return fail(t, st->message + " " + st->detail), false;
		if (busy) {
			if (!t.lock_waiting) {
				t.lock_waiting = true;
				t.lock_wait_since = Clock::now();
			} else if (Clock::now() - t.lock_wait_since > Ms(opts.lock_wait_ms)) {
				fail(t, "another process holds the blob lock");
				return false;
			}
			t.state = BlobState::backoff;
			t.next_try = Clock::now() + Ms(kLockRetryMs);
			return false;
		}
		t.lock_waiting = false;
		// Another writer may have finished the blob while we waited.
		// Same test as planning (size; checksum only with verify_present), so
		// a step never hashes a large foreign file unasked.
		struct stat sb;
		std::string existing = blobs_dir(t) + "/" + b.blob;
		if (stat(existing.c_str(), &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size == b.size) {
			Result<bool> ok = opts.verify_present ? hf::file_matches_blob(existing, b.blob, b.size) : Result<bool>(true);
			if (ok && *ok) {
				t.file.drop();
				unlink(partial_path(t).c_str());  // a leftover of ours, now useless
				t.lock.release();
				t.state = BlobState::done;
				publisher->publish_links(t.blob);
				return false;
			}
		}
		if (std::string why = t.file.prepare(partial_path(t), b.blob, b.size); !why.empty()) return fail(t, why), false;
		Result<int64_t> avail = free_bytes(blobs_dir(t));
		if (!avail) return fail(t, avail.error().message), false;
		int64_t needed = b.size - t.file.on_disk();
		if (*avail - needed < opts.min_free_disk)
			return fail(t, "not enough free disk space: " + std::to_string(needed) + " bytes needed, " +
							   std::to_string(*avail) + " available, " + std::to_string(opts.min_free_disk) +
							   " must stay free"),
				   false;
		if (t.file.on_disk() == b.size && b.size > 0) {
			finish(t);
			return false;
		}
		t.file.begin_attempt();
		t.attempts++;
		std::string why;
		t.running = source->start(b, t.file.on_disk(), t, &why);
		if (!t.running) return fail(t, why), false;
		t.state = BlobState::active;
		return true;
	}

	// Size and checksum, then the publishing threads (fsync, rename, links).
	void finish(Transfer &t) {
		const BlobTask &b = task(t);
		if (t.file.on_disk() != b.size) {
			std::string why =
				"size mismatch: got " + std::to_string(t.file.on_disk()) + " bytes, expected " + std::to_string(b.size);
			t.file.drop();
			retry_later(t, why, 0);
			return;
		}
		std::string digest = t.file.hex_digest();
		if (digest != b.blob) {
			t.file.drop();
			retry_later(t, "checksum mismatch: content hashes to " + digest, 0);
			return;
		}
		// Verified. The lock stays held until the blob is in place.
		std::string temp;
		int fd = t.file.hand_over(&temp);
		t.publishing = true;
		publisher->publish_verified(t.blob, fd, std::move(temp), [this, &t](Status st) {
			t.publishing = false;
			t.lock.release();
			if (st) return fail(t, st->message);
			t.state = BlobState::done;
			t.last_error.clear();
		});
	}

	void ended(Transfer &t, const TransferEnd &end) {
		t.running = nullptr;  // the source has freed it
		t.paused = false;
		t.file.settle();
		if (!t.file.write_error().empty()) {
			// Our own refusal (disk error, oversized body): restart from zero.
			std::string why = t.file.write_error();
			t.file.drop();
			retry_later(t, why, 0);
			return;
		}
		switch (end.kind) {
		case TransferEnd::Kind::complete:
			return finish(t);
		case TransferEnd::Kind::retry:
			if (!end.keep_bytes) t.file.drop();
			return retry_later(t, end.why, end.retry_after_s);
		case TransferEnd::Kind::fail:
			return fail(t, end.why, end.keep_bytes);
		}
	}

	// ---- the rate limit --------------------------------------------------
	// Returns how long to wait for tokens when transfers are paused, else -1.
	int refill_and_resume() {
		if (!limiter.enabled()) {
			// The limit was lifted (set_rate_limit) while transfers were paused.
			for (auto &t : transfers)
				if (t->paused && t->running) {
					t->paused = false;
					source->resume(t->running);
				}
			return -1;
		}
		limiter.refill(Clock::now());
		bool any_paused = false;
		for (auto &t : transfers) any_paused = any_paused || (t->paused && t->running);
		if (!any_paused) return -1;
		if (!limiter.may_resume()) return limiter.ms_until_resume();
		bool still_paused = false;
		for (size_t k = 0, n = transfers.size(); k < n; ++k) {
			Transfer &t = *transfers[(resume_cursor + k) % n];
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
	void start_ready() {
		int active = 0;
		for (auto &t : transfers) active += t->state == BlobState::active && !t->publishing;
		Clock::time_point now = Clock::now();
		for (auto &t : transfers) {
			if (active >= opts.max_parallel || pool->in_flight() >= kMaxPublishing) break;
			if (t->state == BlobState::pending || (t->state == BlobState::backoff && now >= t->next_try))
				active += start(*t) ? 1 : 0;
		}
	}

	// Returns how many transfers ended, so the loop can refill their slots
	// at once instead of waiting with idle connections.
	int collect_done() {
		return source->collect([this](BlobReceiver &rx, const TransferEnd &end) { ended(static_cast<Transfer &>(rx), end); });
	}

	bool all_settled() const {
		if (pool->in_flight() > 0) return false;
		for (auto &t : transfers)
			if (t->state != BlobState::done && t->state != BlobState::failed) return false;
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
			} else if (t->state == BlobState::failed) {
				out->files_failed++;
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
		out->last_publish_error = publisher->last_error();
		if (started_set) {
			double s = std::chrono::duration<double>(Clock::now() - started).count();
			out->throughput_bps = s > 0 ? double(bytes_received) / s : 0;
		}
		if (cur) {
			out->current_repo = task(*cur).source.repo_id;
			out->current_path = task(*cur).source.path;
			out->current_bytes = cur->file.accepted();
			out->current_total = task(*cur).size;
		}
		out->canceled = canceled;
	}
};

BlobReceiver::Take Transfer::take(const char *data, size_t n) {
	if (job->limiter.enabled() && !job->limiter.take(n)) {
		paused = true;
		return Take::pause;
	}
	if (!file.append(data, n, job->task(*this).size)) return Take::refuse;
	job->bytes_received += static_cast<int64_t>(n);
	return Take::ok;
}

Job::Job(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Job::~Job() = default;

Result<std::unique_ptr<Job>> Job::create(Options opts) {
	HubOptions hub;
	hub.endpoint = opts.endpoint;
	hub.token = opts.token;
	hub.ca_file = opts.ca_file;
	hub.max_connections = opts.max_parallel;
	hub.connect_timeout_ms = opts.connect_timeout_ms;
	hub.low_speed_limit = opts.low_speed_limit;
	hub.low_speed_time_s = opts.low_speed_time_s;
	hub.abort_flag = opts.abort_flag;
	Result<std::string> root = real_cache_root(opts.cache_root);
	if (!root) return root.error();
	Result<std::unique_ptr<HubSource>> source = HubSource::create(std::move(hub));
	if (!source) return source.error();
	return std::unique_ptr<Job>(new Job(std::make_unique<Impl>(std::move(opts), std::move(*root), std::move(*source))));
}

Result<std::unique_ptr<Job>> Job::create(Options opts, std::unique_ptr<Source> source) {
	if (!source) return make_error(ErrCode::Internal, "a fetch job needs a source");
	Result<std::string> root = real_cache_root(opts.cache_root);
	if (!root) return root.error();
	return std::unique_ptr<Job>(new Job(std::make_unique<Impl>(std::move(opts), std::move(*root), std::move(source))));
}

// A bad ref refuses that ref only: the file is still fetched for its other
// refs (or for none), as when the worker handed it over once per ref.
Status Job::add_row(const Row &row) {
	if (impl_->planned) return make_error(ErrCode::Internal, "rows cannot be added after planning");
	if (Status st = validate_file(row)) {
		impl_->refused.add(row, st->message);
		return st;
	}
	Row kept = row;
	kept.refs.clear();
	Status first_bad;
	for (const std::string &ref : row.refs) {
		if (Status st = validate_ref(ref)) {
			impl_->refused.add(row, st->message);
			if (!first_bad) first_bad = st;
		} else {
			kept.refs.push_back(ref);
		}
	}
	if (row.refs.empty() || !kept.refs.empty()) impl_->rows.push_back(std::move(kept));
	return first_bad;
}

Status Job::plan() {
	if (impl_->planned) return make_error(ErrCode::Internal, "the fetch job is already planned");
	Result<Plan> p = make_plan(impl_->rows, impl_->root, impl_->opts.verify_present);
	if (!p) return p.error();
	impl_->plan = std::move(*p);
	for (const RefusedRow &r : impl_->plan.refused) impl_->refused.add(r.row, r.reason);
	std::set<std::pair<std::string, std::string>> wanted;  // folder, blob: partial files a transfer may resume
	for (size_t i = 0; i < impl_->plan.blobs.size(); ++i) {
		if (impl_->plan.blobs[i].present) continue;
		auto t = std::make_unique<Transfer>();
		t->job = impl_.get();
		t->blob = i;
		impl_->transfers.push_back(std::move(t));
		wanted.emplace(impl_->plan.blobs[i].folder, impl_->plan.blobs[i].blob);
	}
	impl_->partials_removed = remove_stale_partials(impl_->root, wanted, kPartialSuffix);
	impl_->planned = true;
	return {};
}

bool Job::planned() const { return impl_->planned; }

Result<bool> Job::step(int max_ms, Progress *out) {
	Impl &j = *impl_;
	if (!j.planned) return make_error(ErrCode::Internal, "the fetch job is not planned yet");
	if (!j.started_set) {
		j.started = Clock::now();
		j.started_set = true;
	}
	Clock::time_point deadline = Clock::now() + Ms(std::max(max_ms, 0));
	while (!j.finished && !j.canceled) {
		if (j.aborted()) {
			cancel();
			break;
		}
		if (!j.published_present) {
			j.publisher->publish_present();
			j.published_present = true;
		}
		j.start_ready();
		int token_wait = j.refill_and_resume();
		j.source->run();
		int ended = j.collect_done() + j.pool->collect();
		if (j.all_settled()) {
			j.publisher->write_ready_refs();
			j.finished = true;
			break;
		}
		auto left = std::chrono::duration_cast<Ms>(deadline - Clock::now()).count();
		if (left <= 0) break;
		if (ended > 0) continue;
		int wait = static_cast<int>(std::min<long long>(left, 50));
		if (token_wait >= 0) wait = std::min(wait, token_wait);
		j.source->wait(wait);
	}
	if (out) j.fill_progress(out);
	if (j.canceled) return make_error(ErrCode::Canceled, "the download was canceled");
	return j.finished;
}

void Job::set_rate_limit(int64_t bytes_per_second) { impl_->limiter.set_rate(bytes_per_second); }

void Job::cancel() {
	impl_->abandon_all();
	for (auto &t : impl_->transfers)
		if (t->state == BlobState::pending) t->last_error = "canceled";
	impl_->canceled = true;
}

const std::vector<RefusedRow> &Job::refused() const { return impl_->refused.rows(); }

int Job::queue_count() const {
	int n = 0;
	for (auto &t : impl_->transfers) n += t->state != BlobState::done;
	return n;
}

bool Job::queue_item(int index, QueueEntry *out) const {
	int n = 0;
	for (auto &t : impl_->transfers) {
		if (t->state == BlobState::done) continue;
		if (n++ != index) continue;
		const BlobTask &b = impl_->task(*t);
		*out = QueueEntry{};
		out->repo_type = b.source.repo_type;
		out->repo_id = b.source.repo_id;
		out->revision = b.source.revision;
		out->path = b.source.path;
		out->blob = b.blob;
		out->size = b.size;
		out->bytes_done = t->file.accepted();
		out->attempts = t->attempts;
		out->state = t->state;
		out->last_error = t->last_error;
		return true;
	}
	return false;
}

}  // namespace pgmlr::hf_fetch
