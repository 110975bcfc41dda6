// The disk side of a ranged download: one thread writes the blocks that the
// streams hand in at their offsets (pwrite, out of order) and hashes the
// file's contiguous prefix in order behind them (SHA-256 is sequential):
// a block that lands right at the hashed frontier is hashed from memory,
// bytes that arrived earlier further on are read back from the file (the
// page cache) in bounded chunks once the gap before them is filled. On the
// same thread it records the written intervals in the sidecar (data file
// synced first) when asked. Memory: at most max_queued blocks plus one
// read-back chunk, whatever the file size.
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
#include "hf_fetch/range_set.hpp"

namespace pgmlr::hf_fetch {

class RangedWriter {
public:
	// fd: the partial file (read and write); written: the intervals already
	// in it (the hasher starts at zero and first hashes their prefix).
	RangedWriter(int fd, hf::BlobHasher *hasher, RangeSet written, std::string sidecar, std::string blob, int64_t size,
				 size_t max_queued);
	~RangedWriter();  // stops the thread; blocks still queued are dropped
	RangedWriter(const RangedWriter &) = delete;
	RangedWriter &operator=(const RangedWriter &) = delete;

	// Queues block for offset; waits while the queue is full. false once a
	// write failed.
	bool put(int64_t offset, std::vector<char> &&block);
	std::vector<char> spare_block(size_t capacity);  // a used buffer, cleared, or a new one
	// Waits until every queued block is written and the hash has caught up
	// with the contiguous prefix. false on a write or read error.
	bool drain();
	// The thread writes the sidecar soon (after a sync of the file).
	void request_checkpoint();
	// drain(), then sync and write the sidecar on the caller's thread.
	std::string checkpoint_now();
	RangeSet written();
	int64_t hashed();
	std::string error();

private:
	struct Block {
		int64_t offset;
		std::vector<char> data;
	};
	void run();
	bool write_block(const Block &b);
	bool hash_forward(const Block *b);
	std::string checkpoint(const RangeSet &snapshot);
	void fail(const std::string &why);

	int fd_;
	hf::BlobHasher *hasher_;
	std::string sidecar_, blob_;
	int64_t size_;
	size_t max_queued_;
	std::mutex m_;
	std::condition_variable work_cv_, idle_cv_;
	std::deque<Block> queue_;
	std::vector<std::vector<char>> spare_;
	RangeSet written_;
	int64_t hashed_ = 0;  // only the thread writes it (under m_)
	bool stop_ = false;
	bool busy_ = false;
	bool failed_ = false;
	bool checkpoint_wanted_ = false;
	std::string error_;
	std::vector<char> readback_;
	std::thread thread_;
};

}  // namespace pgmlr::hf_fetch
