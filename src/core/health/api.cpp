// The health room's C boundary: every extern "C" entry point declared in
// pgml_repl/health.h. Converts the C facts and verdicts to and from the core's
// types and reports through pgmlr::guarded().
#include "common/core_only.hpp"

#include <memory>
#include <string>
#include <vector>

#include "common/c_boundary.hpp"
#include "common/error.hpp"
#include "health/check.hpp"
#include "health/status_checks.hpp"
#include "pgml_repl/health.h"

static_assert(int(pgmlr::HealthState::Ok) == PGMLR_HEALTH_OK && int(pgmlr::HealthState::Warning) == PGMLR_HEALTH_WARNING &&
                  int(pgmlr::HealthState::Error) == PGMLR_HEALTH_ERROR &&
                  int(pgmlr::HealthState::Disabled) == PGMLR_HEALTH_DISABLED,
              "pgmlr::HealthState must match pgmlr_health_state in pgml_repl/health.h");

// ---- status_checks -----------------------------------------------------

extern "C" const char *pgmlr_health_state_name(pgmlr_health_state state) {
	switch (state) {
		case PGMLR_HEALTH_OK: return "ok";
		case PGMLR_HEALTH_WARNING: return "warning";
		case PGMLR_HEALTH_ERROR: return "error";
		case PGMLR_HEALTH_DISABLED: return "disabled";
	}
	return "error";
}

extern "C" void pgmlr_archive_classify(const pgmlr_archive_facts *facts, pgmlr_archive_verdict *verdict,
									   pgmlr_status *status) {
	*verdict = pgmlr_archive_verdict{};
	pgmlr::guarded(status, [&]() -> pgmlr::Status {
		pgmlr::ArchiveVerdict v = pgmlr::classify_archive(*facts);
		verdict->detail = pgmlr::to_c_string(v.detail);
		verdict->state = static_cast<pgmlr_health_state>(v.state);
		verdict->has_oldest_ready_age = v.has_oldest_ready_age;
		verdict->oldest_ready_age = v.oldest_ready_age;
		return pgmlr::Status{};
	});
}

extern "C" void pgmlr_replication_classify(const pgmlr_replication_facts *facts, pgmlr_replication_verdict *verdict,
										   pgmlr_status *status) {
	*verdict = pgmlr_replication_verdict{};
	pgmlr::guarded(status, [&]() -> pgmlr::Status {
		pgmlr::ReplicationVerdict v = pgmlr::classify_replication(*facts);
		verdict->detail = pgmlr::to_c_string(v.detail);
		verdict->state = static_cast<pgmlr_health_state>(v.state);
		verdict->has_lag_bytes = v.has_lag_bytes;
		verdict->lag_bytes = v.lag_bytes;
		verdict->has_replay_delay = v.has_replay_delay;
		verdict->replay_delay = v.replay_delay;
		return pgmlr::Status{};
	});
}


extern "C" bool pgmlr_archive_command_pgbackrest(const char *archive_command, char **stanza, char **config,
												 pgmlr_status *status) {
	bool found = false;
	*stanza = nullptr;
	*config = nullptr;
	pgmlr::guarded(status, [&]() -> pgmlr::Status {
		pgmlr::PgbackrestCommand c = pgmlr::parse_pgbackrest_command(archive_command ? archive_command : "");
		if (!c.found) return pgmlr::Status{};
		*stanza = pgmlr::to_c_string(c.stanza);
		if (!c.config.empty()) *config = pgmlr::to_c_string(c.config);
		found = true;
		return pgmlr::Status{};
	});
	return found;
}

extern "C" int pgmlr_pgbackrest_in_sync(const char *archive_max, const char *last_archived_wal) {
	return pgmlr::pgbackrest_in_sync(archive_max, last_archived_wal);
}

// ---- check -------------------------------------------------------------

struct pgmlr_doctor_report {
	std::vector<pgmlr::Check> checks;
	pgmlr::Summary summary;
};

extern "C" pgmlr_doctor_report *pgmlr_doctor_run(const pgmlr_doctor_facts *facts, pgmlr_status *status) {
	pgmlr_doctor_report *out = nullptr;
	pgmlr::guarded(status, [&]() -> pgmlr::Status {
		auto r = std::make_unique<pgmlr_doctor_report>();
		r->checks = pgmlr::run_checks(*facts);
		r->summary = pgmlr::summarize(r->checks);
		out = r.release();
		return pgmlr::Status{};
	});
	return out;
}

extern "C" int32_t pgmlr_doctor_count(const pgmlr_doctor_report *report) {
	return report ? int32_t(report->checks.size()) : 0;
}

extern "C" bool pgmlr_doctor_get(const pgmlr_doctor_report *report, int32_t i, pgmlr_doctor_check *out) {
	if (!report || i < 0 || size_t(i) >= report->checks.size()) return false;
	const pgmlr::Check &c = report->checks[size_t(i)];
	out->check_name = c.name.c_str();
	out->status = pgmlr::check_state_name(c.state);
	out->detail = c.detail.c_str();
	out->hint = c.hint.empty() ? nullptr : c.hint.c_str();
	return true;
}

extern "C" void pgmlr_doctor_summarize(const pgmlr_doctor_report *report, pgmlr_doctor_summary *out) {
	out->status = report->summary.status.c_str();
	out->exit_code = report->summary.exit_code;
	out->errors = report->summary.errors;
	out->warnings = report->summary.warnings;
	out->detail = report->summary.detail.c_str();
}

extern "C" void pgmlr_doctor_free(void *report) { delete static_cast<pgmlr_doctor_report *>(report); }
