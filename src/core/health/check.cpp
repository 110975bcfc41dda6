// Implements health/check.hpp; what it is for is said at the top of that header.
#include "common/core_only.hpp"
#include "health/check.hpp"

#include <cinttypes>
#include <cstdio>
#include <memory>

#include "health/status_checks.hpp"
#include "common/error.hpp"
#include "pgml_repl/health.h"

namespace pgmlr {

namespace {

std::string str(const char *s) { return s ? std::string(s) : std::string(); }

bool is(const char *s, const char *literal) { return s && std::string(s) == literal; }

std::string num(int64_t n) {
	char buf[32];
	std::snprintf(buf, sizeof buf, "%" PRId64, n);
	return buf;
}

std::string plural(int64_t n, const char *one, const char *many) { return num(n) + " " + (n == 1 ? one : many); }

std::string join(const std::vector<std::string> &items, const char *sep = ", ") {
	std::string out;
	for (const std::string &s : items) out += (out.empty() ? "" : sep) + s;
	return out;
}

// SQL string literal, for hints the user copies.
std::string literal(const std::string &s) {
	std::string out = "'";
	for (char c : s) out += (c == '\'') ? std::string("''") : std::string(1, c);
	return out + "'";
}

Check make(const char *name, CheckState state, std::string detail, std::string hint = {}) {
	return Check{name, state, std::move(detail), std::move(hint)};
}

const char *const kConfigurePrimary =
	"Run SELECT * FROM pgml_repl.configure_primary(); then restart the server.";

CheckState from_status_text(const char *status) {
	if (is(status, "ok")) return CheckState::Ok;
	if (is(status, "warning")) return CheckState::Warning;
	if (is(status, "disabled")) return CheckState::Skipped;
	return CheckState::Error;
}


}  // namespace

const char *check_state_name(CheckState state) {
	switch (state) {
		case CheckState::Ok: return "ok";
		case CheckState::Warning: return "warning";
		case CheckState::Error: return "error";
		case CheckState::Skipped: return "skipped";
	}
	return "error";
}

bool preload_lists_extension(const std::string &list) {
	for (std::string item : shell_words([&] {
			 std::string spaced;
			 for (char c : list) spaced += (c == ',') ? ' ' : c;
			 return spaced;
		 }()))
		if (item == "pgml_replication" || item == "$libdir/pgml_replication") return true;
	return false;
}

// ---------------------------------------------------------------- primary

Check check_wal_level(const pgmlr_doctor_facts &f) {
	std::string v = str(f.wal_level);
	if (v == "replica" || v == "logical")
		return make("wal_level", CheckState::Ok, "wal_level is " + v + ".");
	return make("wal_level", CheckState::Error,
				"wal_level is " + (v.empty() ? std::string("unknown") : v) + "; streaming and archiving need replica or logical.",
				kConfigurePrimary);
}

Check check_archive_mode(const pgmlr_doctor_facts &f) {
	std::string v = str(f.archive_mode);
	if (v == "on" || v == "always") return make("archive_mode", CheckState::Ok, "archive_mode is " + v + ".");
	return make("archive_mode", CheckState::Error,
				"archive_mode is " + (v.empty() ? std::string("unknown") : v) +
					": no WAL reaches the archive a new standby restores from.",
				kConfigurePrimary);
}

Check check_archive_command(const pgmlr_doctor_facts &f) {
	std::string cmd = str(f.archive_command);
	if (cmd.empty() || cmd == "(disabled)")
		return make("archive_command", CheckState::Error, "archive_command is not set.",
					"Run SELECT * FROM pgml_repl.configure_primary(stanza => 'main'); with your pgBackRest stanza.");
	PgbackrestCommand pb = parse_pgbackrest_command(cmd);
	if (!pb.found)
		return make("archive_command", CheckState::Warning,
					"archive_command does not run pgBackRest with a --stanza: " + cmd,
					"To archive with pgBackRest run SELECT * FROM pgml_repl.configure_primary(stanza => 'main'); "
					"with your stanza; ignore this if you archive another way on purpose.");
	std::string detail = "archive_command pushes to pgBackRest stanza " + pb.stanza;
	if (!pb.config.empty()) detail += " with --config=" + pb.config;
	return make("archive_command", CheckState::Ok, detail + ".");
}

Check check_wal_senders(const pgmlr_doctor_facts &f) {
	int64_t free_senders = int64_t(f.max_wal_senders) - f.wal_senders_used;
	std::string detail = num(f.wal_senders_used) + " of max_wal_senders = " + num(f.max_wal_senders) +
						 " WAL senders in use, " + num(free_senders < 0 ? 0 : free_senders) + " free.";
	if (f.max_wal_senders <= 0)
		return make("wal_senders", CheckState::Error, detail,
					"Run SELECT * FROM pgml_repl.configure_primary(max_wal_senders => 10); then restart the server.");
	if (free_senders <= 0)
		return make("wal_senders", CheckState::Warning, detail + " Another standby or pg_basebackup cannot connect.",
					"Run SELECT * FROM pgml_repl.configure_primary(max_wal_senders => " +
						num(int64_t(f.max_wal_senders) + 4) + "); then restart the server.");
	return make("wal_senders", CheckState::Ok, detail);
}

namespace {

// The replication roles that have everything (names), and the others as
// "<name> lacks <what>", with the first such name for a hint.
struct RoleSplit {
	std::vector<std::string> good, problems;
	std::string first_bad;
};

template <class MissingFn>
RoleSplit split_roles(const pgmlr_doctor_facts &f, MissingFn missing_of) {
	RoleSplit out;
	for (int i = 0; i < f.n_roles; i++) {
		const pgmlr_doctor_role &r = f.roles[i];
		std::vector<std::string> missing = missing_of(r);
		if (missing.empty()) {
			out.good.push_back(str(r.name));
			continue;
		}
		out.problems.push_back(str(r.name) + " lacks " + join(missing, " and "));
		if (out.first_bad.empty()) out.first_bad = str(r.name);
	}
	return out;
}

}  // namespace

Check check_replication_role(const pgmlr_doctor_facts &f) {
	const char *create = "Run SELECT * FROM pgml_repl.create_replication_user(allow_from => '<replica address>');";
	if (f.n_roles <= 0)
		return make("replication_role", CheckState::Error,
					"No role has REPLICATION without being a superuser.", create);
	auto [good, problems, bad_name] = split_roles(f, [&](const pgmlr_doctor_role &r) {
		std::vector<std::string> missing;
		if (!r.can_login) missing.push_back("LOGIN");
		if (f.passwords_visible && !r.scram_password) missing.push_back("a SCRAM-SHA-256 password");
		return missing;
	});
	std::string detail;
	if (!good.empty()) detail = "Replication " + std::string(good.size() == 1 ? "role " : "roles ") + join(good) + " can log in";
	if (!good.empty() && f.passwords_visible) detail += " with a SCRAM-SHA-256 password";
	if (!problems.empty()) detail += (detail.empty() ? "" : "; ") + join(problems, "; ");
	detail += ".";
	if (!f.passwords_visible) detail += " Passwords not checked: needs superuser.";
	if (problems.empty()) return make("replication_role", CheckState::Ok, detail);
	std::string fix = "Run SELECT * FROM pgml_repl.create_replication_user(" + literal(bad_name) +
					  "); it adds LOGIN REPLICATION and a SCRAM password (returned once).";
	return make("replication_role", good.empty() ? CheckState::Error : CheckState::Warning, detail, fix);
}

Check check_pg_hba_rule(const pgmlr_doctor_facts &f) {
	if (!f.hba_visible) return make("pg_hba_rule", CheckState::Skipped, "Reading pg_hba_file_rules needs superuser.");
	if (f.n_roles <= 0) return make("pg_hba_rule", CheckState::Skipped, "No replication role to look for.");
	std::vector<std::string> with, without;
	for (int i = 0; i < f.n_roles; i++) (f.roles[i].has_hba_rule ? with : without).push_back(str(f.roles[i].name));
	std::string detail;
	if (!with.empty())
		detail = "pg_hba.conf lets " + join(with) + " in for replication (host/hostssl, scram-sha-256, md5 or cert)";
	if (!without.empty())
		detail += (detail.empty() ? "No host or hostssl replication rule with scram-sha-256, md5 or cert for "
								  : "; none for ") +
				  join(without);
	detail += ".";
	if (f.hba_error_lines > 0) detail += " pg_hba.conf has " + plural(f.hba_error_lines, "line", "lines") + " with errors.";
	if (without.empty() && f.hba_error_lines <= 0) return make("pg_hba_rule", CheckState::Ok, detail);
	std::string hint;
	if (!without.empty())
		hint = "Run SELECT * FROM pgml_repl.allow_replica('<replica address>', " + literal(without.front()) + ");";
	if (f.hba_error_lines > 0)
		hint += (hint.empty() ? "" : " ") +
				std::string("See SELECT line_number, error FROM pg_hba_file_rules WHERE error IS NOT NULL;");
	return make("pg_hba_rule", with.empty() ? CheckState::Error : CheckState::Warning, detail, hint);
}

Check check_blob_fetch(const pgmlr_doctor_facts &f) {
	if (f.n_roles <= 0) return make("blob_fetch", CheckState::Skipped, "No replication role to look for.");
	const std::string db = f.fetch_database ? str(f.fetch_database) : std::string("the extension's database");
	auto [can, cannot, first_cannot] = split_roles(f, [&](const pgmlr_doctor_role &r) {
		std::vector<std::string> missing;
		if (!r.can_fetch) missing.push_back("EXECUTE on pgml_repl.hf_blob_read, hf_blob_read_rows, hf_cache_extras");
		if (f.hba_visible && !r.has_fetch_hba_rule) missing.push_back("a pg_hba.conf host line for database " + db);
		return missing;
	});
	std::string detail;
	if (!can.empty())
		detail = "Replication " + std::string(can.size() == 1 ? "role " : "roles ") + join(can) +
				 " can fetch blobs from this server (hf_blob_read over a connection to " + db + ")";
	if (!cannot.empty()) detail += (detail.empty() ? "" : "; ") + join(cannot, "; ");
	detail += ".";
	if (!f.hba_visible) detail += " pg_hba.conf not checked: needs superuser.";
	if (cannot.empty()) return make("blob_fetch", CheckState::Ok, detail);
	return make("blob_fetch", CheckState::Warning, detail,
				"Run SELECT * FROM pgml_repl.allow_blob_fetch('<replica address>', " + literal(first_cannot) +
					"); so replicas can fetch models from this server instead of the Hub.");
}

Check check_archiver(const pgmlr_doctor_facts &f) {
	CheckState s = from_status_text(f.archive_status);
	std::string detail = str(f.archive_detail);
	if (s == CheckState::Skipped) return make("archiver", s, detail);
	std::string hint;
	if (s != CheckState::Ok)
		hint = "See SELECT * FROM pgml_repl.archive_status(); run the archive_command by hand as the postgres OS user "
			   "(for pgBackRest: pgbackrest --stanza=<stanza> check) and read the server log.";
	if (f.pgbackrest_in_sync == 0) {
		detail += " pgBackRest's newest archived WAL (" + (f.pgbackrest_archive_max ? str(f.pgbackrest_archive_max) : std::string("none")) +
				  ") is behind the last archived " + str(f.last_archived_wal) + ".";
		if (s == CheckState::Ok) {
			s = CheckState::Warning;
			hint = "Check that archive_command and pgbackrest_info() use the same stanza and repository: "
				   "SELECT pgml_repl.pgbackrest_info('<stanza>');";
		}
	} else if (f.pgbackrest_in_sync == 1) {
		detail += " pgBackRest holds it (archive max " + str(f.pgbackrest_archive_max) + ").";
	}
	return make("archiver", s, detail, hint);
}

Check check_standbys(const pgmlr_doctor_facts &f) {
	std::vector<std::string> parts;
	CheckState worst = CheckState::Ok;
	int n = 0;
	for (int i = 0; i < f.n_standbys; i++) {
		const pgmlr_doctor_standby &s = f.standbys[i];
		if (is(s.state, "backup")) continue;  // pg_basebackup, not a standby
		n++;
		CheckState st = from_status_text(s.status);
		if (st == CheckState::Skipped) st = CheckState::Ok;
		if (st == CheckState::Error || (st == CheckState::Warning && worst == CheckState::Ok)) worst = st;
		parts.push_back(str(s.detail));
	}
	if (n == 0)
		return make("standbys", CheckState::Warning, "No standby is connected.",
					"Start the standby, or create one: SELECT pgml_repl.standby_setup('<this primary''s address>', data_directory => '<replica data directory>'); "
					"renders the script to run on the replica host.");
	std::string detail = plural(n, "standby", "standbys") + " connected: " + join(parts, " ");
	if (worst == CheckState::Ok) return make("standbys", worst, detail);
	return make("standbys", worst, detail,
				"See SELECT * FROM pgml_repl.replication_status(); and on the standby SELECT * FROM pgml_repl.check();");
}

Check check_hf_manifest(const pgmlr_doctor_facts &f) {
	const char *publish = "Run SELECT * FROM pgml_repl.publish_hf_manifest();";
	if (!f.cache_visible)
		return make("hf_manifest", CheckState::Skipped, "Comparing the manifest with the cache needs superuser.");
	std::string dir = f.cache_dir ? str(f.cache_dir) : std::string("(unknown)");
	if (!f.cache_dir_exists) {
		if (f.manifest_files == 0)
			return make("hf_manifest", CheckState::Skipped, "No HuggingFace cache folder at " + dir + "; the manifest is empty.");
		return make("hf_manifest", CheckState::Warning,
					"The manifest lists " + plural(f.manifest_files, "file", "files") + " but there is no cache folder at " + dir + ".",
					"Set pgml_replication.hf_cache_dir to the cache PostgresML uses, then SELECT pg_reload_conf(); and " +
						std::string(publish));
	}
	if (f.manifest_rows_breaking_rules > 0)
		return make("hf_manifest", CheckState::Warning,
					plural(f.manifest_rows_breaking_rules, "row", "rows") + " of pgml_repl.hf_manifest" +
						(f.manifest_rows_breaking_rules == 1 ? " breaks" : " break") +
						" the Hub's rules, and every replica refuses them (first: " +
						str(f.manifest_first_breaking_row) + ").",
					"A CHECK constraint of pgml_repl.hf_manifest was dropped. DELETE the rows (pgml_repl.hf_repo_id_problem() "
					"and the other hf_*_problem() functions name the reason), then " + std::string(publish));
	if (f.cache_invalid_names > 0)
		return make("hf_manifest", CheckState::Warning,
					plural(f.cache_invalid_names, "file", "files") + " of the cache at " + dir +
						(f.cache_invalid_names == 1 ? " has a name" : " have names") +
						" the Hub never creates, so nothing publishes them.",
					"Rename or remove them; SELECT * FROM pgml_repl.hf_cache_manifest() WHERE status = 'invalid_name' lists them.");
	if (f.manifest_not_in_cache == 0 && f.cache_not_in_manifest == 0)
		return make("hf_manifest", CheckState::Ok,
					"The manifest matches the cache at " + dir + ": " + plural(f.manifest_files, "file", "files") + ".");
	std::string detail = "The manifest (" + plural(f.manifest_files, "file", "files") + ") is stale against the cache at " +
						 dir + " (" + plural(f.cache_files, "healthy file", "healthy files") + "): " +
						 num(f.cache_not_in_manifest) + " cached not published, " + num(f.manifest_not_in_cache) +
						 " published no longer cached.";
	return make("hf_manifest", CheckState::Warning, detail, publish);
}

Check check_declared_models(const pgmlr_doctor_facts &f) {
	const char *status = "SELECT * FROM pgml_repl.model_status();";
	if (f.models_declared < 0)
		return make("declared_models", CheckState::Skipped, "pgml_repl.model_status() is not readable here.");
	if (f.models_declared == 0)
		return make("declared_models", CheckState::Ok, "No model is declared (pgml_repl.want_model() declares one).");
	if (f.models_failing > 0)
		return make("declared_models", CheckState::Error,
					plural(f.models_failing, "declared model", "declared models") + " of " + num(f.models_declared) +
						" cannot be fetched (first: " + str(f.models_first_problem) + ").",
					std::string(status) + " Fix the repo id or revision with pgml_repl.unwant_model() and "
					"pgml_repl.want_model(), set pgml_replication.hf_token for a gated repo, or start the prefetch worker.");
	if (f.models_ready == f.models_declared)
		return make("declared_models", CheckState::Ok,
					"Every declared model is in the cache (" + plural(f.models_declared, "model", "models") + ").");
	return make("declared_models", CheckState::Warning,
				num(f.models_ready) + " of " + plural(f.models_declared, "declared model", "declared models") +
					" in the cache (first not yet: " + str(f.models_first_problem) + ").",
				std::string(status) + " SELECT pgml_repl.prefetch_now(); starts a cycle at once.");
}

// ---------------------------------------------------------------- standby

Check check_recovery(const pgmlr_doctor_facts &f) {
	if (f.replay_paused)
		return make("recovery", CheckState::Warning, "In recovery, but WAL replay is paused.",
					"Run SELECT pg_wal_replay_resume();");
	return make("recovery", CheckState::Ok, "In recovery (hot standby); WAL replay is running.");
}

Check check_wal_receiver(const pgmlr_doctor_facts &f) {
	if (is(f.receiver_state, "streaming"))
		return make("wal_receiver", CheckState::Ok, str(f.receiver_detail));
	std::string detail = f.receiver_state ? "The WAL receiver is " + str(f.receiver_state) + ", not streaming."
										  : std::string("No WAL receiver is running.");
	if (f.receiver_detail) detail += " " + str(f.receiver_detail);
	return make("wal_receiver", CheckState::Error, detail,
				"Check SHOW primary_conninfo; and the server log; on the primary run SELECT * FROM pgml_repl.check(); "
				"(replication role, pg_hba.conf rule, free WAL senders).");
}

Check check_replay_lag(const pgmlr_doctor_facts &f) {
	if (!is(f.receiver_state, "streaming"))
		return make("replay_lag", CheckState::Skipped, "No WAL receiver is streaming.");
	std::string detail = (f.has_lag_bytes ? plural(f.lag_bytes, "byte", "bytes") : std::string("unknown bytes")) +
						 " received but not replayed";
	if (f.replay_delay) detail += "; replay delay " + str(f.replay_delay);
	detail += ".";
	CheckState s = from_status_text(f.receiver_status);
	if (s == CheckState::Skipped) s = CheckState::Ok;
	if (s == CheckState::Ok) return make("replay_lag", s, detail);
	return make("replay_lag", s, detail + " Thresholds: pgml_replication.replication_lag_warning and _error.",
				"Look for long queries holding replay back (max_standby_streaming_delay) and the standby's disk: "
				"SELECT * FROM pgml_repl.replication_status();");
}

Check check_restore_command(const pgmlr_doctor_facts &f) {
	std::string cmd = str(f.restore_command);
	if (cmd.empty())
		return make("restore_command", CheckState::Warning,
					"restore_command is not set: a standby that falls behind the primary's WAL cannot catch up from the archive.",
					"ALTER SYSTEM SET restore_command = 'pgbackrest --stanza=main archive-get %f \"%p\"'; "
					"SELECT pg_reload_conf(); (pgml_repl.standby_setup() on the primary renders it).");
	return make("restore_command", CheckState::Ok, "restore_command is " + cmd);
}

Check check_hot_standby(const pgmlr_doctor_facts &f) {
	if (is(f.hot_standby, "on")) return make("hot_standby", CheckState::Ok, "hot_standby is on.");
	return make("hot_standby", CheckState::Error, "hot_standby is " + str(f.hot_standby) + ".",
				"ALTER SYSTEM SET hot_standby = on; then restart the server.");
}

Check check_prefetch_worker(const pgmlr_doctor_facts &f) {
	if (f.shared_preload_libraries && !preload_lists_extension(f.shared_preload_libraries)) {
		std::string list = str(f.shared_preload_libraries);
		std::string value = list.empty() ? std::string("pgml_replication") : list + ",pgml_replication";
		return make("prefetch_worker", CheckState::Error,
					"pgml_replication is not in shared_preload_libraries (" +
						(list.empty() ? std::string("empty") : "'" + list + "'") + "), so no prefetch worker runs.",
					"ALTER SYSTEM SET shared_preload_libraries = " + literal(value) + "; then restart the server.");
	}
	if (!f.prefetch_enabled || is(f.prefetch_state, "disabled"))
		return make("prefetch_worker", CheckState::Warning,
					"The prefetch worker is disabled (" + str(f.prefetch_detail) + "): models are not fetched.",
					f.prefetch_enabled ? "Add pgml_replication to shared_preload_libraries and restart the server."
									   : "ALTER SYSTEM SET pgml_replication.prefetch = on; SELECT pg_reload_conf();");
	if (is(f.prefetch_state, "stopped") || !f.prefetch_worker_pid_known)
		return make("prefetch_worker", CheckState::Error,
					"The prefetch worker is not running (state " + str(f.prefetch_state) + ").",
					"Read the server log for the worker's last error; the postmaster restarts it, or restart the server.");
	if (is(f.prefetch_state, "error"))
		return make("prefetch_worker", CheckState::Warning,
					"The prefetch worker's last cycle failed: " + str(f.prefetch_last_error ? f.prefetch_last_error : f.prefetch_detail),
					"See SELECT * FROM pgml_repl.prefetch_queue(); then SELECT pgml_repl.prefetch_now(); to retry at once "
					"(a held file waits for its next_try_at, a corrected manifest row or a restart of the worker).");
	return make("prefetch_worker", CheckState::Ok, "The prefetch worker is running (state " + str(f.prefetch_state) + ").");
}

Check check_hf_cache(const pgmlr_doctor_facts &f) {
	// Refused rows are never fetched, whatever else is missing: said first.
	if (f.prefetch_refused_rows > 0)
		return make("hf_cache", CheckState::Warning,
					plural(f.prefetch_refused_rows, "manifest row", "manifest rows") +
						" refused by the prefetch worker and never fetched (first: " + str(f.prefetch_first_refusal) + ").",
					"SELECT * FROM pgml_repl.prefetch_queue() WHERE status = 'refused'; lists them with the reason. "
					"Fix or delete them on the primary (its CHECK constraints refuse such rows unless dropped).");
	if (!f.cache_visible)
		return make("hf_cache", CheckState::Skipped, "Comparing the cache with the manifest needs superuser.");
	std::string dir = f.cache_dir ? str(f.cache_dir) : std::string("(unknown)");
	if (f.manifest_files == 0)
		return make("hf_cache", CheckState::Ok, "The manifest is empty: nothing to fetch.");
	int64_t missing = f.cache_dir_exists ? f.manifest_not_in_cache : f.manifest_files;
	if (missing == 0)
		return make("hf_cache", CheckState::Ok,
					"All " + plural(f.manifest_files, "file", "files") + " of the manifest are in the cache at " + dir + ".");
	std::string detail = num(missing) + " of " + plural(f.manifest_files, "file", "files") +
						 " of the manifest are missing from the cache at " + dir;
	if (!f.cache_dir_exists) detail += " (the folder does not exist)";
	if (f.prefetch_files_failed > 0) detail += "; " + plural(f.prefetch_files_failed, "download", "downloads") + " failed";
	detail += ".";
	return make("hf_cache", CheckState::Warning, detail,
				"See SELECT * FROM pgml_repl.prefetch_status(); and SELECT * FROM pgml_repl.prefetch_queue(); "
				"then SELECT pgml_repl.prefetch_now(); to fetch at once.");
}

std::vector<Check> run_checks(const pgmlr_doctor_facts &f) {
	if (f.in_recovery)
		return {check_recovery(f),		  check_wal_receiver(f),	  check_replay_lag(f), check_restore_command(f),
				check_hot_standby(f), check_prefetch_worker(f), check_hf_cache(f)};
	return {check_wal_level(f),		   check_archive_mode(f), check_archive_command(f),
			check_wal_senders(f),	   check_replication_role(f), check_pg_hba_rule(f),
			check_blob_fetch(f),	   check_archiver(f),		  check_standbys(f),
			check_hf_manifest(f),	   check_declared_models(f)};
}

Summary summarize(const std::vector<Check> &checks) {
	Summary s;
	std::vector<std::string> errors, warnings, skipped;
	for (const Check &c : checks) {
		if (c.state == CheckState::Error) errors.push_back(c.name);
		if (c.state == CheckState::Warning) warnings.push_back(c.name);
		if (c.state == CheckState::Skipped) skipped.push_back(c.name);
	}
	s.errors = int(errors.size());
	s.warnings = int(warnings.size());
	if (!errors.empty()) {
		s.status = "error";
		s.exit_code = 2;
	} else if (!warnings.empty()) {
		s.status = "warning";
		s.exit_code = 1;
	} else if (skipped.size() == checks.size()) {
		s.status = "unknown";
		s.exit_code = 3;
	} else {
		s.status = "ok";
		s.exit_code = 0;
	}
	std::vector<std::string> parts;
	if (!errors.empty()) parts.push_back("error: " + join(errors));
	if (!warnings.empty()) parts.push_back("warning: " + join(warnings));
	if (!skipped.empty()) parts.push_back("skipped: " + join(skipped));
	if (errors.empty() && warnings.empty())
		s.detail = plural(int64_t(checks.size() - skipped.size()), "check", "checks") + " ok";
	if (!parts.empty()) s.detail += (s.detail.empty() ? "" : "; ") + join(parts, "; ");
	return s;
}

}  // namespace pgmlr
