// The replica's sync of the cache extras (hf_fetch/upstream_extras.hpp)
// stays bounded: an upstream that accepts the connection and never answers
// is given up after the timeout, an abort flag stops it, a conninfo libpq
// rejects is refused without quoting it. The rows themselves are tested in
// extras_write_test.cpp and test/cluster/t/066_upstream_extras.pl.
#include "hf_fetch/upstream_extras.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <string>

#include "../silent_server.hpp"
#include "../temp_files.hpp"

using namespace pgmlr;
using namespace pgmlr::hf_fetch;


TEST(UpstreamExtras, SilentUpstreamTimesOut) {
	SilentServer s;
	ASSERT_GT(s.port, 0);
	test_files::TempDir d{"pgml_repl_upx"};
	ExtrasCounts c;
	auto t0 = std::chrono::steady_clock::now();
	Status st = sync_upstream_extras(d.path, s.conninfo(), 500, nullptr, &c);
	auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
	ASSERT_TRUE(st);
	EXPECT_EQ(st->code, ErrCode::Io);
	EXPECT_NE(st->message.find("upstream 127.0.0.1:" + std::to_string(s.port) + ": timed out"), std::string::npos)
		<< st->message;
	EXPECT_EQ(st->message.find("sekrit"), std::string::npos);
	EXPECT_LT(ms, 3000);
}

TEST(UpstreamExtras, AbortFlagStops) {
	SilentServer s;
	ASSERT_GT(s.port, 0);
	test_files::TempDir d{"pgml_repl_upx"};
	ExtrasCounts c;
	volatile sig_atomic_t flag = 1;
	Status st = sync_upstream_extras(d.path, s.conninfo(), 60000, &flag, &c);
	ASSERT_TRUE(st);
	EXPECT_EQ(st->code, ErrCode::Canceled);
}

TEST(UpstreamExtras, BadConninfoIsNotQuoted) {
	test_files::TempDir d{"pgml_repl_upx"};
	ExtrasCounts c;
	Status st = sync_upstream_extras(d.path, "host=x password=sekrit bogus=1", 1000, nullptr, &c);
	ASSERT_TRUE(st);
	EXPECT_EQ(st->code, ErrCode::InvalidParameter);
	EXPECT_EQ((st->message + st->detail + st->hint).find("sekrit"), std::string::npos);
	st = sync_upstream_extras("relative", "host=127.0.0.1", 1000, nullptr, &c);
	ASSERT_TRUE(st);
	EXPECT_EQ(st->code, ErrCode::ConfigFile);
}
