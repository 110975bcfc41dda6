// Publishing a job's results in the order huggingface_hub relies on: a
// verified blob is synced and renamed into blobs/, then its snapshot links
// are created, and a revision's refs are written LAST, once every link of
// its group exists. The slow, disk-bound part runs on the WorkPool threads;
// the bookkeeping runs on the job's thread when WorkPool::collect() hands
// the completions back.
#pragma once
#include "common/core_only.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <unordered_set>

#include "common/error.hpp"
#include "common/work_pool.hpp"
#include "hf_fetch/plan.hpp"

namespace pgmlr::hf_fetch {

class Publisher {
public:
	// root: the real cache root. plan and pool outlive the publisher's use.
	Publisher(std::string root, Plan &plan, WorkPool &pool) : root_(std::move(root)), plan_(plan), pool_(pool) {}

	// make_dirs once per folder and job: thousands of files share a few
	// folders. Publishing re-checks containment right before each rename.
	Status ensure_dir(const std::string &rel);

	// The blob in temp (open as fd, verified) goes into place, then its
	// links; then(st) runs on the job's thread afterwards. Takes fd.
	void publish_verified(size_t blob, int fd, std::string temp, std::function<void(Status)> then);
	// The links of a blob already in place.
	void publish_links(size_t blob) { publish(blob, nullptr, nullptr); }
	// Links of every blob the plan found present, then the refs ready.
	void publish_present();
	// Hands every ref whose group is complete to the threads.
	void write_ready_refs();

	int64_t links_created() const { return links_created_; }
	int64_t refs_written() const { return refs_written_; }
	int64_t links_failed() const { return links_failed_; }
	const std::string &last_error() const { return last_error_; }

private:
	void publish(size_t blob, std::function<Status()> blob_step, std::function<void(Status)> then);
	void failed(size_t group, const Error &e);

	std::string root_;
	Plan &plan_;
	WorkPool &pool_;
	std::unordered_set<std::string> dirs_made_;  // relative folders created (and checked) in this job
	int64_t links_created_ = 0;
	int64_t refs_written_ = 0;
	int64_t links_failed_ = 0;
	std::string last_error_;
};

}  // namespace pgmlr::hf_fetch
