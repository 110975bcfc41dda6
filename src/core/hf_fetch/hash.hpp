// The checksum a blob's name promises: SHA-256 of the content for 64-hex
// names (LFS/Xet), git's SHA-1 of "blob <size>\0" + content for 40-hex ones.
#pragma once
#include "common/core_only.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace pgmlr::hf_fetch {

class BlobHasher {
public:
	BlobHasher(std::string_view blob, int64_t size);  // algorithm from blob's length
	~BlobHasher();
	BlobHasher(const BlobHasher &) = delete;
	BlobHasher &operator=(const BlobHasher &) = delete;
	void reset();  // back to zero bytes hashed
	void update(const void *data, size_t n);
	int64_t bytes() const { return bytes_; }
	std::string hex_digest();  // finishes; call reset() before reuse

private:
	struct Impl;
	std::unique_ptr<Impl> impl_;
	int64_t bytes_ = 0;
};

// Feeds the first n bytes of fd (read with pread) into hasher.
Status hash_fd_prefix(int fd, int64_t n, BlobHasher &hasher);

// True when the file at path has the size and checksum its blob name says.
Result<bool> file_matches_blob(const std::string &path, std::string_view blob, int64_t size);

}  // namespace pgmlr::hf_fetch
