// Takes a download's bytes off libcurl's thread: the caller appends small
// pieces; full blocks (a few MiB) go through a bounded queue to a thread that
// writes them and feeds the hasher. A body known to fit in one block is
// written and hashed by append() itself, piece by piece, on the caller's
// thread: for thousands of small files no thread, no buffer and no copy
// per file. Memory stays at most (max_queued + 1) blocks whatever the file
// size, and a slow disk slows the transfer down instead of growing a buffer.
#pragma once
#include "common/core_only.hpp"

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "hf_cache/checksum.hpp"

namespace pgmlr::hf_fetch {

class BlockSink {
public:
	// Writes at the current offset of fd; hasher must already cover the
	// bytes before it. The thread starts with every signal blocked.
	// expected: the bytes still to come, if known (0: unknown); a body
	// smaller than a block then fills one buffer of its size.
	BlockSink(int fd, hf::BlobHasher *hasher, size_t block_size, size_t max_queued, int64_t expected = 0);
	~BlockSink();  // stops the thread; blocks still queued are dropped
	BlockSink(const BlockSink &) = delete;
	BlockSink &operator=(const BlockSink &) = delete;

	bool append(const char *data, size_t n);  // false once a write failed
	// Queues the partial block and waits until every block is written and
	// hashed. Afterwards the caller may touch fd and hasher again.
	bool drain();
	int64_t written();  // bytes written by this sink
	std::string error();

private:
	void start_thread();
	void write_block(const char *data, size_t n);
	void run();
	void push_current(std::unique_lock<std::mutex> &lk);

	int fd_;
	hf::BlobHasher *hasher_;
	size_t block_size_;
	size_t max_queued_;
	bool direct_;  // the body fits in a block: append() writes it at once
	std::mutex m_;
	std::condition_variable work_cv_, space_cv_;
	std::deque<std::vector<char>> queue_;
	std::vector<std::vector<char>> spare_;
	std::vector<char> current_;
	bool stop_ = false;
	bool busy_ = false;
	bool failed_ = false;
	std::string error_;
	int64_t written_ = 0;
	std::thread thread_;
};

}  // namespace pgmlr::hf_fetch
