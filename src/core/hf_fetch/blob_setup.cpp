// Implements hf_fetch/blob_setup.hpp; what it is for is said at the top of that header.
#include "common/core_only.hpp"
#include "hf_fetch/blob_setup.hpp"

#include <cerrno>
#include <cstring>

#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "hf_cache/checksum.hpp"
#include "hf_fetch/range_set.hpp"
#include "hf_fetch/ranged_download.hpp"

namespace pgmlr::hf_fetch {

BlobSetupOutcome setup_blob(const BlobSetupArgs &a, BlobLock &lock, PartialFile &file) {
	using Kind = BlobSetupOutcome::Kind;
	bool busy = false;
	if (Status st = lock.try_acquire(a.lock_path, &busy)) return {Kind::failed, st->message + " " + st->detail};
	if (busy) return {Kind::busy, {}};
	// Another writer may have finished the blob while we waited for the lock.
	// Same test as planning (size; checksum only with verify_present), so a
	// set-up never hashes a large foreign file unasked.
	struct stat sb;
	if (stat(a.final_path.c_str(), &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size == a.size) {
		Result<bool> ok = a.verify_present ? hf::file_matches_blob(a.final_path, a.blob, a.size) : Result<bool>(true);
		if (ok && *ok) {
			file.drop();
			unlink(a.partial_path.c_str());  // a leftover of ours, now useless
			unlink(sidecar_path_for(a.partial_path).c_str());
			lock.release();
			return {Kind::present, {}};
		}
	}
	std::string why = a.ranged ? a.ranged->open(a.partial_path, a.blob, a.size) : file.prepare(a.partial_path, a.blob, a.size);
	if (!why.empty()) return {Kind::failed, why};
	return {Kind::ready, {}};
}

std::string FreeSpaceGate::refresh(const std::string &dir, Fs &fs) {
	struct statvfs vfs;
	readings_++;
	if (statvfs(dir.c_str(), &vfs) != 0)
		return "could not read free disk space: Path \"" + dir + "\": " + std::strerror(errno) + ".";
	fs.avail = static_cast<int64_t>(vfs.f_bavail) * static_cast<int64_t>(vfs.f_frsize);
	fs.reserved = 0;
	fs.read_at = Clock::now();
	return {};
}

std::string FreeSpaceGate::reserve(const std::string &dir, int64_t needed) {
	if (needed < 0) needed = 0;
	auto known = fsid_of_dir_.find(dir);
	Fs *fs = nullptr;
	if (known == fsid_of_dir_.end()) {
		// First time this folder: one reading tells its file system apart.
		struct statvfs vfs;
		readings_++;
		if (statvfs(dir.c_str(), &vfs) != 0)
			return "could not read free disk space: Path \"" + dir + "\": " + std::strerror(errno) + ".";
		fsid_of_dir_[dir] = vfs.f_fsid;
		fs = &fs_[vfs.f_fsid];
		fs->avail = static_cast<int64_t>(vfs.f_bavail) * static_cast<int64_t>(vfs.f_frsize);
		fs->reserved = 0;
		fs->read_at = Clock::now();
	} else {
		fs = &fs_[known->second];
		bool stale = Clock::now() - fs->read_at > std::chrono::milliseconds(kMaxAgeMs);
		bool would_refuse = fs->avail - fs->reserved - needed < min_free_;
		if (stale || would_refuse || fs->reserved + needed > kSlackBytes)
			if (std::string why = refresh(dir, *fs); !why.empty()) return why;
	}
	int64_t avail = fs->avail - fs->reserved;
	if (avail - needed < min_free_)
		return "not enough free disk space: " + std::to_string(needed) + " bytes needed, " + std::to_string(avail) +
			   " available, " + std::to_string(min_free_) + " must stay free";
	fs->reserved += needed;
	return {};
}

}  // namespace pgmlr::hf_fetch
