// The published manifest: which scan rows are healthy enough to publish,
// and the smallest set of changes that turns the table into the cache's
// description (unchanged rows are not touched, so they add no WAL).
#pragma once
#include "common/core_only.hpp"

#include "hf_cache/scan.hpp"

#include <cstdint>
#include <string>
#include <vector>

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

}  // namespace pgmlr::hf
