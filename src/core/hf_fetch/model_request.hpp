// Whether want_model() may record a request (issue 16, "models declared in
// SQL"): the repo type, id and revision by the Hub's rules (hf_cache/names.hpp,
// the one place they live) and the allow/ignore patterns by this file's
// bounds. Pure: no I/O, no network. Each refusal names the argument in its
// message and carries a hint with a valid example, because the caller is a
// person typing SQL (or a migration tool), not the Hub.
#pragma once
#include "common/core_only.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace pgmlr::hf_fetch {

// Bounds on patterns: generous for any real use (huggingface_hub users pass a
// handful), small enough that the worker's fnmatch over every file of a
// listing stays cheap and a row of wanted_models stays small.
inline constexpr size_t kMaxPatternBytes = 1024;
inline constexpr size_t kMaxPatterns = 256;

// A pattern list as SQL gives it: nullopt is SQL NULL (no list), an element
// nullopt is a NULL element.
using PatternList = std::optional<std::vector<std::optional<std::string>>>;

struct ModelRequest {
	std::optional<std::string> repo_type;  // nullopt: SQL NULL, refused
	std::optional<std::string> repo_id;
	std::optional<std::string> revision;
	PatternList allow_patterns;   // nullopt: every file
	PatternList ignore_patterns;  // nullopt: none
};

// Each returns an InvalidParameter error whose message starts with the
// argument's name, or nullopt.
Status check_repo_type_arg(const std::optional<std::string> &v);
Status check_repo_id_arg(const std::optional<std::string> &v);
// A branch or tag ("main", "v1.0"), "refs/pr/N" or a commit id: git's ref
// name rules, which every 40-hex commit id also follows.
Status check_revision_arg(const std::optional<std::string> &v);
// name is "allow_patterns" or "ignore_patterns"; elements are numbered from 1
// in messages ("allow_patterns[2] is empty"). An empty allow list is refused:
// huggingface_hub would keep no file, which no one means to want.
Status check_patterns_arg(std::string_view name, const PatternList &patterns);

// The checks above in argument order; the first refusal.
Status check_model_request(const ModelRequest &request);

}  // namespace pgmlr::hf_fetch
