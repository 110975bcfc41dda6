// extern "C" entry points of the fetcher (pgml_repl/*.h, hf_fetch).
#include "common/core_only.hpp"

#include <curl/curl.h>

#include <cstring>
#include <memory>

#include "hf_fetch/job.hpp"
#include "common/c_boundary.hpp"
#include "common/error.hpp"
#include "pgml_repl/hf_fetch.h"

using pgmlr::Status;
using pgmlr::hf_fetch::Job;

struct pgmlr_fetch_job {
	std::unique_ptr<Job> job;
};

namespace {

const char *or_empty(const char *s) { return s ? s : ""; }

Status need_job(const pgmlr_fetch_job *job) {
	if (!job || !job->job) return pgmlr::make_error(pgmlr::ErrCode::Internal, "no fetch job");
	return {};
}

}  // namespace

extern "C" void pgmlr_fetch_global_init(pgmlr_status *status) {
	pgmlr::guarded(status, [&]() -> Status {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return pgmlr::make_error(pgmlr::ErrCode::Internal, "could not initialize libcurl");
		return {};
	});
}

extern "C" void pgmlr_fetch_options_init(pgmlr_fetch_options *opts) {
	std::memset(opts, 0, sizeof *opts);
	pgmlr::hf_fetch::Options d;
	opts->max_parallel = d.max_parallel;
	opts->min_free_disk = d.min_free_disk;
	opts->connect_timeout_ms = d.connect_timeout_ms;
	opts->low_speed_limit = d.low_speed_limit;
	opts->low_speed_time_s = d.low_speed_time_s;
	opts->max_retries = d.max_retries;
	opts->backoff_base_ms = d.backoff_base_ms;
	opts->backoff_max_ms = d.backoff_max_ms;
	opts->lock_wait_ms = d.lock_wait_ms;
	opts->verify_present = false;
}

extern "C" pgmlr_fetch_job *pgmlr_fetch_new(const pgmlr_fetch_options *opts, pgmlr_status *status) {
	pgmlr_fetch_job *out = nullptr;
	pgmlr::guarded(status, [&]() -> Status {
		auto o = pgmlr::hf_fetch::options_from_c(opts);
		if (!o) return o.error();
		auto job = Job::create(std::move(*o));
		if (!job) return job.error();
		out = new pgmlr_fetch_job{std::move(*job)};
		return {};
	});
	return out;
}

extern "C" bool pgmlr_fetch_add_row(pgmlr_fetch_job *job, const pgmlr_fetch_row *row, pgmlr_status *status) {
	bool ok = false;
	pgmlr::guarded(status, [&]() -> Status {
		if (Status st = need_job(job)) return st;
		if (!row) return pgmlr::make_error(pgmlr::ErrCode::Internal, "no manifest row");
		pgmlr::hf_fetch::Row r;
		r.repo_type = or_empty(row->repo_type);
		r.repo_id = or_empty(row->repo_id);
		r.revision = or_empty(row->revision);
		r.ref = or_empty(row->ref);
		r.path = or_empty(row->path);
		r.blob = or_empty(row->blob);
		r.size = row->size;
		if (Status st = job->job->add_row(r)) return st;
		ok = true;
		return {};
	});
	return ok;
}

extern "C" void pgmlr_fetch_plan(pgmlr_fetch_job *job, pgmlr_status *status) {
	pgmlr::guarded(status, [&]() -> Status {
		if (Status st = need_job(job)) return st;
		return job->job->plan();
	});
}

extern "C" bool pgmlr_fetch_step(pgmlr_fetch_job *job, int max_ms, pgmlr_fetch_progress *out, pgmlr_status *status) {
	bool finished = true;
	pgmlr::guarded(status, [&]() -> Status {
		if (Status st = need_job(job)) return st;
		auto r = job->job->step(max_ms, out);
		if (!r) return r.error();
		finished = *r;
		return {};
	});
	return finished;
}

extern "C" int pgmlr_fetch_refused_count(const pgmlr_fetch_job *job) {
	if (!job || !job->job) return 0;
	return job->job->refused_count();
}

extern "C" bool pgmlr_fetch_refused_item(const pgmlr_fetch_job *job, int index, pgmlr_fetch_refusal *out) {
	if (!job || !job->job || !out) return false;
	return job->job->refused_item(index, out);
}

extern "C" int pgmlr_fetch_queue_count(const pgmlr_fetch_job *job) {
	if (!job || !job->job) return 0;
	return job->job->queue_count();
}

extern "C" bool pgmlr_fetch_queue_item(const pgmlr_fetch_job *job, int index, pgmlr_fetch_queue_entry *out) {
	if (!job || !job->job || !out || index < 0) return false;
	return job->job->queue_item(index, out);
}

extern "C" void pgmlr_fetch_cancel(pgmlr_fetch_job *job) {
	if (!job || !job->job) return;
	try {
		job->job->cancel();
	} catch (...) {
	}
}

extern "C" void pgmlr_fetch_free(pgmlr_fetch_job *job) {
	try {
		delete job;
	} catch (...) {
	}
}
