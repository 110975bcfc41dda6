// The upstream server as a Source: a PostgreSQL server with pgml_replication
// (the primary, or a standby above this one) serves a blob's bytes through
// SELECT pgml_repl.hf_blob_read_rows(blob, offset, length) over libpq. One
// connection per running transfer, from a pool reused across transfers (at
// most max_connections), all non-blocking: connecting, sending and reading
// are driven from run(), wait() polls the sockets and an eventfd (wake()).
// A transfer asks its range in chunks (upstream_answer.hpp), one query at a
// time; each answers rows of 256 KiB in libpq's single-row mode, handed over
// as they come. A few rows are held at most: while the receiver is paused
// the socket is not read, and TCP holds the server back. Errors become
// TransferEnd values (upstream_answer.cpp); nothing throws through libpq,
// and no message carries the password.
#pragma once
#include "common/core_only.hpp"

#include <csignal>
#include <memory>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "hf_fetch/source.hpp"
#include "hf_fetch/upstream_answer.hpp"

namespace pgmlr::hf_fetch {

struct UpstreamOptions {
	std::string conninfo;  // libpq's; dbname is the database the extension is in
	int max_connections = 4;
	int connect_timeout_ms = 10000;
	int64_t chunk = kUpstreamChunk;
	volatile sig_atomic_t *abort_flag = nullptr;  // set: every transfer ends (retry, "aborted")
};

class UpstreamSource final : public Source {
public:
	// An error when the conninfo does not parse (the message never quotes it).
	static Result<std::unique_ptr<UpstreamSource>> create(UpstreamOptions opts);
	~UpstreamSource() override;
	UpstreamSource(const UpstreamSource &) = delete;
	UpstreamSource &operator=(const UpstreamSource &) = delete;

	SourceTransfer *start(const BlobTask &task, ByteRange range, BlobReceiver &rx, std::string *why) override;
	bool serves_ranges() const override { return true; }
	std::string name() const override { return label_; }
	void resume(SourceTransfer *t) override;
	void stop(SourceTransfer *t) override;
	void run() override;
	int collect(const std::function<void(BlobReceiver &, const TransferEnd &)> &ended) override;
	void wait(int max_ms) override;
	void wake() override;
	// "postgresql://HOST:PORT": this source's key in the fetch memory.
	std::string memory_key() const { return "postgresql://" + label_.substr(label_.find(' ') + 1); }

	struct Conn;
	struct Transfer;

private:
	UpstreamSource(UpstreamOptions opts, std::string label);
	bool aborted() const { return opts_.abort_flag && *opts_.abort_flag; }
	void give_connection(Transfer &t);
	void connect_step(Conn &c, short revents);
	void query_step(Transfer &t);
	void send_next(Transfer &t);
	void deliver(Transfer &t);
	void end(Transfer &t, TransferEnd e);
	void release(Conn *c, bool reusable);
	void drop_transfer(Transfer *t);
	void sweep();  // ended transfers to ended_
	bool has_work_now() const;
	int connections_in_use() const;
	bool may_use_another_connection() const;

	UpstreamOptions opts_;
	std::string label_;
	int wake_fd_ = -1;
	std::vector<std::unique_ptr<Conn>> conns_;
	std::vector<std::unique_ptr<Transfer>> transfers_;  // running or waiting for a connection
	std::vector<std::unique_ptr<Transfer>> ended_;      // for collect()
	// After a "busy" answer (the upstream at max_blob_readers): the
	// connections in use at most, one more per query that completes; 0 when
	// no answer was busy since the cap grew back to max_connections. Other
	// transfers then wait here for a connection instead of being told "busy"
	// too, so a standby settles at the pace the upstream grants.
	int busy_cap_ = 0;
};

}  // namespace pgmlr::hf_fetch
