// extern "C" entry points of the yield controller (pgml_repl/fetch_yield.h):
// converts its C structs to and from yield_controller.hpp's types.
#include "common/core_only.hpp"

#include <new>

#include "common/c_boundary.hpp"
#include "common/error.hpp"
#include "hf_fetch/yield_controller.hpp"
#include "pgml_repl/fetch_yield.h"

using pgmlr::Status;
namespace hff = pgmlr::hf_fetch;

struct pgmlr_yield {
	hff::YieldController controller;
};

extern "C" pgmlr_yield *pgmlr_yield_new(pgmlr_status *status) {
	pgmlr_yield *out = nullptr;
	pgmlr::guarded(status, [&]() -> Status {
		out = new pgmlr_yield{};
		return {};
	});
	return out;
}

extern "C" void pgmlr_yield_reset(pgmlr_yield *yield) {
	if (yield) yield->controller.reset();
}

extern "C" void pgmlr_yield_update(pgmlr_yield *yield, const pgmlr_yield_settings *settings,
								   const pgmlr_yield_sample *sample, pgmlr_yield_decision *out,
								   pgmlr_status *status) {
	pgmlr::guarded(status, [&]() -> Status {
		if (!yield || !settings || !sample || !out)
			return pgmlr::make_error(pgmlr::ErrCode::Internal, "pgmlr_yield_update needs every argument");
		hff::YieldSettings s;
		s.enabled = settings->enabled;
		s.floor_bps = settings->floor_bytes_per_second;
		s.cap_bps = settings->max_bytes_per_second;
		const hff::LoadSample x{sample->at_ms, sample->busy_backends, sample->readers_cpu, sample->node_cpu,
								sample->bytes_received};
		hff::YieldDecision d = yield->controller.update(s, x);
		out->bytes_per_second = d.rate_bps;
		out->yielding = d.yielding;
		out->readers = d.readers;
		return {};
	});
}

extern "C" void pgmlr_yield_free(pgmlr_yield *yield) { delete yield; }
