// The published manifest: which scan rows are healthy enough to publish,
// and the smallest set of changes that turns the table into the cache's
// description (unchanged rows are not touched, so they add no WAL).
#pragma once
#include "common/core_only.hpp"

#include "hf_cache/scan.hpp"

#include <cstdint>
#include <string>
#include <vector>

struct pgmlr_hf_manifest_row;  // pgml_repl/hf_cache.h, defined by the C face only

namespace pgmlr::hf {

struct ManifestRow {
	std::string repo_type;
	std::string repo_id;
	std::string revision;
	std::vector<std::string> refs;
	std::string path;
	std::string blob;
	int64_t size = 0;
};

// A cache entry publish_hf_manifest() refuses to write: a file whose row
// breaks hf_names' rules, or a repo folder whose name no valid repo id
// gives (then repo_id is the folder name and revision/path are empty).
struct RefusedEntry {
	ManifestRow row;
	bool folder = false;
	std::string reason;  // "path contains a backslash"
	std::string label;   // the entry for a message, every value quoted by shown()
};

struct ManifestDiff {
	std::vector<ManifestRow> inserts;
	std::vector<ManifestRow> updates;
	std::vector<ManifestRow> deletes;
	size_t unchanged = 0;
	size_t unhealthy = 0;  // scan rows left out for their status
	std::vector<RefusedEntry> refused;  // left out for their names
};

// The first rule the row breaks, as "<column> <problem>"; nullopt when the
// row may be published. The same rules as the table's CHECK constraints.
Problem manifest_row_problem(const ManifestRow &row);

// Rows with status ok whose names follow the rules, as manifest rows. Rows
// with another status are counted in *unhealthy; rows (and the scan's repo
// folders) whose names break the rules go to *refused.
std::vector<ManifestRow> healthy_rows(const Scan &scan, size_t *unhealthy, std::vector<RefusedEntry> *refused);

// Key: repo_type, repo_id, revision, path. Same key with equal refs (as a
// set), blob and size is unchanged.
ManifestDiff diff_manifest(std::vector<ManifestRow> published, std::vector<ManifestRow> wanted);

// What check() reports about the manifest against the cache. A file is its
// place and content (repo_type, repo_id, revision, path, blob; refs may
// differ harmlessly); every cache file with status ok counts, as SQL's
// EXCEPT over the table and hf_cache_manifest() counted it: a file missing
// revision, path or blob still is one (and matches no table row), equal
// files count once in the differences.
struct CacheComparison {
	size_t manifest_files = 0;         // table rows
	size_t cache_files = 0;            // scan rows with status ok
	size_t manifest_not_in_cache = 0;  // distinct table files no ok scan row equals
	size_t cache_not_in_manifest = 0;  // distinct ok scan files no table row equals
	size_t cache_invalid_names = 0;    // scan rows with status invalid_name
};

CacheComparison compare_with_cache(const std::vector<ManifestRow> &published, const Scan &scan);

// The one conversion of a C manifest row (the table's, as the shim read it)
// into the core's; NULL strings become empty. Defined in hf_cache/api.cpp.
ManifestRow manifest_row_from_c(const pgmlr_hf_manifest_row &row);

}  // namespace pgmlr::hf
