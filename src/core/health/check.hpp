// check(): the doctor's verdicts. Pure classification of facts the shim
// gathered; each check names what it measured and what to run to fix it.
#pragma once
#include "common/core_only.hpp"

#include <string>
#include <vector>

// The C facts struct (pgml_repl/health.h) is only named here; the api and
// implementation files include the C header.
struct pgmlr_doctor_facts;

namespace pgmlr {

enum class CheckState { Ok, Warning, Error, Skipped };

const char *check_state_name(CheckState state);

struct Check {
	std::string name;
	CheckState state = CheckState::Ok;
	std::string detail;
	std::string hint;  // empty: nothing to do
};

struct Summary {
	std::string status;  // ok, warning, error, unknown
	int exit_code = 3;
	int errors = 0;
	int warnings = 0;
	std::string detail;
};

// Primary checks when facts.in_recovery is false, standby checks otherwise,
// always in the same order.
std::vector<Check> run_checks(const pgmlr_doctor_facts &facts);

// One check each, exposed for the unit tests.
Check check_wal_level(const pgmlr_doctor_facts &f);
Check check_archive_mode(const pgmlr_doctor_facts &f);
Check check_archive_command(const pgmlr_doctor_facts &f);
Check check_wal_senders(const pgmlr_doctor_facts &f);
Check check_replication_role(const pgmlr_doctor_facts &f);
Check check_pg_hba_rule(const pgmlr_doctor_facts &f);
Check check_blob_fetch(const pgmlr_doctor_facts &f);
Check check_archiver(const pgmlr_doctor_facts &f);
Check check_standbys(const pgmlr_doctor_facts &f);
Check check_hf_manifest(const pgmlr_doctor_facts &f);
Check check_declared_models(const pgmlr_doctor_facts &f);
Check check_recovery(const pgmlr_doctor_facts &f);
Check check_wal_receiver(const pgmlr_doctor_facts &f);
Check check_replay_lag(const pgmlr_doctor_facts &f);
Check check_restore_command(const pgmlr_doctor_facts &f);
Check check_hot_standby(const pgmlr_doctor_facts &f);
Check check_prefetch_worker(const pgmlr_doctor_facts &f);
Check check_hf_cache(const pgmlr_doctor_facts &f);

// Worst status wins; skipped counts as ok; only skipped rows: unknown.
Summary summarize(const std::vector<Check> &checks);

// Whether a comma-separated library list names pgml_replication.
bool preload_lists_extension(const std::string &shared_preload_libraries);

}  // namespace pgmlr
