#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <string>

#include "common/shell_quote.hpp"
#include "run_on_file.hpp"
#include "replication/standby_setup.hpp"
#include "pgml_repl/replication.h"

using namespace pgmlr;

namespace {

// Runs a bash snippet and returns its stdout (the tests use bash itself as
// the judge of the shell quoting).
std::string run_bash(const std::string &script) { return run_on_file("bash", script); }

const char *hostile[] = {
    "plain", "it's", "a'b'c", "$(touch /tmp/pgmlr_pwned)", "`id`", "back\\slash", "new\nline", "tab\there",
    "\"double\"", "'", "''", "semi;colon && rm -rf /", "*", "~", "-n", "",
};

StandbySetup basic() {
	StandbySetup s;
	s.primary_host = "10.0.0.1";
	s.data_directory = "/var/lib/postgresql/15/main";
	s.pgbackrest_config = "/etc/pgbackrest/pgbackrest.conf";
	s.application_name = "replica_1";
	return s;
}

std::string line_starting(const std::string &text, const std::string &prefix) {
	size_t pos = text.find("\n" + prefix);
	if (pos == std::string::npos) return {};
	size_t end = text.find('\n', pos + 1);
	return text.substr(pos + 1, end - pos - 1);
}

}  // namespace

TEST(ShellQuote, BashReadsBackEveryHostileValue) {
	for (const char *v : hostile) {
		std::string out = run_bash("v=" + shell_quote(v) + "\nprintf '%s' \"$v\"");
		EXPECT_EQ(out, v) << "value: " << v;
		out = run_bash("printf '%s' " + shell_word(v));
		EXPECT_EQ(out, v) << "word: " << v;
	}
	EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
	EXPECT_EQ(shell_word("--config=/etc/pgbackrest.conf"), "--config=/etc/pgbackrest.conf");
	EXPECT_EQ(shell_word("a b"), "'a b'");
	EXPECT_EQ(shell_word(""), "''");
}

TEST(ConninfoQuote, LibpqRules) {
	EXPECT_EQ(conninfo_value("10.0.0.1"), "10.0.0.1");
	EXPECT_EQ(conninfo_value("replication_user"), "replication_user");
	EXPECT_EQ(conninfo_value("db-primary"), "'db-primary'");
	EXPECT_EQ(conninfo_value("it's"), "'it\\'s'");
	EXPECT_EQ(conninfo_value("a\\b"), "'a\\\\b'");
	EXPECT_EQ(conninfo_value(""), "''");
	EXPECT_EQ(conninfo_value("a b"), "'a b'");
}

TEST(GucFileQuote, DoublesQuotesAndBackslashes) {
	EXPECT_EQ(guc_file_string("plain"), "'plain'");
	EXPECT_EQ(guc_file_string("host='x'"), "'host=''x'''");
	EXPECT_EQ(guc_file_string("a\\b"), "'a\\\\b'");
	EXPECT_EQ(guc_file_string("user='it\\'s'"), "'user=''it\\\\''s'''");
}

TEST(Validation, HostPortRoleStanzaPath) {
	EXPECT_FALSE(validate_host("primary_host", "10.0.0.1"));
	EXPECT_FALSE(validate_host("primary_host", "db-primary.internal"));
	EXPECT_FALSE(validate_host("primary_host", "fe80::1%eth0"));
	for (const char *bad : {"", "a b", "a'b", "a\nb", "$(id)", "`id`", "-oProxyCommand", "/tmp", "a\"b"}) {
		Status st = validate_host("primary_host", bad);
		ASSERT_TRUE(st) << bad;
		EXPECT_EQ(st->code, pgmlr::ErrCode::InvalidParameter);
		EXPECT_FALSE(st->hint.empty());
		EXPECT_EQ(st->message.find('\n'), std::string::npos);
	}
	EXPECT_FALSE(validate_port("primary_port", 1));
	EXPECT_FALSE(validate_port("primary_port", 65535));
	EXPECT_TRUE(validate_port("primary_port", 0));
	EXPECT_TRUE(validate_port("primary_port", 65536));
	EXPECT_FALSE(validate_role_name("role_name", "replication_user"));
	EXPECT_TRUE(validate_role_name("role_name", "repl user"));
	EXPECT_TRUE(validate_role_name("role_name", "1abc"));
	EXPECT_TRUE(validate_role_name("role_name", std::string(64, 'a')));
	EXPECT_EQ(validate_role_name("role_name", "x'y")->code, pgmlr::ErrCode::InvalidName);
	EXPECT_FALSE(validate_stanza("stanza", "main"));
	EXPECT_FALSE(validate_stanza("stanza", "pg15-main.v2"));
	EXPECT_TRUE(validate_stanza("stanza", "-main"));
	EXPECT_TRUE(validate_stanza("stanza", "ma in"));
	EXPECT_TRUE(validate_stanza("stanza", ""));
	EXPECT_FALSE(validate_absolute_path("data_directory", "/data/it's here"));
	EXPECT_TRUE(validate_absolute_path("data_directory", "relative/path"));
	EXPECT_TRUE(validate_absolute_path("data_directory", "/a\nb"));
	EXPECT_TRUE(validate_application_name("application_name", "a b"));
	EXPECT_FALSE(validate_application_name("application_name", "replica-1.a_b"));
}

TEST(StandbySetup, RendersEveryStep) {
	Result<std::string> r = render_standby_setup(basic());
	ASSERT_TRUE(r.ok()) << r.error().message;
	const std::string &t = *r;
	EXPECT_EQ(t.rfind("#!/usr/bin/env bash\n", 0), 0u);
	EXPECT_NE(t.find("\nset -euo pipefail\n"), std::string::npos);
	EXPECT_NE(t.find("\nPGDATA_DIR='/var/lib/postgresql/15/main'\n"), std::string::npos);
	EXPECT_NE(t.find("\nPRIMARY_CONNINFO='host=10.0.0.1 port=5432 user=replication_user'\n"), std::string::npos);
	EXPECT_NE(t.find("-X stream --checkpoint=fast"), std::string::npos);
	EXPECT_NE(t.find("umask 077"), std::string::npos);
	EXPECT_NE(t.find("'10.0.0.1:5432:*:replication_user:PASSWORD'"), std::string::npos);
	EXPECT_EQ(line_starting(t, "restore_command"),
	          "restore_command = 'pgbackrest --config=/etc/pgbackrest/pgbackrest.conf --stanza=main archive-get %f \"%p\"'");
	EXPECT_NE(t.find("\"$PRIMARY_CONNINFO\" \"$APPLICATION_NAME\" \"$PGPASSFILE\""), std::string::npos);
	EXPECT_NE(t.find("passfile=''%s'''"), std::string::npos);
	EXPECT_EQ(line_starting(t, "hot_standby"), "hot_standby = on");
	EXPECT_NE(t.find("standby.signal"), std::string::npos);
	EXPECT_NE(t.find("pgml_repl.replication_status()"), std::string::npos);
	EXPECT_EQ(t.find("rsync -a"), std::string::npos);
	EXPECT_EQ(t.back(), '\n');
}

TEST(StandbySetup, ChecksComeBeforeTheFirstChange) {
	// The order is the safety argument: the replication login, the data
	// directory's identity and the --check exit all precede the first
	// command that stops, deletes or writes anything.
	Result<std::string> r = render_standby_setup(basic());
	ASSERT_TRUE(r.ok());
	const std::string &t = *r;
	size_t identify = t.find("-c IDENTIFY_SYSTEM");
	size_t controldata = t.find("\"$PGBIN/pg_controldata\" -D \"$PGDATA_DIR\"");
	size_t check_exit = t.find("nothing was changed (--check)");
	size_t trap = t.find("\ntrap on_exit EXIT\n");
	ASSERT_NE(identify, std::string::npos);
	ASSERT_NE(controldata, std::string::npos);
	ASSERT_NE(check_exit, std::string::npos);
	ASSERT_NE(trap, std::string::npos);
	EXPECT_LT(identify, controldata);
	EXPECT_LT(controldata, check_exit);
	EXPECT_LT(check_exit, trap);
	// Every command that changes something sits after the trap (the helper
	// functions defined earlier are only called after it).
	const std::string steps = t.substr(t.find("# --- 1. Local checks"));
	const size_t steps_trap = steps.find("\ntrap on_exit EXIT\n");
	for (const char *change : {"\tstop_local_server\n", "find \"$PGDATA_DIR\" -mindepth 1", "mkdir -m 700",
	                           "\"$PGBIN/pg_basebackup\"", ">>\"$AUTO_CONF\"", "mv -T", "\nstart_server\n",
	                           "rm -rf -- \"$OLD_DIR\""}) {
		size_t at = steps.find(change);
		ASSERT_NE(at, std::string::npos) << change;
		EXPECT_GT(at, steps_trap) << change;
	}
	// The refusals: another cluster, a non-standby, the primary itself, other files.
	EXPECT_NE(t.find("it holds another cluster (system identifier"), std::string::npos);
	EXPECT_NE(t.find("no standby.signal"), std::string::npos);
	EXPECT_NE(t.find("it is the server to copy from"), std::string::npos);
	EXPECT_NE(t.find("holds no PostgreSQL cluster"), std::string::npos);
	EXPECT_NE(t.find("--force) FORCE=yes"), std::string::npos);
	EXPECT_NE(t.find("--check) CHECK_ONLY=yes"), std::string::npos);
	EXPECT_NE(t.find("--in-place) IN_PLACE=yes"), std::string::npos);
	EXPECT_NE(t.find("LC_ALL=C"), std::string::npos);
}

TEST(StandbySetup, ShellcheckFindsNothing) {
	// scripts/install-deps installs shellcheck; a missing one fails the test.
	ASSERT_EQ(run_bash("command -v shellcheck >/dev/null && echo yes"), "yes\n") << "shellcheck is not installed";
	for (bool copy : {false, true}) {
		StandbySetup s = basic();
		s.copy_model_cache = copy;
		s.application_name.clear();
		Result<std::string> r = render_standby_setup(s);
		ASSERT_TRUE(r.ok());
		std::string out = run_on_file("shellcheck -s bash -S warning", *r);
		EXPECT_EQ(out, "") << out;
	}
}

TEST(StandbySetup, OptionalPartsAndDefaults) {
	StandbySetup s = basic();
	s.copy_model_cache = true;
	s.application_name.clear();
	s.pgbackrest_config.clear();
	Result<std::string> r = render_standby_setup(s);
	ASSERT_TRUE(r.ok());
	EXPECT_NE(r->find("rsync -a"), std::string::npos);
	EXPECT_NE(r->find("/var/lib/postgresql/.cache/huggingface/hub"), std::string::npos);
	EXPECT_NE(r->find("uname -n"), std::string::npos);
	EXPECT_EQ(line_starting(*r, "restore_command"), "restore_command = 'pgbackrest --stanza=main archive-get %f \"%p\"'");
}

TEST(StandbySetup, HostileDataDirectoryAndConfigSurviveBash) {
	StandbySetup s = basic();
	s.data_directory = "/tmp/it's $(touch /tmp/pgmlr_pwned) `id` \\ dir";
	s.pgbackrest_config = "/etc/pg'br %p $(id).conf";
	Result<std::string> r = render_standby_setup(s);
	ASSERT_TRUE(r.ok()) << r.error().message;
	EXPECT_EQ(run_bash("set -e\n" + line_starting(*r, "PGDATA_DIR=") + "\nprintf '%s' \"$PGDATA_DIR\""),
	          s.data_directory);
	// restore_command in the file: quotes doubled, %% for a literal %, and
	// the shell sees the config path as one word.
	std::string rc = line_starting(*r, "restore_command");
	EXPECT_EQ(rc, "restore_command = 'pgbackrest ''--config=/etc/pg''\\\\''''br %%p $(id).conf'' --stanza=main archive-get %f \"%p\"'");
	std::string check = run_bash("bash -n <<'X'\n" + *r + "X\necho syntax=$?");
	EXPECT_NE(check.find("syntax=0"), std::string::npos) << check;
	EXPECT_EQ(run_bash("test -e /tmp/pgmlr_pwned && echo pwned"), "");
}

TEST(StandbySetup, RuntimeConfigLinesParseBack) {
	// Run the settings part of the script against a fake data directory and
	// check the lines it appends.
	StandbySetup s = basic();
	Result<std::string> r = render_standby_setup(s);
	ASSERT_TRUE(r.ok());
	std::string printf_line1 = line_starting(*r, "printf \"primary_conninfo");
	size_t p = r->find(printf_line1);
	std::string printf_cmd = r->substr(p, r->find('\n', r->find('\n', p) + 1) - p);
	std::string out = run_bash(line_starting(*r, "PRIMARY_CONNINFO=") +
	                           "\nAPPLICATION_NAME=replica_1 PGPASSFILE=/home/pg/.pgpass AUTO_CONF=/dev/stdout\n" + printf_cmd);
	EXPECT_EQ(out,
	          "primary_conninfo = 'host=10.0.0.1 port=5432 user=replication_user application_name=replica_1 "
	          "passfile=''/home/pg/.pgpass'''\n");
}

TEST(StandbySetup, RejectsBadValuesWithHints) {
	StandbySetup s = basic();
	s.data_directory = "/";
	Result<std::string> r = render_standby_setup(s);
	ASSERT_FALSE(r.ok());
	EXPECT_NE(r.error().message.find("root"), std::string::npos);
	s.data_directory = "///";
	EXPECT_FALSE(render_standby_setup(s).ok());
	s = basic();
	s.data_directory = "data";
	EXPECT_FALSE(render_standby_setup(s).ok());
	s = basic();
	s.primary_host = "host\nrm -rf /";
	r = render_standby_setup(s);
	ASSERT_FALSE(r.ok());
	EXPECT_FALSE(r.error().hint.empty());
	s = basic();
	s.primary_port = 70000;
	EXPECT_FALSE(render_standby_setup(s).ok());
	s = basic();
	s.stanza = "main; id";
	EXPECT_FALSE(render_standby_setup(s).ok());
	s = basic();
	s.application_name = "x'y";
	EXPECT_FALSE(render_standby_setup(s).ok());
}

TEST(StandbySetup, CEntryPoint) {
	pgmlr_standby_setup_args a{};
	a.primary_host = "10.0.0.1";
	a.primary_port = 5432;
	a.role_name = "replication_user";
	a.stanza = "main";
	a.data_directory = "/data";
	pgmlr_status st;
	char *out = pgmlr_standby_setup_script(&a, &st);
	ASSERT_EQ(st.code, PGMLR_OK);
	ASSERT_NE(out, nullptr);
	pgmlr_free(out);
	a.pgbackrest_config = "";
	out = pgmlr_standby_setup_script(&a, &st);
	EXPECT_EQ(out, nullptr);
	EXPECT_EQ(st.code, PGMLR_ERR_INVALID_PARAMETER);
	a.pgbackrest_config = nullptr;
	a.data_directory = nullptr;
	out = pgmlr_standby_setup_script(&a, &st);
	EXPECT_EQ(out, nullptr);
	EXPECT_STREQ(st.message, "data_directory is required");
	EXPECT_NE(std::string(st.hint).find("data_directory =>"), std::string::npos);
	a.data_directory = "/data";
	a.primary_host = nullptr;
	out = pgmlr_standby_setup_script(&a, &st);
	EXPECT_EQ(out, nullptr);
	EXPECT_STREQ(st.message, "primary_host must not be NULL");
}
