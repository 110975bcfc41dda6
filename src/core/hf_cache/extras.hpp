// What huggingface_hub writes into a repo's cache folder besides blobs,
// snapshots and refs, and a replica benefits from (issue 12, "the whole cache
// as the client sees it"): trees/<commit>.json (huggingface_hub >= 1.22: the
// commit's file listing, reused forever) and the .no_exist/<commit>/<path>
// markers ("the Hub said 404 for this path"). Listed here for
// pgml_repl.hf_cache_extras() (the serving side) and checked here again when
// a replica writes them (hf_fetch/extras_write.hpp): one rule for both.
//
// Reading is hostile-cache safe: every folder is opened from the cache
// root's descriptor one component at a time with O_NOFOLLOW (RealDirs and
// openat), only regular files are read or listed, tree files are capped at
// kMaxTreeFileBytes, the marker walk at kMaxMarkerDepth folders deep and
// kMaxMarkersPerRepo markers, and every name goes through names.hpp.
// Anything skipped, an entry that cannot be read included, is said in a
// warning (one per kind of skip and repo), so the rest is still served.
#pragma once
#include "common/core_only.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "hf_cache/names.hpp"

namespace pgmlr::hf {

// A tree listing larger than this is skipped with a warning (the biggest
// Hub listings, of repos with tens of thousands of files, stay under it).
inline constexpr int64_t kMaxTreeFileBytes = int64_t{16} << 20;
// Folders below .no_exist/<commit>/ a marker may sit in (a path of the Hub
// has at most this many segments in practice; deeper ones are skipped).
inline constexpr int kMaxMarkerDepth = 16;
// Markers listed per repo at most; the rest are skipped with a warning.
inline constexpr size_t kMaxMarkersPerRepo = 20000;

enum class ExtraKind { tree, no_exist };

// "tree" / "no_exist", as hf_cache_extras() names the kinds.
const char *extra_kind_name(ExtraKind kind);
std::optional<ExtraKind> parse_extra_kind(std::string_view name);

// Why name cannot be an extra of the kind (nullopt: it can): a tree's name
// is its 40-hex commit; a marker's is "<commit>/<path>" with path a valid
// file path inside a snapshot (path_problem).
Problem extra_name_problem(ExtraKind kind, std::string_view name);

// The file of an extra relative to its repo folder: "trees/<commit>.json" or
// ".no_exist/<commit>/<path>". Only for a name extra_name_problem accepts.
std::string extra_rel_path(ExtraKind kind, std::string_view name);

struct Extra {
	ExtraKind kind = ExtraKind::tree;
	std::string name;
	std::string content;  // a tree's bytes; empty for a marker
};

struct RepoExtras {
	std::vector<Extra> items;  // trees first, then markers; names sorted within each folder
	std::vector<std::string> warnings;
};

// The extras of one repo of the cache at cache_root (absolute). A repo
// folder that does not exist gives an empty listing. Errors: InvalidParameter
// (a name breaks the Hub's rules), ConfigFile (a relative root), Permission
// (the repo folder is a link or not a folder), Io (the cache or the repo
// folder cannot be opened).
Result<RepoExtras> list_repo_extras(const std::string &cache_root, std::string_view repo_type,
									std::string_view repo_id);

}  // namespace pgmlr::hf
