// What a blob needs before its transfer starts, done off the job's transfer
// thread: the huggingface_hub blob lock, the "did another writer finish it
// meanwhile?" test and the partial file (opened or created, a kept prefix
// re-hashed). The job runs setup_blob() on the WorkPool a few blobs ahead of
// the free connections, so for thousands of small files (three inodes each
// in the huggingface_hub layout: lock, partial, blob) a connection never
// idles while these file-system calls run. Also the free-space gate, which
// reads statvfs once per file system and interval instead of once per file.
#pragma once
#include "common/core_only.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include "hf_fetch/fs.hpp"
#include "hf_fetch/partial_file.hpp"

namespace pgmlr::hf_fetch {

class RangedDownload;

struct BlobSetupArgs {
	std::string lock_path;     // <cache>/.locks/<folder>/<blob>.lock
	std::string final_path;    // <cache>/<folder>/blobs/<blob>
	std::string partial_path;  // final_path + kPartialSuffix
	std::string blob;
	int64_t size = 0;
	bool verify_present = false;  // hash a same-size blob found in place (else the size is enough)
	RangedDownload *ranged = nullptr;  // set: a large file's ranged download opens the partial file instead
};

struct BlobSetupOutcome {
	enum class Kind {
		ready,    // lock held, partial file open at on_disk(): start the transfer
		busy,     // another process holds the lock: nothing was changed
		present,  // another writer finished the blob: lock released, our partial file removed
		failed,   // why says it; the lock may still be held (the caller's fail() releases it)
	};
	Kind kind = Kind::failed;
	std::string why;
};

// Runs on any thread; touches only lock, file and the paths in args. The
// caller must not touch lock or file until it returns.
BlobSetupOutcome setup_blob(const BlobSetupArgs &args, BlobLock &lock, PartialFile &file);

// min_free_disk, checked before each transfer starts. statvfs is read again
// when the estimate (last reading minus the bytes this job reserved since)
// would refuse, when the bytes reserved since the reading exceed kSlackBytes,
// or when the reading is older than kMaxAgeMs; so a refusal always rests on
// a fresh reading, and an acceptance errs by at most what other processes
// wrote within the interval (the old per-file check raced them too).
class FreeSpaceGate {
public:
	static constexpr int64_t kSlackBytes = int64_t{64} << 20;
	static constexpr int kMaxAgeMs = 1000;
	using Clock = std::chrono::steady_clock;

	explicit FreeSpaceGate(int64_t min_free) : min_free_(min_free) {}
	// Reserves needed bytes on dir's file system; returns the refusal text
	// (or a statvfs error), empty when the transfer may start.
	std::string reserve(const std::string &dir, int64_t needed);
	int readings() const { return readings_; }  // statvfs calls so far (for tests)

private:
	struct Fs {
		int64_t avail = 0;
		int64_t reserved = 0;
		Clock::time_point read_at{};
	};
	std::string refresh(const std::string &dir, Fs &fs);

	int64_t min_free_;
	std::map<std::string, unsigned long> fsid_of_dir_;
	std::map<unsigned long, Fs> fs_;
	int readings_ = 0;
};

}  // namespace pgmlr::hf_fetch
