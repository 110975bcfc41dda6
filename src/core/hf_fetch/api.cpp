// extern "C" entry points of the fetcher (pgml_repl/hf_fetch.h), and the
// only place that converts between its C structs and the core's C++ types
// (options in, progress, queue entries and refusals out).
#include "common/core_only.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>

#include "hf_fetch/fetch_memory.hpp"
#include "hf_fetch/job.hpp"
#include "hf_fetch/ranged_download.hpp"
#include "hf_fetch/upstream_answer.hpp"
#include "common/c_boundary.hpp"
#include "common/error.hpp"
#include "hf_cache/hub_env.hpp"
#include "pgml_repl/hf_fetch.h"

using pgmlr::Result;
using pgmlr::Status;
using pgmlr::hf_fetch::Job;

struct pgmlr_fetch_job {
	std::unique_ptr<Job> job;
};

struct pgmlr_fetch_memory {
	pgmlr::hf_fetch::FetchMemory memory;
};

namespace {

namespace hff = pgmlr::hf_fetch;

// Truncates at a character boundary: a cut UTF-8 sequence would make the
// shim's text invalid.
void copy_field(char *dst, size_t cap, const std::string &src) {
	size_t n = std::min(cap - 1, src.size());
	while (n > 0 && n < src.size() && (static_cast<unsigned char>(src[n]) & 0xC0) == 0x80) --n;
	std::memcpy(dst, src.data(), n);
	dst[n] = '\0';
}

pgmlr_fetch_state to_c(hff::BlobState s) {
	switch (s) {
	case hff::BlobState::pending: return PGMLR_FETCH_PENDING;
	case hff::BlobState::active: return PGMLR_FETCH_ACTIVE;
	case hff::BlobState::backoff: return PGMLR_FETCH_BACKOFF;
	case hff::BlobState::failed: return PGMLR_FETCH_FAILED;
	case hff::BlobState::done: return PGMLR_FETCH_DONE;
	case hff::BlobState::held: return PGMLR_FETCH_HELD;
	}
	return PGMLR_FETCH_PENDING;
}

Result<hff::Options> options_from_c(const pgmlr_fetch_options *c) {
	hff::Options o;
	if (!c || !c->cache_root || !*c->cache_root)
		return pgmlr::make_error(pgmlr::ErrCode::InvalidParameter, "the fetch options need a cache folder");
	o.cache_root = c->cache_root;
	if (c->upstream_conninfo && *c->upstream_conninfo) {
		// Parsed (and refused with a hint) by UpstreamSource::create; the Hub's endpoint is unused.
		o.upstream_conninfo = c->upstream_conninfo;
	} else {
		// The one endpoint rule (hub_env); empty is refused here, since a Hub job needs an endpoint.
		if (!c->endpoint || !*c->endpoint)
			return pgmlr::make_error(pgmlr::ErrCode::InvalidParameter, "the fetch options need a Hub endpoint");
		if (auto problem = pgmlr::hf::endpoint_problem(c->endpoint))
			return pgmlr::make_error(pgmlr::ErrCode::InvalidParameter, "invalid Hub endpoint", *problem);
		o.endpoint = c->endpoint;
	}
	while (!o.endpoint.empty() && o.endpoint.back() == '/') o.endpoint.pop_back();
	if (c->token) o.token = c->token;
	if (o.token.find_first_of("\r\n") != std::string::npos)
		return pgmlr::make_error(pgmlr::ErrCode::InvalidParameter, "the Hub token contains a line break");
	if (c->ca_file) o.ca_file = c->ca_file;
	if (c->max_parallel < 1 || c->max_parallel > 64)
		return pgmlr::make_error(pgmlr::ErrCode::InvalidParameter, "max_parallel must be between 1 and 64");
	if (c->max_retries < 0 || c->max_retries > 50)
		return pgmlr::make_error(pgmlr::ErrCode::InvalidParameter, "max_retries must be between 0 and 50");
	if (c->min_free_disk < 0 || c->connect_timeout_ms <= 0 || c->low_speed_limit < 0 || c->low_speed_time_s < 0 ||
		c->backoff_base_ms < 0 || c->backoff_max_ms < c->backoff_base_ms || c->lock_wait_ms < 0 ||
		c->max_bytes_per_second < 0 || c->range_size < 65536 || c->max_streams_per_file < 1 || c->max_streams_per_file > 64 ||
		c->max_connections < 0 || c->upstream_chunk < 0 || (c->upstream_chunk > 0 && c->upstream_chunk < 65536) ||
		c->upstream_chunk > (int64_t{64} << 20))
		return pgmlr::make_error(pgmlr::ErrCode::InvalidParameter, "a fetch timeout, limit or backoff option is out of range");
	o.max_parallel = c->max_parallel;
	o.min_free_disk = c->min_free_disk;
	o.connect_timeout_ms = c->connect_timeout_ms;
	o.low_speed_limit = c->low_speed_limit;
	o.low_speed_time_s = c->low_speed_time_s;
	o.max_retries = c->max_retries;
	o.backoff_base_ms = c->backoff_base_ms;
	o.backoff_max_ms = c->backoff_max_ms;
	o.lock_wait_ms = c->lock_wait_ms;
	o.verify_present = c->verify_present;
	o.max_bytes_per_second = c->max_bytes_per_second;
	o.range_size = c->range_size;
	o.max_streams_per_file = c->max_streams_per_file;
	o.max_connections = c->max_connections;
	o.upstream_chunk = c->upstream_chunk;
	o.abort_flag = c->abort_flag;
	o.memory = c->memory ? &c->memory->memory : nullptr;
	return o;
}

void progress_to_c(const hff::Progress &p, pgmlr_fetch_progress *out) {
	std::memset(out, 0, sizeof *out);
	out->files_wanted = p.files_wanted;
	out->files_done = p.files_done;
	out->files_failed = p.files_failed;
	out->files_active = p.files_active;
	out->bytes_wanted = p.bytes_wanted;
	out->bytes_done = p.bytes_done;
	out->bytes_failed = p.bytes_failed;
	out->bytes_received = p.bytes_received;
	out->links_created = p.links_created;
	out->refs_written = p.refs_written;
	out->links_failed = p.links_failed;
	out->partials_removed = p.partials_removed;
	out->files_held = p.files_held;
	out->paused_ms = p.paused_ms;
	copy_field(out->last_publish_error, sizeof out->last_publish_error, p.last_publish_error);
	out->throughput_bps = p.throughput_bps;
	copy_field(out->current_repo, sizeof out->current_repo, p.current_repo);
	copy_field(out->current_path, sizeof out->current_path, p.current_path);
	out->current_bytes = p.current_bytes;
	out->current_total = p.current_total;
	out->canceled = p.canceled;
}

void refusal_to_c(const hff::RefusedRow &r, pgmlr_fetch_refusal *out) {
	namespace hf = pgmlr::hf;
	std::memset(out, 0, sizeof *out);
	copy_field(out->repo_type, sizeof out->repo_type, r.row.repo_type);
	copy_field(out->repo_id, sizeof out->repo_id, r.row.repo_id);
	copy_field(out->revision, sizeof out->revision, r.row.revision);
	copy_field(out->path, sizeof out->path, r.row.path);
	copy_field(out->reason, sizeof out->reason, r.reason);
	copy_field(out->label, sizeof out->label,
			   (hf::repo_type_problem(r.row.repo_type) ? hf::shown(r.row.repo_type) : r.row.repo_type) + " " +
				   hf::shown(r.row.repo_id) + " revision " + hf::shown(r.row.revision) +
				   " path " + hf::shown(r.row.path));
}

void queue_entry_to_c(const hff::QueueEntry &e, pgmlr_fetch_queue_entry *out) {
	std::memset(out, 0, sizeof *out);
	copy_field(out->repo_type, sizeof out->repo_type, e.repo_type);
	copy_field(out->repo_id, sizeof out->repo_id, e.repo_id);
	copy_field(out->revision, sizeof out->revision, e.revision);
	copy_field(out->path, sizeof out->path, e.path);
	copy_field(out->blob, sizeof out->blob, e.blob);
	out->size = e.size;
	out->bytes_done = e.bytes_done;
	out->attempts = e.attempts;
	out->state = to_c(e.state);
	copy_field(out->last_error, sizeof out->last_error, e.last_error);
	out->next_try_ms = e.next_try_ms;
}

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

extern "C" pgmlr_fetch_memory *pgmlr_fetch_memory_new(pgmlr_status *status) {
	pgmlr_fetch_memory *out = nullptr;
	pgmlr::guarded(status, [&]() -> Status {
		out = new pgmlr_fetch_memory{};
		return {};
	});
	return out;
}

extern "C" void pgmlr_fetch_memory_free(pgmlr_fetch_memory *memory) {
	try {
		delete memory;
	} catch (...) {
	}
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
	opts->range_size = d.range_size;
	opts->max_streams_per_file = d.max_streams_per_file;
	opts->upstream_chunk = d.upstream_chunk;
}

extern "C" int pgmlr_fetch_connection_cap(const pgmlr_fetch_options *opts) {
	if (!opts) return 0;
	hff::Options o;
	o.max_parallel = opts->max_parallel;
	o.max_streams_per_file = opts->max_streams_per_file;
	if (opts->upstream_conninfo && *opts->upstream_conninfo)
		o.max_streams_per_file = hff::upstream_streams_per_file(o.max_streams_per_file);
	o.max_connections = opts->max_connections;
	return hff::RangedFiles::connection_cap(o);
}

extern "C" pgmlr_fetch_job *pgmlr_fetch_new(const pgmlr_fetch_options *opts, pgmlr_status *status) {
	pgmlr_fetch_job *out = nullptr;
	pgmlr::guarded(status, [&]() -> Status {
		auto o = options_from_c(opts);
		if (!o) return o.error();
		auto job = Job::create(std::move(*o));
		if (!job) return job.error();
		out = new pgmlr_fetch_job{std::move(*job)};
		return {};
	});
	return out;
}

extern "C" bool pgmlr_fetch_add_row(pgmlr_fetch_job *job, const pgmlr_hf_manifest_row *row, pgmlr_status *status) {
	bool ok = false;
	pgmlr::guarded(status, [&]() -> Status {
		if (Status st = need_job(job)) return st;
		if (!row) return pgmlr::make_error(pgmlr::ErrCode::Internal, "no manifest row");
		if (Status st = job->job->add_row(pgmlr::hf::manifest_row_from_c(*row))) return st;
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

extern "C" void pgmlr_fetch_set_rate_limit(pgmlr_fetch_job *job, int64_t bytes_per_second, pgmlr_status *status) {
	pgmlr::guarded(status, [&]() -> Status {
		if (Status st = need_job(job)) return st;
		job->job->set_rate_limit(std::max<int64_t>(bytes_per_second, 0));
		return {};
	});
}

extern "C" bool pgmlr_fetch_step(pgmlr_fetch_job *job, int max_ms, pgmlr_fetch_progress *out, pgmlr_status *status) {
	bool finished = true;
	pgmlr::guarded(status, [&]() -> Status {
		if (Status st = need_job(job)) return st;
		hff::Progress p;
		auto r = job->job->step(max_ms, out ? &p : nullptr);
		if (out && job->job->planned()) progress_to_c(p, out);  // an unplanned job leaves *out alone
		if (!r) return r.error();
		finished = *r;
		return {};
	});
	return finished;
}

extern "C" int pgmlr_fetch_refused_count(const pgmlr_fetch_job *job) {
	if (!job || !job->job) return 0;
	return static_cast<int>(job->job->refused().size());
}

extern "C" bool pgmlr_fetch_refused_item(const pgmlr_fetch_job *job, int index, pgmlr_fetch_refusal *out) {
	if (!job || !job->job || !out) return false;
	try {
		const auto &rows = job->job->refused();
		if (index < 0 || static_cast<size_t>(index) >= rows.size()) return false;
		refusal_to_c(rows[static_cast<size_t>(index)], out);
		return true;
	} catch (...) {
		return false;
	}
}

extern "C" int pgmlr_fetch_queue_count(const pgmlr_fetch_job *job) {
	if (!job || !job->job) return 0;
	return job->job->queue_count();
}

extern "C" bool pgmlr_fetch_queue_item(const pgmlr_fetch_job *job, int index, pgmlr_fetch_queue_entry *out) {
	if (!job || !job->job || !out || index < 0) return false;
	try {
		hff::QueueEntry e;
		if (!job->job->queue_item(index, &e)) return false;
		queue_entry_to_c(e, out);
		return true;
	} catch (...) {
		return false;
	}
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
