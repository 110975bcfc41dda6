// Implements hf_fetch/sink.hpp; what it is for is said at the top of that header.
#include "common/core_only.hpp"
#include "hf_fetch/sink.hpp"

#include "common/quiet_thread.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <unistd.h>

namespace pgmlr::hf_fetch {

BlockSink::BlockSink(int fd, hf::BlobHasher *hasher, size_t block_size, size_t max_queued, int64_t expected)
	: fd_(fd),
	  hasher_(hasher),
	  block_size_(block_size),
	  max_queued_(max_queued),
	  direct_(expected > 0 && static_cast<uint64_t>(expected) <= block_size) {}

// The thread starts with the first full block, so a body that turns out
// smaller than one block is written by drain() without a thread.
void BlockSink::start_thread() { thread_ = start_quiet_thread([this] { run(); }); }

BlockSink::~BlockSink() {
	{
		std::lock_guard<std::mutex> lk(m_);
		stop_ = true;
	}
	work_cv_.notify_all();
	if (thread_.joinable()) thread_.join();
}

void BlockSink::push_current(std::unique_lock<std::mutex> &lk) {
	if (!thread_.joinable()) start_thread();
	space_cv_.wait(lk, [&] { return queue_.size() < max_queued_ || failed_; });
	if (failed_) return;
	queue_.push_back(std::move(current_));
	if (!spare_.empty()) {
		current_ = std::move(spare_.back());
		spare_.pop_back();
	} else {
		current_ = std::vector<char>();
	}
	current_.clear();
	current_.reserve(block_size_);
	work_cv_.notify_one();
}

bool BlockSink::append(const char *data, size_t n) {
	if (direct_) {
		// No thread ever runs in this mode, so nothing else touches the state.
		if (!failed_) write_block(data, n);
		return !failed_;
	}
	std::unique_lock<std::mutex> lk(m_, std::defer_lock);
	// current_ is only touched by the caller's thread; the lock guards the queue.
	if (current_.capacity() == 0) current_.reserve(std::min(block_size_, std::max<size_t>(n, 64 * 1024)));
	current_.insert(current_.end(), data, data + n);
	if (current_.size() < block_size_) {
		lk.lock();
		return !failed_;
	}
	lk.lock();
	push_current(lk);
	return !failed_;
}

bool BlockSink::drain() {
	if (!thread_.joinable()) {
		// No thread was ever started, so nothing else touches the state.
		if (!current_.empty() && !failed_) write_block(current_.data(), current_.size());
		current_.clear();
		return !failed_;
	}
	std::unique_lock<std::mutex> lk(m_);
	if (!current_.empty() && !failed_) push_current(lk);
	space_cv_.wait(lk, [&] { return (queue_.empty() && !busy_) || failed_; });
	if (failed_) {
		// The thread stops at the first error; wait until it is idle.
		space_cv_.wait(lk, [&] { return !busy_; });
	}
	return !failed_;
}

int64_t BlockSink::written() {
	std::lock_guard<std::mutex> lk(m_);
	return written_;
}

std::string BlockSink::error() {
	std::lock_guard<std::mutex> lk(m_);
	return error_;
}

// Writes and hashes one block (or, direct, one piece); records a failure.
// Called by the thread without the lock, or by drain() and a direct
// append() when no thread runs.
void BlockSink::write_block(const char *data, size_t n) {
	std::string err;
	off_t start = n >= block_size_ ? lseek(fd_, 0, SEEK_CUR) : -1;  // for the writeback below
	size_t off = 0;
	while (off < n) {
		ssize_t w = write(fd_, data + off, n - off);
		if (w < 0 && errno == EINTR) continue;
		if (w < 0) {
			err = std::string("could not write the download: ") + std::strerror(errno);
			break;
		}
		off += static_cast<size_t>(w);
	}
#ifdef __linux__
	// Start writeback now, so the final fsync finds little left to do and a
	// large download never piles up gigabytes of dirty pages (PostgreSQL's
	// own writeback flushing does the same).
	if (err.empty() && start >= 0 && n >= block_size_) sync_file_range(fd_, start, static_cast<off_t>(n), SYNC_FILE_RANGE_WRITE);
#endif
	if (err.empty()) hasher_->update(data, n);
	std::lock_guard<std::mutex> lk(m_);
	if (err.empty()) {
		written_ += static_cast<int64_t>(n);
	} else {
		failed_ = true;
		error_ = err;
		queue_.clear();
	}
}

void BlockSink::run() {
	std::unique_lock<std::mutex> lk(m_);
	while (true) {
		work_cv_.wait(lk, [&] { return stop_ || (!queue_.empty() && !failed_); });
		if (stop_) return;
		std::vector<char> block = std::move(queue_.front());
		queue_.pop_front();
		busy_ = true;
		lk.unlock();
		space_cv_.notify_all();
		write_block(block.data(), block.size());
		lk.lock();
		busy_ = false;
		block.clear();
		if (spare_.size() < 2) spare_.push_back(std::move(block));
		space_cv_.notify_all();
	}
}

}  // namespace pgmlr::hf_fetch
