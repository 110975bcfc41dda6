// The upstream source's pure parts (upstream_answer.hpp): its name from a
// conninfo (never the password), chunk planning, SQLSTATEs and connection
// failures as TransferEnd values; UpstreamSource where no server is needed
// (a conninfo libpq rejects, a closed port, an empty range), and against a
// scripted server (fake_pg_server.hpp): rows in order across queries, what
// an error, a short answer or a row too many leave, and the pace after a
// busy answer.
#include "hf_fetch/upstream_answer.hpp"
#include "hf_fetch/upstream_source.hpp"
#include "pgml_repl/hf_fetch.h"
#include "fake_pg_server.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <thread>
#include <string>
#include <vector>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace pgmlr::hf_fetch;

namespace {

std::string label_of(const std::string &conninfo) {
	std::string label, why;
	EXPECT_TRUE(upstream_label(conninfo, &label, &why)) << why;
	return label;
}

TEST(UpstreamLabel, HostAndPortNeverThePassword) {
	EXPECT_EQ(label_of("host=10.0.0.5 port=5433 user=fetcher password=s3cret dbname=postgres"), "upstream 10.0.0.5:5433");
	EXPECT_EQ(label_of("hostaddr=127.0.0.1 user=u"), "upstream 127.0.0.1:5432");
	EXPECT_EQ(label_of("host=a,b port=6000,6001"), "upstream a:6000");
	EXPECT_EQ(label_of("postgresql://u:pw@primary.example:6543/postgres"), "upstream primary.example:6543");
	EXPECT_EQ(label_of(""), "upstream localhost:5432");
}

TEST(UpstreamLabel, RejectedConninfoDoesNotQuoteIt) {
	std::string label, why;
	EXPECT_FALSE(upstream_label("host=x password=s3cret bogus_key=1", &label, &why));
	EXPECT_NE(why.find("bogus_key"), std::string::npos) << why;
	EXPECT_EQ(why.find("s3cret"), std::string::npos) << why;
	EXPECT_FALSE(upstream_label("host='unterminated", &label, &why));
}

TEST(UpstreamChunks, AtMostAChunkNeverPastTheEnd) {
	EXPECT_EQ(next_chunk_length(0, 100, 8), 8);
	EXPECT_EQ(next_chunk_length(96, 100, 8), 4);
	EXPECT_EQ(next_chunk_length(100, 100, 8), 0);
	EXPECT_EQ(next_chunk_length(101, 100, 8), 0);
	EXPECT_EQ(next_chunk_length(0, int64_t{200} << 20), kUpstreamChunk);
	// A 200 MiB range: 64 + 64 + 64 + 8 MiB, none over what the server serves per call.
	int64_t pos = 0, calls = 0;
	while (int64_t n = next_chunk_length(pos, int64_t{200} << 20)) {
		EXPECT_LE(n, int64_t{64} << 20);
		pos += n, ++calls;
	}
	EXPECT_EQ(calls, 4);
	EXPECT_EQ(pos, int64_t{200} << 20);
}

const std::string kL = "upstream 127.0.0.1:5432";

TEST(UpstreamErrors, SqlstatesToTransferEnds) {
	TransferEnd e = upstream_error_end(kL, "abc", "58P01", "ERROR:  blob abc is not in the cache\n");
	EXPECT_EQ(e.kind, TransferEnd::Kind::retry);
	EXPECT_TRUE(e.keep_bytes);
	EXPECT_EQ(e.why, kL + ": blob abc is not (yet) in its cache");

	e = upstream_error_end(kL, "abc", "53300", "too many blob readers");
	EXPECT_EQ(e.kind, TransferEnd::Kind::retry);
	EXPECT_EQ(e.retry_after_s, kUpstreamBusyRetryS);
	EXPECT_TRUE(e.busy);  // not the file's failure: waits its turn
	EXPECT_GT(e.retry_after_s, 0);

	e = upstream_error_end(kL, "abc", "42704", "not in pgml_repl.hf_manifest");
	EXPECT_EQ(e.kind, TransferEnd::Kind::fail);
	EXPECT_EQ(e.why.rfind(kL + ": ", 0), 0u) << e.why;
	EXPECT_NE(e.why.find("hf_manifest"), std::string::npos);

	for (const char *state : {"42501", "28000", "28P01"}) {
		e = upstream_error_end(kL, "abc", state, "permission denied for function hf_blob_read");
		EXPECT_EQ(e.kind, TransferEnd::Kind::fail) << state;
		EXPECT_NE(e.why.find("allow_blob_fetch"), std::string::npos) << e.why;
		EXPECT_NE(e.why.find("pg_hba.conf"), std::string::npos) << e.why;
	}
	e = upstream_error_end(kL, "abc", "42883", "function pgml_repl.hf_blob_read does not exist");
	EXPECT_EQ(e.kind, TransferEnd::Kind::fail);
	e = upstream_error_end(kL, "abc", "22023", "offset past the end");
	EXPECT_EQ(e.kind, TransferEnd::Kind::fail);
	for (const char *state : {"57014", "57P01", "08006", "XX000", ""}) {
		e = upstream_error_end(kL, "abc", state, "something\n");
		EXPECT_EQ(e.kind, TransferEnd::Kind::retry) << state;
		EXPECT_TRUE(e.keep_bytes) << state;
		EXPECT_EQ(e.why.back(), 'g') << "no trailing newline: " << e.why;
	}
}

TEST(UpstreamErrors, ConnectionFailures) {
	TransferEnd e = upstream_connection_end(kL, "connection to server at \"127.0.0.1\", port 5432 failed: Connection refused\n");
	EXPECT_EQ(e.kind, TransferEnd::Kind::retry);
	EXPECT_TRUE(e.keep_bytes);
	EXPECT_EQ(e.why.rfind(kL + ": connection failed: ", 0), 0u) << e.why;
	for (const char *m : {"FATAL:  no pg_hba.conf entry for host \"127.0.0.1\", user \"x\", database \"postgres\"",
						  "FATAL:  password authentication failed for user \"x\"",
						  "FATAL:  role \"x\" does not exist"}) {
		e = upstream_connection_end(kL, m);
		EXPECT_EQ(e.kind, TransferEnd::Kind::fail) << m;
		EXPECT_NE(e.why.find("allow_blob_fetch"), std::string::npos) << e.why;
	}
}

TEST(UpstreamSource, RejectedConninfoIsAnErrorWithAHint) {
	UpstreamOptions o;
	o.conninfo = "host=x password=s3cret nonsense=1";
	auto s = UpstreamSource::create(o);
	ASSERT_FALSE(s);
	EXPECT_EQ(s.error().code, pgmlr::ErrCode::InvalidParameter);
	EXPECT_NE(s.error().hint.find("host="), std::string::npos);
	EXPECT_EQ(s.error().detail.find("s3cret"), std::string::npos);

	pgmlr_fetch_options c;
	pgmlr_fetch_options_init(&c);
	c.cache_root = "/tmp";
	c.upstream_conninfo = "nonsense=1";
	pgmlr_status st;
	pgmlr_fetch_job *job = pgmlr_fetch_new(&c, &st);
	EXPECT_EQ(job, nullptr);
	EXPECT_STREQ(st.message, "invalid upstream conninfo");
	pgmlr_fetch_free(job);
	c.upstream_conninfo = "host=127.0.0.1 dbname=postgres";  // no endpoint needed
	job = pgmlr_fetch_new(&c, &st);
	EXPECT_NE(job, nullptr) << st.message;
	pgmlr_fetch_free(job);
}

struct Sink final : BlobReceiver {
	std::string got;
	Take take(const char *d, size_t n) override {
		got.append(d, n);
		return Take::ok;
	}
	bool restart() override { return false; }
};

// Runs the source until one transfer has ended (bounded); returns its end.
TransferEnd run_until_end(UpstreamSource &s) {
	TransferEnd out;
	bool ended = false;
	auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
	while (!ended && std::chrono::steady_clock::now() < deadline) {
		s.run();
		s.collect([&](BlobReceiver &, const TransferEnd &e) {
			out = e;
			ended = true;
		});
		if (!ended) s.wait(100);
	}
	EXPECT_TRUE(ended);
	return out;
}

// A source for conninfo with one transfer of a blob of size bytes started.
struct OneTransfer {
	std::unique_ptr<UpstreamSource> source;
	BlobTask task;
	Sink rx;
	OneTransfer(const std::string &conninfo, int64_t size, int64_t chunk = kUpstreamChunk) {
		UpstreamOptions o;
		o.conninfo = conninfo;
		o.chunk = chunk;
		auto s = UpstreamSource::create(o);
		EXPECT_TRUE(s);
		if (!s) return;
		source = std::move(*s);
		task.blob = std::string(64, 'a');
		task.size = size;
		std::string why;
		EXPECT_NE(source->start(task, 0, rx, &why), nullptr) << why;
	}
};

TEST(UpstreamSource, ClosedPortIsRetriedNamingTheUpstream) {
	// A port nobody listens on: bind one, note it, close it.
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	sockaddr_in a{};
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a), 0);
	socklen_t len = sizeof a;
	getsockname(fd, reinterpret_cast<sockaddr *>(&a), &len);
	int port = ntohs(a.sin_port);
	close(fd);

	OneTransfer one("host=127.0.0.1 port=" + std::to_string(port) + " user=u password=s3cret dbname=postgres", 100);
	ASSERT_TRUE(one.source);
	TransferEnd e = run_until_end(*one.source);
	EXPECT_EQ(e.kind, TransferEnd::Kind::retry);
	EXPECT_TRUE(e.keep_bytes);
	EXPECT_EQ(e.why.rfind("upstream 127.0.0.1:" + std::to_string(port) + ": connection failed", 0), 0u) << e.why;
	EXPECT_EQ(e.why.find("s3cret"), std::string::npos);
}

TEST(UpstreamSource, EmptyRangeCompletesWithoutAServer) {
	OneTransfer one("host=127.0.0.1 port=1 dbname=postgres", 0);
	ASSERT_TRUE(one.source);
	EXPECT_EQ(run_until_end(*one.source).kind, TransferEnd::Kind::complete);
	// A range outside the blob does not start.
	std::string why;
	EXPECT_EQ(one.source->start(one.task, ByteRange(5, 10), one.rx, &why), nullptr);
	EXPECT_NE(why.find("upstream 127.0.0.1:1"), std::string::npos);
}

// A ranged download that gives up stops its other streams from the report
// of the first, and frees their receivers: a transfer that ended in the same
// run() but is stopped before its report must not be reported (the worker
// died of that report on a cascading standby whose upstream lacked a blob).
TEST(UpstreamSource, ATransferStoppedBeforeItsReportIsNotReported) {
	OneTransfer one("host=127.0.0.1 port=1 dbname=postgres", 0);
	ASSERT_TRUE(one.source);
	Sink second_rx;
	std::string why;
	SourceTransfer *second = one.source->start(one.task, ByteRange(0, 0), second_rx, &why);
	ASSERT_NE(second, nullptr) << why;
	one.source->run();  // both empty ranges end here
	std::vector<BlobReceiver *> reported;
	int count = one.source->collect([&](BlobReceiver &rx, const TransferEnd &) {
		reported.push_back(&rx);
		if (&rx == &one.rx) one.source->stop(second);
	});
	ASSERT_EQ(reported.size(), 1u);
	EXPECT_EQ(reported[0], &one.rx);
	EXPECT_EQ(count, 1);
	EXPECT_EQ(one.source->collect([&](BlobReceiver &rx, const TransferEnd &) { reported.push_back(&rx); }), 0);
}

// Byte i of the scripted blob.
std::string blob_bytes(int64_t n) {
	std::string s(static_cast<size_t>(n), '\0');
	for (int64_t i = 0; i < n; ++i) s[static_cast<size_t>(i)] = static_cast<char>((i * 131 + 7) & 0xff);
	return s;
}

// content[from, to) as rows of at most row bytes.
std::vector<std::string> rows_of(const std::string &content, int64_t from, int64_t to, int64_t row) {
	std::vector<std::string> out;
	for (int64_t at = from; at < to; at += row)
		out.push_back(content.substr(static_cast<size_t>(at), static_cast<size_t>(std::min(row, to - at))));
	return out;
}

TEST(UpstreamRows, RowsAreHandedOverInOrderAcrossQueries) {
	const std::string content = blob_bytes(300001);
	std::mutex m;
	std::vector<std::pair<int64_t, int64_t>> asked;
	FakePgServer server([&](const std::string &, int64_t off, int64_t len) {
		std::lock_guard<std::mutex> g(m);
		asked.emplace_back(off, len);
		return FakePgServer::Answer::ok(rows_of(content, off, off + len, 10000));
	});
	ASSERT_NE(server.port, 0);
	OneTransfer one(server.conninfo(), static_cast<int64_t>(content.size()), 65536);
	ASSERT_TRUE(one.source);
	TransferEnd e = run_until_end(*one.source);
	EXPECT_EQ(e.kind, TransferEnd::Kind::complete) << e.why;
	EXPECT_TRUE(one.rx.got == content) << one.rx.got.size() << " bytes";
	std::lock_guard<std::mutex> g(m);
	ASSERT_EQ(asked.size(), 5u);  // 4 x 64 KiB + the rest
	for (size_t i = 0; i < asked.size(); ++i) EXPECT_EQ(asked[i].first, static_cast<int64_t>(i) * 65536);
	EXPECT_EQ(asked.back().second, 300001 - 4 * 65536);
}

TEST(UpstreamRows, AnErrorAfterSomeRowsKeepsThoseRows) {
	const std::string content = blob_bytes(100000);
	FakePgServer server([&](const std::string &, int64_t off, int64_t) {
		return FakePgServer::Answer::error(rows_of(content, off, off + 30000, 10000), "57014",
										   "canceling statement due to statement timeout");
	});
	ASSERT_NE(server.port, 0);
	OneTransfer one(server.conninfo(), 100000);
	ASSERT_TRUE(one.source);
	TransferEnd e = run_until_end(*one.source);
	EXPECT_EQ(e.kind, TransferEnd::Kind::retry);
	EXPECT_TRUE(e.keep_bytes);
	EXPECT_NE(e.why.find("57014"), std::string::npos) << e.why;
	EXPECT_TRUE(one.rx.got == content.substr(0, 30000)) << one.rx.got.size() << " bytes";
}

TEST(UpstreamRows, FewerBytesThanAskedAreRetriedAfterTheRows) {
	const std::string content = blob_bytes(100000);
	FakePgServer server([&](const std::string &, int64_t off, int64_t) {
		return FakePgServer::Answer::ok(rows_of(content, off, off + 50000, 20000));
	});
	ASSERT_NE(server.port, 0);
	OneTransfer one(server.conninfo(), 100000);
	ASSERT_TRUE(one.source);
	TransferEnd e = run_until_end(*one.source);
	EXPECT_EQ(e.kind, TransferEnd::Kind::retry);
	EXPECT_NE(e.why.find("answered 50000 bytes of blob"), std::string::npos) << e.why;
	EXPECT_TRUE(one.rx.got == content.substr(0, 50000)) << one.rx.got.size() << " bytes";
}

TEST(UpstreamRows, ARowPastTheBytesAskedIsNotHandedOver) {
	const std::string content = blob_bytes(100000);
	FakePgServer server([&](const std::string &, int64_t, int64_t) {
		return FakePgServer::Answer::ok({content.substr(0, 60000), std::string(50000, 'x')});
	});
	ASSERT_NE(server.port, 0);
	OneTransfer one(server.conninfo(), 100000);
	ASSERT_TRUE(one.source);
	TransferEnd e = run_until_end(*one.source);
	EXPECT_EQ(e.kind, TransferEnd::Kind::retry);
	EXPECT_NE(e.why.find("not the next bytes asked for"), std::string::npos) << e.why;
	EXPECT_TRUE(one.rx.got == content.substr(0, 60000)) << one.rx.got.size() << " bytes";
}

// After a busy answer the source uses fewer connections at once: a transfer
// started again waits for the other's query instead of asking beside it.
TEST(UpstreamRows, ABusyAnswerLowersTheConnectionsInUse) {
	const std::string content = blob_bytes(100000);
	std::atomic<bool> busy_given{false};
	std::atomic<int> reading{0}, most_reading{0};
	FakePgServer server([&](const std::string &, int64_t off, int64_t len) {
		if (!busy_given.exchange(true)) return FakePgServer::Answer::error({}, "53300", "too many blob readers");
		int now = ++reading;
		for (int m = most_reading; now > m && !most_reading.compare_exchange_weak(m, now);) {
		}
		// Long enough that a query asked beside this one overlaps it.
		std::this_thread::sleep_for(std::chrono::milliseconds(300));
		--reading;
		return FakePgServer::Answer::ok(rows_of(content, off, off + len, 10000));
	});
	ASSERT_NE(server.port, 0);
	UpstreamOptions o;
	o.conninfo = server.conninfo();
	auto made = UpstreamSource::create(o);
	ASSERT_TRUE(made);
	UpstreamSource &source = **made;
	BlobTask task;
	task.blob = std::string(64, 'a');
	task.size = 100000;
	Sink low, high;
	std::string why;
	ASSERT_NE(source.start(task, ByteRange(0, 50000), low, &why), nullptr) << why;
	ASSERT_NE(source.start(task, ByteRange(50000, 100000), high, &why), nullptr) << why;
	std::vector<std::pair<BlobReceiver *, TransferEnd>> ends;
	auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
	while (ends.size() < 3 && std::chrono::steady_clock::now() < deadline) {
		source.run();
		source.collect([&](BlobReceiver &rx, const TransferEnd &e) {
			ends.emplace_back(&rx, e);
			if (e.busy) {  // as the job would, a little later: the same range again
				Sink &again = &rx == &low ? low : high;
				again.got.clear();
				int64_t from = &rx == &low ? 0 : 50000;
				EXPECT_NE(source.start(task, ByteRange(from, from + 50000), again, &why), nullptr) << why;
			}
		});
		source.wait(100);
	}
	ASSERT_EQ(ends.size(), 3u);
	EXPECT_TRUE(ends[0].second.busy) << ends[0].second.why;
	EXPECT_EQ(ends[1].second.kind, TransferEnd::Kind::complete) << ends[1].second.why;
	EXPECT_EQ(ends[2].second.kind, TransferEnd::Kind::complete) << ends[2].second.why;
	EXPECT_TRUE(low.got + high.got == content);
	EXPECT_EQ(most_reading.load(), 1);
}

}  // namespace
