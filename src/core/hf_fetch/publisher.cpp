// Blob rename, snapshot links, refs last (see publisher.hpp).
#include "common/core_only.hpp"
#include "hf_fetch/publisher.hpp"

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include <unistd.h>

#include "hf_fetch/fs.hpp"

namespace pgmlr::hf_fetch {
namespace {

struct LinkWork {
	size_t index;
	std::string dir;  // absolute
	std::string rel_dir;
	std::string name, target;
	Status result;
	bool created = false;
};

}  // namespace

Status Publisher::ensure_dir(const std::string &rel) {
	if (dirs_made_.count(rel)) return {};
	if (Status st = make_dirs(root_, rel)) return st;
	dirs_made_.insert(rel);
	return {};
}

// A snapshot link or ref that could not be written: its revision's refs
// stay unwritten, and the failure is counted and kept for the report.
void Publisher::failed(size_t group, const Error &e) {
	plan_.groups[group].failed = true;
	links_failed_++;
	last_error_ = e.message + " " + e.detail;
}

// fsync, rename into place, fsync the folder. The blob's lock stays held by
// the job until then() runs.
void Publisher::publish_verified(size_t bi, int fd, std::string temp, std::function<void(Status)> then) {
	const BlobTask &b = plan_.blobs[bi];
	std::string dir = root_ + "/" + b.folder + "/blobs", rel = b.folder + "/blobs/" + b.blob, root_dir = root_;
	publish(bi, [fd, temp, dir, rel, root_dir]() -> Status {
		auto give_up = [&](const char *what, int err) {
			unlink(temp.c_str());
			return make_error(ErrCode::Io, what + std::string(std::strerror(err)));
		};
		int synced = fsync(fd);
		int err = errno;
		close(fd);  // exactly once: the number may belong to another file right after
		if (synced != 0) return give_up("could not sync the download: ", err);
		if (Status st = check_contained(root_dir, rel, false)) {
			unlink(temp.c_str());
			return make_error(st->code, st->message + " " + st->detail);
		}
		if (rename(temp.c_str(), (root_dir + "/" + rel).c_str()) != 0) return give_up("could not publish the blob: ", errno);
		return fsync_dir(dir);
	}, std::move(then));
}

// On a publishing thread: blob_step (the blob's own fsync and rename, if
// any), then the snapshot links to it; on the job's thread afterwards: the
// bookkeeping, then() and the refs that became ready.
void Publisher::publish(size_t bi, std::function<Status()> blob_step, std::function<void(Status)> then) {
	auto links = std::make_shared<std::vector<LinkWork>>();
	for (size_t li : plan_.blobs[bi].links) {
		LinkTask &l = plan_.links[li];
		if (l.done) continue;
		if (Status st = ensure_dir(l.dir)) {
			failed(plan_.links[li].group, *st);
			continue;
		}
		links->push_back(LinkWork{li, root_ + "/" + l.dir, l.dir, l.name, l.target, {}, false});
	}
	if (!blob_step && links->empty()) return write_ready_refs();
	std::string root_dir = root_;
	pool_.submit(
		[blob_step = std::move(blob_step), links, root_dir]() -> Status {
			if (blob_step)
				if (Status st = blob_step()) return st;
			for (LinkWork &w : *links) {
				w.result = check_contained(root_dir, w.rel_dir, true);
				if (!w.result) w.result = create_symlink_atomic(w.dir, w.name, w.target, &w.created);
			}
			return {};
		},
		[this, links, then = std::move(then)](Status st) {
			if (!st)
				for (LinkWork &w : *links) {
					if (w.result) {
						failed(plan_.links[w.index].group, *w.result);
						continue;
					}
					plan_.links[w.index].done = true;
					if (w.created) links_created_++;
					plan_.groups[plan_.links[w.index].group].links_pending--;
				}
			if (then) then(st);
			write_ready_refs();
		});
}

void Publisher::write_ready_refs() {
	for (RefTask &r : plan_.refs) {
		Group &g = plan_.groups[r.group];
		if (g.failed || g.links_pending > 0 || r.revision.empty() || r.writing) continue;
		size_t slash = r.ref.rfind('/');
		std::string dir = r.folder + "/refs" + (slash == std::string::npos ? "" : "/" + r.ref.substr(0, slash));
		std::string name = slash == std::string::npos ? r.ref : r.ref.substr(slash + 1);
		std::string root_dir = root_, revision = r.revision;
		r.writing = true;
		Status made = ensure_dir(dir);
		pool_.submit(
			[made, root_dir, dir, name, revision]() -> Status {
				if (made) return made;
				if (Status st = check_contained(root_dir, dir + "/" + name, false)) return st;
				return write_file_atomic(root_dir + "/" + dir, name, revision);
			},
			[this, &r](Status st) {
				r.writing = false;
				r.revision.clear();  // written or given up: never again in this job
				if (st) return failed(r.group, *st);
				refs_written_++;
			});
	}
}

void Publisher::publish_present() {
	for (size_t bi = 0; bi < plan_.blobs.size(); ++bi)
		if (plan_.blobs[bi].present) publish(bi, nullptr, nullptr);
	write_ready_refs();
}

}  // namespace pgmlr::hf_fetch
