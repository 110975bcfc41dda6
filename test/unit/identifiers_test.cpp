#include <gtest/gtest.h>

#include "identifiers.hpp"

using pgmlr::check_role_name;

TEST(RoleName, AcceptsPlainNames) {
	for (const char *n : {"replication_user", "r", "_x", "Repl2", "a$b", "user_9$", "all"})
		EXPECT_FALSE(check_role_name(n)) << n;
	EXPECT_FALSE(check_role_name(std::string(63, 'a')));
}

TEST(RoleName, RefusesEmptyAndTooLong) {
	auto st = check_role_name("");
	ASSERT_TRUE(st);
	EXPECT_EQ(st->code, PGMLR_ERR_INVALID_NAME);
	EXPECT_FALSE(st->hint.empty());
	st = check_role_name(std::string(64, 'a'));
	ASSERT_TRUE(st);
	EXPECT_NE(st->message.find("too long"), std::string::npos);
}

TEST(RoleName, RefusesNonPlainNamesWithoutEchoingThem) {
	for (const char *n : {"1abc", "$abc", "a-b", "a b", "a\"b", "a'b", "x\"; DROP ROLE postgres; --", "a\nb", "a.b",
						  "caf\xc3\xa9", "a\tb", "a;b"}) {
		auto st = check_role_name(n);
		ASSERT_TRUE(st) << n;
		EXPECT_EQ(st->code, PGMLR_ERR_INVALID_NAME);
		EXPECT_EQ(st->message, "role name is not a plain identifier");
		EXPECT_FALSE(st->hint.empty());
	}
}

TEST(RoleName, RefusesReservedNamesInAnyCase) {
	for (const char *n : {"pg_monitor", "pg_x", "PG_foo", "public", "PUBLIC", "none", "current_user", "Session_User",
						  "current_role"}) {
		auto st = check_role_name(n);
		ASSERT_TRUE(st) << n;
		EXPECT_NE(st->message.find("reserved"), std::string::npos) << n;
		EXPECT_FALSE(st->hint.empty());
	}
	EXPECT_FALSE(check_role_name("pgx"));
	EXPECT_FALSE(check_role_name("publicity"));
}

TEST(RoleName, CBoundary) {
	pgmlr_status st;
	EXPECT_TRUE(pgmlr_check_role_name("replication_user", &st));
	EXPECT_EQ(st.code, PGMLR_OK);
	EXPECT_FALSE(pgmlr_check_role_name(nullptr, &st));
	EXPECT_EQ(st.code, PGMLR_ERR_INVALID_NAME);
}
