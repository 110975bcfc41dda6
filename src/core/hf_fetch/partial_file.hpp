// One blob's download on disk: the deterministic partial file
// (blobs/<blob>.pgml.incomplete) kept across attempts and jobs, the hash of
// its bytes, and the BlockSink that writes arriving bytes off the transfer
// thread. The job opens, keeps or drops it only while holding the blob's
// lock, so two writers never share it.
#pragma once
#include "common/core_only.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "hf_cache/checksum.hpp"
#include "hf_fetch/sink.hpp"

namespace pgmlr::hf_fetch {

inline constexpr const char *kPartialSuffix = ".pgml.incomplete";

class PartialFile {
public:
	PartialFile() = default;
	~PartialFile();
	PartialFile(const PartialFile &) = delete;
	PartialFile &operator=(const PartialFile &) = delete;

	// Before an attempt: opens the partial file at path (kept bytes of an
	// earlier job are re-hashed from disk and resumed) or, when it is still
	// open from an earlier attempt of this job, checks that file and hash
	// agree. Returns an error text, empty on success.
	std::string prepare(const std::string &path, const std::string &blob, int64_t size);
	// Starts taking bytes after on_disk(); expected: how many are still to
	// come (sizes the first buffer, so a small file is copied once).
	void begin_attempt(int64_t expected = 0);
	// The other side sends from byte 0 after all: truncate and hash anew.
	bool restart();
	// false (with write_error() set) when the bytes do not fit in size or
	// the writer failed.
	bool append(const char *data, size_t n, int64_t size);

	// Waits for the writer to write and hash everything, then stops it: the
	// file, on_disk() and the hash agree again. false on a write error.
	bool settle();
	// Closes and removes the file; the hash starts over.
	void drop();
	// Stops writing and keeps the bytes so far for the next job (synced);
	// a file that saw a write error is removed instead.
	void keep();

	// A ranged download (ranged_download.hpp) finished: takes over its open
	// file, written and hashed to size, so finish() verifies it as usual;
	// attempt_start: the bytes it had kept from before its last attempt (0:
	// the whole file came in one attempt, which the quarantine asks).
	void adopt(int fd, std::string path, std::unique_ptr<hf::BlobHasher> hasher, int64_t size, int64_t attempt_start);
	// Verified content: hands the open fd and its path over (to publishing)
	// and forgets both. The caller closes the fd.
	int hand_over(std::string *path);
	// Finishes the hash (and resets it for a retry).
	std::string hex_digest();

	bool is_open() const { return fd_ >= 0; }
	int64_t on_disk() const { return on_disk_; }  // in the file, hashed (when no writer runs)
	int64_t accepted() const { return accepted_; }  // on_disk() plus bytes handed to the writer
	int64_t attempt_start() const { return attempt_start_; }  // on_disk() when this attempt began
	const std::string &write_error() const { return write_error_; }
	// The refusal was the body outgrowing the manifest's size (not a disk error).
	bool oversized() const { return oversized_; }

private:
	std::string open_kept(const std::string &path, const std::string &blob, int64_t size);

	int fd_ = -1;
	std::string path_;
	std::unique_ptr<hf::BlobHasher> hasher_;
	std::unique_ptr<BlockSink> sink_;  // while a response body may arrive
	int64_t on_disk_ = 0;
	int64_t accepted_ = 0;
	int64_t attempt_start_ = 0;
	std::string write_error_;
	bool oversized_ = false;
};

}  // namespace pgmlr::hf_fetch
