// The pgml_replication.hf_sources setting: which sources a replica's worker
// fetches blobs from, in the order it tries them ("upstream, hub" by
// default). Pure: parsing a text into a list, for the shim's GUC check hook
// and the worker (through pgml_repl/fetch_sources.h, api_sources.cpp).
#pragma once
#include "common/core_only.hpp"

#include <string>
#include <vector>

#include "common/error.hpp"

namespace pgmlr::hf_fetch {

// Same values as pgmlr_fetch_source_kind (api_sources.cpp checks it).
enum class SourceKind { upstream = 1, hub = 2 };

constexpr size_t kMaxFetchSources = 2;

// "upstream" and "hub", comma-separated, case-insensitive, spaces (and tabs)
// around items ignored, each at most once, at least one. An InvalidParameter
// error otherwise (an empty item, as in "hub,", is an error too), with a
// hint naming the accepted values.
Result<std::vector<SourceKind>> parse_fetch_sources(const std::string &text);

}  // namespace pgmlr::hf_fetch
