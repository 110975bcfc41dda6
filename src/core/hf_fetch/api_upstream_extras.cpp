// extern "C" face of hf_fetch/upstream_extras.hpp: pgmlr_upstream_extras_sync
// (pgml_repl/upstream_extras.h), the replica's copy of the upstream's trees
// and .no_exist markers.
#include "common/core_only.hpp"

#include <algorithm>
#include <cstring>

#include "hf_fetch/upstream_extras.hpp"
#include "common/c_boundary.hpp"
#include "common/error.hpp"
#include "pgml_repl/upstream_extras.h"

using namespace pgmlr;
using namespace pgmlr::hf_fetch;

extern "C" bool pgmlr_upstream_extras_sync(const char *cache_root, const char *conninfo, int timeout_ms,
										   volatile sig_atomic_t *abort_flag, pgmlr_extras_result *out,
										   pgmlr_status *status) {
	if (out) std::memset(out, 0, sizeof *out);
	guarded(status, [&]() -> Status {
		ExtrasCounts counts;
		Status st = sync_upstream_extras(cache_root ? cache_root : "", conninfo ? conninfo : "", timeout_ms,
										 abort_flag, &counts);
		if (out) {
			out->trees_written = counts.trees_written;
			out->markers_written = counts.markers_written;
			out->unchanged = counts.unchanged;
			out->refused = counts.refused;
			const size_t n = std::min(counts.first_refusal.size(), sizeof out->first_refusal - 1);
			std::memcpy(out->first_refusal, counts.first_refusal.data(), n);
			out->first_refusal[n] = '\0';
		}
		return st;
	});
	return status->code == PGMLR_OK;
}
