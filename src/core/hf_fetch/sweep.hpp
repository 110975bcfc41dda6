// Partial downloads this fetcher keeps for resuming (blobs/<blob> plus its
// own suffix, ".pgml.incomplete") outlive the manifest rows that asked for
// them: a blob that left the manifest would keep its partial file forever.
// The sweep removes those, and nothing else.
#pragma once
#include "common/core_only.hpp"

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <utility>

namespace pgmlr::hf_fetch {

// In every valid repo folder of the cache root (a real folder, entered
// without following links), removes blobs/<blob><suffix> when <blob> is a
// blob name and (folder, blob) is not in wanted, each while holding that
// blob's lock (.locks/<folder>/<blob>.lock; a busy lock skips the file),
// and with them a ranged download's sidecar (<blob>.pgml.ranges, .tmp).
// Other names, huggingface_hub's own ".incomplete" files included, are
// never touched. Returns how many partial files were removed.
int64_t remove_stale_partials(const std::string &root, const std::set<std::pair<std::string, std::string>> &wanted,
							  std::string_view suffix);

}  // namespace pgmlr::hf_fetch
