// File-system steps of publishing into a huggingface_hub cache: contained
// folder creation, durable renames, symlinks and refs via temp names, the
// huggingface_hub blob lock, free space. Nothing here ever deletes a file
// that is not its own temp file.
#pragma once
#include "common/core_only.hpp"

#include <cstdint>
#include <string>

#include "common/error.hpp"

namespace pgmlr::hf_fetch {

// realpath of the cache root; every containment check compares against it.
Result<std::string> real_cache_root(const std::string &cache_root);

// Refuses when an existing component of root/rel is a symlink that leads
// outside root, or is not a folder where a folder is needed. Missing
// components are fine (they will be created). rel has no leading "/".
Status check_contained(const std::string &root, const std::string &rel, bool last_is_dir);

// mkdir -p root/rel after check_contained.
Status make_dirs(const std::string &root, const std::string &rel);

Status fsync_dir(const std::string &dir);

// Random lower-case hex for temp names.
std::string random_hex(size_t n);

// Writes content to dir/name through a temp file, fsync, rename, fsync dir.
Status write_file_atomic(const std::string &dir, const std::string &name, const std::string &content);

// Creates dir/name -> target through a temp link and rename, unless dir/name
// already exists (then *created = false and nothing changes).
Status create_symlink_atomic(const std::string &dir, const std::string &name, const std::string &target, bool *created);

// Opens path read-write as a plain file, creating it (mode 0644). A link
// planted under the name is never followed (O_NOFOLLOW): it, or anything
// else there that is not a plain file, is removed and a fresh file made.
// The fd with *size its current size, or -1 with errno set.
int open_plain_file(const std::string &path, int64_t *size);

// Bytes available to an unprivileged writer on the file system of path.
Result<int64_t> free_bytes(const std::string &path);

// huggingface_hub's <cache>/.locks/<repo_folder>/<blob>.lock, flock'ed.
class BlobLock {
public:
	BlobLock() = default;
	~BlobLock() { release(); }
	BlobLock(const BlobLock &) = delete;
	BlobLock &operator=(const BlobLock &) = delete;
	// Non-blocking: *busy = true when another process holds it.
	Status try_acquire(const std::string &lock_path, bool *busy);
	void release();
	bool held() const { return fd_ >= 0; }

private:
	int fd_ = -1;
};

}  // namespace pgmlr::hf_fetch
