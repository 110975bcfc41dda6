// Threads the core starts inside a PostgreSQL process must never take its
// signals: the handlers set flags and latches meant for the main thread. A
// new thread inherits its creator's signal mask, so block everything while
// creating one.
#pragma once
#include "common/core_only.hpp"

#include <csignal>
#include <thread>
#include <utility>

#include <pthread.h>

namespace pgmlr {

// Blocks every signal on the calling thread until it goes out of scope.
class AllSignalsBlocked {
public:
	AllSignalsBlocked() {
		sigset_t all;
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old_);
	}
	~AllSignalsBlocked() { pthread_sigmask(SIG_SETMASK, &old_, nullptr); }
	AllSignalsBlocked(const AllSignalsBlocked &) = delete;
	AllSignalsBlocked &operator=(const AllSignalsBlocked &) = delete;

private:
	sigset_t old_;
};

template <class Fn>
std::thread start_quiet_thread(Fn &&fn) {
	AllSignalsBlocked blocked;
	return std::thread(std::forward<Fn>(fn));
}

}  // namespace pgmlr
