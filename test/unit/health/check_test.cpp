#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "health/check.hpp"
#include "health/status_checks.hpp"
#include "pgml_repl/health.h"

using pgmlr::Check;
using pgmlr::CheckState;

namespace {

pgmlr_doctor_role good_role{"replication_user", true, true, true, true, true};

// A healthy primary: every primary check ok.
pgmlr_doctor_facts healthy_primary() {
	static pgmlr_doctor_standby standby{"replica1", "streaming", "ok",
										"Standby \"replica1\" is streaming; replay is 0 bytes behind the primary."};
	pgmlr_doctor_facts f{};
	f.wal_level = "replica";
	f.archive_mode = "on";
	f.archive_command = "pgbackrest --stanza=main --config=/etc/pgbackrest/p.conf archive-push %p";
	f.max_wal_senders = 10;
	f.wal_senders_used = 1;
	f.roles = &good_role;
	f.n_roles = 1;
	f.passwords_visible = true;
	f.hba_visible = true;
	f.archive_status = "ok";
	f.archive_detail = "All WAL is archived.";
	f.pgbackrest_in_sync = 1;
	f.pgbackrest_archive_max = "000000010000000000000003";
	f.last_archived_wal = "000000010000000000000003";
	f.standbys = &standby;
	f.n_standbys = 1;
	f.cache_visible = true;
	f.cache_dir = "/cache/hub";
	f.cache_dir_exists = true;
	f.manifest_files = 9;
	f.models_declared = 2;
	f.models_ready = 2;
	f.cache_files = 9;
	return f;
}

pgmlr_doctor_facts healthy_standby() {
	pgmlr_doctor_facts f{};
	f.in_recovery = true;
	f.restore_command = "pgbackrest --stanza=main archive-get %f \"%p\"";
	f.hot_standby = "on";
	f.shared_preload_libraries = "pgml_replication";
	f.receiver_state = "streaming";
	f.receiver_status = "ok";
	f.receiver_detail = "Streaming from 127.0.0.1:5432; replay is caught up.";
	f.has_lag_bytes = true;
	f.lag_bytes = 0;
	f.replay_delay = "00:00:00";
	f.prefetch_enabled = true;
	f.prefetch_state = "idle";
	f.prefetch_worker_pid_known = true;
	f.cache_visible = true;
	f.cache_dir = "/cache/hub";
	f.cache_dir_exists = true;
	f.manifest_files = 9;
	f.cache_files = 9;
	return f;
}

void expect(const Check &c, CheckState state, const char *detail_part = nullptr, const char *hint_part = nullptr) {
	EXPECT_EQ(pgmlr::check_state_name(c.state), std::string(pgmlr::check_state_name(state))) << c.name << ": " << c.detail;
	if (detail_part) {
		EXPECT_NE(c.detail.find(detail_part), std::string::npos) << c.detail;
	}
	if (hint_part) {
		EXPECT_NE(c.hint.find(hint_part), std::string::npos) << c.hint;
	}
	if (state == CheckState::Warning || state == CheckState::Error) {
		EXPECT_FALSE(c.hint.empty()) << c.name;
	}
	if (state == CheckState::Ok) {
		EXPECT_TRUE(c.hint.empty()) << c.name << ": " << c.hint;
	}
}

TEST(Doctor, HealthyPrimaryAllOkInOrder) {
	auto checks = pgmlr::run_checks(healthy_primary());
	std::vector<std::string> names;
	for (auto &c : checks) {
		names.push_back(c.name);
		expect(c, CheckState::Ok);
	}
	EXPECT_EQ(names, (std::vector<std::string>{"wal_level", "archive_mode", "archive_command", "wal_senders",
											   "replication_role", "pg_hba_rule", "blob_fetch", "archiver", "standbys", "hf_manifest",
											   "declared_models"}));
	auto s = pgmlr::summarize(checks);
	EXPECT_EQ(s.status, "ok");
	EXPECT_EQ(s.exit_code, 0);
	EXPECT_EQ(s.detail, "11 checks ok");
}

TEST(Doctor, HealthyStandbyAllOkInOrder) {
	auto checks = pgmlr::run_checks(healthy_standby());
	std::vector<std::string> names;
	for (auto &c : checks) {
		names.push_back(c.name);
		expect(c, CheckState::Ok);
	}
	EXPECT_EQ(names, (std::vector<std::string>{"recovery", "wal_receiver", "replay_lag", "restore_command",
											   "hot_standby", "prefetch_worker", "hf_cache"}));
}

TEST(Doctor, WalLevelAndArchiveMode) {
	auto f = healthy_primary();
	f.wal_level = "logical";
	expect(pgmlr::check_wal_level(f), CheckState::Ok, "logical");
	f.wal_level = "minimal";
	expect(pgmlr::check_wal_level(f), CheckState::Error, "minimal", "configure_primary()");
	f.archive_mode = "always";
	expect(pgmlr::check_archive_mode(f), CheckState::Ok);
	f.archive_mode = "off";
	expect(pgmlr::check_archive_mode(f), CheckState::Error, "archive_mode is off", "restart");
}

TEST(Doctor, ArchiveCommand) {
	auto f = healthy_primary();
	expect(pgmlr::check_archive_command(f), CheckState::Ok, "stanza main with --config=/etc/pgbackrest/p.conf");
	f.archive_command = "";
	expect(pgmlr::check_archive_command(f), CheckState::Error, "not set", "configure_primary(stanza => 'main')");
	f.archive_command = "cp %p /archive/%f";
	expect(pgmlr::check_archive_command(f), CheckState::Warning, "cp %p", "configure_primary");
	f.archive_command = "pgbackrest archive-push %p";  // no stanza
	expect(pgmlr::check_archive_command(f), CheckState::Warning);
}

TEST(Doctor, WalSenders) {
	auto f = healthy_primary();
	expect(pgmlr::check_wal_senders(f), CheckState::Ok, "1 of max_wal_senders = 10 WAL senders in use, 9 free.");
	f.wal_senders_used = 10;
	expect(pgmlr::check_wal_senders(f), CheckState::Warning, "0 free", "max_wal_senders => 14");
	f.max_wal_senders = 0;
	f.wal_senders_used = 0;
	expect(pgmlr::check_wal_senders(f), CheckState::Error, nullptr, "max_wal_senders => 10");
}

TEST(Doctor, ReplicationRole) {
	auto f = healthy_primary();
	expect(pgmlr::check_replication_role(f), CheckState::Ok, "replication_user can log in with a SCRAM-SHA-256 password");
	f.n_roles = 0;
	expect(pgmlr::check_replication_role(f), CheckState::Error, "No role", "create_replication_user(allow_from");
	pgmlr_doctor_role roles[2] = {{"old_repl", false, false, false, false, false}, good_role};
	f.roles = roles;
	f.n_roles = 2;
	expect(pgmlr::check_replication_role(f), CheckState::Warning, "old_repl lacks LOGIN and a SCRAM-SHA-256 password",
		   "create_replication_user('old_repl')");
	f.n_roles = 1;
	expect(pgmlr::check_replication_role(f), CheckState::Error, "old_repl lacks");
	// Without pg_authid the password is not judged, and the detail says so.
	roles[0].can_login = true;
	f.passwords_visible = false;
	expect(pgmlr::check_replication_role(f), CheckState::Ok, "Passwords not checked: needs superuser.");
}

TEST(Doctor, PgHbaRule) {
	auto f = healthy_primary();
	expect(pgmlr::check_pg_hba_rule(f), CheckState::Ok, "lets replication_user in");
	f.hba_visible = false;
	expect(pgmlr::check_pg_hba_rule(f), CheckState::Skipped, "needs superuser");
	f.hba_visible = true;
	f.n_roles = 0;
	expect(pgmlr::check_pg_hba_rule(f), CheckState::Skipped, "No replication role");
	pgmlr_doctor_role roles[2] = {good_role, {"second", true, true, false, true, true}};
	f.roles = roles;
	f.n_roles = 2;
	expect(pgmlr::check_pg_hba_rule(f), CheckState::Warning, "none for second", "allow_replica('<replica address>', 'second')");
	roles[0].has_hba_rule = false;
	expect(pgmlr::check_pg_hba_rule(f), CheckState::Error, "No host or hostssl replication rule");
	roles[0].has_hba_rule = roles[1].has_hba_rule = true;
	f.hba_error_lines = 2;
	expect(pgmlr::check_pg_hba_rule(f), CheckState::Warning, "2 lines with errors", "pg_hba_file_rules WHERE error");
}

TEST(Doctor, BlobFetch) {
	auto f = healthy_primary();
	f.fetch_database = "postgres";
	expect(pgmlr::check_blob_fetch(f), CheckState::Ok, "replication_user can fetch blobs from this server");
	f.n_roles = 0;
	expect(pgmlr::check_blob_fetch(f), CheckState::Skipped, "No replication role");
	pgmlr_doctor_role roles[2] = {good_role, {"old_repl", true, true, true, false, false}};
	f.roles = roles;
	f.n_roles = 2;
	expect(pgmlr::check_blob_fetch(f), CheckState::Warning,
		   "old_repl lacks EXECUTE on pgml_repl.hf_blob_read, hf_blob_read_rows, hf_cache_extras and a pg_hba.conf host line for database postgres",
		   "allow_blob_fetch('<replica address>', 'old_repl')");
	roles[1].can_fetch = true;
	expect(pgmlr::check_blob_fetch(f), CheckState::Warning, "old_repl lacks a pg_hba.conf host line");
	// Without pg_hba_file_rules only the privileges are judged, and the detail says so.
	f.hba_visible = false;
	expect(pgmlr::check_blob_fetch(f), CheckState::Ok, "pg_hba.conf not checked: needs superuser.");
	roles[0].can_fetch = false;
	expect(pgmlr::check_blob_fetch(f), CheckState::Warning, "replication_user lacks EXECUTE");
}

TEST(Doctor, Archiver) {
	auto f = healthy_primary();
	expect(pgmlr::check_archiver(f), CheckState::Ok, "pgBackRest holds it");
	f.archive_status = "disabled";
	f.archive_detail = "archive_mode is off.";
	expect(pgmlr::check_archiver(f), CheckState::Skipped, "archive_mode is off.");
	f.archive_status = "warning";
	expect(pgmlr::check_archiver(f), CheckState::Warning, nullptr, "archive_status()");
	f.archive_status = "error";
	expect(pgmlr::check_archiver(f), CheckState::Error, nullptr, "pgbackrest --stanza=<stanza> check");
	f.archive_status = "ok";
	f.pgbackrest_in_sync = 0;
	f.pgbackrest_archive_max = nullptr;
	expect(pgmlr::check_archiver(f), CheckState::Warning, "newest archived WAL (none) is behind", "pgbackrest_info");
	f.pgbackrest_in_sync = -1;
	expect(pgmlr::check_archiver(f), CheckState::Ok);
}

TEST(Doctor, Standbys) {
	auto f = healthy_primary();
	expect(pgmlr::check_standbys(f), CheckState::Ok, "1 standby connected: Standby \"replica1\"");
	f.n_standbys = 0;
	expect(pgmlr::check_standbys(f), CheckState::Warning, "No standby", "standby_setup(");
	pgmlr_doctor_standby rows[3] = {{"pg_basebackup", "backup", "ok", "backup"},
									{"a", "streaming", "warning", "A lags."},
									{"b", "streaming", "ok", "B ok."}};
	f.standbys = rows;
	f.n_standbys = 1;
	expect(pgmlr::check_standbys(f), CheckState::Warning, "No standby");  // a base backup is not a standby
	f.n_standbys = 3;
	expect(pgmlr::check_standbys(f), CheckState::Warning, "2 standbys connected: A lags. B ok.", "replication_status()");
	rows[2].status = "error";
	expect(pgmlr::check_standbys(f), CheckState::Error);
}

TEST(Doctor, DeclaredModels) {
	auto f = healthy_primary();
	expect(pgmlr::check_declared_models(f), CheckState::Ok, "Every declared model is in the cache (2 models)");
	f.models_ready = 1;
	f.models_first_problem = "model org/b@main: downloading: commit abc: 1 of 4 files in the cache so far";
	expect(pgmlr::check_declared_models(f), CheckState::Warning,
		   "1 of 2 declared models in the cache (first not yet: model org/b@main: downloading", "prefetch_now()");
	f.models_failing = 1;
	f.models_first_problem = "model org/nope@main: repo_not_found: the Hub answered 404";
	expect(pgmlr::check_declared_models(f), CheckState::Error,
		   "1 declared model of 2 cannot be fetched (first: model org/nope@main: repo_not_found", "hf_token");
	f.models_declared = 0;
	expect(pgmlr::check_declared_models(f), CheckState::Ok, "No model is declared");
	f.models_declared = -1;
	expect(pgmlr::check_declared_models(f), CheckState::Skipped, "not readable");
}

TEST(Doctor, HfManifest) {
	auto f = healthy_primary();
	expect(pgmlr::check_hf_manifest(f), CheckState::Ok, "matches the cache at /cache/hub: 9 files");
	f.cache_visible = false;
	expect(pgmlr::check_hf_manifest(f), CheckState::Skipped, "needs superuser");
	f.cache_visible = true;
	f.cache_not_in_manifest = 2;
	f.manifest_not_in_cache = 1;
	expect(pgmlr::check_hf_manifest(f), CheckState::Warning, "2 cached not published, 1 published no longer cached",
		   "SELECT * FROM pgml_repl.publish_hf_manifest();");
	f.cache_dir_exists = false;
	expect(pgmlr::check_hf_manifest(f), CheckState::Warning, "no cache folder at /cache/hub", "hf_cache_dir");
	f.manifest_files = 0;
	expect(pgmlr::check_hf_manifest(f), CheckState::Skipped, "No HuggingFace cache folder");
}

TEST(Doctor, HfManifestRowsBreakingTheRules) {
	auto f = healthy_primary();
	f.manifest_rows_breaking_rules = 2;
	f.manifest_first_breaking_row = "model org..bars/m6 revision 2222 path x.txt: repo_id contains \"--\" or \"..\"";
	expect(pgmlr::check_hf_manifest(f), CheckState::Warning, "2 rows of pgml_repl.hf_manifest break the Hub's rules",
		   "A CHECK constraint of pgml_repl.hf_manifest was dropped");
	f.manifest_rows_breaking_rules = 0;
	f.cache_invalid_names = 1;
	expect(pgmlr::check_hf_manifest(f), CheckState::Warning, "1 file of the cache at /cache/hub has a name the Hub never creates",
		   "status = 'invalid_name'");
}

TEST(Doctor, Recovery) {
	auto f = healthy_standby();
	f.replay_paused = true;
	expect(pgmlr::check_recovery(f), CheckState::Warning, "paused", "pg_wal_replay_resume()");
}

TEST(Doctor, WalReceiverAndReplayLag) {
	auto f = healthy_standby();
	expect(pgmlr::check_replay_lag(f), CheckState::Ok, "0 bytes received but not replayed; replay delay 00:00:00.");
	f.receiver_status = "warning";
	f.lag_bytes = 20000000;
	expect(pgmlr::check_replay_lag(f), CheckState::Warning, "20000000 bytes", "replication_status()");
	f.receiver_status = "error";
	expect(pgmlr::check_replay_lag(f), CheckState::Error);
	f.receiver_state = "waiting";
	expect(pgmlr::check_wal_receiver(f), CheckState::Error, "is waiting, not streaming", "primary_conninfo");
	expect(pgmlr::check_replay_lag(f), CheckState::Skipped);
	f.receiver_state = nullptr;
	f.receiver_detail = nullptr;
	expect(pgmlr::check_wal_receiver(f), CheckState::Error, "No WAL receiver");
}

TEST(Doctor, RestoreCommandAndHotStandby) {
	auto f = healthy_standby();
	f.restore_command = "";
	expect(pgmlr::check_restore_command(f), CheckState::Warning, "not set", "archive-get %f");
	f.hot_standby = "off";
	expect(pgmlr::check_hot_standby(f), CheckState::Error, "off", "hot_standby = on");
}

TEST(Doctor, PrefetchWorker) {
	auto f = healthy_standby();
	expect(pgmlr::check_prefetch_worker(f), CheckState::Ok, "state idle");
	f.shared_preload_libraries = "pg_stat_statements";
	expect(pgmlr::check_prefetch_worker(f), CheckState::Error, "not in shared_preload_libraries",
		   "shared_preload_libraries = 'pg_stat_statements,pgml_replication'");
	f.shared_preload_libraries = "";
	expect(pgmlr::check_prefetch_worker(f), CheckState::Error, "(empty)", "= 'pgml_replication'");
	f.shared_preload_libraries = "pg_stat_statements, \"pgml_replication\"";
	expect(pgmlr::check_prefetch_worker(f), CheckState::Ok);
	f.prefetch_enabled = false;
	f.prefetch_state = "disabled";
	f.prefetch_detail = "pgml_replication.prefetch is off";
	expect(pgmlr::check_prefetch_worker(f), CheckState::Warning, "disabled", "pgml_replication.prefetch = on");
	f.prefetch_enabled = true;
	f.prefetch_state = "stopped";
	expect(pgmlr::check_prefetch_worker(f), CheckState::Error, "not running");
	f.prefetch_state = "idle";
	f.prefetch_worker_pid_known = false;
	expect(pgmlr::check_prefetch_worker(f), CheckState::Error, "not running");
	f.prefetch_worker_pid_known = true;
	f.prefetch_state = "error";
	f.prefetch_last_error = "HTTP 401";
	expect(pgmlr::check_prefetch_worker(f), CheckState::Warning, "HTTP 401", "prefetch_queue()");
}

TEST(Doctor, HfCache) {
	auto f = healthy_standby();
	expect(pgmlr::check_hf_cache(f), CheckState::Ok, "All 9 files");
	f.manifest_not_in_cache = 3;
	f.prefetch_files_failed = 1;
	expect(pgmlr::check_hf_cache(f), CheckState::Warning, "3 of 9 files of the manifest are missing from the cache at /cache/hub; 1 download failed.",
		   "prefetch_now()");
	f.cache_dir_exists = false;
	expect(pgmlr::check_hf_cache(f), CheckState::Warning, "9 of 9 files", "prefetch_status()");
	f.manifest_files = 0;
	expect(pgmlr::check_hf_cache(f), CheckState::Ok, "empty");
	f.cache_visible = false;
	expect(pgmlr::check_hf_cache(f), CheckState::Skipped, "needs superuser");
}

TEST(Doctor, HfCacheRefusalsComeFirstWithAHint) {
	auto f = healthy_standby();
	f.prefetch_refused_rows = 6;
	f.prefetch_first_refusal = "model:orgbars-/m1 revision 22 path x.txt: invalid manifest repo_id: ...";
	expect(pgmlr::check_hf_cache(f), CheckState::Warning,
		   "6 manifest rows refused by the prefetch worker and never fetched (first: model:orgbars-/m1 revision 22 path x.txt",
		   "prefetch_queue() WHERE status = 'refused'");
	f.cache_visible = false;  // refusals need no superuser: the worker reported them
	expect(pgmlr::check_hf_cache(f), CheckState::Warning, "6 manifest rows refused");
}

TEST(Doctor, Summary) {
	std::vector<Check> checks{{"a", CheckState::Ok, "", ""}, {"b", CheckState::Skipped, "", ""}};
	auto s = pgmlr::summarize(checks);
	EXPECT_EQ(s.status, "ok");
	EXPECT_EQ(s.exit_code, 0);
	EXPECT_EQ(s.detail, "1 check ok; skipped: b");
	checks.push_back({"c", CheckState::Warning, "", "x"});
	s = pgmlr::summarize(checks);
	EXPECT_EQ(s.status, "warning");
	EXPECT_EQ(s.exit_code, 1);
	EXPECT_EQ(s.warnings, 1);
	EXPECT_EQ(s.detail, "warning: c; skipped: b");
	checks.push_back({"d", CheckState::Error, "", "x"});
	checks.push_back({"e", CheckState::Error, "", "x"});
	s = pgmlr::summarize(checks);
	EXPECT_EQ(s.status, "error");
	EXPECT_EQ(s.exit_code, 2);
	EXPECT_EQ(s.errors, 2);
	EXPECT_EQ(s.detail, "error: d, e; warning: c; skipped: b");
	s = pgmlr::summarize({{"b", CheckState::Skipped, "", ""}});
	EXPECT_EQ(s.status, "unknown");
	EXPECT_EQ(s.exit_code, 3);
}

TEST(Doctor, CApi) {
	auto f = healthy_primary();
	f.archive_mode = "off";
	pgmlr_status st;
	pgmlr_doctor_report *r = pgmlr_doctor_run(&f, &st);
	ASSERT_EQ(st.code, PGMLR_OK);
	ASSERT_EQ(pgmlr_doctor_count(r), 11);
	pgmlr_doctor_check c;
	ASSERT_TRUE(pgmlr_doctor_get(r, 1, &c));
	EXPECT_STREQ(c.check_name, "archive_mode");
	EXPECT_STREQ(c.status, "error");
	ASSERT_NE(c.hint, nullptr);
	ASSERT_TRUE(pgmlr_doctor_get(r, 0, &c));
	EXPECT_EQ(c.hint, nullptr);
	EXPECT_FALSE(pgmlr_doctor_get(r, 11, &c));
	pgmlr_doctor_summary s;
	pgmlr_doctor_summarize(r, &s);
	EXPECT_STREQ(s.status, "error");
	EXPECT_EQ(s.exit_code, 2);
	EXPECT_STREQ(s.detail, "error: archive_mode");
	pgmlr_doctor_free(r);
}

TEST(PgbackrestCommand, Parse) {
	auto c = pgmlr::parse_pgbackrest_command("pgbackrest --stanza=main archive-push %p");
	EXPECT_TRUE(c.found);
	EXPECT_EQ(c.stanza, "main");
	EXPECT_EQ(c.config, "");
	c = pgmlr::parse_pgbackrest_command("/usr/bin/pgbackrest --stanza prod --config='/etc/pg br/x.conf' archive-push %p");
	EXPECT_TRUE(c.found);
	EXPECT_EQ(c.stanza, "prod");
	EXPECT_EQ(c.config, "/etc/pg br/x.conf");
	c = pgmlr::parse_pgbackrest_command("env X=1 pgbackrest \"--config=/a\\\"b\" --stanza=s archive-push %p");
	EXPECT_TRUE(c.found);
	EXPECT_EQ(c.config, "/a\"b");
	EXPECT_FALSE(pgmlr::parse_pgbackrest_command("pgbackrest archive-push %p").found);
	EXPECT_TRUE(pgmlr::parse_pgbackrest_command("cp %p /x/pgbackrest --stanza=a").found);  // a word named pgbackrest
	EXPECT_FALSE(pgmlr::parse_pgbackrest_command("test -f x; pgbackrest --stanza=a archive-push %p").found);
	EXPECT_FALSE(pgmlr::parse_pgbackrest_command("false").found);
	EXPECT_FALSE(pgmlr::parse_pgbackrest_command("").found);

	char *stanza = nullptr, *config = nullptr;
	pgmlr_status st;
	EXPECT_TRUE(pgmlr_archive_command_pgbackrest("pgbackrest --stanza=main --config=/c archive-push %p", &stanza, &config, &st));
	EXPECT_STREQ(stanza, "main");
	EXPECT_STREQ(config, "/c");
	pgmlr_free(stanza);
	pgmlr_free(config);
	EXPECT_FALSE(pgmlr_archive_command_pgbackrest(nullptr, &stanza, &config, &st));
	EXPECT_EQ(stanza, nullptr);
}

TEST(PgbackrestCommand, InSync) {
	EXPECT_EQ(pgmlr_pgbackrest_in_sync("000000010000000000000005", "000000010000000000000005"), 1);
	EXPECT_EQ(pgmlr_pgbackrest_in_sync("000000010000000000000006", "000000010000000000000005"), 1);
	EXPECT_EQ(pgmlr_pgbackrest_in_sync("000000010000000000000004", "000000010000000000000005"), 0);
	EXPECT_EQ(pgmlr_pgbackrest_in_sync(nullptr, "000000010000000000000005"), 0);
	EXPECT_EQ(pgmlr_pgbackrest_in_sync("000000010000000000000005", "000000010000000000000005.00000028.backup"), 1);
	EXPECT_EQ(pgmlr_pgbackrest_in_sync("000000010000000000000005", "00000002.history"), -1);
	EXPECT_EQ(pgmlr_pgbackrest_in_sync("000000010000000000000005", nullptr), -1);
}

}  // namespace
