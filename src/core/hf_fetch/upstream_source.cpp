// The upstream server over libpq (see upstream_source.hpp): connecting
// (PQconnectStartParams/PQconnectPoll), the chunked hf_blob_read_rows()
// queries in binary result format and single-row mode, handing the rows over
// in order with the receiver's pause and refusal, and the pool of
// connections. Every libpq call returns a
// value that is checked here; no callback of libpq is used.
#include "common/core_only.hpp"
#include "hf_fetch/upstream_source.hpp"

#include <algorithm>
#include <chrono>
#include <deque>

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "hf_fetch/upstream_pq.hpp"

namespace pgmlr::hf_fetch {

namespace {

using Clock = std::chrono::steady_clock;


// In the SELECT list, so rows stream (in FROM, the server would gather
// them all first).
constexpr char kQuery[] = "SELECT pgml_repl.hf_blob_read_rows($1, $2, $3)";
constexpr char kApplicationName[] = "pgml_replication fetch";
// The receiver gets the bytes in pieces of this size, as libcurl hands them
// to the Hub's transfers: the rate limit's tokens and the writers' blocks
// are sized for that, not for a whole chunk.
constexpr size_t kPiece = 256 * 1024;
// Rows (of 256 KiB) read and not yet handed over, per transfer: at this many
// the socket is left unread until the receiver takes some.
constexpr size_t kRowsAhead = 8;

}  // namespace

struct UpstreamSource::Conn {
	PqConn pg;
	bool connected = false;
	PostgresPollingStatusType want = PGRES_POLLING_WRITING;
	Clock::time_point since{};
	Transfer *user = nullptr;
	bool in_flight = false;  // a query sent whose results are not all read
	bool flushing = false;   // PQflush asked to be called again
};

struct UpstreamSource::Transfer final : SourceTransfer {
	BlobReceiver *rx = nullptr;
	std::string blob;
	int64_t next = 0;   // the next byte handed to the receiver
	int64_t asked = 0;  // the byte after the last one asked for
	int64_t end = 0;
	int64_t in_flight_len = 0;  // bytes the query in flight asked for
	int64_t in_flight_got = 0;  // and its rows have brought so far
	Conn *conn = nullptr;
	std::deque<PqResult> rows;  // one row each, in order; the first from ready_off
	size_t ready_off = 0;
	bool paused = false;
	bool failed_query = false;  // set with query_end; the transfer ends once the rows before it are handed over
	TransferEnd query_end;
	bool over = false;
	TransferEnd result;
};

UpstreamSource::UpstreamSource(UpstreamOptions opts, std::string label)
	: opts_(std::move(opts)), label_(std::move(label)) {}

Result<std::unique_ptr<UpstreamSource>> UpstreamSource::create(UpstreamOptions opts) {
	std::string label, why;
	if (!upstream_label(opts.conninfo, &label, &why))
		return make_error(ErrCode::InvalidParameter, "invalid upstream conninfo", why,
						  "Give a libpq connection string, e.g. host=primary port=5432 user=fetcher dbname=postgres.");
	if (opts.max_connections < 1) opts.max_connections = 1;
	if (opts.chunk <= 0) opts.chunk = kUpstreamChunk;
	std::unique_ptr<UpstreamSource> s(new UpstreamSource(std::move(opts), std::move(label)));
	s->wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->wake_fd_ < 0) return make_error(ErrCode::Internal, "could not create an eventfd for the upstream source");
	return s;
}

UpstreamSource::~UpstreamSource() {
	transfers_.clear();
	ended_.clear();
	conns_.clear();  // PQfinish each
	if (wake_fd_ >= 0) close(wake_fd_);
}

SourceTransfer *UpstreamSource::start(const BlobTask &task, ByteRange range, BlobReceiver &rx, std::string *why) {
	int64_t end = range.bounded() ? std::min(range.end, task.size) : task.size;
	if (range.from < 0 || range.from > end) {
		*why = label_ + ": a range outside the blob was asked";
		return nullptr;
	}
	auto t = std::make_unique<Transfer>();
	t->rx = &rx;
	t->blob = task.blob;
	t->next = t->asked = range.from;
	t->end = end;
	transfers_.push_back(std::move(t));
	return transfers_.back().get();
}

int UpstreamSource::connections_in_use() const {
	return static_cast<int>(std::count_if(conns_.begin(), conns_.end(), [](const auto &c) { return c->user != nullptr; }));
}

bool UpstreamSource::may_use_another_connection() const {
	int cap = busy_cap_ > 0 ? std::min(busy_cap_, opts_.max_connections) : opts_.max_connections;
	if (connections_in_use() >= cap) return false;
	return static_cast<int>(conns_.size()) < opts_.max_connections ||
		   std::any_of(conns_.begin(), conns_.end(), [](const auto &c) { return !c->user && c->connected; });
}

void UpstreamSource::give_connection(Transfer &t) {
	if (!may_use_another_connection()) return;  // waits for one
	for (auto &c : conns_)
		if (!c->user && c->connected) {
			c->user = &t;
			t.conn = c.get();
			return;
		}
	if (static_cast<int>(conns_.size()) >= opts_.max_connections) return;  // waits for one
	const char *keys[] = {"dbname", "application_name", nullptr};
	const char *values[] = {opts_.conninfo.c_str(), kApplicationName, nullptr};
	auto c = std::make_unique<Conn>();
	c->pg.reset(PQconnectStartParams(keys, values, 1));
	c->since = Clock::now();
	if (!c->pg || PQstatus(c->pg.get()) == CONNECTION_BAD) {
		end(t, upstream_connection_end(label_, pq_message(c->pg.get())));
		return;
	}
	// libpq's default prints NOTICEs to stderr (the server log in a worker).
	PQsetNoticeProcessor(c->pg.get(), [](void *, const char *) {}, nullptr);
	c->user = &t;
	t.conn = c.get();
	conns_.push_back(std::move(c));
}

void UpstreamSource::connect_step(Conn &c, short revents) {
	bool ready = c.want == PGRES_POLLING_READING ? (revents & (POLLIN | POLLHUP | POLLERR))
												 : (revents & (POLLOUT | POLLHUP | POLLERR));
	if (ready) c.want = PQconnectPoll(c.pg.get());
	if (c.want == PGRES_POLLING_OK) {
		c.connected = PQsetnonblocking(c.pg.get(), 1) == 0;
		if (c.connected) return;
	}
	Transfer *t = c.user;
	if (!t) return;
	if (c.want == PGRES_POLLING_FAILED || (c.want == PGRES_POLLING_OK && !c.connected))
		end(*t, upstream_connection_end(label_, pq_message(c.pg.get())));
	else if (Clock::now() - c.since > std::chrono::milliseconds(opts_.connect_timeout_ms))
		end(*t, upstream_connection_end(label_, "timed out after " + std::to_string(opts_.connect_timeout_ms) + " ms"));
}

void UpstreamSource::send_next(Transfer &t) {
	Conn &c = *t.conn;
	int64_t len = next_chunk_length(t.asked, t.end, opts_.chunk);
	if (len <= 0 || c.in_flight || t.failed_query) return;
	std::string offset = std::to_string(t.asked), length = std::to_string(len);
	const char *params[] = {t.blob.c_str(), offset.c_str(), length.c_str()};
	if (!PQsendQueryParams(c.pg.get(), kQuery, 3, nullptr, params, nullptr, nullptr, 1))
		return end(t, upstream_connection_end(label_, pq_message(c.pg.get())));
	c.in_flight = true;
	c.flushing = true;
	// Only right after sending; it fails only if libpq's state says otherwise.
	if (!PQsetSingleRowMode(c.pg.get()))
		return end(t, upstream_connection_end(label_, "libpq refused single-row mode"));
	t.in_flight_len = len;
	t.in_flight_got = 0;
	t.asked += len;
}

namespace {

void query_failed(UpstreamSource::Transfer &t, TransferEnd e) {
	t.failed_query = true;
	t.query_end = std::move(e);
}

enum class Taken { row, end, failed };

// Checks one result of the query in flight: a row must be the next bytes
// asked for, the end must come after exactly the bytes asked for.
Taken take_result(const std::string &label, UpstreamSource::Transfer &t, PGresult *r) {
	ExecStatusType st = PQresultStatus(r);
	if (st == PGRES_SINGLE_TUPLE) {
		int64_t len = PQgetlength(r, 0, 0);
		if (PQnfields(r) != 1 || PQfformat(r, 0) != 1 || PQgetisnull(r, 0, 0) || len <= 0 ||
			t.in_flight_got + len > t.in_flight_len) {
			query_failed(t, TransferEnd{TransferEnd::Kind::retry, true,
										label + ": answered a row of blob " + t.blob +
											" that is not the next bytes asked for (" + std::to_string(len) +
											" bytes, " + std::to_string(t.in_flight_len - t.in_flight_got) +
											" still due)",
										0});
			return Taken::failed;
		}
		t.in_flight_got += len;
		return Taken::row;
	}
	if (st == PGRES_TUPLES_OK) {
		if (t.in_flight_got == t.in_flight_len) return Taken::end;
		query_failed(t, TransferEnd{TransferEnd::Kind::retry, true,
									label + ": answered " + std::to_string(t.in_flight_got) + " bytes of blob " +
										t.blob + " where " + std::to_string(t.in_flight_len) + " were asked",
									0});
		return Taken::failed;
	}
	const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	const char *msg = PQresultErrorMessage(r);
	query_failed(t, upstream_error_end(label, t.blob, state ? state : "", msg ? msg : ""));
	return Taken::failed;
}

}  // namespace

// Reads what has arrived for the query in flight, without blocking.
void UpstreamSource::query_step(Transfer &t) {
	Conn &c = *t.conn;
	PGconn *pg = c.pg.get();
	if (c.flushing) {
		int f = PQflush(pg);
		if (f < 0) return end(t, upstream_connection_end(label_, pq_message(pg)));
		c.flushing = f == 1;
	}
	// A full buffer leaves the socket unread: TCP then holds the server back.
	if (t.rows.size() >= kRowsAhead) return;
	if (!PQconsumeInput(pg)) return end(t, upstream_connection_end(label_, pq_message(pg)));
	while (c.in_flight && t.rows.size() < kRowsAhead && !PQisBusy(pg)) {
		PqResult r(PQgetResult(pg));
		if (!r) {
			c.in_flight = false;
			break;
		}
		// After a failure the rest of the query is read and dropped.
		if (t.failed_query) continue;
		switch (take_result(label_, t, r.get())) {
		case Taken::row: t.rows.push_back(std::move(r)); break;
		case Taken::end:
			if (busy_cap_ > 0 && ++busy_cap_ >= opts_.max_connections) busy_cap_ = 0;
			break;
		case Taken::failed:
			if (t.query_end.busy) busy_cap_ = std::max(1, connections_in_use() - 1);
			break;
		}
	}
}

void UpstreamSource::deliver(Transfer &t) {
	while (!t.over && !t.paused && !t.rows.empty()) {
		PGresult *r = t.rows.front().get();
		size_t len = static_cast<size_t>(PQgetlength(r, 0, 0));
		size_t n = std::min(kPiece, len - t.ready_off);
		switch (t.rx->take(PQgetvalue(r, 0, 0) + t.ready_off, n)) {
		case BlobReceiver::Take::ok:
			t.ready_off += n;
			t.next += static_cast<int64_t>(n);
			if (t.ready_off == len) {
				t.rows.pop_front();
				t.ready_off = 0;
			}
			break;
		case BlobReceiver::Take::pause:
			t.paused = true;  // the same bytes again after resume()
			return;
		case BlobReceiver::Take::refuse:
			return end(t, TransferEnd{TransferEnd::Kind::retry, true, label_ + ": the bytes were refused", 0});
		}
	}
	if (t.over || !t.rows.empty() || (t.conn && t.conn->in_flight)) return;
	if (t.next >= t.end) {
		TransferEnd done;
		done.kind = TransferEnd::Kind::complete;
		end(t, done);
	} else if (t.failed_query) {
		end(t, t.query_end);  // the rows before the failure are kept
	}
}

void UpstreamSource::end(Transfer &t, TransferEnd e) {
	if (t.over) return;
	t.over = true;
	t.result = std::move(e);
	t.rows.clear();
	if (t.conn) {
		bool reusable = t.conn->connected && !t.conn->in_flight && PQstatus(t.conn->pg.get()) == CONNECTION_OK;
		release(t.conn, reusable);
		t.conn = nullptr;
	}
}

void UpstreamSource::release(Conn *c, bool reusable) {
	c->user = nullptr;
	if (reusable) return;  // idle in the pool
	auto it = std::find_if(conns_.begin(), conns_.end(), [c](const auto &p) { return p.get() == c; });
	if (it != conns_.end()) conns_.erase(it);
}

void UpstreamSource::drop_transfer(Transfer *t) {
	for (auto *list : {&transfers_, &ended_}) {
		auto it = std::find_if(list->begin(), list->end(), [t](const auto &p) { return p.get() == t; });
		if (it != list->end()) {
			list->erase(it);
			return;
		}
	}
}

void UpstreamSource::resume(SourceTransfer *st) {
	auto *t = static_cast<Transfer *>(st);
	if (!t || t->over) return;
	t->paused = false;
	deliver(*t);  // may deliver (and pause) at once
}

void UpstreamSource::stop(SourceTransfer *st) {
	auto *t = static_cast<Transfer *>(st);
	if (!t) return;
	if (t->conn) {
		// A query still in flight would have to be read to its end first:
		// the connection is closed instead.
		release(t->conn, t->conn->connected && !t->conn->in_flight);
		t->conn = nullptr;
	}
	drop_transfer(t);
}

void UpstreamSource::run() {
	if (aborted())
		for (auto &t : transfers_) end(*t, TransferEnd{TransferEnd::Kind::retry, true, label_ + ": aborted", 0});
	for (auto &t : transfers_)
		if (!t->over && !t->conn && t->asked < t->end) give_connection(*t);
	// Which connecting sockets are ready: PQconnectPoll must be called only then.
	std::vector<pollfd> fds;
	std::vector<Conn *> connecting;
	for (auto &c : conns_)
		if (!c->connected && c->user && PQsocket(c->pg.get()) >= 0) {
			fds.push_back(pollfd{PQsocket(c->pg.get()), static_cast<short>(c->want == PGRES_POLLING_READING ? POLLIN : POLLOUT), 0});
			connecting.push_back(c.get());
		}
	if (!fds.empty() && poll(fds.data(), fds.size(), 0) < 0) std::fill(fds.begin(), fds.end(), pollfd{-1, 0, 0});
	for (size_t i = 0; i < connecting.size(); ++i) connect_step(*connecting[i], fds[i].revents);
	for (auto &t : transfers_) {
		if (t->over) continue;
		if (t->conn && t->conn->connected) {
			if (t->conn->in_flight) query_step(*t);
			if (!t->over && t->conn) send_next(*t);
		}
		deliver(*t);  // also ends an empty range (a blob of 0 bytes)
	}
	sweep();
}

void UpstreamSource::sweep() {
	for (auto it = transfers_.begin(); it != transfers_.end();) {
		if ((*it)->over) {
			ended_.push_back(std::move(*it));
			it = transfers_.erase(it);
		} else {
			++it;
		}
	}
}

int UpstreamSource::collect(const std::function<void(BlobReceiver &, const TransferEnd &)> &ended) {
	sweep();  // resume() may have ended a transfer since run()
	// One at a time: a report may stop another ended transfer (a ranged
	// download that gives up stops its other streams and frees their
	// receivers), which must then not be reported.
	int count = 0;
	while (!ended_.empty()) {
		std::unique_ptr<Transfer> t = std::move(ended_.front());
		ended_.erase(ended_.begin());
		ended(*t->rx, t->result);
		++count;
	}
	return count;
}

bool UpstreamSource::has_work_now() const {
	if (!ended_.empty() || aborted()) return true;
	bool free_conn = may_use_another_connection();
	for (auto &t : transfers_) {
		if (t->over) return true;
		if (!t->conn && (free_conn || t->asked >= t->end)) return true;
		if (!t->paused && !t->rows.empty()) return true;
		if (!t->conn || !t->conn->connected) continue;
		if (!t->conn->in_flight && t->asked < t->end && !t->failed_query) return true;
		// A row libpq has already read from the socket: poll() would not say so.
		if (t->conn->in_flight && t->rows.size() < kRowsAhead && !PQisBusy(t->conn->pg.get())) return true;
	}
	return false;
}

void UpstreamSource::wait(int max_ms) {
	std::vector<pollfd> fds{pollfd{wake_fd_, POLLIN, 0}};
	for (auto &c : conns_) {
		int fd = PQsocket(c->pg.get());
		if (fd < 0 || !c->user) continue;
		short ev = 0;
		if (!c->connected) ev = c->want == PGRES_POLLING_READING ? POLLIN : POLLOUT;
		else if (c->in_flight)
			ev = static_cast<short>((c->user->rows.size() < kRowsAhead ? POLLIN : 0) | (c->flushing ? POLLOUT : 0));
		if (ev) fds.push_back(pollfd{fd, ev, 0});
	}
	// A connection that is being made times out: wake up for that too.
	int timeout = has_work_now() ? 0 : std::max(max_ms, 0);
	if (std::any_of(conns_.begin(), conns_.end(), [](const auto &c) { return !c->connected && c->user; }))
		timeout = std::min(timeout, 100);
	if (poll(fds.data(), fds.size(), timeout) > 0 && (fds[0].revents & POLLIN)) {
		uint64_t n = 0;
		while (read(wake_fd_, &n, sizeof n) > 0) {
		}
	}
}

void UpstreamSource::wake() {
	uint64_t one = 1;
	ssize_t w = write(wake_fd_, &one, sizeof one);
	(void)w;  // a full counter already wakes the poll
}

}  // namespace pgmlr::hf_fetch
