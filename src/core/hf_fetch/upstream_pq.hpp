// What the upstream's files (upstream_*.cpp) share around libpq: owned
// handles (a connection is PQfinish'ed and a result PQclear'ed on every path
// out), the connection's last message, and a bounded, abortable wait on the
// socket with the non-blocking connect built on it. The only header besides
// those files that includes libpq-fe.h (house-check).
#pragma once
#include "common/core_only.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <memory>
#include <string>

#include <libpq-fe.h>
#include <poll.h>

#include "hf_fetch/upstream_answer.hpp"

namespace pgmlr::hf_fetch {

struct PqConnFree {
	void operator()(PGconn *c) const { PQfinish(c); }
};
struct PqResultFree {
	void operator()(PGresult *r) const { PQclear(r); }
};
using PqConn = std::unique_ptr<PGconn, PqConnFree>;
using PqResult = std::unique_ptr<PGresult, PqResultFree>;

// libpq's last message for c, trimmed; "connection lost" when it has none.
inline std::string pq_message(const PGconn *c) {
	const char *m = c ? PQerrorMessage(c) : nullptr;
	return m && *m ? trimmed_message(m) : std::string("connection lost");
}

enum class PqWait { ready, idle, timed_out, aborted };

// Waits at most slice_ms (less when the deadline is nearer) for fd to be
// ready for events. A bad socket or a failed poll is "ready": the next libpq
// call finds out what is wrong and says so.
inline PqWait pq_wait(int fd, short events, std::chrono::steady_clock::time_point deadline,
					  volatile sig_atomic_t *abort_flag, int slice_ms = 100) {
	if (abort_flag && *abort_flag) return PqWait::aborted;
	auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
	if (left <= 0) return PqWait::timed_out;
	if (fd < 0) return PqWait::ready;
	pollfd p{fd, events, 0};
	int n = poll(&p, 1, static_cast<int>(std::min<long long>(left, slice_ms)));
	if (abort_flag && *abort_flag) return PqWait::aborted;
	if (n < 0 && errno != EINTR) return PqWait::ready;
	return n > 0 ? PqWait::ready : PqWait::idle;
}

enum class PqConnect { ok, failed, timed_out, aborted };

// Drives a connection started with PQconnectStart(Params) to the end,
// polling its socket as PQconnectPoll asks; failed: pq_message(c) says why.
inline PqConnect pq_connect_bounded(PGconn *c, std::chrono::steady_clock::time_point deadline,
									volatile sig_atomic_t *abort_flag) {
	PostgresPollingStatusType want = PGRES_POLLING_WRITING;  // as if PQconnectPoll had just asked to write
	while (want != PGRES_POLLING_OK) {
		if (want == PGRES_POLLING_FAILED) return PqConnect::failed;
		switch (pq_wait(PQsocket(c), want == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline, abort_flag)) {
		case PqWait::aborted: return PqConnect::aborted;
		case PqWait::timed_out: return PqConnect::timed_out;
		case PqWait::idle: continue;
		case PqWait::ready: want = PQconnectPoll(c); break;
		}
	}
	return PqConnect::ok;
}

}  // namespace pgmlr::hf_fetch
