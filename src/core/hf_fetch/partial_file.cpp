// The partial file of one blob (see partial_file.hpp): open and resume,
// write through the BlockSink, keep a clean prefix or drop it.
#include "common/core_only.hpp"
#include "hf_fetch/partial_file.hpp"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hf_fetch/fs.hpp"
#include "hf_fetch/range_set.hpp"

namespace pgmlr::hf_fetch {
namespace {

// libcurl hands over at most CURL_MAX_WRITE_SIZE (16 KiB) per callback;
// gather that into large writes so the disk sees few, big requests.
constexpr size_t kWriteBlock = size_t{1} << 20;
constexpr size_t kQueuedBlocks = 2;  // per transfer, plus the one being filled and the one being written

}  // namespace

PartialFile::~PartialFile() {
	sink_.reset();  // stop the writer before its fd goes away
	if (fd_ >= 0) close(fd_);
}

std::string PartialFile::prepare(const std::string &path, const std::string &blob, int64_t size) {
	if (!hasher_) hasher_ = std::make_unique<hf::BlobHasher>(blob, size);
	if (fd_ < 0) return open_kept(path, blob, size);
	// Resume within this job: the file holds exactly on_disk bytes; the
	// hash must cover them. Re-hash from disk once if it does not.
	if (ftruncate(fd_, on_disk_) != 0 || lseek(fd_, on_disk_, SEEK_SET) != on_disk_)
		return std::string("could not prepare the resume: ") + std::strerror(errno);
	if (hasher_->bytes() != on_disk_) {
		hasher_->reset();
		if (Status st = hf::hash_fd_prefix(fd_, on_disk_, *hasher_)) return st->message;
	}
	return {};
}

// Opens (or creates) the partial file and positions it after the kept
// prefix, whose bytes are hashed again from disk.
std::string PartialFile::open_kept(const std::string &path, const std::string &blob, int64_t size) {
	path_ = path;
	flatten_to_prefix(path_, blob, size);  // a ranged download's file becomes a plain prefix
	int64_t found = 0;
	int fd = open_plain_file(path_, &found);  // a planted link or other odd file is replaced
	if (fd < 0) {
		std::string why = std::string("could not create a temporary file: ") + std::strerror(errno);
		path_.clear();
		return why;
	}
	fd_ = fd;
	on_disk_ = 0;
	hasher_->reset();
	int64_t kept = found > size ? 0 : found;  // longer: not a prefix of this blob
	if (kept > 0 && hf::hash_fd_prefix(fd, kept, *hasher_)) {
		hasher_->reset();
		kept = 0;  // unreadable: start over
	}
	// A new, empty file (the usual case) needs neither call.
	if ((found != kept && ftruncate(fd, kept) != 0) || (kept > 0 && lseek(fd, kept, SEEK_SET) != kept)) {
		std::string why = std::string("could not prepare the download: ") + std::strerror(errno);
		drop();
		return why;
	}
	on_disk_ = kept;
	return {};
}

void PartialFile::begin_attempt(int64_t expected) {
	sink_ = std::make_unique<BlockSink>(fd_, hasher_.get(), kWriteBlock, kQueuedBlocks, expected);
	accepted_ = on_disk_;
	write_error_.clear();
	oversized_ = false;
	attempt_start_ = on_disk_;
}

bool PartialFile::restart() {
	if (!settle()) return false;
	if (ftruncate(fd_, 0) != 0 || lseek(fd_, 0, SEEK_SET) != 0) {
		write_error_ = std::string("could not truncate the download: ") + std::strerror(errno);
		return false;
	}
	on_disk_ = 0;
	accepted_ = 0;
	attempt_start_ = 0;
	hasher_->reset();
	sink_ = std::make_unique<BlockSink>(fd_, hasher_.get(), kWriteBlock, kQueuedBlocks);
	return true;
}

bool PartialFile::append(const char *data, size_t n, int64_t size) {
	if (accepted_ + static_cast<int64_t>(n) > size) {
		write_error_ = "the server sent more bytes than the manifest size";
		oversized_ = true;
		return false;
	}
	if (!sink_ || !sink_->append(data, n)) {
		write_error_ = sink_ ? sink_->error() : "no download is being written";
		return false;
	}
	accepted_ += static_cast<int64_t>(n);
	return true;
}

bool PartialFile::settle() {
	if (!sink_) return write_error_.empty();
	bool ok = sink_->drain();
	on_disk_ += sink_->written();
	if (!ok && write_error_.empty()) write_error_ = sink_->error();
	sink_.reset();
	accepted_ = on_disk_;
	return ok;
}

void PartialFile::drop() {
	sink_.reset();  // stop the writer before its fd goes away
	if (fd_ >= 0) close(fd_);
	fd_ = -1;
	if (!path_.empty()) unlink(path_.c_str());
	path_.clear();
	on_disk_ = 0;
	accepted_ = 0;
	if (hasher_) hasher_->reset();
}

// The kept bytes are a clean prefix (written in order by one thread, synced
// here). The final checksum still guards every byte, so a prefix damaged
// later (power loss before the sync) can only cost a restart from zero,
// never a wrong blob.
void PartialFile::keep() {
	bool ok = settle();
	if (fd_ >= 0 && ok && on_disk_ > 0 && fdatasync(fd_) == 0) {
		close(fd_);
		fd_ = -1;
		path_.clear();
		on_disk_ = 0;
		accepted_ = 0;
		if (hasher_) hasher_->reset();
		return;
	}
	drop();
}

void PartialFile::adopt(int fd, std::string path, std::unique_ptr<hf::BlobHasher> hasher, int64_t size,
						int64_t attempt_start) {
	sink_.reset();
	if (fd_ >= 0) close(fd_);
	fd_ = fd;
	path_ = std::move(path);
	hasher_ = std::move(hasher);
	on_disk_ = accepted_ = size;
	attempt_start_ = attempt_start;
	write_error_.clear();
	oversized_ = false;
}

int PartialFile::hand_over(std::string *path) {
	int fd = fd_;
	*path = std::move(path_);
	fd_ = -1;
	path_.clear();
	return fd;
}

std::string PartialFile::hex_digest() {
	std::string digest = hasher_->hex_digest();
	hasher_->reset();
	return digest;
}

}  // namespace pgmlr::hf_fetch
