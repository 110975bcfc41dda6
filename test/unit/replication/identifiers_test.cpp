#include <gtest/gtest.h>

#include "replication/identifiers.hpp"
#include "pgml_repl/replication.h"

using pgmlr::check_role_name;

TEST(RoleName, AcceptsPlainNames) {
	for (const char *n : {"replication_user", "r", "_x", "Repl2", "a$b", "user_9$", "all"})
		EXPECT_FALSE(check_role_name(n)) << n;
	EXPECT_FALSE(check_role_name(std::string(63, 'a')));
}

TEST(RoleName, RefusesEmptyAndTooLong) {
	auto st = check_role_name("");
	ASSERT_TRUE(st);
	EXPECT_EQ(st->code, pgmlr::ErrCode::InvalidName);
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
		EXPECT_EQ(st->code, pgmlr::ErrCode::InvalidName);
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

TEST(NearestName, DistanceCountsEditsAndSwaps) {
	EXPECT_EQ(pgmlr::name_distance("replication_user", "replication_user"), 0u);
	EXPECT_EQ(pgmlr::name_distance("Replication_User", "replication_user"), 0u);
	EXPECT_EQ(pgmlr::name_distance("replicaton_user", "replication_user"), 1u);   // a deletion
	EXPECT_EQ(pgmlr::name_distance("replciation_user", "replication_user"), 1u);  // a swap
	EXPECT_EQ(pgmlr::name_distance("replication_usr", "replication_user"), 1u);
	EXPECT_EQ(pgmlr::name_distance("", "abc"), 3u);
	EXPECT_EQ(pgmlr::name_distance("abc", ""), 3u);
	EXPECT_EQ(pgmlr::name_distance("kitten", "sitting"), 3u);
}

TEST(NearestName, SuggestsOnlyLikelyMisspellings) {
	const std::vector<std::string> roles{"replication_user", "standby_2", "repl"};
	EXPECT_EQ(pgmlr::nearest_name("replicaton_user", roles), "replication_user");
	EXPECT_EQ(pgmlr::nearest_name("REPLICATION_USER", roles), "replication_user");
	EXPECT_EQ(pgmlr::nearest_name("standby2", roles), "standby_2");
	EXPECT_EQ(pgmlr::nearest_name("rep", roles), "repl");
	EXPECT_EQ(pgmlr::nearest_name("replication", roles), "replication_user");  // 5 edits of 16: within a third
	EXPECT_EQ(pgmlr::nearest_name("monitoring", roles), std::nullopt);
	EXPECT_EQ(pgmlr::nearest_name("postgres", roles), std::nullopt);
	EXPECT_EQ(pgmlr::nearest_name("ab", roles), std::nullopt);
	EXPECT_EQ(pgmlr::nearest_name("replicaton_user", {}), std::nullopt);
	// The nearest wins over an earlier, farther one; equals keep the first.
	EXPECT_EQ(pgmlr::nearest_name("standby_22", {"standby_1", "standby_2"}), "standby_2");
	EXPECT_EQ(pgmlr::nearest_name("standby_3", {"standby_1", "standby_2"}), "standby_1");
}

TEST(NearestName, CEntryPoint) {
	const char *roles[] = {"replication_user", nullptr, "standby_2"};
	pgmlr_status st;
	char *best = pgmlr_nearest_name("replication_usr", roles, 3, &st);
	ASSERT_EQ(st.code, PGMLR_OK);
	ASSERT_NE(best, nullptr);
	EXPECT_STREQ(best, "replication_user");
	pgmlr_free(best);
	EXPECT_EQ(pgmlr_nearest_name("zzzzzzzz", roles, 3, &st), nullptr);
	EXPECT_EQ(st.code, PGMLR_OK);
	EXPECT_EQ(pgmlr_nearest_name(nullptr, roles, 0, &st), nullptr);
}
