// A declared model's files (issue 16), worked out from the Hub's API
// answers without doing any I/O, so every rule is unit-tested on literal
// bytes: the revision answer's commit, the tree pages' file entries checked
// as untrusted input, huggingface_hub's allow/ignore pattern rules
// (filter_repo_objects over fnmatch.fnmatchcase), the manifest rows a fetch
// job downloads, and trees/<commit>.json rendered byte for byte as
// huggingface_hub >= 1.22 writes it (and read back), so the replica's cache
// looks to the client exactly as if snapshot_download had filled it.
#pragma once
#include "common/core_only.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace pgmlr::hf_fetch {

// Same order as pgmlr_model_outcome (api_models.cpp checks it).
enum class ModelOutcome { resolved, repo_not_found, revision_not_found, gated, rate_limited, unreachable, bad_answer, canceled };

// One file of a commit, with the fields huggingface_hub's tree cache keeps.
struct TreeFile {
	std::string path;
	int64_t size = 0;        // the tree entry's "size"
	std::string blob_id;     // git blob SHA-1 ("oid")
	bool lfs = false;
	std::string lfs_sha256;  // lfs.oid
	int64_t lfs_size = 0;    // lfs.size
	std::string xet_hash;    // "xetHash", empty when absent (the test Hub sends none)

	// The cache's blob name and the content's size.
	const std::string &blob() const { return lfs ? lfs_sha256 : blob_id; }
	int64_t content_size() const { return lfs ? lfs_size : size; }
};

// The request as the core sees it; nullopt patterns: the argument was NULL.
struct ModelSpec {
	std::string repo_type;  // model | dataset | space
	std::string repo_id;
	std::string revision;   // as asked: branch, tag, refs/pr/N or a commit
	std::optional<std::vector<std::string>> allow;
	std::optional<std::vector<std::string>> ignore;
};

// A resolved model: every file of the commit (sorted by path) and the
// indexes of those the patterns keep.
struct ModelListing {
	ModelSpec spec;
	std::string commit;
	std::vector<TreeFile> files;
	std::vector<size_t> kept;
	// huggingface_hub writes no tree file when an entry's Xet hash is not 64
	// hex (is_valid_tree_entries); nor do we.
	bool tree_writable = true;
};

// "models/org/name": how messages name a repo.
std::string repo_label(std::string_view repo_type, std::string_view repo_id);

// {endpoint}/api/{type}s/{repo_id}/revision/{revision, every reserved byte encoded}
std::string revision_url(std::string_view endpoint, const ModelSpec &spec);
// {endpoint}/api/{type}s/{repo_id}/tree/{commit}?recursive=true&expand=false
// (what list_repo_tree sends: httpx writes booleans in lower case).
std::string tree_url(std::string_view endpoint, const ModelSpec &spec, std::string_view commit);

// The commit ("sha") of a revision answer. InvalidParameter with the reason.
Result<std::string> parse_revision_answer(std::string_view body);

// Appends the files of one tree page (a JSON array; "file" entries kept,
// every other type skipped as a folder). Every path, blob id, LFS SHA-256
// and size is checked with rows.hpp's validators; a bad entry refuses the
// page (InvalidParameter naming the entry). *xet_ok turns false when an
// entry's xetHash is not 64 hex.
Status parse_tree_page(std::string_view body, std::vector<TreeFile> *out, bool *xet_ok);

// Python's fnmatch.fnmatchcase(name, pattern), on code points: '*' matches
// anything ('/' too), '?' one character, "[seq]" / "[!seq]" a set with
// ranges, an unclosed '[' itself; everything else literally.
bool fnmatch_case(std::string_view name, std::string_view pattern);

// filter_repo_objects: '\' becomes '/' in paths and patterns, a pattern
// ending in '/' gets '*'; allow nullopt keeps every path, an empty list
// none; ignore removes what it matches from what allow kept.
bool pattern_keeps(std::string_view path, const std::optional<std::vector<std::string>> &allow,
				   const std::optional<std::vector<std::string>> &ignore);

// Sorts files by path (byte order, as Python's sorted() over str), refuses
// a path listed twice, and fills kept. InvalidParameter naming the path.
Result<ModelListing> build_listing(ModelSpec spec, std::string commit, std::vector<TreeFile> files, bool xet_ok);

// The ref a row carries: the requested revision unless it is a commit.
std::optional<std::string> listing_ref(const ModelListing &listing);

// trees/<commit>.json exactly as json.dump(data, f, indent=1) writes it
// (ensure_ascii: non-ASCII as \uXXXX, surrogate pairs above U+FFFF), files
// sorted by path, keys in TreeCacheEntry.to_json's order.
std::string render_tree_json(const std::vector<TreeFile> &files);

// A trees/<commit>.json read back: format_version 1 and every entry valid
// by the same rules as a tree page; nullopt for anything else (the caller
// then lists the tree from the Hub, as huggingface_hub does).
std::optional<std::vector<TreeFile>> parse_tree_json(std::string_view content);

// Python's json.dumps(s) of a UTF-8 string, quotes included (ensure_ascii).
std::string python_json_string(std::string_view s);

}  // namespace pgmlr::hf_fetch
