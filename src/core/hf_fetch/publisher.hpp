// Publishing a job's results in the order huggingface_hub relies on: a
// verified blob is synced and renamed into blobs/, then its snapshot links
// are created, and a revision's refs are written LAST, once every link of
// its group exists. Blobs verified close together are made durable as one
// batch (durable_batch.hpp: one sync per stage instead of three fsync calls
// per file); the disk-bound part runs on the WorkPool threads, the
// bookkeeping on the job's thread when WorkPool::collect() hands the
// completions back.
#pragma once
#include "common/core_only.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "common/error.hpp"
#include "common/work_pool.hpp"
#include "hf_fetch/durable_batch.hpp"
#include "hf_fetch/plan.hpp"

namespace pgmlr::hf_fetch {

class Publisher {
public:
	// root: the real cache root. plan and pool outlive the publisher's use.
	// use_syncfs false: batches sync file by file and folder by folder.
	Publisher(std::string root, Plan &plan, WorkPool &pool, bool use_syncfs = syncfs_reports_errors())
		: root_(std::move(root)), plan_(plan), pool_(pool), use_syncfs_(use_syncfs) {}

	// make_dirs once per folder and job: thousands of files share a few
	// folders. Publishing re-checks containment once per folder and batch.
	Status ensure_dir(const std::string &rel);

	// What a transfer holds from before its first byte is written until its
	// blob is published: the sync that will report that byte's write error.
	// nullptr when batches sync file by file.
	std::shared_ptr<SyncEpoch> epoch();

	// The blob in temp (open as fd, verified, its bytes covered by epoch)
	// goes into place with the next batch, then its links; then(st) runs on
	// the job's thread afterwards. Takes fd.
	void publish_verified(size_t blob, int fd, std::string temp, std::shared_ptr<SyncEpoch> epoch,
						  std::function<void(Status)> then);
	// The links of a blob already in place.
	void publish_links(size_t blob) { publish(blob, -1, {}, nullptr, nullptr); }
	// Links of every blob the plan found present, then the refs ready.
	void publish_present();
	// Hands every ref whose group is complete to the threads.
	void write_ready_refs();
	// Hands the blobs gathered so far to a publishing thread as one batch,
	// unless kMaxBatches are syncing already (then the gathering goes on
	// until one ends). The job calls it once per turn of its loop.
	void flush();
	bool idle() const { return pending_.empty(); }  // nothing gathered and not yet handed over
	// Tests: see DurableBatch::trace.
	void set_trace(std::function<void(const std::string &)> trace) { trace_ = std::move(trace); }

	int64_t links_created() const { return links_created_; }
	int64_t refs_written() const { return refs_written_; }
	int64_t links_failed() const { return links_failed_; }
	const std::string &last_error() const { return last_error_; }

	static constexpr int kMaxBatches = 2;

private:
	struct Pending {
		BatchBlob blob;
		std::function<void(Status)> then;
	};
	void publish(size_t blob, int fd, std::string temp, std::shared_ptr<SyncEpoch> epoch, std::function<void(Status)> then);
	void finished(BatchBlob &blob, std::function<void(Status)> &then);
	void failed(size_t group, const Error &e);

	std::string root_;
	Plan &plan_;
	WorkPool &pool_;
	bool use_syncfs_;
	std::shared_ptr<SyncEpoch> epoch_;  // handed to transfers starting now; a new one after each flush
	std::vector<Pending> pending_;
	int batches_running_ = 0;
	std::function<void(const std::string &)> trace_;
	std::unordered_set<std::string> dirs_made_;  // relative folders created (and checked) in this job
	int64_t links_created_ = 0;
	int64_t refs_written_ = 0;
	int64_t links_failed_ = 0;
	std::string last_error_;
};

}  // namespace pgmlr::hf_fetch
