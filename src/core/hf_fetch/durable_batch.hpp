// Makes a batch of verified blobs durable together, then their snapshot
// links: instead of three fsync calls per file (the file, its blobs/ folder,
// its snapshot folder), one file-system sync per stage of the whole batch
// (syncfs(2)), or, where syncfs cannot report write errors, one fsync per
// file and one per distinct folder. For thousands of small files this is
// most of the cost of publishing. The publisher gathers the files verified
// while the previous batch was syncing, so a batch grows with the load
// (group commit) and a lone large file is not delayed.
//
// The order, and why it is safe (a crash may come at any point):
//   1. every temp file's bytes and inode are synced (still under its temp
//      name: a crash leaves at most a temp file, removed by the next job);
//   2. only then is each renamed to blobs/<blob>: a name that appears after
//      a crash always holds the whole, verified content;
//   3. the renames are synced; only then are the snapshot links created:
//      a link never outlives (or precedes) its blob;
//   4. the links are synced before the batch is reported done; the
//      publisher writes a revision's ref only after that report for every
//      link of the revision, so a ref never names a snapshot or blob that a
//      crash could take away.
// Write errors: each sync reports errors of writeback that happened after
// its file descriptor was opened (Linux >= 5.8 for syncfs). A file's bytes
// are covered by the SyncEpoch taken before its first byte was written;
// an epoch that reported an error stays failed, so an error is never
// consumed by one batch and missed by another. syncfs cannot tell whose
// write failed: an error of any file on the file system fails the batch
// (its files fail and a later cycle fetches them again), never the reverse.
#pragma once
#include "common/core_only.hpp"

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace pgmlr::hf_fetch {

// An open descriptor on the cache's file system whose syncfs(2) reports
// every write error since it was opened (sticky once reported).
class SyncEpoch {
public:
	explicit SyncEpoch(const std::string &root);
	~SyncEpoch();
	SyncEpoch(const SyncEpoch &) = delete;
	SyncEpoch &operator=(const SyncEpoch &) = delete;
	// Syncs the whole file system; an error (now or ever before on this epoch).
	Status sync();

private:
	int fd_ = -1;
	int open_errno_ = 0;
	std::atomic<int> failed_errno_{0};
};

// true when syncfs(2) reports write-back errors (Linux >= 5.8); otherwise
// a batch syncs file by file and folder by folder.
bool syncfs_reports_errors();

struct BatchLink {
	size_t index = 0;  // the publisher's link index
	std::string dir;   // absolute
	std::string rel_dir;
	std::string name, target;
	Status result;
	bool created = false;
};

struct BatchBlob {
	size_t index = 0;  // the publisher's blob index
	int fd = -1;       // the verified temp file (closed by the batch); -1: the blob is already in place
	std::string temp;  // its path
	std::string rel;   // <folder>/blobs/<blob>
	std::shared_ptr<SyncEpoch> epoch;  // covers the temp file's bytes
	std::vector<BatchLink> links;
	Status result;  // the blob's own steps
};

struct DurableBatch {
	std::string root;  // the real cache root
	std::vector<BatchBlob> blobs;
	bool use_syncfs = true;
	// Tests: each step as it happens ("sync-data", "rename <rel>", "sync-renames",
	// "link <rel_dir>/<name>", "sync-links"). Runs on the batch's thread.
	std::function<void(const std::string &)> trace;

	// The four steps above; results go into each blob and link.
	void run();
};

// A symlink created at its final name (symlink(2) is atomic: the name
// appears complete or not at all); an existing name is left alone.
Status create_symlink_once(const std::string &dir, const std::string &name, const std::string &target, bool *created);

}  // namespace pgmlr::hf_fetch
