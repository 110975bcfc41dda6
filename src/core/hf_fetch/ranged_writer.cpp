// Implements hf_fetch/ranged_writer.hpp; what it is for is said at the top of that header.
#include "common/core_only.hpp"
#include "hf_fetch/ranged_writer.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <unistd.h>

#include "common/quiet_thread.hpp"

namespace pgmlr::hf_fetch {
namespace {

constexpr size_t kReadBack = size_t{512} << 10;

}  // namespace

RangedWriter::RangedWriter(int fd, hf::BlobHasher *hasher, RangeSet written, std::string sidecar, std::string blob,
						   int64_t size, size_t max_queued)
	: fd_(fd),
	  hasher_(hasher),
	  sidecar_(std::move(sidecar)),
	  blob_(std::move(blob)),
	  size_(size),
	  max_queued_(std::max<size_t>(max_queued, 1)),
	  written_(std::move(written)) {
	hasher_->reset();
	thread_ = start_quiet_thread([this] { run(); });
}

RangedWriter::~RangedWriter() {
	{
		std::lock_guard<std::mutex> lk(m_);
		stop_ = true;
	}
	work_cv_.notify_all();
	if (thread_.joinable()) thread_.join();
}

bool RangedWriter::put(int64_t offset, std::vector<char> &&block) {
	std::unique_lock<std::mutex> lk(m_);
	idle_cv_.wait(lk, [&] { return queue_.size() < max_queued_ || failed_; });
	if (failed_) return false;
	queue_.push_back(Block{offset, std::move(block)});
	work_cv_.notify_one();
	return true;
}

std::vector<char> RangedWriter::spare_block(size_t capacity) {
	std::vector<char> b;
	{
		std::lock_guard<std::mutex> lk(m_);
		if (!spare_.empty()) {
			b = std::move(spare_.back());
			spare_.pop_back();
		}
	}
	b.clear();
	b.reserve(capacity);
	return b;
}

bool RangedWriter::drain() {
	std::unique_lock<std::mutex> lk(m_);
	idle_cv_.wait(lk, [&] { return failed_ || (queue_.empty() && !busy_ && hashed_ == written_.prefix_end()); });
	if (failed_) idle_cv_.wait(lk, [&] { return !busy_; });
	return !failed_;
}

void RangedWriter::request_checkpoint() {
	{
		std::lock_guard<std::mutex> lk(m_);
		checkpoint_wanted_ = true;
	}
	work_cv_.notify_one();
}

std::string RangedWriter::checkpoint_now() {
	if (!drain()) return error();
	RangeSet snapshot;
	{
		std::lock_guard<std::mutex> lk(m_);
		checkpoint_wanted_ = false;
		snapshot = written_;
	}
	return checkpoint(snapshot);
}

RangeSet RangedWriter::written() {
	std::lock_guard<std::mutex> lk(m_);
	return written_;
}

int64_t RangedWriter::hashed() {
	std::lock_guard<std::mutex> lk(m_);
	return hashed_;
}

std::string RangedWriter::error() {
	std::lock_guard<std::mutex> lk(m_);
	return error_;
}

void RangedWriter::fail(const std::string &why) {
	std::lock_guard<std::mutex> lk(m_);
	if (!failed_) error_ = why;
	failed_ = true;
	queue_.clear();
}

// Only the bytes of the snapshot taken before the sync are recorded, so the
// sidecar never names bytes that are not on disk.
std::string RangedWriter::checkpoint(const RangeSet &snapshot) {
	std::string text = format_sidecar(blob_, size_, snapshot);
	if (fdatasync(fd_) != 0) return std::string("could not sync the download: ") + std::strerror(errno);
	return write_sidecar(sidecar_, text);
}

bool RangedWriter::write_block(const Block &b) {
	size_t off = 0;
	while (off < b.data.size()) {
		ssize_t w = pwrite(fd_, b.data.data() + off, b.data.size() - off, static_cast<off_t>(b.offset + off));
		if (w < 0 && errno == EINTR) continue;
		if (w <= 0) {
			fail(std::string("could not write the download: ") + std::strerror(w < 0 ? errno : ENOSPC));
			return false;
		}
		off += static_cast<size_t>(w);
	}
#ifdef __linux__
	// Start writeback now, as the single-stream sink does: the final fsync
	// finds little left and gigabytes of dirty pages never pile up.
	sync_file_range(fd_, b.offset, static_cast<off_t>(b.data.size()), SYNC_FILE_RANGE_WRITE);
#endif
	return true;
}

// Hashes forward to the end of the contiguous prefix: from b's memory where
// it covers the frontier, else read back from the file.
bool RangedWriter::hash_forward(const Block *b) {
	int64_t target;
	int64_t at;
	{
		std::lock_guard<std::mutex> lk(m_);
		target = written_.prefix_end();
		at = hashed_;
	}
	while (at < target) {
		int64_t n;
		if (b && b->offset <= at && at < b->offset + static_cast<int64_t>(b->data.size())) {
			n = std::min<int64_t>(target, b->offset + static_cast<int64_t>(b->data.size())) - at;
			hasher_->update(b->data.data() + (at - b->offset), static_cast<size_t>(n));
		} else {
			if (readback_.size() < kReadBack) readback_.resize(kReadBack);
			n = std::min<int64_t>(target - at, static_cast<int64_t>(kReadBack));
			ssize_t r = pread(fd_, readback_.data(), static_cast<size_t>(n), static_cast<off_t>(at));
			if (r < 0 && errno == EINTR) continue;
			if (r <= 0) {
				fail(std::string("could not read the download back for hashing: ") +
					 (r < 0 ? std::strerror(errno) : "the file is shorter than its written ranges"));
				return false;
			}
			n = r;
			hasher_->update(readback_.data(), static_cast<size_t>(n));
		}
		at += n;
		std::lock_guard<std::mutex> lk(m_);
		hashed_ = at;
	}
	return true;
}

void RangedWriter::run() {
	// A resumed file: hash its written prefix first.
	{
		std::unique_lock<std::mutex> lk(m_);
		busy_ = true;
	}
	bool ok = hash_forward(nullptr);
	std::unique_lock<std::mutex> lk(m_);
	busy_ = false;
	idle_cv_.notify_all();
	while (ok) {
		work_cv_.wait(lk, [&] { return stop_ || (!failed_ && (!queue_.empty() || checkpoint_wanted_)); });
		if (stop_) return;
		if (checkpoint_wanted_) {
			checkpoint_wanted_ = false;
			RangeSet snapshot = written_;
			busy_ = true;
			lk.unlock();
			checkpoint(snapshot);  // a failed checkpoint only costs resume precision
			lk.lock();
			busy_ = false;
			idle_cv_.notify_all();
			continue;
		}
		Block b = std::move(queue_.front());
		queue_.pop_front();
		busy_ = true;
		lk.unlock();
		idle_cv_.notify_all();
		ok = write_block(b);
		if (ok) {
			{
				std::lock_guard<std::mutex> g(m_);
				written_.add(b.offset, b.offset + static_cast<int64_t>(b.data.size()));
			}
			ok = hash_forward(&b);
		}
		lk.lock();
		busy_ = false;
		b.data.clear();
		if (spare_.size() < 4) spare_.push_back(std::move(b.data));
		idle_cv_.notify_all();
	}
}

}  // namespace pgmlr::hf_fetch
