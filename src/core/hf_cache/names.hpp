// What the Hub accepts as a repo type, repo id, commit, ref, file path and
// blob name, and how huggingface_hub names a repo's cache folder. The one
// place these rules live: the cache scan, publish_hf_manifest(), the
// prefetch worker, the SQL CHECK constraints of pgml_repl.hf_manifest
// (through pgmlr_hf_name_problem) and the fuzz oracle all ask here.
// docs/hf_cache.md ("Names") explains each rule and where it comes from.
#pragma once
#include "common/core_only.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pgmlr::hf {

inline constexpr size_t kMaxRepoIdPart = 96;      // huggingface_hub's REPO_ID_REGEX, name part
inline constexpr size_t kMaxRefBytes = 255;
inline constexpr size_t kMaxPathBytes = 1024;
inline constexpr size_t kMaxPathSegmentBytes = 255;  // NAME_MAX
inline constexpr int64_t kMaxFileSize = int64_t{1} << 42;  // 4 TiB: beyond any Hub file

// Each returns nullopt when the value follows the rules, else the reason as
// a sentence fragment without the value ("contains \"--\" or \"..\"").
// Reasons never quote the value, so callers choose how to show it.
using Problem = std::optional<std::string>;

Problem repo_type_problem(std::string_view v);  // model | dataset | space
// huggingface_hub's validate_repo_id with ASCII letters and digits only,
// and the namespace bounded like the name (see docs/hf_cache.md).
Problem repo_id_problem(std::string_view v);
Problem revision_problem(std::string_view v);  // the commit a snapshot is named after: 40 lower-case hex
Problem ref_problem(std::string_view v);       // git check-ref-format rules, one level allowed (main, refs/pr/1)
Problem path_problem(std::string_view v);      // relative file path inside a snapshot
Problem blob_problem(std::string_view v);      // git blob SHA-1 or SHA-256: 40 or 64 lower-case hex
Problem size_problem(int64_t v);

bool is_commit_hash(std::string_view s);
bool is_blob_name(std::string_view s);

// huggingface_hub's repo_folder_name: "models--org--name". Only meaningful
// for a valid type and id.
std::string repo_folder_name(std::string_view type, std::string_view id);

struct RepoName {
	std::string type;
	std::string id;
};

// The repo type a folder name's prefix claims ("model" for "models--..."),
// whether or not the rest is a valid id; nullopt for no known prefix.
std::optional<std::string> repo_folder_type(std::string_view name);

// The inverse of repo_folder_name for every valid type and id; nullopt for
// every other name (*why, when given, then says what is wrong). A name no
// valid id produces, such as "models--org---name", is never misread.
std::optional<RepoName> parse_repo_folder(std::string_view name, std::string *why = nullptr);

// A value quoted for a message: cut after 80 bytes, control bytes, quotes,
// backslashes and non-ASCII bytes as \xNN, so a hostile value can neither
// flood nor forge log lines.
std::string shown(std::string_view v);

}  // namespace pgmlr::hf
