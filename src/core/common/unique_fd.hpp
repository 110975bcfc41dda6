// A file descriptor closed when its owner goes away: the core's one guard
// for descriptors it opens and may return early from.
#pragma once
#include "common/core_only.hpp"

#include <unistd.h>

namespace pgmlr {

class UniqueFd {
public:
	explicit UniqueFd(int fd = -1) : fd_(fd) {}
	~UniqueFd() {
		if (fd_ >= 0) ::close(fd_);
	}
	UniqueFd(UniqueFd &&other) noexcept : fd_(other.release()) {}
	UniqueFd &operator=(UniqueFd &&other) noexcept {
		if (this != &other) {
			if (fd_ >= 0) ::close(fd_);
			fd_ = other.release();
		}
		return *this;
	}
	UniqueFd(const UniqueFd &) = delete;
	UniqueFd &operator=(const UniqueFd &) = delete;

	int get() const { return fd_; }
	int release() {
		int fd = fd_;
		fd_ = -1;
		return fd;
	}

private:
	int fd_;
};

}  // namespace pgmlr
