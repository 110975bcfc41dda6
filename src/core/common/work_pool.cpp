// Implements common/work_pool.hpp; what it is for is said at the top of that header.
#include "common/core_only.hpp"
#include "common/work_pool.hpp"

#include "common/quiet_thread.hpp"

#include <exception>


namespace pgmlr {

WorkPool::WorkPool(int threads, std::function<void()> wakeup)
	: want_threads_(threads < 1 ? 1 : threads), wakeup_(std::move(wakeup)) {}

WorkPool::~WorkPool() {
	{
		std::unique_lock<std::mutex> lk(m_);
		idle_cv_.wait(lk, [&] { return queue_.empty() && running_ == 0; });
		stop_ = true;
	}
	work_cv_.notify_all();
	for (auto &t : threads_) t.join();
}

// Threads start with the first item, so a job with nothing to publish
// never creates them.
void WorkPool::start_threads() {
	try {
		while (static_cast<int>(threads_.size()) < want_threads_) threads_.push_back(start_quiet_thread([this] { run(); }));
	} catch (...) {
		if (threads_.empty()) throw;  // with at least one thread the pool still works
	}
}

void WorkPool::submit(std::function<Status()> work, std::function<void(Status)> done) {
	if (threads_.empty()) start_threads();
	{
		std::lock_guard<std::mutex> lk(m_);
		queue_.push_back(Item{std::move(work), std::move(done), {}});
	}
	in_flight_++;
	work_cv_.notify_one();
}

void WorkPool::run() {
	std::unique_lock<std::mutex> lk(m_);
	while (true) {
		work_cv_.wait(lk, [&] { return stop_ || !queue_.empty(); });
		if (queue_.empty()) return;  // stop_ with nothing left
		Item item = std::move(queue_.front());
		queue_.pop_front();
		running_++;
		lk.unlock();
		try {
			item.result = item.work();
		} catch (const std::exception &e) {
			item.result = make_error(ErrCode::Internal, std::string("publishing failed: ") + e.what());
		} catch (...) {
			item.result = make_error(ErrCode::Internal, "publishing failed");
		}
		item.work = nullptr;  // release what it captured before the owner sees the item
		lk.lock();
		finished_.push_back(std::move(item));
		lk.unlock();
		if (wakeup_) wakeup_();
		lk.lock();
		// Idle only after the wake-up: wait_idle() then implies every item's
		// wake-up has run (a test counting them saw 49 of 50 under ASan).
		running_--;
		idle_cv_.notify_all();
	}
}

int WorkPool::collect() {
	std::deque<Item> done;
	{
		std::lock_guard<std::mutex> lk(m_);
		done.swap(finished_);
	}
	for (Item &item : done) {
		in_flight_--;
		item.done(std::move(item.result));
	}
	return static_cast<int>(done.size());
}

void WorkPool::wait_idle() {
	{
		std::unique_lock<std::mutex> lk(m_);
		idle_cv_.wait(lk, [&] { return queue_.empty() && running_ == 0; });
	}
	collect();
}

}  // namespace pgmlr
