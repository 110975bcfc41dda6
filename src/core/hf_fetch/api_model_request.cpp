// extern "C" entry point of pgml_repl/hf_models.h that checks a want_model()
// request (hf_fetch/model_request.hpp): the C arrays become a ModelRequest,
// so the rules themselves never see a C type.
#include "common/core_only.hpp"

#include "common/c_boundary.hpp"
#include "common/error.hpp"
#include "hf_fetch/model_request.hpp"
#include "pgml_repl/hf_models.h"

using pgmlr::Status;
namespace hff = pgmlr::hf_fetch;

namespace {

std::optional<std::string> opt_string(const char *s) {
	if (!s) return std::nullopt;
	return std::string(s);
}

// A C list (NULL: SQL NULL) as a PatternList; a NULL element stays NULL so
// the rules can name it. n is checked against the C contract first.
pgmlr::Result<hff::PatternList> pattern_list(const char *name, const char *const *items, int n) {
	if (n < 0 || (!items && n > 0))
		return pgmlr::make_error(pgmlr::ErrCode::Internal,
								 std::string("pgmlr_model_request_check: bad count for ") + name);
	if (!items) return hff::PatternList{};
	std::vector<std::optional<std::string>> out;
	out.reserve(static_cast<size_t>(n));
	for (int i = 0; i < n; ++i) out.push_back(opt_string(items[i]));
	return hff::PatternList{std::move(out)};
}

}  // namespace

extern "C" bool pgmlr_model_request_check(const pgmlr_model_request *request, pgmlr_status *status) {
	bool ok = false;
	pgmlr::guarded(status, [&]() -> Status {
		if (!request) return pgmlr::make_error(pgmlr::ErrCode::Internal, "pgmlr_model_request_check needs a request");
		auto allow = pattern_list("allow_patterns", request->allow_patterns, request->n_allow);
		if (!allow) return allow.error();
		auto ignore = pattern_list("ignore_patterns", request->ignore_patterns, request->n_ignore);
		if (!ignore) return ignore.error();
		hff::ModelRequest r{opt_string(request->repo_type), opt_string(request->repo_id),
							opt_string(request->revision), std::move(*allow), std::move(*ignore)};
		Status st = hff::check_model_request(r);
		ok = !st;
		return st;
	});
	return ok;
}
