// The core's one pool of worker threads (started with every signal
// blocked). The prefetch job runs the slow file-system part of publishing
// on it (fsync, rename, folder sync, snapshot links, refs), so the thread
// driving libcurl never waits for the disk, and fsync calls issued side by
// side share the file system's journal commits; the cache scan's Verifier
// hashes blobs on it.
//
// The owner submits work and later collects the outcomes on its own thread:
// a completion callback never runs on a pool thread, so the owner's state
// needs no lock.
#pragma once
#include "common/core_only.hpp"

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "common/error.hpp"

namespace pgmlr {

class WorkPool {
public:
	// wakeup runs on a pool thread after each finished item (e.g. to end the
	// owner's poll); it must be thread-safe and must not throw.
	WorkPool(int threads, std::function<void()> wakeup);
	~WorkPool();  // waits for the work already submitted, drops its completions
	WorkPool(const WorkPool &) = delete;
	WorkPool &operator=(const WorkPool &) = delete;

	// work runs on a pool thread; its Status reaches done on the owner's
	// thread in collect(). An exception from work becomes an error Status.
	void submit(std::function<Status()> work, std::function<void(Status)> done);
	int collect();  // runs the callbacks of finished items; returns how many
	void wait_idle();  // blocks until every submitted item is finished, then collect()
	int in_flight() const { return in_flight_; }  // submitted, not yet collected

private:
	struct Item {
		std::function<Status()> work;
		std::function<void(Status)> done;
		Status result;
	};
	void run();
	void start_threads();

	int want_threads_;
	std::function<void()> wakeup_;
	std::mutex m_;
	std::condition_variable work_cv_, idle_cv_;
	std::deque<Item> queue_, finished_;
	int running_ = 0;
	bool stop_ = false;
	int in_flight_ = 0;  // owner's thread only
	std::vector<std::thread> threads_;
};

}  // namespace pgmlr
