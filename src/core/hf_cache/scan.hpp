// Lists a HuggingFace hub cache folder: one row per snapshot file, one
// summary per repo, and notices for damage no row can describe. Never fails
// because of what is inside the cache; only an unusable cache folder is an
// error.
#pragma once
#include "common/core_only.hpp"

#include "hf_cache/names.hpp"
#include "common/error.hpp"

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pgmlr::hf {

// Row statuses (docs/hf_cache.md explains each one).
inline constexpr const char *kOk = "ok";
inline constexpr const char *kBrokenSymlink = "broken_symlink";
inline constexpr const char *kMissingBlob = "missing_blob";
inline constexpr const char *kNotASymlink = "not_a_symlink";
inline constexpr const char *kNotAFile = "not_a_file";
inline constexpr const char *kBadBlobName = "bad_blob_name";
inline constexpr const char *kIncomplete = "incomplete";
inline constexpr const char *kOutside = "symlink_outside_cache";
inline constexpr const char *kCorrupt = "corrupt";
inline constexpr const char *kUnreadable = "unreadable";
inline constexpr const char *kInvalidName = "invalid_name";  // path breaks hf_names' rules

// Links followed from a snapshot entry: the snapshot link, the repo blob
// link into the 1.x cross-repo store, and one spare.
inline constexpr int kMaxLinks = 3;
inline constexpr size_t kMaxNotices = 50;

struct FileRow {
	std::string repo_type;
	std::string repo_id;
	std::optional<std::string> revision;
	std::vector<std::string> refs;
	std::optional<std::string> path;
	std::optional<std::string> blob;
	int64_t size = -1;
	std::string status;
	bool verified = false;
	// The file holding the content, relative to the root ("" when none), and
	// its identity, so a blob shared by many paths is counted/hashed once.
	std::string content_rel;
	dev_t dev = 0;
	ino_t ino = 0;
	int64_t mtime = 0;
};

struct RepoRow {
	std::string repo_type;
	std::string repo_id;
	int32_t revisions = 0;
	int32_t files = 0;
	int64_t size_on_disk = 0;
	std::optional<int64_t> last_modified;
	std::vector<std::string> refs;
};

// A folder named like a repo folder ("models--...") that no valid repo id
// gives, such as "models--org---name": never read as a repo.
struct RefusedFolder {
	std::string name;
	std::string type;  // from the prefix
	std::string why;
};

struct Scan {
	std::string root;  // canonical cache folder
	bool found = true;  // false: the folder does not exist
	std::vector<FileRow> files;
	std::vector<RefusedFolder> refused_folders;
	std::vector<RepoRow> repos;
	std::vector<std::string> notices;
};

Result<Scan> scan_cache(const std::string &cache_dir);

}  // namespace pgmlr::hf
