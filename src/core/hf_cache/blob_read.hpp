// Reading a byte range of a blob from the local HuggingFace cache, for
// pgml_repl.hf_blob_read(): the serving side of a replica's fetch from its
// upstream. Every argument is hostile: the names are checked with the Hub's
// rules (names.hpp), the path is built as root/<repo folder>/blobs/<blob>,
// every folder on the way and the file itself are opened with O_NOFOLLOW
// (RealDirs, layout.hpp), and the file must be a regular file of exactly the
// manifest's size. The caller (the shim) looks the blob up in the manifest,
// loops over chunks with interrupt checks in between, and owns the buffer.
#pragma once
#include "common/core_only.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "common/error.hpp"
#include "common/unique_fd.hpp"

namespace pgmlr::hf {

// The most one call returns: a bytea of 64 MiB keeps both sides' memory bounded.
inline constexpr int64_t kMaxBlobReadLength = int64_t{64} << 20;

// How many bytes a read of length at offset returns from a blob of size
// bytes: min(length, size - offset). offset must lie in [0, size) (offset 0
// of an empty blob is allowed and returns 0 bytes, so every blob can be read
// whole with offset 0), and length in [1, kMaxBlobReadLength].
Result<int64_t> blob_read_span(int64_t size, int64_t offset, int64_t length);

// An open blob: a descriptor of a regular file checked against the manifest's
// size. Closed when it goes away.
class BlobFile {
public:
	// cache_root: the cache folder (absolute). repo_type and repo_id name the
	// repo folder (models--org--name); manifest_size is the size the manifest
	// lists. Errors: InvalidParameter (a name breaks the Hub's rules),
	// NotFound (no such file: not fetched yet, or only partly), Permission
	// (a link or something else than a regular file on the way), Io.
	static Result<BlobFile> open(const std::string &cache_root, std::string_view repo_type, std::string_view repo_id,
								 std::string_view blob, int64_t manifest_size);

	BlobFile(BlobFile &&) noexcept = default;
	BlobFile &operator=(BlobFile &&) noexcept = default;

	int64_t size() const { return size_; }
	const std::string &path() const { return path_; }

	// Reads exactly len bytes at offset into buf (pread, retried on EINTR and
	// short reads). A file that ends early (it shrank since open) is an Io
	// error, never a short result.
	Status read_at(int64_t offset, void *buf, size_t len) const;

private:
	BlobFile(UniqueFd fd, int64_t size, std::string path) : fd_(std::move(fd)), size_(size), path_(std::move(path)) {}
	UniqueFd fd_;
	int64_t size_ = 0;
	std::string path_;
};

}  // namespace pgmlr::hf
