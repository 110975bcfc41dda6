// Implements hf_fetch/durable_batch.hpp; what it is for, and the order that
// keeps a crash harmless, is said at the top of that header.
#include "common/core_only.hpp"
#include "hf_fetch/durable_batch.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <set>

#include <fcntl.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "hf_fetch/fs.hpp"

namespace pgmlr::hf_fetch {
namespace {

std::mutex g_epoch_sync;  // one syncfs at a time per process: its error report goes to one caller only

Error io(const std::string &what, int err) { return make_error(ErrCode::Io, what + std::strerror(err)); }

std::string parent_of(const std::string &rel) {
	size_t slash = rel.rfind('/');
	return slash == std::string::npos ? std::string() : rel.substr(0, slash);
}

// check_contained once per folder and batch: thousands of files share a
// few folders. A rename or symlink replaces a link at the last component
// instead of following it, so the folders are what must stay inside.
class Containment {
public:
	explicit Containment(const std::string &root) : root_(root) {}
	Status check(const std::string &rel_dir) {
		auto it = seen_.find(rel_dir);
		if (it != seen_.end()) return it->second;
		Status st = check_contained(root_, rel_dir, true);
		seen_.emplace(rel_dir, st);
		return st;
	}

private:
	const std::string &root_;
	std::map<std::string, Status> seen_;
};

}  // namespace

SyncEpoch::SyncEpoch(const std::string &root) {
	fd_ = open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd_ < 0) open_errno_ = errno;
}

SyncEpoch::~SyncEpoch() {
	if (fd_ >= 0) close(fd_);
}

Status SyncEpoch::sync() {
	if (fd_ < 0) return io("could not open the cache folder to sync it: ", open_errno_);
	std::lock_guard<std::mutex> lk(g_epoch_sync);
	if (int err = failed_errno_.load()) return io("could not sync the cache's file system: ", err);
	if (syncfs(fd_) != 0) {
		int err = errno;
		failed_errno_ = err;  // sticky: later batches of this epoch fail too
		return io("could not sync the cache's file system: ", err);
	}
	return {};
}

bool syncfs_reports_errors() {
	static const bool ok = [] {
		struct utsname u;
		int major = 0, minor = 0;
		if (uname(&u) != 0 || std::sscanf(u.release, "%d.%d", &major, &minor) != 2) return false;
		return major > 5 || (major == 5 && minor >= 8);
	}();
	return ok;
}

Status create_symlink_once(const std::string &dir, const std::string &name, const std::string &target, bool *created) {
	*created = false;
	std::string path = dir + "/" + name;
	if (symlink(target.c_str(), path.c_str()) == 0) {
		*created = true;
		return {};
	}
	if (errno == EEXIST) return {};  // another writer made it (the same link: the name is the blob's content)
	return make_error(ErrCode::Io, "could not create a symbolic link",
					  "Path \"" + path + "\": " + std::strerror(errno) + ".");
}

void DurableBatch::run() {
	auto note = [&](const std::string &s) {
		if (trace) trace(s);
	};
	Containment contained(root);

	// 1. The temp files' bytes and inodes.
	std::vector<BatchBlob *> files;
	for (BatchBlob &b : blobs)
		if (b.fd >= 0) files.push_back(&b);
	if (!files.empty()) {
		std::map<SyncEpoch *, Status> synced;
		for (BatchBlob *b : files) {
			if (use_syncfs && b->epoch) {
				auto it = synced.find(b->epoch.get());
				if (it == synced.end()) it = synced.emplace(b->epoch.get(), b->epoch->sync()).first;
				b->result = it->second;
			} else if (fsync(b->fd) != 0) {
				b->result = io("could not sync the download: ", errno);
			}
		}
		note("sync-data");
		for (BatchBlob *b : files) {
			close(b->fd);  // exactly once: the number may belong to another file right after
			b->fd = -1;
			if (b->result) unlink(b->temp.c_str());
		}
	}

	// 2. Into place, 3. synced. The epoch opens before the renames, so it
	// reports any write error of theirs.
	std::unique_ptr<SyncEpoch> renames_epoch;
	if (use_syncfs) renames_epoch = std::make_unique<SyncEpoch>(root);
	std::map<std::string, std::vector<BatchBlob *>> renamed;  // by folder
	for (BatchBlob *b : files) {
		if (b->result) continue;
		std::string rel_dir = parent_of(b->rel);
		if (Status st = contained.check(rel_dir)) {
			b->result = make_error(st->code, st->message + " " + st->detail);
		} else if (rename(b->temp.c_str(), (root + "/" + b->rel).c_str()) != 0) {
			b->result = io("could not publish the blob: ", errno);
		} else {
			note("rename " + b->rel);
			renamed[rel_dir].push_back(b);
			continue;
		}
		unlink(b->temp.c_str());
	}
	if (!renamed.empty()) {
		if (use_syncfs) {
			if (Status st = renames_epoch->sync())
				for (auto &[dir, list] : renamed)
					for (BatchBlob *b : list) b->result = st;
		} else {
			for (auto &[dir, list] : renamed)
				if (Status st = fsync_dir(root + "/" + dir))
					for (BatchBlob *b : list) b->result = st;
		}
		note("sync-renames");
	}

	// 4. The snapshot links of every blob now durably in place, 5. synced.
	std::unique_ptr<SyncEpoch> links_epoch;
	if (use_syncfs) links_epoch = std::make_unique<SyncEpoch>(root);
	std::map<std::string, std::vector<BatchLink *>> created;  // by absolute folder
	for (BatchBlob &b : blobs) {
		if (b.result) continue;
		for (BatchLink &l : b.links) {
			l.result = contained.check(l.rel_dir);
			if (!l.result) l.result = create_symlink_once(l.dir, l.name, l.target, &l.created);
			if (l.created) {
				note("link " + l.rel_dir + "/" + l.name);
				created[l.dir].push_back(&l);
			}
		}
	}
	if (!created.empty()) {
		if (use_syncfs) {
			if (Status st = links_epoch->sync())
				for (auto &[dir, list] : created)
					for (BatchLink *l : list) l->result = st;
		} else {
			for (auto &[dir, list] : created)
				if (Status st = fsync_dir(dir))
					for (BatchLink *l : list) l->result = st;
		}
		note("sync-links");
	}
}

}  // namespace pgmlr::hf_fetch
