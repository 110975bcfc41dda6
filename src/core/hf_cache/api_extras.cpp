// extern "C" face of hf_cache/extras.hpp: the listing behind
// pgml_repl.hf_cache_extras(), a handle owning one repo's extras.
#include "common/core_only.hpp"

#include "hf_cache/extras.hpp"
#include "common/c_boundary.hpp"
#include "common/error.hpp"
#include "pgml_repl/hf_extras.h"

using namespace pgmlr;
using namespace pgmlr::hf;

static_assert(PGMLR_HF_TREE_MAX_BYTES == kMaxTreeFileBytes, "pgml_repl/hf_extras.h must match extras.hpp");

struct pgmlr_hf_extras {
	RepoExtras listing;
};

extern "C" pgmlr_hf_extras *pgmlr_hf_extras_list(const char *cache_dir, const char *repo_type, const char *repo_id,
												 pgmlr_status *status) {
	pgmlr_hf_extras *out = nullptr;
	guarded(status, [&]() -> Status {
		Result<RepoExtras> r = list_repo_extras(cache_dir ? cache_dir : "", repo_type ? repo_type : "",
												repo_id ? repo_id : "");
		if (!r) return r.error();
		out = new pgmlr_hf_extras{std::move(*r)};
		return {};
	});
	return out;
}

extern "C" int pgmlr_hf_extras_count(const pgmlr_hf_extras *extras) {
	return extras ? static_cast<int>(extras->listing.items.size()) : 0;
}

// Plain indexing, no .at(): nothing here may throw into C.
extern "C" bool pgmlr_hf_extras_item(const pgmlr_hf_extras *extras, int i, pgmlr_hf_extra *out) {
	if (!extras || i < 0 || static_cast<size_t>(i) >= extras->listing.items.size()) return false;
	const Extra &e = extras->listing.items[static_cast<size_t>(i)];
	out->kind = extra_kind_name(e.kind);
	out->name = e.name.c_str();
	out->content = e.kind == ExtraKind::tree ? e.content.data() : nullptr;
	out->content_len = e.content.size();
	return true;
}

extern "C" int pgmlr_hf_extras_warning_count(const pgmlr_hf_extras *extras) {
	return extras ? static_cast<int>(extras->listing.warnings.size()) : 0;
}

extern "C" const char *pgmlr_hf_extras_warning(const pgmlr_hf_extras *extras, int i) {
	if (!extras || i < 0 || static_cast<size_t>(i) >= extras->listing.warnings.size()) return nullptr;
	return extras->listing.warnings[static_cast<size_t>(i)].c_str();
}

extern "C" void pgmlr_hf_extras_free(void *extras) { delete static_cast<pgmlr_hf_extras *>(extras); }
