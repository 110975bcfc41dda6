// The published manifest: which scan rows are healthy enough to publish,
// and the smallest set of changes that turns the table into the cache's
// description (unchanged rows are not touched, so they add no WAL).
#pragma once
#include "core_only.hpp"

#include "hf_cache_scan.hpp"

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

struct ManifestDiff {
	std::vector<ManifestRow> inserts;
	std::vector<ManifestRow> updates;
	std::vector<ManifestRow> deletes;
	size_t unchanged = 0;
	size_t unhealthy = 0;  // scan rows left out
};

// Rows with status ok, as manifest rows; counts the others in *unhealthy.
std::vector<ManifestRow> healthy_rows(const Scan &scan, size_t *unhealthy);

// Key: repo_type, repo_id, revision, path. Same key with equal refs (as a
// set), blob and size is unchanged.
ManifestDiff diff_manifest(std::vector<ManifestRow> published, std::vector<ManifestRow> wanted);

}  // namespace pgmlr::hf
