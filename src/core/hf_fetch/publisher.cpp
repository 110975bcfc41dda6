// Blob rename, snapshot links, refs last (see publisher.hpp); the batch's
// own steps and their durability argument are in durable_batch.cpp.
#include "common/core_only.hpp"
#include "hf_fetch/publisher.hpp"

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include <unistd.h>

#include "hf_fetch/fs.hpp"

namespace pgmlr::hf_fetch {

Status Publisher::ensure_dir(const std::string &rel) {
	if (dirs_made_.count(rel)) return {};
	if (Status st = make_dirs(root_, rel)) return st;
	dirs_made_.insert(rel);
	return {};
}

std::shared_ptr<SyncEpoch> Publisher::epoch() {
	if (!use_syncfs_) return nullptr;
	if (!epoch_) epoch_ = std::make_shared<SyncEpoch>(root_);
	return epoch_;
}

// A snapshot link or ref that could not be written: its revision's refs
// stay unwritten, and the failure is counted and kept for the report.
void Publisher::failed(size_t group, const Error &e) {
	plan_.groups[group].failed = true;
	links_failed_++;
	last_error_ = e.message + " " + e.detail;
}

void Publisher::publish_verified(size_t bi, int fd, std::string temp, std::shared_ptr<SyncEpoch> epoch,
								 std::function<void(Status)> then) {
	publish(bi, fd, std::move(temp), std::move(epoch), std::move(then));
}

// Gathers the blob (fd >= 0: its verified temp file; -1: already in place)
// and its snapshot links not made yet for the next batch. The blob's lock
// stays held by the job until then() runs.
void Publisher::publish(size_t bi, int fd, std::string temp, std::shared_ptr<SyncEpoch> epoch,
						std::function<void(Status)> then) {
	const BlobTask &b = plan_.blobs[bi];
	Pending p;
	p.blob.index = bi;
	p.blob.fd = fd;
	p.blob.temp = std::move(temp);
	p.blob.rel = b.folder + "/blobs/" + b.blob;
	p.blob.epoch = std::move(epoch);
	p.then = std::move(then);
	for (size_t li : b.links) {
		LinkTask &l = plan_.links[li];
		if (l.done) continue;
		if (Status st = ensure_dir(l.dir)) {
			failed(l.group, *st);
			continue;
		}
		BatchLink w;
		w.index = li;
		w.dir = root_ + "/" + l.dir;
		w.rel_dir = l.dir;
		w.name = l.name;
		w.target = l.target;
		p.blob.links.push_back(std::move(w));
	}
	if (fd < 0 && p.blob.links.empty()) {
		if (p.then) p.then({});
		return write_ready_refs();
	}
	pending_.push_back(std::move(p));
}

// On the job's thread, once the blob's batch is durable: the bookkeeping,
// then().
void Publisher::finished(BatchBlob &blob, std::function<void(Status)> &then) {
	if (!blob.result)
		for (BatchLink &w : blob.links) {
			if (w.result) {
				failed(plan_.links[w.index].group, *w.result);
				continue;
			}
			plan_.links[w.index].done = true;
			if (w.created) links_created_++;
			plan_.groups[plan_.links[w.index].group].links_pending--;
		}
	if (then) then(blob.result);
}

void Publisher::flush() {
	if (pending_.empty() || batches_running_ >= kMaxBatches) return;
	auto batch = std::make_shared<DurableBatch>();
	auto thens = std::make_shared<std::vector<std::function<void(Status)>>>();
	batch->root = root_;
	batch->use_syncfs = use_syncfs_;
	batch->trace = trace_;
	for (Pending &p : pending_) {
		batch->blobs.push_back(std::move(p.blob));
		thens->push_back(std::move(p.then));
	}
	pending_.clear();
	epoch_.reset();  // transfers starting from now on take a new one
	batches_running_++;
	pool_.submit(
		[batch]() -> Status {
			batch->run();
			return {};
		},
		[this, batch, thens](Status st) {
			batches_running_--;
			for (size_t i = 0; i < batch->blobs.size(); ++i) {
				BatchBlob &b = batch->blobs[i];
				if (st && !b.result) b.result = st;  // the batch itself failed (an exception)
				if (b.fd >= 0) {
					close(b.fd);
					unlink(b.temp.c_str());
				}
				finished(b, (*thens)[i]);
			}
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
		auto trace = trace_;
		pool_.submit(
			[made, root_dir, dir, name, revision, trace]() -> Status {
				if (made) return made;
				if (Status st = check_contained(root_dir, dir + "/" + name, false)) return st;
				Status st = write_file_atomic(root_dir + "/" + dir, name, revision);
				if (!st && trace) trace("ref " + dir + "/" + name);
				return st;
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
		if (plan_.blobs[bi].present) publish(bi, -1, {}, nullptr, nullptr);
	write_ready_refs();
}

}  // namespace pgmlr::hf_fetch
