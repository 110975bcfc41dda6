// extern "C" entry points of pgml_repl/fetch_sources.h: the hf_sources list
// (sources_setting.hpp), the upstream's conninfo from primary_conninfo and
// its label (upstream_conninfo.hpp, upstream_answer.hpp), and the ping
// (upstream_ping.hpp). Strings go back malloc'd (pgmlr_free).
#include "common/core_only.hpp"

#include "common/c_boundary.hpp"
#include "common/error.hpp"
#include "hf_fetch/sources_setting.hpp"
#include "hf_fetch/upstream_answer.hpp"
#include "hf_fetch/upstream_conninfo.hpp"
#include "hf_fetch/upstream_ping.hpp"
#include "pgml_repl/fetch_sources.h"

using pgmlr::Status;
namespace hff = pgmlr::hf_fetch;

static_assert(int(hff::SourceKind::upstream) == PGMLR_SOURCE_UPSTREAM && int(hff::SourceKind::hub) == PGMLR_SOURCE_HUB,
			  "SourceKind must match pgmlr_fetch_source_kind");
static_assert(hff::kMaxFetchSources == PGMLR_MAX_FETCH_SOURCES, "kMaxFetchSources must match PGMLR_MAX_FETCH_SOURCES");

namespace {
std::string str_or_empty(const char *s) { return s ? s : ""; }
}  // namespace

extern "C" bool pgmlr_fetch_sources_parse(const char *text, pgmlr_fetch_source_list *out, pgmlr_status *status) {
	bool ok = false;
	pgmlr::guarded(status, [&]() -> Status {
		if (!out) return pgmlr::make_error(pgmlr::ErrCode::Internal, "pgmlr_fetch_sources_parse needs a list");
		auto r = hff::parse_fetch_sources(str_or_empty(text));
		if (!r) return r.error();
		out->count = static_cast<int>(r->size());
		for (size_t i = 0; i < r->size(); ++i) out->kinds[i] = static_cast<pgmlr_fetch_source_kind>((*r)[i]);
		ok = true;
		return {};
	});
	return ok;
}

extern "C" char *pgmlr_upstream_conninfo_from_primary(const char *primary_conninfo, const char *database,
													  const char *application_name, pgmlr_status *status) {
	return pgmlr::guarded_string(status, [&]() -> pgmlr::Result<std::string> {
		return hff::upstream_conninfo_from_primary(str_or_empty(primary_conninfo), str_or_empty(database),
												   str_or_empty(application_name));
	});
}

extern "C" char *pgmlr_upstream_label(const char *conninfo, pgmlr_status *status) {
	return pgmlr::guarded_string(status, [&]() -> pgmlr::Result<std::string> {
		std::string label, why;
		if (!hff::upstream_label(str_or_empty(conninfo), &label, &why)) return std::string();
		return label;
	});
}

extern "C" bool pgmlr_upstream_ping(const char *conninfo, int timeout_ms, volatile sig_atomic_t *abort_flag,
									pgmlr_status *status) {
	bool ok = false;
	pgmlr::guarded(status, [&]() -> Status {
		Status st = hff::upstream_ping(str_or_empty(conninfo), timeout_ms, abort_flag);
		ok = !st;
		return st;
	});
	return ok;
}
