// The replica's side of the cache extras (hf_cache/extras.hpp): a row that
// pgml_repl.hf_cache_extras() answered on the upstream checked as untrusted
// input, the file it names built from the Hub's rules, and written into the
// local cache only when absent or different. Pure file work, no libpq, so
// the unit tests drive it; upstream_extras.cpp feeds it the rows.
//
// Every folder is opened from the cache root's descriptor one component at
// a time with O_NOFOLLOW and created (mode 0755) when missing, so a link in
// the cache never leads a write out of it. A tree file is replaced
// atomically (temp file ".<commit>.json.pgml.<pid>.tmp" in trees/, which
// the serving side ignores, fsync, rename, fsync the folder); a
// marker is an empty file created with O_EXCL (a lost marker only costs the
// client one question to the Hub, so it is not synced).
#pragma once
#include "common/core_only.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "hf_cache/extras.hpp"

namespace pgmlr::hf_fetch {

// One row, checked: where it goes inside the cache.
struct ExtraTarget {
	hf::ExtraKind kind = hf::ExtraKind::tree;
	std::string repo_folder;  // models--org--name
	std::string rel;          // trees/<commit>.json or .no_exist/<commit>/<path>
};

// Checks a row as hf_cache_extras() returns it: repo type and id by the
// Hub's rules, a known kind, the name by hf::extra_name_problem, content
// present (at most kMaxTreeFileBytes) for a tree and NULL for a marker.
// InvalidParameter with the reason otherwise; values are shown quoted.
Result<ExtraTarget> check_extra_row(std::string_view repo_type, std::string_view repo_id, std::string_view kind,
									std::string_view name, bool content_null, size_t content_len);

enum class WriteOutcome { written, unchanged };

// Writes the extra under cache_root (absolute, existing): a tree's content
// when the file is absent or differs, a marker when absent. Permission when
// a link or a non-folder stands where a folder must be, or something else
// than a regular file where the file goes; Io otherwise.
Result<WriteOutcome> write_extra(const std::string &cache_root, const ExtraTarget &target, std::string_view content);

}  // namespace pgmlr::hf_fetch
