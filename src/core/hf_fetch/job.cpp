// The fetch job's facade: creation (the Hub or a given Source), rows and
// their refusals, planning, the bounded step(max_ms) loop, cancel and the
// queue report. The scheduler it drives is job_scheduler.hpp.
#include "common/core_only.hpp"
#include "hf_fetch/job.hpp"

#include <set>

#include "hf_fetch/hub_source.hpp"
#include "hf_fetch/job_scheduler.hpp"
#include "hf_fetch/sweep.hpp"
#include "hf_fetch/upstream_source.hpp"

namespace pgmlr::hf_fetch {

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
	if (!opts.upstream_conninfo.empty()) {
		opts.max_streams_per_file = upstream_streams_per_file(opts.max_streams_per_file);
		UpstreamOptions up;
		up.conninfo = opts.upstream_conninfo;
		up.max_connections = RangedFiles::connection_cap(opts);
		up.connect_timeout_ms = opts.connect_timeout_ms;
		up.abort_flag = opts.abort_flag;
		if (opts.upstream_chunk > 0) up.chunk = opts.upstream_chunk;
		Result<std::unique_ptr<UpstreamSource>> source = UpstreamSource::create(std::move(up));
		if (!source) return source.error();
		// The fetch memory's keys (host pauses, holds): this upstream, not the Hub.
		opts.endpoint = (*source)->memory_key();
		opts.token.clear();
		return create(std::move(opts), std::move(*source));
	}
	HubOptions hub;
	hub.endpoint = opts.endpoint;
	hub.token = opts.token;
	hub.ca_file = opts.ca_file;
	hub.max_connections = RangedFiles::connection_cap(opts);
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
	impl_->apply_holds();
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
		j.pump_ranged();
		int token_wait = j.refill_and_resume();
		j.source->run();
		int ended = j.collect_done() + j.pool->collect() + j.setup_pool->collect();
		j.publisher->flush();  // the blobs verified since the last batch, if a batch slot is free
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
		out->bytes_done = t->preparing ? 0 : impl_->kept_bytes(*t);  // a set-up thread owns the file
		out->attempts = t->attempts;
		out->state = t->state;
		out->last_error = t->last_error;
		if (t->state == BlobState::held || t->state == BlobState::backoff)
			out->next_try_ms = std::max<int64_t>(0, std::chrono::duration_cast<Ms>(t->next_try - Clock::now()).count());
		return true;
	}
	return false;
}

}  // namespace pgmlr::hf_fetch
