// extern "C" face of the HF cache code: handles the shim reads through
// plain C structs whose strings the handle owns.
#include "common/core_only.hpp"

#include "hf_cache/hub_env.hpp"
#include "hf_cache/layout.hpp"
#include "hf_cache/scan.hpp"
#include "hf_cache/checksum.hpp"
#include "hf_cache/manifest.hpp"
#include "common/c_boundary.hpp"
#include "common/error.hpp"
#include "pgml_repl/hf_cache.h"

#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <new>

using namespace pgmlr;
using namespace pgmlr::hf;

namespace {

const char *opt_c(const std::optional<std::string> &s) { return s ? s->c_str() : nullptr; }

std::vector<const char *> c_array(const std::vector<std::string> &v) {
	std::vector<const char *> out;
	out.reserve(v.size());
	for (const auto &s : v) out.push_back(s.c_str());
	return out;
}

struct ManifestView {
	std::vector<const char *> refs;
	pgmlr_hf_manifest_row row{};
};

void fill_view(ManifestView &v, const ManifestRow &r) {
	v.refs = c_array(r.refs);
	v.row.repo_type = r.repo_type.c_str();
	v.row.repo_id = r.repo_id.c_str();
	v.row.revision = r.revision.c_str();
	v.row.refs = v.refs.data();
	v.row.nrefs = static_cast<int32_t>(v.refs.size());
	v.row.path = r.path.c_str();
	v.row.blob = r.blob.c_str();
	v.row.size = r.size;
}

std::string str_or_empty(const char *s) { return s ? s : ""; }

}  // namespace

ManifestRow pgmlr::hf::manifest_row_from_c(const pgmlr_hf_manifest_row &row) {
	ManifestRow r;
	r.repo_type = str_or_empty(row.repo_type);
	r.repo_id = str_or_empty(row.repo_id);
	r.revision = str_or_empty(row.revision);
	for (int32_t i = 0; i < row.nrefs; ++i) r.refs.push_back(str_or_empty(row.refs[i]));
	r.path = str_or_empty(row.path);
	r.blob = str_or_empty(row.blob);
	r.size = row.size;
	return r;
}

struct pgmlr_hf_scan {
	Scan scan;
	std::deque<std::vector<const char *>> file_refs;  // deque: pointers stay put
	std::vector<pgmlr_hf_file_row> file_rows;
	std::deque<std::vector<const char *>> repo_refs;
	std::vector<pgmlr_hf_repo_row> repo_rows;
	std::unique_ptr<Verifier> verifier;
	std::vector<std::vector<size_t>> job_rows;  // job -> rows sharing that blob
	bool verify_applied = false;

	void build_views() {
		file_refs.clear();
		file_rows.clear();
		file_rows.reserve(scan.files.size());
		for (const auto &f : scan.files) {
			file_refs.push_back(c_array(f.refs));
			pgmlr_hf_file_row r{};
			r.repo_type = f.repo_type.c_str();
			r.repo_id = f.repo_id.c_str();
			r.revision = opt_c(f.revision);
			r.refs = file_refs.back().data();
			r.nrefs = static_cast<int32_t>(file_refs.back().size());
			r.path = opt_c(f.path);
			r.blob = opt_c(f.blob);
			r.size = f.size;
			r.status = f.status.c_str();
			r.verified = f.verified;
			file_rows.push_back(r);
		}
		repo_refs.clear();
		repo_rows.clear();
		for (const auto &p : scan.repos) {
			repo_refs.push_back(c_array(p.refs));
			pgmlr_hf_repo_row r{};
			r.repo_type = p.repo_type.c_str();
			r.repo_id = p.repo_id.c_str();
			r.revisions = p.revisions;
			r.files = p.files;
			r.size_on_disk = p.size_on_disk;
			r.has_last_modified = p.last_modified.has_value();
			r.last_modified = p.last_modified.value_or(0);
			r.refs = repo_refs.back().data();
			r.nrefs = static_cast<int32_t>(repo_refs.back().size());
			repo_rows.push_back(r);
		}
	}

	void apply_verify_results() {
		const auto &results = verifier->results();
		for (size_t j = 0; j < results.size(); ++j) {
			for (size_t row : job_rows[j]) {
				FileRow &f = scan.files[row];
				switch (results[j].outcome) {
					case VerifyOutcome::match:
						f.verified = true;
						break;
					case VerifyOutcome::mismatch:
						f.status = kCorrupt;
						break;
					case VerifyOutcome::unreadable:
						f.status = kUnreadable;
						break;
					case VerifyOutcome::pending:
					case VerifyOutcome::canceled:
						break;
				}
			}
		}
		verify_applied = true;
		build_views();
	}
};

struct pgmlr_hf_diff {
	std::vector<ManifestRow> published;
	ManifestDiff diff;
	std::vector<ManifestView> views[3];
};

extern "C" char *pgmlr_hf_default_cache_dir(const char *configured, pgmlr_status *status) {
	char *out = nullptr;
	guarded(status, [&]() -> Status {
		std::string dir = default_cache_dir(str_or_empty(configured), process_env);
		if (dir.empty())
			return make_error(pgmlr::ErrCode::InvalidParameter, "no HuggingFace cache folder is configured",
							  "Neither pgml_replication.hf_cache_dir nor HF_HUB_CACHE, HUGGINGFACE_HUB_CACHE, "
							  "HF_HOME, XDG_CACHE_HOME or HOME is set for the server.",
							  "Set pgml_replication.hf_cache_dir, or pass cache_dir.");
		out = to_c_string(dir);
		return Status{};
	});
	return out;
}

extern "C" pgmlr_hf_scan *pgmlr_hf_scan_cache(const char *cache_dir, pgmlr_status *status) {
	pgmlr_hf_scan *handle = nullptr;
	guarded(status, [&]() -> Status {
		auto scan = scan_cache(str_or_empty(cache_dir));
		if (!scan) return scan.error();
		auto h = std::make_unique<pgmlr_hf_scan>();
		h->scan = std::move(*scan);
		h->build_views();
		handle = h.release();
		return Status{};
	});
	return handle;
}

extern "C" void pgmlr_hf_scan_free(void *scan) { delete static_cast<pgmlr_hf_scan *>(scan); }

extern "C" bool pgmlr_hf_scan_found(const pgmlr_hf_scan *scan) { return scan->scan.found; }

extern "C" size_t pgmlr_hf_scan_file_count(const pgmlr_hf_scan *scan) { return scan->file_rows.size(); }
extern "C" const pgmlr_hf_file_row *pgmlr_hf_scan_file(const pgmlr_hf_scan *scan, size_t i) {
	return i < scan->file_rows.size() ? &scan->file_rows[i] : nullptr;
}
extern "C" size_t pgmlr_hf_scan_repo_count(const pgmlr_hf_scan *scan) { return scan->repo_rows.size(); }
extern "C" const pgmlr_hf_repo_row *pgmlr_hf_scan_repo(const pgmlr_hf_scan *scan, size_t i) {
	return i < scan->repo_rows.size() ? &scan->repo_rows[i] : nullptr;
}
extern "C" size_t pgmlr_hf_scan_notice_count(const pgmlr_hf_scan *scan) { return scan->scan.notices.size(); }
extern "C" const char *pgmlr_hf_scan_notice(const pgmlr_hf_scan *scan, size_t i) {
	return i < scan->scan.notices.size() ? scan->scan.notices[i].c_str() : nullptr;
}

extern "C" void pgmlr_hf_verify_start(pgmlr_hf_scan *scan, pgmlr_status *status) {
	guarded(status, [&]() -> Status {
		if (scan->verifier)
			return make_error(pgmlr::ErrCode::Internal, "verification of this scan was already started");
		std::map<std::pair<std::string, std::string>, size_t> by_blob;
		std::vector<VerifyJob> jobs;
		std::vector<std::vector<size_t>> job_rows;
		for (size_t i = 0; i < scan->scan.files.size(); ++i) {
			const FileRow &f = scan->scan.files[i];
			if (f.status != kOk || f.content_rel.empty() || !f.blob) continue;
			auto k = std::make_pair(f.content_rel, *f.blob);
			auto it = by_blob.find(k);
			if (it == by_blob.end()) {
				it = by_blob.emplace(k, jobs.size()).first;
				jobs.push_back(VerifyJob{join_path(scan->scan.root, f.content_rel), *f.blob, f.size});
				job_rows.emplace_back();
			}
			job_rows[it->second].push_back(i);
		}
		// The verifier sorts its jobs; keep the row lists in the same order.
		std::vector<size_t> order(jobs.size());
		for (size_t i = 0; i < order.size(); ++i) order[i] = i;
		std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return jobs[a].size > jobs[b].size; });
		for (size_t i = 0; i < order.size(); ++i) scan->job_rows.push_back(std::move(job_rows[order[i]]));
		scan->verifier = std::make_unique<Verifier>(std::move(jobs), default_hash_threads());
		scan->verifier->start();
		return Status{};
	});
}

extern "C" bool pgmlr_hf_verify_wait(pgmlr_hf_scan *scan, int timeout_ms) {
	if (!scan->verifier) return true;
	if (scan->verify_applied) return true;
	bool done = false;
	pgmlr_status st;
	guarded(&st, [&]() -> Status {
		if (scan->verifier->wait(timeout_ms)) {
			scan->apply_verify_results();
			done = true;
		}
		return Status{};
	});
	// An exception while applying leaves the rows as scanned; report done
	// rather than loop forever.
	return done || st.code != PGMLR_OK;
}

extern "C" void pgmlr_hf_verify_cancel(pgmlr_hf_scan *scan) {
	if (scan->verifier) scan->verifier->cancel();
}

extern "C" pgmlr_hf_diff *pgmlr_hf_diff_new(pgmlr_status *status) {
	pgmlr_hf_diff *d = nullptr;
	guarded(status, [&]() -> Status {
		d = new pgmlr_hf_diff();
		return Status{};
	});
	return d;
}

extern "C" void pgmlr_hf_diff_free(void *diff) { delete static_cast<pgmlr_hf_diff *>(diff); }

extern "C" void pgmlr_hf_diff_add_published(pgmlr_hf_diff *diff, const pgmlr_hf_manifest_row *row,
											pgmlr_status *status) {
	guarded(status, [&]() -> Status {
		diff->published.push_back(manifest_row_from_c(*row));
		return Status{};
	});
}

extern "C" void pgmlr_hf_diff_compute(pgmlr_hf_diff *diff, const pgmlr_hf_scan *scan, pgmlr_status *status) {
	guarded(status, [&]() -> Status {
		size_t unhealthy = 0;
		std::vector<RefusedEntry> refused;
		auto wanted = healthy_rows(scan->scan, &unhealthy, &refused);
		diff->diff = diff_manifest(std::move(diff->published), std::move(wanted));
		diff->published.clear();
		diff->diff.unhealthy = unhealthy;
		diff->diff.refused = std::move(refused);
		const std::vector<ManifestRow> *lists[3] = {&diff->diff.inserts, &diff->diff.updates, &diff->diff.deletes};
		for (int k = 0; k < 3; ++k) {
			diff->views[k].clear();
			diff->views[k].resize(lists[k]->size());
			for (size_t i = 0; i < lists[k]->size(); ++i) fill_view(diff->views[k][i], (*lists[k])[i]);
		}
		return Status{};
	});
}

extern "C" size_t pgmlr_hf_diff_count(const pgmlr_hf_diff *diff, pgmlr_hf_change change) {
	int k = static_cast<int>(change);
	return (k >= 0 && k < 3) ? diff->views[k].size() : 0;
}

extern "C" const pgmlr_hf_manifest_row *pgmlr_hf_diff_row(const pgmlr_hf_diff *diff, pgmlr_hf_change change,
														  size_t i) {
	int k = static_cast<int>(change);
	if (k < 0 || k >= 3 || i >= diff->views[k].size()) return nullptr;
	return &diff->views[k][i].row;
}

extern "C" size_t pgmlr_hf_diff_unchanged(const pgmlr_hf_diff *diff) { return diff->diff.unchanged; }
extern "C" size_t pgmlr_hf_diff_unhealthy(const pgmlr_hf_diff *diff) { return diff->diff.unhealthy; }

extern "C" size_t pgmlr_hf_diff_refused_count(const pgmlr_hf_diff *diff) { return diff->diff.refused.size(); }

extern "C" bool pgmlr_hf_diff_refused(const pgmlr_hf_diff *diff, size_t i, pgmlr_hf_refused_entry *out) {
	if (i >= diff->diff.refused.size()) return false;
	const RefusedEntry &e = diff->diff.refused[i];
	out->repo_type = e.row.repo_type.c_str();
	out->repo_id = e.row.repo_id.c_str();
	out->revision = e.folder ? nullptr : e.row.revision.c_str();
	out->path = e.folder ? nullptr : e.row.path.c_str();
	out->folder = e.folder;
	out->reason = e.reason.c_str();
	out->label = e.label.c_str();
	return true;
}

extern "C" char *pgmlr_hf_name_problem(pgmlr_hf_name_kind kind, const char *value, pgmlr_status *status) {
	char *out = nullptr;  // NULL: the value follows the rules
	guarded(status, [&]() -> Status {
		std::string_view v = value ? value : "";
		Problem p;
		const char *column = "";
		switch (kind) {
			case PGMLR_HF_REPO_ID: column = "repo_id", p = repo_id_problem(v); break;
			case PGMLR_HF_REVISION: column = "revision", p = revision_problem(v); break;
			case PGMLR_HF_REF: column = "ref", p = ref_problem(v); break;
			case PGMLR_HF_PATH: column = "path", p = path_problem(v); break;
			case PGMLR_HF_BLOB: column = "blob", p = blob_problem(v); break;
			default: return make_error(pgmlr::ErrCode::Internal, "unknown kind of HuggingFace name");
		}
		if (p) out = to_c_string(std::string(column) + " " + *p);
		return Status{};
	});
	return out;
}

extern "C" void pgmlr_hf_diff_counts(const pgmlr_hf_manifest_row *rows, size_t nrows, const pgmlr_hf_scan *scan,
									 pgmlr_hf_diff_counts_out *out, pgmlr_status *status) {
	guarded(status, [&]() -> Status {
		if (!scan || !out || (nrows > 0 && !rows)) return make_error(pgmlr::ErrCode::Internal, "no manifest rows or scan");
		std::vector<ManifestRow> published;
		published.reserve(nrows);
		for (size_t i = 0; i < nrows; ++i) published.push_back(manifest_row_from_c(rows[i]));
		CacheComparison c = compare_with_cache(published, scan->scan);
		out->manifest_files = static_cast<int64_t>(c.manifest_files);
		out->cache_files = static_cast<int64_t>(c.cache_files);
		out->manifest_not_in_cache = static_cast<int64_t>(c.manifest_not_in_cache);
		out->cache_not_in_manifest = static_cast<int64_t>(c.cache_not_in_manifest);
		out->cache_invalid_names = static_cast<int64_t>(c.cache_invalid_names);
		return Status{};
	});
}

extern "C" char *pgmlr_hf_hub_token(const char *configured, pgmlr_status *status) {
	char *out = nullptr;
	guarded(status, [&]() -> Status {
		if (auto token = hub_token(str_or_empty(configured), process_env)) out = to_c_string(*token);
		return Status{};
	});
	return out;
}

extern "C" bool pgmlr_hf_token_printable(const char *token) {
	pgmlr_status status;
	bool printable = false;
	guarded(&status, [&]() -> Status {
		printable = token_is_printable(str_or_empty(token));
		return Status{};
	});
	return printable;
}

extern "C" bool pgmlr_hf_endpoint_valid(const char *value, pgmlr_status *status) {
	bool valid = false;
	guarded(status, [&]() -> Status {
		if (auto problem = endpoint_problem(str_or_empty(value)))
			return make_error(pgmlr::ErrCode::InvalidParameter, "invalid Hub endpoint", *problem);
		valid = true;
		return Status{};
	});
	return valid;
}

extern "C" char *pgmlr_hf_hub_endpoint(const char *configured, pgmlr_status *status) {
	return guarded_string(status, [&]() { return hub_endpoint(str_or_empty(configured), process_env); });
}
