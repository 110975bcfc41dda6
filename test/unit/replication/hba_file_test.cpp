#include <gtest/gtest.h>

#include "replication/hba_file.hpp"
#include "pgml_repl/replication.h"

using namespace pgmlr::hba;

namespace {

// The replication part of the file initdb writes for PostgreSQL 15.
const std::string kInitdb =
	"# TYPE  DATABASE        USER            ADDRESS                 METHOD\n"
	"\n"
	"# \"local\" is for Unix domain socket connections only\n"
	"local   all             all                                     trust\n"
	"# IPv4 local connections:\n"
	"host    all             all             127.0.0.1/32            trust\n"
	"# Allow replication connections from localhost, by a user with the\n"
	"# replication privilege.\n"
	"local   replication     all                                     trust\n"
	"host    replication     all             127.0.0.1/32            trust\n"
	"host    replication     all             ::1/128                 trust\n";

Rule rule(const std::string &addr, const std::string &method = "scram-sha-256",
		  const std::string &role = "replication_user") {
	return Rule{role, *normalize_address(addr), *normalize_method(method)};
}

std::string ours(const std::string &addr, const std::string &method = "scram-sha-256",
				 const std::string &role = "replication_user") {
	return render_rule(rule(addr, method, role));
}

}  // namespace

TEST(HbaParse, FieldsQuotesCommasComments) {
	auto lines = parse("host \"my db\",x  \"a\"\"b\" 10.0.0.0/8 md5 # note # more\n#only comment\n\n  \t\n");
	ASSERT_EQ(lines.size(), 4u);
	const auto &f = lines[0].fields;
	ASSERT_EQ(f.size(), 5u);
	ASSERT_EQ(f[1].size(), 2u);
	EXPECT_EQ(f[1][0].text, "my db");
	EXPECT_TRUE(f[1][0].quoted);
	EXPECT_EQ(f[1][1].text, "x");
	EXPECT_FALSE(f[1][1].quoted);
	EXPECT_EQ(f[2][0].text, "a\"b");
	EXPECT_EQ(lines[0].comment, "note # more");
	EXPECT_TRUE(lines[1].fields.empty());
	EXPECT_EQ(lines[1].comment, "only comment");
	EXPECT_TRUE(lines[2].fields.empty());
	EXPECT_TRUE(lines[3].fields.empty());
	EXPECT_EQ(lines[3].line_number, 4);
}

TEST(HbaParse, HashInsideQuotesIsNotAComment) {
	auto lines = parse("host all \"u#1\" 10.0.0.1/32 md5\n");
	ASSERT_EQ(lines[0].fields.size(), 5u);
	EXPECT_EQ(lines[0].fields[2][0].text, "u#1");
	EXPECT_EQ(lines[0].comment, "");
}

TEST(HbaParse, CommaWithBlankContinuesTheField) {
	auto lines = parse("host replication, all a, b 10.0.0.1/32 md5\n");
	ASSERT_EQ(lines[0].fields.size(), 5u);
	EXPECT_EQ(lines[0].fields[1].size(), 2u);
	EXPECT_EQ(lines[0].fields[2].size(), 2u);
}

TEST(HbaParse, BackslashContinuationAndRenderRoundTrip) {
	std::string text = "host replication \\\n  u 10.0.0.1/32 md5\r\nlocal all all peer";
	auto lines = parse(text);
	ASSERT_EQ(lines.size(), 2u);
	EXPECT_EQ(lines[0].fields.size(), 5u);
	EXPECT_EQ(lines[1].line_number, 3);
	EXPECT_EQ(render(lines), text);
	EXPECT_EQ(render(parse(kInitdb)), kInitdb);
}

TEST(HbaAddress, Normalises) {
	EXPECT_EQ(*normalize_address("10.0.0.1"), "10.0.0.1/32");
	EXPECT_EQ(*normalize_address("10.1.2.3/8"), "10.0.0.0/8");
	EXPECT_EQ(*normalize_address("192.168.1.77/26"), "192.168.1.64/26");
	EXPECT_EQ(*normalize_address("0.0.0.0/0"), "0.0.0.0/0");
	EXPECT_EQ(*normalize_address("::1"), "::1/128");
	EXPECT_EQ(*normalize_address("FD00:0:0:0::5"), "fd00::5/128");
	EXPECT_EQ(*normalize_address("2001:db8:abcd:12::1/64"), "2001:db8:abcd:12::/64");
	EXPECT_EQ(*normalize_address("2001:db8::/29"), "2001:db8::/29");
	EXPECT_EQ(*normalize_address("10.0.0.1/32"), "10.0.0.1/32");
}

TEST(HbaAddress, Refuses) {
	for (const char *a : {"", "all", "ALL", "samehost", "samenet", "db.example.com", "localhost", "10.0.0.1/33",
						  "::1/129", "10.0.0.1/", "10.0.0.1/-1", "10.0.0.1/08", "10.0.0.1/abc", "10.0.0", "10.0.0.256",
						  "010.0.0.1", "10.0.0.1/32 trust", "0.0.0.0/0\nhost all all 0.0.0.0/0 trust", "#",
						  "10.0.0.1#", "\"10.0.0.1\"", "'10.0.0.1'", "10.0.0.1,10.0.0.2", "fe80::1%eth0",
						  "10.0.0.1/8/8", " 10.0.0.1", "10.0.0.1\t", "10.0.0.1\\", "@file", "+x", "1.2.3.4\r"}) {
		auto r = normalize_address(a);
		ASSERT_FALSE(r) << a;
		EXPECT_EQ(r.error().code, pgmlr::ErrCode::InvalidParameter);
		EXPECT_FALSE(r.error().hint.empty()) << a;
		EXPECT_EQ(r.error().message.find('\n'), std::string::npos) << a;
	}
}

TEST(HbaAddress, NotesWhatTheUserMayNotHaveMeant) {
	auto n = address_note("10.0.12.5/24");
	ASSERT_TRUE(n);
	EXPECT_EQ(n->code, pgmlr::ErrCode::Ok);
	EXPECT_EQ(n->message, "address 10.0.12.5/24 is written as 10.0.12.0/24");
	EXPECT_NE(n->detail.find("10.0.12.0/24"), std::string::npos);
	EXPECT_NE(n->hint.find("10.0.12.5"), std::string::npos);
	n = address_note("2001:db8:abcd:12::1/64");
	ASSERT_TRUE(n);
	EXPECT_EQ(n->message, "address 2001:db8:abcd:12::1/64 is written as 2001:db8:abcd:12::/64");
	// A bare network-looking address becomes one host.
	n = address_note("10.0.12.0");
	ASSERT_TRUE(n);
	EXPECT_EQ(n->message, "address 10.0.12.0 is taken as the single host 10.0.12.0/32");
	EXPECT_NE(n->hint.find("10.0.12.0/24"), std::string::npos);
	n = address_note("fd00:1::");
	ASSERT_TRUE(n);
	EXPECT_NE(n->hint.find("fd00:1::/64"), std::string::npos);
	// Nothing to say: already normal, a host, a case change, or invalid input.
	for (const char *a : {"10.0.12.0/24", "10.0.12.5", "10.0.12.5/32", "FD00:0:0:0::5", "fd00::5/128", "0.0.0.0/0",
	                      "10.0.0.1/8/8", "all", "", "db.example.com"})
		EXPECT_FALSE(address_note(a)) << a;
	pgmlr_status st;
	EXPECT_TRUE(pgmlr_hba_address_note("192.168.1.77/26", &st));
	EXPECT_EQ(st.code, PGMLR_OK);
	EXPECT_STREQ(st.message, "address 192.168.1.77/26 is written as 192.168.1.64/26");
	EXPECT_FALSE(pgmlr_hba_address_note("192.168.1.64/26", &st));
	EXPECT_FALSE(pgmlr_hba_address_note(nullptr, &st));
}

TEST(HbaMethod, AcceptsAndRefuses) {
	EXPECT_EQ(*normalize_method("scram-sha-256"), "scram-sha-256");
	EXPECT_EQ(*normalize_method("SCRAM-SHA-256"), "scram-sha-256");
	EXPECT_EQ(*normalize_method("md5"), "md5");
	EXPECT_EQ(*normalize_method("cert"), "cert");
	for (const char *m : {"trust", "password", "peer", "ident", "reject", "", "md5 # x", "scram-sha-256\n"}) {
		auto r = normalize_method(m);
		ASSERT_FALSE(r) << m;
		EXPECT_FALSE(r.error().hint.empty());
	}
	EXPECT_NE(normalize_method("trust").error().detail.find("without a password"), std::string::npos);
}

TEST(HbaRule, Rendering) {
	EXPECT_EQ(ours("10.0.0.5"),
			  "host    replication     replication_user 10.0.0.5/32             scram-sha-256 # pgml_replication");
	EXPECT_EQ(ours("10.0.0.5", "cert", "r"),
			  "hostssl replication     r               10.0.0.5/32             cert # pgml_replication");
	EXPECT_EQ(ours("10.0.0.5", "md5", "all"),
			  "host    replication     \"all\"           10.0.0.5/32             md5 # pgml_replication");
	auto l = parse(ours("::1") + "\n");
	ASSERT_EQ(l.size(), 1u);
	EXPECT_TRUE(l[0].ours());
	EXPECT_EQ(l[0].fields.size(), 5u);
}

TEST(HbaAllow, InsertsBeforeFirstReplicationLine) {
	auto r = allow(kInitdb, rule("10.0.0.5"));
	ASSERT_TRUE(r);
	EXPECT_TRUE(r->changed);
	auto lines = parse(r->content);
	ASSERT_EQ(lines.size(), parse(kInitdb).size() + 1);
	EXPECT_TRUE(lines[8].ours());
	EXPECT_EQ(lines[8].raw, ours("10.0.0.5") + "\n");
	EXPECT_EQ(lines[9].raw, "local   replication     all                                     trust\n");
	// Every other byte is kept.
	std::string expected = kInitdb;
	expected.insert(expected.find("local   replication"), ours("10.0.0.5") + "\n");
	EXPECT_EQ(r->content, expected);
	EXPECT_EQ(r->rule, ours("10.0.0.5"));
}

TEST(HbaAllow, BeforeALaterReject) {
	std::string text = "local all all peer\nhost replication,all all 0.0.0.0/0 reject\n";
	auto r = allow(text, rule("10.0.0.5"));
	ASSERT_TRUE(r);
	EXPECT_EQ(r->content, "local all all peer\n" + ours("10.0.0.5") + "\nhost replication,all all 0.0.0.0/0 reject\n");
}

TEST(HbaAllow, QuotedReplicationIsADatabaseNameNotTheKeyword) {
	std::string text = "host \"replication\" all 0.0.0.0/0 md5\n";
	auto r = allow(text, rule("10.0.0.5"));
	ASSERT_TRUE(r);
	EXPECT_EQ(r->content, text + ours("10.0.0.5") + "\n");
}

TEST(HbaAllow, AppendsAndAddsMissingFinalNewline) {
	auto r = allow("local all all peer", rule("10.0.0.5"));
	ASSERT_TRUE(r);
	EXPECT_EQ(r->content, "local all all peer\n" + ours("10.0.0.5") + "\n");
	r = allow("", rule("10.0.0.5"));
	ASSERT_TRUE(r);
	EXPECT_EQ(r->content, ours("10.0.0.5") + "\n");
}

// Found by test/fuzz/fuzz_hba: PostgreSQL joins a line ending in a
// backslash with the next one, even in a comment, so a rule appended after
// such a last line became part of it (commented out, or garbling that line).
TEST(HbaAllow, LastLineEndingInBackslashDoesNotSwallowTheRule) {
	for (std::string text : {"local all all peer\n# see C:\\pg\\", "local all all peer\n# see C:\\pg\\\n"}) {
		auto r = allow(text, rule("10.0.0.5"));
		ASSERT_TRUE(r);
		EXPECT_EQ(r->content, "local all all peer\n# see C:\\pg\\\n\n" + ours("10.0.0.5") + "\n");
		auto lines = parse(r->content);
		ASSERT_FALSE(lines.empty());
		EXPECT_TRUE(lines.back().ours());
		auto again = allow(r->content, rule("10.0.0.5"));
		ASSERT_TRUE(again);
		EXPECT_FALSE(again->changed);
	}
	// A continued line that already ended (on a blank line) needs no blank.
	auto r = allow("\\\n\r", rule("10.0.0.5"));
	ASSERT_TRUE(r);
	EXPECT_EQ(r->content, "\\\n\r\n" + ours("10.0.0.5") + "\n");
}

TEST(HbaAllow, KeepsCrlfStyle) {
	auto r = allow("local all all peer\r\nhost replication all ::1/128 trust\r\n", rule("10.0.0.5"));
	ASSERT_TRUE(r);
	EXPECT_EQ(r->content, "local all all peer\r\n" + ours("10.0.0.5") + "\r\nhost replication all ::1/128 trust\r\n");
}

TEST(HbaAllow, IdempotentByteForByte) {
	auto once = allow(kInitdb, rule("10.0.0.5"));
	ASSERT_TRUE(once);
	auto twice = allow(once->content, rule("10.0.0.5/32"));
	ASSERT_TRUE(twice);
	EXPECT_FALSE(twice->changed);
	EXPECT_EQ(twice->content, once->content);
	EXPECT_EQ(twice->rule, once->rule);
	// A differently written but equal address is the same rule.
	auto third = allow(once->content, Rule{"replication_user", *normalize_address("10.0.0.5"), "scram-sha-256"});
	EXPECT_FALSE(third->changed);
}

TEST(HbaAllow, SecondAddressGoesFirstAndBothStay) {
	auto a = allow(kInitdb, rule("10.0.0.5"));
	auto b = allow(a->content, rule("fd00::/64"));
	ASSERT_TRUE(b);
	EXPECT_TRUE(b->changed);
	auto lines = parse(b->content);
	EXPECT_EQ(lines[8].raw, ours("fd00::/64") + "\n");
	EXPECT_EQ(lines[9].raw, ours("10.0.0.5") + "\n");
}

TEST(HbaAllow, OtherMethodReplacesOurLineInPlace) {
	auto a = allow(kInitdb, rule("10.0.0.5"));
	auto b = allow(a->content, rule("10.0.0.5", "md5"));
	ASSERT_TRUE(b);
	EXPECT_TRUE(b->changed);
	std::string expected = a->content;
	expected.replace(expected.find(ours("10.0.0.5")), ours("10.0.0.5").size(), ours("10.0.0.5", "md5"));
	EXPECT_EQ(b->content, expected);
	auto c = allow(b->content, rule("10.0.0.5", "cert"));
	EXPECT_NE(c->content.find("hostssl replication     replication_user 10.0.0.5/32             cert #"),
			  std::string::npos);
	EXPECT_EQ(parse(c->content).size(), parse(kInitdb).size() + 1);
}

TEST(HbaAllow, DifferentRoleIsADifferentRule) {
	auto a = allow(kInitdb, rule("10.0.0.5"));
	auto b = allow(a->content, rule("10.0.0.5", "scram-sha-256", "other"));
	EXPECT_TRUE(b->changed);
	EXPECT_EQ(parse(b->content).size(), parse(kInitdb).size() + 2);
}

TEST(HbaAllow, HandWrittenEquivalentLineIsEnough) {
	std::string text = "host replication replication_user 10.0.0.5 255.255.255.255 scram-sha-256\n";
	auto r = allow(text, rule("10.0.0.5"));
	ASSERT_TRUE(r);
	EXPECT_FALSE(r->changed);
	EXPECT_EQ(r->content, text);
	ASSERT_EQ(r->notices.size(), 1u);
	EXPECT_NE(r->notices[0].find("line 1"), std::string::npos);
	EXPECT_EQ(r->rule, "host replication replication_user 10.0.0.5 255.255.255.255 scram-sha-256");
	// With a comment that is not our marker it is still hand-written.
	text = "host replication \"replication_user\" 10.0.0.5/32 scram-sha-256 # pgml_replication too\n";
	r = allow(text, rule("10.0.0.5"));
	EXPECT_FALSE(r->changed);
	EXPECT_EQ(r->notices.size(), 1u);
}

TEST(HbaAllow, HandWrittenLineWithOtherMethodGetsANotice) {
	std::string text = "# c\nhost replication replication_user 10.0.0.5/32 md5\n";
	auto r = allow(text, rule("10.0.0.5"));
	ASSERT_TRUE(r);
	EXPECT_TRUE(r->changed);
	EXPECT_EQ(r->content, "# c\n" + ours("10.0.0.5") + "\nhost replication replication_user 10.0.0.5/32 md5\n");
	ASSERT_EQ(r->notices.size(), 1u);
	EXPECT_NE(r->notices[0].find("line 2"), std::string::npos);
}

TEST(HbaAllow, UnquotedAllIsNotTheRoleAll) {
	std::string text = "host replication all 10.0.0.5/32 md5\n";
	auto r = allow(text, rule("10.0.0.5", "md5", "all"));
	ASSERT_TRUE(r);
	EXPECT_TRUE(r->changed);
	EXPECT_TRUE(r->notices.empty());
}

TEST(HbaDisallow, RemovesOnlyOurLines) {
	auto a = allow(kInitdb, rule("10.0.0.5"));
	std::string text = a->content + "host replication replication_user 10.0.0.5/32 scram-sha-256\n";
	auto d = disallow(text, "replication_user", "10.0.0.5/32");
	ASSERT_TRUE(d);
	EXPECT_TRUE(d->changed);
	EXPECT_EQ(d->rule, ours("10.0.0.5"));
	EXPECT_EQ(d->content, kInitdb + "host replication replication_user 10.0.0.5/32 scram-sha-256\n");
	ASSERT_EQ(d->notices.size(), 1u);
	EXPECT_NE(d->notices[0].find("line 13"), std::string::npos);
	// And again: nothing of ours left.
	auto again = disallow(d->content, "replication_user", "10.0.0.5/32");
	EXPECT_FALSE(again->changed);
	EXPECT_TRUE(again->rule.empty());
	EXPECT_EQ(again->content, d->content);
}

TEST(HbaDisallow, AllowThenDisallowRestoresTheFile) {
	for (const std::string &text : {kInitdb, std::string(""), std::string("local all all peer\n"),
									std::string("a b\r\nhost replication all ::1/128 trust\r\n")}) {
		auto a = allow(text, rule("fd00::1"));
		auto d = disallow(a->content, "replication_user", *normalize_address("fd00::1"));
		EXPECT_TRUE(d->changed);
		EXPECT_EQ(d->content, text);
	}
}

TEST(HbaDisallow, LeavesOtherAddressesAndRoles) {
	auto a = allow(kInitdb, rule("10.0.0.5"));
	auto b = allow(a->content, rule("10.0.0.6"));
	auto c = allow(b->content, rule("10.0.0.5", "scram-sha-256", "other"));
	auto d = disallow(c->content, "replication_user", "10.0.0.5/32");
	EXPECT_TRUE(d->changed);
	EXPECT_NE(d->content.find(ours("10.0.0.6")), std::string::npos);
	EXPECT_NE(d->content.find(ours("10.0.0.5", "scram-sha-256", "other")), std::string::npos);
	EXPECT_EQ(d->content.find(ours("10.0.0.5")), std::string::npos);
}

TEST(HbaDisallow, RemovesAllDuplicatesOfOurLine) {
	std::string line = ours("10.0.0.5") + "\n";
	auto d = disallow("x y\n" + line + line + "z\n", "replication_user", "10.0.0.5/32");
	EXPECT_EQ(d->content, "x y\nz\n");
}

TEST(HbaCBoundary, AllowDisallowAndValidation) {
	pgmlr_status st;
	pgmlr_hba_edit *e = pgmlr_hba_allow(kInitdb.c_str(), "replication_user", "10.0.0.5", "scram-sha-256", &st);
	ASSERT_NE(e, nullptr);
	EXPECT_TRUE(pgmlr_hba_edit_changed(e));
	EXPECT_EQ(std::string(pgmlr_hba_edit_rule(e)), ours("10.0.0.5"));
	EXPECT_EQ(pgmlr_hba_edit_notice_count(e), 0);
	EXPECT_EQ(pgmlr_hba_edit_notice(e, 0), nullptr);
	std::string content = pgmlr_hba_edit_content(e);
	pgmlr_hba_edit_free(e);

	e = pgmlr_hba_disallow(content.c_str(), "replication_user", "10.0.0.5/32", &st);
	ASSERT_NE(e, nullptr);
	EXPECT_EQ(std::string(pgmlr_hba_edit_content(e)), kInitdb);
	pgmlr_hba_edit_free(e);

	EXPECT_EQ(pgmlr_hba_allow(kInitdb.c_str(), "x\"; DROP ROLE postgres; --", "10.0.0.5", "md5", &st), nullptr);
	EXPECT_EQ(st.code, PGMLR_ERR_INVALID_NAME);
	EXPECT_EQ(pgmlr_hba_allow(kInitdb.c_str(), "r", "10.0.0.1/32 trust", "md5", &st), nullptr);
	EXPECT_EQ(st.code, PGMLR_ERR_INVALID_PARAMETER);
	EXPECT_EQ(pgmlr_hba_allow(kInitdb.c_str(), "r", "10.0.0.1", "trust", &st), nullptr);
	EXPECT_EQ(pgmlr_hba_allow(nullptr, "r", "10.0.0.1", "md5", &st), nullptr);
	EXPECT_EQ(st.code, PGMLR_ERR_INTERNAL);

	char *a = pgmlr_hba_normalize_address("::1", &st);
	ASSERT_NE(a, nullptr);
	EXPECT_STREQ(a, "::1/128");
	pgmlr_free(a);
	EXPECT_EQ(pgmlr_hba_normalize_method("password", &st), nullptr);
	EXPECT_EQ(st.code, PGMLR_ERR_INVALID_PARAMETER);
}

// The database rule a replica fetches blobs over (issue 12): it goes before
// the first line that could match a normal connection, beside but apart
// from the replication rule of the same role and address.
TEST(HbaDatabaseRule, PlacedBeforeTheFirstDatabaseLineAndKeptApartFromReplication) {
	Rule db = rule("10.0.0.5");
	db.database = "postgres";
	auto repl = allow(kInitdb, rule("10.0.0.5"));
	ASSERT_TRUE(repl.ok());
	auto both = allow(repl->content, db);
	ASSERT_TRUE(both.ok());
	EXPECT_TRUE(both->changed);
	EXPECT_EQ(both->rule, "host    postgres        replication_user 10.0.0.5/32             scram-sha-256 # pgml_replication");
	auto lines = parse(both->content);
	// Before "local all all trust", the first line a database connection could match.
	EXPECT_EQ(lines[3].raw, both->rule + "\n");
	EXPECT_NE(both->content.find(ours("10.0.0.5")), std::string::npos);

	// Again: unchanged. Removing one leaves the other.
	auto again = allow(both->content, db);
	ASSERT_TRUE(again.ok());
	EXPECT_FALSE(again->changed);
	auto gone = disallow(both->content, "replication_user", "10.0.0.5/32", "postgres");
	ASSERT_TRUE(gone.ok());
	EXPECT_TRUE(gone->changed);
	EXPECT_EQ(gone->content, repl->content);
	auto repl_gone = disallow(both->content, "replication_user", "10.0.0.5/32");
	ASSERT_TRUE(repl_gone.ok());
	EXPECT_EQ(repl_gone->content.find(ours("10.0.0.5")), std::string::npos);
	EXPECT_NE(repl_gone->content.find(both->rule), std::string::npos);
}

TEST(HbaDatabaseRule, KeywordNamesAreQuotedAndOddNamesRefused) {
	Rule db = rule("10.0.0.5");
	db.database = "all";
	EXPECT_NE(render_rule(db).find("\"all\""), std::string::npos);
	// A database named replication is not the replication keyword.
	db.database = "replication";
	auto quoted = allow(kInitdb, db);
	ASSERT_TRUE(quoted.ok());
	EXPECT_NE(quoted->rule.find("host    \"replication\""), std::string::npos);
	auto keyword = allow(quoted->content, rule("10.0.0.5"));
	ASSERT_TRUE(keyword.ok());
	EXPECT_TRUE(keyword->changed);
	auto only_db = disallow(keyword->content, "replication_user", "10.0.0.5/32", "replication");
	ASSERT_TRUE(only_db.ok());
	EXPECT_NE(only_db->content.find(ours("10.0.0.5")), std::string::npos);
	EXPECT_EQ(only_db->content.find(quoted->rule), std::string::npos);
	EXPECT_FALSE(check_database_name("postgres"));
	EXPECT_FALSE(check_database_name("my-db.v2$"));
	for (std::string bad : {std::string(""), std::string("my db"), std::string("a\"b"), std::string("x#y"),
							std::string(64, 'd'), std::string("d\n")})
		EXPECT_TRUE(check_database_name(bad)) << bad;
	pgmlr_status st;
	EXPECT_EQ(pgmlr_hba_allow_database(kInitdb.c_str(), "my db", "r", "10.0.0.1", &st), nullptr);
	EXPECT_EQ(st.code, PGMLR_ERR_INVALID_PARAMETER);
	pgmlr_hba_edit *e = pgmlr_hba_allow_database(kInitdb.c_str(), "pgml", "r", "10.0.0.1", &st);
	ASSERT_NE(e, nullptr);
	EXPECT_TRUE(pgmlr_hba_edit_changed(e));
	EXPECT_NE(std::string(pgmlr_hba_edit_rule(e)).find("host    pgml "), std::string::npos);
	pgmlr_hba_edit_free(e);
}
