#include <gtest/gtest.h>

#include <string>

#include "replication/pgbackrest_info.hpp"
#include "pgml_repl/replication.h"

using namespace pgmlr;

namespace {

const std::string kInfo =
    R"([{"archive":[{"database":{"id":1,"repo-key":1},"id":"15-1","max":"000000010000000000000006","min":"000000010000000000000001"},)"
    R"({"database":{"id":2,"repo-key":1},"id":"15-2","max":"000000010000000000000009","min":"000000010000000000000007"},)"
    R"({"database":{"id":2,"repo-key":2},"id":"15-2","max":"00000002000000000000000A","min":"000000010000000000000007"}],)"
    R"("backup":[],"cipher":"none","db":[{"id":1,"repo-key":1,"system-id":7345678901234567000,"version":"15"},)"
    R"({"id":2,"repo-key":1,"system-id":7345678901234567890,"version":"15"}],"name":"main",)"
    R"("repo":[{"cipher":"none","key":1,"status":{"code":0,"message":"ok"}}],)"
    R"("status":{"code":0,"lock":{"backup":{"held":false}},"message":"ok"}},)"
    R"({"archive":[],"backup":[],"cipher":"none","db":[],"name":"other","repo":[],"status":{"code":1,"message":"missing stanza path"}}])";

std::string with_status(long code, const std::string &message) {
	return R"([{"name":"main","archive":[],"db":[],"status":{"code":)" + std::to_string(code) + R"(,"message":")" +
	       message + R"("}}])";
}

}  // namespace

TEST(PgbackrestInfo, SystemIdStaysExact) {
	Result<std::string> id = stanza_system_id(kInfo, "main");
	ASSERT_TRUE(id.ok()) << id.error().message;
	EXPECT_EQ(*id, "7345678901234567890");  // > 2^53: a double would give ...7000 or ...8000
	EXPECT_FALSE(validate_info_json(kInfo));
}

// Found by test/fuzz/fuzz_pgbackrest_info: a db entry without "id" (or not
// an object) before the current one was read out of bounds (ASan) or threw.
TEST(PgbackrestInfo, SystemIdSkipsMalformedDbEntries) {
	const char *text =
	    R"([{"name":"main","status":{"code":0,"message":"ok"},)"
	    R"("db":[{"version":"15"},7,{"id":"1","system-id":1},{"id":1,"system-id":7345678901234567890}]}])";
	Result<std::string> id = stanza_system_id(text, "main");
	ASSERT_TRUE(id.ok()) << id.error().message;
	EXPECT_EQ(*id, "7345678901234567890");
}

TEST(PgbackrestInfo, ArchiveMaxOfCurrentDatabase) {
	auto r = archive_max(kInfo, "main");
	ASSERT_TRUE(r.ok()) << r.error().message;
	ASSERT_TRUE(r->has_value());
	EXPECT_EQ(**r, "00000002000000000000000A");
	// no archive yet: no value, no error (code 2 is normal before a backup)
	auto none = archive_max(with_status(2, "no valid backups"), "main");
	ASSERT_TRUE(none.ok());
	EXPECT_FALSE(none->has_value());
}

TEST(PgbackrestInfo, StatusCodesExplained) {
	EXPECT_EQ(stanza_status_text(0), "ok");
	EXPECT_NE(stanza_status_text(1).find("missing stanza path"), std::string::npos);
	EXPECT_NE(stanza_status_text(2).find("no valid backups"), std::string::npos);
	EXPECT_NE(stanza_status_text(3).find("missing stanza data"), std::string::npos);
	EXPECT_NE(stanza_status_text(99).find("other"), std::string::npos);
	EXPECT_NE(stanza_status_text(42).find("unknown status code 42"), std::string::npos);
	for (long code : {1L, 3L, 99L}) {
		auto r = archive_max(with_status(code, "from pgbackrest"), "main");
		ASSERT_FALSE(r.ok()) << code;
		EXPECT_EQ(r.error().message, "pgBackRest stanza \"main\" is not usable");
		EXPECT_NE(r.error().detail.find("Status " + std::to_string(code) + ", " + stanza_status_text(code)),
		          std::string::npos);
		EXPECT_NE(r.error().detail.find("from pgbackrest"), std::string::npos);
		EXPECT_FALSE(r.error().hint.empty());
	}
	EXPECT_NE(archive_max(with_status(1, "x"), "main").error().hint.find("stanza-create"), std::string::npos);
	auto other = archive_max(kInfo, "other");
	ASSERT_FALSE(other.ok());
	EXPECT_NE(other.error().hint.find("stanza-create"), std::string::npos);
}

TEST(PgbackrestInfo, MissingFieldsAndBadJson) {
	EXPECT_TRUE(validate_info_json("not json"));
	EXPECT_TRUE(validate_info_json("{}"));
	EXPECT_TRUE(validate_info_json(R"([{"name":"main"}])"));
	EXPECT_TRUE(validate_info_json(R"([{"status":{"code":0}}])"));
	EXPECT_TRUE(validate_info_json(R"([{"name":"main","status":{"code":"0"}}])"));
	EXPECT_TRUE(validate_info_json("[\"\xff\"]"));
	EXPECT_FALSE(validate_info_json("[]"));
	EXPECT_FALSE(validate_info_json(R"([{"name":"main","status":{"code":0}}])"));
	Status st = validate_info_json("WARN: something\n[]");
	ASSERT_TRUE(st);
	EXPECT_NE(st->detail.find("WARN: something"), std::string::npos);
	auto missing = archive_max("[]", "main");
	ASSERT_FALSE(missing.ok());
	EXPECT_EQ(missing.error().message, "pgBackRest reports no stanza \"main\"");
	// archive entries without max or database are skipped, not fatal
	auto r = archive_max(
	    R"([{"name":"main","status":{"code":0},"db":[{"id":1,"system-id":1}],"archive":[{"id":"15-1"},{"database":{"id":1},"max":null}]}])",
	    "main");
	ASSERT_TRUE(r.ok());
	EXPECT_FALSE(r->has_value());
	EXPECT_FALSE(stanza_system_id(with_status(1, "x"), "main").ok());
}

TEST(PgbackrestInfo, CommandQuotesAndBounds) {
	Result<std::string> c = pgbackrest_info_command("main", "/etc/pg br's.conf", 30, "/data/base/pgsql_tmp/e");
	ASSERT_TRUE(c.ok());
	EXPECT_EQ(*c,
	          "timeout --kill-after=5 30 pgbackrest '--config=/etc/pg br'\\''s.conf' '--stanza=main' --output=json info "
	          "2>'/data/base/pgsql_tmp/e' </dev/null");
	c = pgbackrest_info_command("main", "", 5, "/tmp/e");
	ASSERT_TRUE(c.ok());
	EXPECT_EQ(c->find("--config"), std::string::npos);
	EXPECT_FALSE(pgbackrest_info_command("main; rm -rf /", "", 30, "/tmp/e").ok());
	EXPECT_FALSE(pgbackrest_info_command("main", "relative.conf", 30, "/tmp/e").ok());
	EXPECT_FALSE(pgbackrest_info_command("main", "/a\nb", 30, "/tmp/e").ok());
	EXPECT_FALSE(pgbackrest_info_command("main", "", 0, "/tmp/e").ok());
}

TEST(PgbackrestInfo, ExitErrors) {
	Error e = pgbackrest_exit_error(124, 30, "", "");
	EXPECT_EQ(e.message, "pgbackrest info did not finish within 30 seconds");
	EXPECT_NE(e.hint.find("pgml_replication.pgbackrest_timeout"), std::string::npos);
	e = pgbackrest_exit_error(127, 30, "", "sh: 1: pgbackrest: not found\n");
	EXPECT_EQ(e.message, "could not run pgbackrest");
	EXPECT_NE(e.detail.find("not found"), std::string::npos);
	e = pgbackrest_exit_error(29, 30, "", "ERROR: [029]: line 1\nline 2\nline 3\nline 4\nline 5\nline 6\nline 7\n");
	EXPECT_EQ(e.message, "pgbackrest info failed with exit code 29");
	EXPECT_NE(e.detail.find("ERROR: [029]"), std::string::npos);
	EXPECT_EQ(e.detail.find("line 6"), std::string::npos);
	EXPECT_FALSE(e.hint.empty());
	pgmlr_status st;
	pgmlr_pgbackrest_exit_error(1, 30, nullptr, nullptr, &st);
	EXPECT_EQ(st.code, PGMLR_ERR_IO);
	EXPECT_STREQ(st.detail, "pgbackrest wrote no error text.");
}
