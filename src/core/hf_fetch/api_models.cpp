// extern "C" face of a declared model's resolution (pgml_repl/hf_models.h,
// issue 16): the request turned into a ModelSpec, the Hub asked through
// hub_api.hpp, and the answer kept as an opaque listing the worker reads
// row by row, checks against the cache and writes as trees/<commit>.json
// (through extras_write.hpp, the one writer of tree files).
#include "common/core_only.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <new>

#include "common/c_boundary.hpp"
#include "common/error.hpp"
#include "hf_cache/extras.hpp"
#include "hf_cache/names.hpp"
#include "hf_fetch/extras_write.hpp"
#include "hf_fetch/hub_api.hpp"
#include "hf_fetch/model_listing.hpp"
#include "hf_fetch/model_request.hpp"
#include "pgml_repl/hf_models.h"

using pgmlr::ErrCode;
using pgmlr::Status;
using pgmlr::make_error;
namespace hf = pgmlr::hf;
namespace hff = pgmlr::hf_fetch;

static_assert(int(hff::ModelOutcome::resolved) == PGMLR_MODEL_RESOLVED &&
				  int(hff::ModelOutcome::repo_not_found) == PGMLR_MODEL_REPO_NOT_FOUND &&
				  int(hff::ModelOutcome::revision_not_found) == PGMLR_MODEL_REVISION_NOT_FOUND &&
				  int(hff::ModelOutcome::gated) == PGMLR_MODEL_GATED &&
				  int(hff::ModelOutcome::rate_limited) == PGMLR_MODEL_RATE_LIMITED &&
				  int(hff::ModelOutcome::unreachable) == PGMLR_MODEL_UNREACHABLE &&
				  int(hff::ModelOutcome::bad_answer) == PGMLR_MODEL_BAD_ANSWER &&
				  int(hff::ModelOutcome::canceled) == PGMLR_MODEL_CANCELED,
			  "ModelOutcome must match pgmlr_model_outcome");

struct pgmlr_model_listing {
	hff::ModelListing listing;
	std::string ref;              // the requested branch or tag, when it is one
	const char *ref_ptr = nullptr;  // rows point here (refs = &ref_ptr)
	int64_t bytes = 0;
};

namespace {

std::string str_or_empty(const char *s) { return s ? s : ""; }

// Copies text into a fixed C buffer on one line: a control byte (a Hub's
// header or a libcurl message could hold one) becomes a space.
void copy_line(char *dst, size_t cap, const std::string &text) {
	const size_t n = std::min(text.size(), cap - 1);
	for (size_t i = 0; i < n; ++i) {
		const unsigned char c = static_cast<unsigned char>(text[i]);
		dst[i] = (c < 0x20 || c == 0x7f) ? ' ' : static_cast<char>(c);
	}
	dst[n] = '\0';
}

Status bad_argument(const std::string &message, const std::string &detail = {}) {
	return make_error(ErrCode::InvalidParameter, message, detail);
}

pgmlr::Result<std::optional<std::vector<std::string>>> patterns(const char *const *list, int n, const char *what) {
	if (!list) return std::optional<std::vector<std::string>>();
	if (n < 0) return *bad_argument(std::string(what) + " has a negative count");
	std::vector<std::string> out;
	out.reserve(static_cast<size_t>(n));
	for (int i = 0; i < n; ++i) {
		if (!list[i]) return *bad_argument(std::string(what) + "[" + std::to_string(i + 1) + "] is NULL");
		out.emplace_back(list[i]);
	}
	return std::optional<std::vector<std::string>>(std::move(out));
}

pgmlr::Result<hff::ModelSpec> spec_of(const pgmlr_model_request *req) {
	hff::ModelSpec s;
	s.repo_type = str_or_empty(req->repo_type);
	s.repo_id = str_or_empty(req->repo_id);
	s.revision = str_or_empty(req->revision);
	// want_model()'s own checks (model_request.hpp); patterns are only counted
	// here, since an empty allow list is a valid question to ask the Hub.
	for (Status st : {hff::check_repo_type_arg(s.repo_type), hff::check_repo_id_arg(s.repo_id),
					  hff::check_revision_arg(s.revision)})
		if (st) return *st;
	auto allow = patterns(req->allow_patterns, req->n_allow, "allow_patterns");
	if (!allow) return allow.error();
	auto ignore = patterns(req->ignore_patterns, req->n_ignore, "ignore_patterns");
	if (!ignore) return ignore.error();
	s.allow = std::move(*allow);
	s.ignore = std::move(*ignore);
	return s;
}

}  // namespace

extern "C" pgmlr_model_listing *pgmlr_model_resolve(const pgmlr_model_request *request, const pgmlr_hub_api_options *opts,
													pgmlr_model_resolution *resolution, pgmlr_status *status) {
	pgmlr_model_listing *result = nullptr;
	if (resolution) {
		std::memset(resolution, 0, sizeof *resolution);
		resolution->outcome = PGMLR_MODEL_BAD_ANSWER;  // stays so when the arguments are refused
	}
	pgmlr::guarded(status, [&]() -> Status {
		if (!request || !opts || !resolution) return bad_argument("pgmlr_model_resolve needs a request, options and a resolution");
		auto spec = spec_of(request);
		if (!spec) return spec.error();
		hff::HubApiOptions o;
		o.endpoint = str_or_empty(opts->endpoint);
		o.token = str_or_empty(opts->token);
		o.ca_file = str_or_empty(opts->ca_file);
		o.cache_root = str_or_empty(opts->cache_root);
		o.timeout_ms = opts->timeout_ms;
		o.abort_flag = opts->abort_flag;
		if (o.endpoint.empty()) return bad_argument("the Hub endpoint is empty");
		hff::Resolution r = hff::resolve_model(*spec, o);
		std::unique_ptr<pgmlr_model_listing> out;
		if (r.outcome == hff::ModelOutcome::resolved && r.listing) {
			out = std::make_unique<pgmlr_model_listing>();
			out->listing = std::move(*r.listing);
			if (std::optional<std::string> ref = hff::listing_ref(out->listing)) {
				out->ref = std::move(*ref);
				out->ref_ptr = out->ref.c_str();
			}
			for (size_t i : out->listing.kept) out->bytes += out->listing.files[i].content_size();
		}
		resolution->outcome = static_cast<pgmlr_model_outcome>(r.outcome);
		copy_line(resolution->commit, sizeof resolution->commit, r.commit);
		resolution->http_status = static_cast<int>(r.http_status);
		copy_line(resolution->hub_error, sizeof resolution->hub_error, r.hub_error);
		resolution->retry_after_ms = r.retry_after_ms;
		copy_line(resolution->detail, sizeof resolution->detail, r.detail);
		resolution->tree_from_cache = r.tree_from_cache;
		result = out.release();
		return {};
	});
	if (status->code != PGMLR_OK && resolution) resolution->outcome = PGMLR_MODEL_BAD_ANSWER;
	return result;
}

extern "C" int pgmlr_model_listing_count(const pgmlr_model_listing *listing) {
	return listing ? static_cast<int>(listing->listing.kept.size()) : 0;
}

extern "C" int64_t pgmlr_model_listing_bytes(const pgmlr_model_listing *listing) {
	return listing ? listing->bytes : 0;
}

extern "C" bool pgmlr_model_listing_row(const pgmlr_model_listing *listing, int index, pgmlr_hf_manifest_row *out) {
	if (!listing || !out || index < 0 || static_cast<size_t>(index) >= listing->listing.kept.size()) return false;
	const hff::ModelListing &l = listing->listing;
	const hff::TreeFile &f = l.files[l.kept[static_cast<size_t>(index)]];
	out->repo_type = l.spec.repo_type.c_str();
	out->repo_id = l.spec.repo_id.c_str();
	out->revision = l.commit.c_str();
	out->refs = listing->ref_ptr ? &listing->ref_ptr : nullptr;
	out->nrefs = listing->ref_ptr ? 1 : 0;
	out->path = f.path.c_str();
	out->blob = f.blob().c_str();
	out->size = f.content_size();
	return true;
}

extern "C" void pgmlr_model_listing_present(const pgmlr_model_listing *listing, const char *cache_root,
										   int64_t *files_present, int64_t *bytes_present, pgmlr_status *status) {
	if (files_present) *files_present = 0;
	if (bytes_present) *bytes_present = 0;
	pgmlr::guarded(status, [&]() -> Status {
		if (!listing || !files_present || !bytes_present)
			return bad_argument("pgmlr_model_listing_present needs a listing and two counters");
		const std::string root = str_or_empty(cache_root);
		if (root.empty() || root[0] != '/')
			return make_error(ErrCode::ConfigFile, "the cache folder is not an absolute path", hf::shown(root));
		const hff::ModelListing &l = listing->listing;
		const std::string snapshot =
			root + "/" + hf::repo_folder_name(l.spec.repo_type, l.spec.repo_id) + "/snapshots/" + l.commit + "/";
		for (size_t i : l.kept) {
			const hff::TreeFile &f = l.files[i];
			struct stat st {};
			// Follows the snapshot link to its blob, as the client does; the
			// fetch job hashed what it published, so the size is enough here.
			if (::stat((snapshot + f.path).c_str(), &st) != 0 || !S_ISREG(st.st_mode) ||
				static_cast<int64_t>(st.st_size) != f.content_size())
				continue;
			*files_present += 1;
			*bytes_present += f.content_size();
		}
		return {};
	});
}

extern "C" bool pgmlr_model_listing_write_tree(const pgmlr_model_listing *listing, const char *cache_root,
											   pgmlr_status *status) {
	pgmlr::guarded(status, [&]() -> Status {
		if (!listing) return bad_argument("pgmlr_model_listing_write_tree needs a listing");
		const hff::ModelListing &l = listing->listing;
		if (!l.tree_writable) return {};  // huggingface_hub writes none either (an invalid Xet hash)
		hff::ExtraTarget target{hf::ExtraKind::tree, hf::repo_folder_name(l.spec.repo_type, l.spec.repo_id),
								hf::extra_rel_path(hf::ExtraKind::tree, l.commit)};
		auto written = hff::write_extra(str_or_empty(cache_root), target, hff::render_tree_json(l.files));
		if (!written) return written.error();
		return {};
	});
	return status->code == PGMLR_OK;
}

extern "C" void pgmlr_model_listing_free(pgmlr_model_listing *listing) { delete listing; }
