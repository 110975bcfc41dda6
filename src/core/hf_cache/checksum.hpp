// Checksums of cache blobs: a blob's name is its checksum, and the name's
// length says which one (64 hex: SHA-256 of the content; 40 hex: git blob
// SHA-1 of "blob <size>\0" + content). The one hasher and hex encoder of the
// core: the cache scan's Verifier and the prefetch fetcher both use it.
// Verification runs on the shared WorkPool, whose threads never touch
// PostgreSQL and block every signal.
#pragma once
#include "common/core_only.hpp"

#include "common/error.hpp"
#include "common/work_pool.hpp"

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace pgmlr::hf {

enum class HashKind { sha256, git_sha1 };

inline constexpr size_t kHashChunk = 1 << 20;

// The algorithm a blob name implies; false when the name is neither.
bool hash_kind_for_blob(const std::string &blob, HashKind *kind);

// Lower-case hex of n bytes.
std::string to_hex(const unsigned char *p, size_t n);

// A streaming hash of one blob of a known size (git's header needs it).
class BlobHasher {
public:
	BlobHasher(HashKind kind, int64_t size);
	BlobHasher(std::string_view blob, int64_t size);  // algorithm from blob's length: 40 git SHA-1, else SHA-256
	~BlobHasher();
	BlobHasher(const BlobHasher &) = delete;
	BlobHasher &operator=(const BlobHasher &) = delete;
	void reset();  // back to zero bytes hashed
	void update(const void *data, size_t n);  // never throws
	int64_t bytes() const { return bytes_; }
	std::string hex_digest();  // finishes; call reset() before reuse

private:
	struct Impl;
	std::unique_ptr<Impl> impl_;
	int64_t bytes_ = 0;
};

std::string sha256_hex(std::string_view data);
std::string git_blob_sha1_hex(std::string_view data);

// Streams the file (O_NOFOLLOW, regular files only) through the hash.
// cancel, when set, stops it between chunks with ErrCode::Canceled.
Result<std::string> hash_file(const std::string &abs_path, HashKind kind, const std::atomic<bool> *cancel);

// Feeds the first n bytes of fd (read with pread) into hasher.
Status hash_fd_prefix(int fd, int64_t n, BlobHasher &hasher);

// True when the file at path has the size and checksum its blob name says.
Result<bool> file_matches_blob(const std::string &path, std::string_view blob, int64_t size);

struct VerifyJob {
	std::string abs_path;
	std::string expected;  // the blob name
	int64_t size = 0;      // for scheduling only
};

enum class VerifyOutcome { pending, match, mismatch, unreadable, canceled };

struct VerifyResult {
	VerifyOutcome outcome = VerifyOutcome::pending;
	std::string actual;
	std::string error;
};

// Hashes every job on a WorkPool of up to max_threads threads. The owner
// polls wait() and may cancel(); the destructor cancels and waits.
class Verifier {
public:
	Verifier(std::vector<VerifyJob> jobs, unsigned max_threads);
	~Verifier();
	Verifier(const Verifier &) = delete;
	Verifier &operator=(const Verifier &) = delete;

	// Starts the pool's threads (with every signal blocked).
	void start();
	// True once every worker has ended (results are then final).
	bool wait(int timeout_ms);
	void cancel() { cancel_.store(true); }

	const std::vector<VerifyJob> &jobs() const { return jobs_; }
	const std::vector<VerifyResult> &results() const { return results_; }
	unsigned thread_count() const { return workers_; }

private:
	void run();

	std::vector<VerifyJob> jobs_;
	std::vector<VerifyResult> results_;
	unsigned max_threads_;
	unsigned workers_ = 0;
	std::atomic<size_t> next_{0};
	std::atomic<bool> cancel_{false};
	std::mutex mu_;
	std::condition_variable cv_;
	unsigned finished_ = 0;  // workers whose loop has ended (under mu_)
	std::unique_ptr<WorkPool> pool_;
};

unsigned default_hash_threads();

}  // namespace pgmlr::hf
