// The replica's sync of the cache extras from its upstream over libpq: one
// bounded, non-blocking connection (PQconnectStartParams/PQconnectPoll, then
// PQsendQueryParams in binary result format and single-row mode, polled
// every 100 ms so an abort flag is honoured), each row checked and written
// by extras_write.hpp. What hf_cache_extras() serves is said in
// hf_cache/extras.hpp.
#pragma once
#include "common/core_only.hpp"

#include <csignal>
#include <cstdint>
#include <string>

#include "common/error.hpp"

namespace pgmlr::hf_fetch {

struct ExtrasCounts {
	int64_t trees_written = 0;
	int64_t markers_written = 0;
	int64_t unchanged = 0;
	int64_t refused = 0;
	std::string first_refusal;
};

// See pgmlr_upstream_extras_sync in pgml_repl/upstream_extras.h.
Status sync_upstream_extras(const std::string &cache_root, const std::string &conninfo, int timeout_ms,
							volatile sig_atomic_t *abort_flag, ExtrasCounts *out);

}  // namespace pgmlr::hf_fetch
