// Checksums of cache blobs: a blob's name is its checksum, and the name's
// length says which one (64 hex: SHA-256 of the content; 40 hex: git blob
// SHA-1 of "blob <size>\0" + content). Files are hashed in bounded chunks on
// a small pool of threads that never touch PostgreSQL and block every signal.
#pragma once
#include "common/core_only.hpp"

#include "common/error.hpp"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace pgmlr::hf {

enum class HashKind { sha256, git_sha1 };

inline constexpr size_t kHashChunk = 1 << 20;

// The algorithm a blob name implies; false when the name is neither.
bool hash_kind_for_blob(const std::string &blob, HashKind *kind);

std::string sha256_hex(std::string_view data);
std::string git_blob_sha1_hex(std::string_view data);

// Streams the file (O_NOFOLLOW, regular files only) through the hash.
// cancel, when set, stops it between chunks with ErrCode::Canceled.
Result<std::string> hash_file(const std::string &abs_path, HashKind kind, const std::atomic<bool> *cancel);

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

// Hashes every job on up to max_threads threads. The owner polls wait()
// and may cancel(); the destructor cancels and joins.
class Verifier {
public:
	Verifier(std::vector<VerifyJob> jobs, unsigned max_threads);
	~Verifier();
	Verifier(const Verifier &) = delete;
	Verifier &operator=(const Verifier &) = delete;

	// Starts the threads with every signal blocked (they inherit the mask).
	void start();
	// True once every thread has ended (results are then final).
	bool wait(int timeout_ms);
	void cancel() { cancel_.store(true); }

	const std::vector<VerifyJob> &jobs() const { return jobs_; }
	const std::vector<VerifyResult> &results() const { return results_; }
	unsigned thread_count() const { return static_cast<unsigned>(threads_.size()); }

private:
	void run();
	void join_all();

	std::vector<VerifyJob> jobs_;
	std::vector<VerifyResult> results_;
	unsigned max_threads_;
	std::vector<std::thread> threads_;
	std::atomic<size_t> next_{0};
	std::atomic<bool> cancel_{false};
	std::mutex mu_;
	std::condition_variable cv_;
	unsigned running_ = 0;
};

unsigned default_hash_threads();

}  // namespace pgmlr::hf
