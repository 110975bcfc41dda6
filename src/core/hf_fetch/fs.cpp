// Implements hf_fetch/fs.hpp; what it is for is said at the top of that header.
#include "common/core_only.hpp"
#include "hf_fetch/fs.hpp"

#include "hf_cache/layout.hpp"

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <random>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

namespace pgmlr::hf_fetch {
namespace {

Error io_error(const std::string &what, const std::string &path, int err) {
	return make_error(ErrCode::Io, what, "Path \"" + path + "\": " + std::strerror(err) + ".");
}

bool inside(const std::string &root, const std::string &p) { return p == root || hf::path_below(root, p); }

// Moves our temp file over final_path; on failure the temp file goes.
Status rename_or_unlink(const std::string &tmp, const std::string &final_path, const char *what) {
	if (rename(tmp.c_str(), final_path.c_str()) == 0) return {};
	int err = errno;
	unlink(tmp.c_str());
	return io_error(what, final_path, err);
}

}  // namespace

Result<std::string> real_cache_root(const std::string &cache_root) {
	char buf[PATH_MAX];
	if (!realpath(cache_root.c_str(), buf)) return io_error("could not resolve the cache folder", cache_root, errno);
	struct stat sb;
	if (stat(buf, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return make_error(ErrCode::Io, "the cache folder is not a directory", "Path \"" + cache_root + "\".");
	return std::string(buf);
}

Status check_contained(const std::string &root, const std::string &rel, bool last_is_dir) {
	std::string cur = root;
	size_t start = 0;
	while (start < rel.size()) {
		size_t end = rel.find('/', start);
		bool last = end == std::string::npos;
		if (last) end = rel.size();
		cur += '/';
		cur.append(rel, start, end - start);
		start = end + 1;
		struct stat sb;
		if (lstat(cur.c_str(), &sb) != 0) {
			if (errno == ENOENT) return {};
			return io_error("could not inspect a cache path", cur, errno);
		}
		if (S_ISLNK(sb.st_mode)) {
			char buf[PATH_MAX];
			if (!realpath(cur.c_str(), buf) || !inside(root, buf))
				return make_error(ErrCode::Permission, "refusing to write through a symlink leading outside the cache",
								  "Path \"" + cur + "\" is a symbolic link whose target is outside \"" + root + "\".",
								  "Remove the link or point it inside the cache folder.");
			if (stat(cur.c_str(), &sb) != 0) return io_error("could not inspect a cache path", cur, errno);
		}
		if ((!last || last_is_dir) && !S_ISDIR(sb.st_mode))
			return make_error(ErrCode::Io, "a cache path that should be a folder is not one", "Path \"" + cur + "\".");
	}
	return {};
}

Status make_dirs(const std::string &root, const std::string &rel) {
	if (Status st = check_contained(root, rel, true)) return st;
	std::string cur = root;
	size_t start = 0;
	while (start < rel.size()) {
		size_t end = rel.find('/', start);
		if (end == std::string::npos) end = rel.size();
		cur += '/';
		cur.append(rel, start, end - start);
		start = end + 1;
		if (mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST) return io_error("could not create a cache folder", cur, errno);
	}
	// A concurrent writer could have planted a link between check and mkdir.
	return check_contained(root, rel, true);
}

Status fsync_dir(const std::string &dir) {
	int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) return io_error("could not open a folder to sync it", dir, errno);
	int rc = fsync(fd);
	int err = errno;
	close(fd);
	if (rc != 0 && err != EINVAL) return io_error("could not sync a folder", dir, err);
	return {};
}

std::string random_hex(size_t n) {
	static thread_local std::mt19937_64 rng{std::random_device{}()};
	static const char *hex = "0123456789abcdef";
	std::string out;
	for (size_t i = 0; i < n; ++i) out += hex[rng() & 15];
	return out;
}

Status write_file_atomic(const std::string &dir, const std::string &name, const std::string &content) {
	std::string final_path = dir + "/" + name;
	std::string tmp = final_path + "." + random_hex(16) + ".pgml.tmp";
	int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) return io_error("could not create a temporary file", tmp, errno);
	size_t off = 0;
	while (off < content.size()) {
		ssize_t n = write(fd, content.data() + off, content.size() - off);
		if (n < 0 && errno == EINTR) continue;
		if (n < 0) {
			int err = errno;
			close(fd);
			unlink(tmp.c_str());
			return io_error("could not write a temporary file", tmp, err);
		}
		off += static_cast<size_t>(n);
	}
	if (fsync(fd) != 0 || close(fd) != 0) {
		int err = errno;
		unlink(tmp.c_str());
		return io_error("could not sync a temporary file", tmp, err);
	}
	if (Status st = rename_or_unlink(tmp, final_path, "could not rename a temporary file")) return st;
	return fsync_dir(dir);
}

Status create_symlink_atomic(const std::string &dir, const std::string &name, const std::string &target, bool *created) {
	*created = false;
	std::string final_path = dir + "/" + name;
	struct stat sb;
	if (lstat(final_path.c_str(), &sb) == 0) return {};
	std::string tmp = dir + "/." + name + "." + random_hex(16) + ".pgml.tmp";
	if (symlink(target.c_str(), tmp.c_str()) != 0) return io_error("could not create a symbolic link", tmp, errno);
	// link() would refuse an existing name but cannot take a symlink's
	// identity portably; a racing writer would have made the same link.
	if (lstat(final_path.c_str(), &sb) == 0) {
		unlink(tmp.c_str());
		return {};
	}
	if (Status st = rename_or_unlink(tmp, final_path, "could not rename a symbolic link")) return st;
	*created = true;
	return fsync_dir(dir);
}

int open_plain_file(const std::string &path, int64_t *size) {
	int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	struct stat sb;
	if (fd >= 0 && (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))) {
		close(fd);
		fd = -1;
		errno = EINVAL;
	}
	if (fd < 0 && errno != ENOENT && errno != ENOSPC && errno != EROFS && errno != EDQUOT) {
		unlink(path.c_str());
		fd = open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	}
	if (fd >= 0 && fstat(fd, &sb) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	if (fd >= 0) *size = static_cast<int64_t>(sb.st_size);
	return fd;
}

Result<int64_t> free_bytes(const std::string &path) {
	struct statvfs vfs;
	if (statvfs(path.c_str(), &vfs) != 0) return io_error("could not read free disk space", path, errno);
	return static_cast<int64_t>(vfs.f_bavail) * static_cast<int64_t>(vfs.f_frsize);
}

Status BlobLock::try_acquire(const std::string &lock_path, bool *busy) {
	*busy = false;
	if (fd_ >= 0) return {};
	int fd = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) return io_error("could not open a blob lock file", lock_path, errno);
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int err = errno;
		close(fd);
		if (err == EWOULDBLOCK || err == EINTR) {
			*busy = true;
			return {};
		}
		return io_error("could not lock a blob lock file", lock_path, err);
	}
	fd_ = fd;
	return {};
}

void BlobLock::release() {
	if (fd_ < 0) return;
	flock(fd_, LOCK_UN);
	close(fd_);
	fd_ = -1;
}

}  // namespace pgmlr::hf_fetch
