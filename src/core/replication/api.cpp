// The replication room's C boundary: every extern "C" entry point declared in
// pgml_repl/replication.h, each a thin wrapper that converts C arguments,
// calls the implementation and reports through pgmlr::guarded().
#include "common/core_only.hpp"

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/c_boundary.hpp"
#include "common/error.hpp"
#include "pgml_repl/replication.h"
#include "replication/auto_conf.hpp"
#include "replication/hba_file.hpp"
#include "replication/identifiers.hpp"
#include "replication/password.hpp"
#include "replication/pgbackrest_info.hpp"
#include "replication/pgcat_config.hpp"
#include "replication/primary_settings.hpp"
#include "replication/standby_setup.hpp"

// ---- auto_conf ---------------------------------------------------------

struct pgmlr_auto_conf {
	pgmlr::AutoConf conf;
};

extern "C" pgmlr_auto_conf *pgmlr_auto_conf_create(pgmlr_status *status) {
	pgmlr_auto_conf *conf = nullptr;
	pgmlr::guarded(status, [&] {
		conf = new pgmlr_auto_conf();
		return pgmlr::Status{};
	});
	return conf;
}

extern "C" void pgmlr_auto_conf_free(void *conf) { delete static_cast<pgmlr_auto_conf *>(conf); }

extern "C" void pgmlr_auto_conf_add(pgmlr_auto_conf *conf, const char *name, const char *value,
									pgmlr_status *status) {
	pgmlr::guarded(status, [&] {
		conf->conf.add(name, value ? value : "");
		return pgmlr::Status{};
	});
}

extern "C" const char *pgmlr_auto_conf_get(const pgmlr_auto_conf *conf, const char *name) {
	const std::string *v = conf->conf.find(name);
	return v ? v->c_str() : nullptr;
}

extern "C" void pgmlr_auto_conf_set(pgmlr_auto_conf *conf, const char *name, const char *value,
									pgmlr_status *status) {
	pgmlr::guarded(status, [&] {
		conf->conf.set(name, value);
		return pgmlr::Status{};
	});
}

extern "C" char *pgmlr_auto_conf_render(const pgmlr_auto_conf *conf, pgmlr_status *status) {
	char *text = nullptr;
	pgmlr::guarded(status, [&] {
		text = pgmlr::to_c_string(conf->conf.render());
		return pgmlr::Status{};
	});
	return text;
}

// ---- primary_settings --------------------------------------------------

struct pgmlr_primary_plan {
	pgmlr::PrimaryPlan plan;
};

namespace {

const pgmlr::PlannedSetting *setting_at(const pgmlr_primary_plan *plan, int i) {
	if (!plan || i < 0 || static_cast<size_t>(i) >= plan->plan.settings.size()) return nullptr;
	return &plan->plan.settings[static_cast<size_t>(i)];
}

const char *text_at(const pgmlr_primary_plan *plan, int i, std::string pgmlr::PlannedSetting::*field) {
	const pgmlr::PlannedSetting *s = setting_at(plan, i);
	return s ? (s->*field).c_str() : nullptr;
}

pgmlr::PlannedSetting *setting_at(pgmlr_primary_plan *plan, int i) {
	return const_cast<pgmlr::PlannedSetting *>(setting_at(static_cast<const pgmlr_primary_plan *>(plan), i));
}

}  // namespace

extern "C" pgmlr_primary_plan *pgmlr_primary_plan_create(const char *stanza, const char *archive_command,
														 const int64_t *max_wal_senders,
														 const char *pgbackrest_config, pgmlr_status *status) {
	pgmlr_primary_plan *out = nullptr;
	pgmlr::guarded(status, [&]() -> pgmlr::Status {
		auto plan = pgmlr::plan_primary(stanza, archive_command, max_wal_senders, pgbackrest_config);
		if (!plan) return plan.error();
		out = new pgmlr_primary_plan{std::move(*plan)};
		return {};
	});
	return out;
}

extern "C" void pgmlr_primary_plan_free(void *plan) { delete static_cast<pgmlr_primary_plan *>(plan); }

extern "C" int pgmlr_primary_plan_count(const pgmlr_primary_plan *plan) {
	return plan ? static_cast<int>(plan->plan.settings.size()) : 0;
}

extern "C" bool pgmlr_primary_plan_archive_command_lacks_path(const pgmlr_primary_plan *plan) {
	return plan && plan->plan.archive_command_lacks_path;
}

extern "C" const char *pgmlr_primary_plan_name(const pgmlr_primary_plan *plan, int i) {
	return text_at(plan, i, &pgmlr::PlannedSetting::name);
}

extern "C" const char *pgmlr_primary_plan_desired(const pgmlr_primary_plan *plan, int i) {
	return text_at(plan, i, &pgmlr::PlannedSetting::desired);
}

extern "C" void pgmlr_primary_plan_observe(pgmlr_primary_plan *plan, int i, const char *configured,
										   const char *running, pgmlr_status *status) {
	pgmlr::guarded(status, [&]() -> pgmlr::Status {
		auto s = setting_at(plan, i);
		if (!s) return pgmlr::make_error(pgmlr::ErrCode::Internal, "setting index out of range");
		pgmlr::observe_setting(*s, configured, running ? running : "");
		return {};
	});
}

extern "C" const char *pgmlr_primary_plan_previous(const pgmlr_primary_plan *plan, int i) {
	return text_at(plan, i, &pgmlr::PlannedSetting::previous);
}

extern "C" const char *pgmlr_primary_plan_value(const pgmlr_primary_plan *plan, int i) {
	return text_at(plan, i, &pgmlr::PlannedSetting::value);
}

extern "C" bool pgmlr_primary_plan_changed(const pgmlr_primary_plan *plan, int i) {
	auto s = setting_at(plan, i);
	return s && s->changed;
}

extern "C" bool pgmlr_primary_plan_pending_restart(const pgmlr_primary_plan *plan, int i) {
	auto s = setting_at(plan, i);
	return s && s->pending_restart;
}

// ---- identifiers -------------------------------------------------------

extern "C" bool pgmlr_check_role_name(const char *name, pgmlr_status *status) {
	pgmlr::guarded(status, [&] { return pgmlr::check_role_name(name ? name : ""); });
	return status->code == PGMLR_OK;
}

extern "C" char *pgmlr_nearest_name(const char *name, const char *const *candidates, int n_candidates,
                                    pgmlr_status *status) {
	char *out = nullptr;
	pgmlr::guarded(status, [&]() -> pgmlr::Status {
		std::vector<std::string> names;
		for (int i = 0; i < n_candidates; ++i)
			if (candidates[i]) names.emplace_back(candidates[i]);
		if (auto best = pgmlr::nearest_name(name ? name : "", names)) out = pgmlr::to_c_string(*best);
		return {};
	});
	return out;
}

// ---- hba_file ----------------------------------------------------------

struct pgmlr_hba_edit {
	pgmlr::hba::EditResult result;
};

namespace {

pgmlr::Result<pgmlr::hba::Rule> checked_rule(const char *role, const char *address, const char *method) {
	if (auto st = pgmlr::check_role_name(role ? role : "")) return *st;
	auto addr = pgmlr::hba::normalize_address(address ? address : "");
	if (!addr) return addr.error();
	auto m = pgmlr::hba::normalize_method(method ? method : "");
	if (!m) return m.error();
	return pgmlr::hba::Rule{role, *addr, *m};
}

pgmlr::Status check_content(const char *content) {
	if (!content) return pgmlr::make_error(pgmlr::ErrCode::Internal, "no pg_hba.conf content given");
	return {};
}

}  // namespace

namespace {

// One edit of pg_hba.conf content: database NULL for a replication rule.
// disallow ignores the method (any is removed).
pgmlr_hba_edit *hba_edit(bool allow, const char *content, const char *database, const char *role,
						 const char *address, const char *method, pgmlr_status *status) {
	pgmlr_hba_edit *out = nullptr;
	pgmlr::guarded(status, [&]() -> pgmlr::Status {
		if (auto st = check_content(content)) return st;
		auto rule = checked_rule(role, address, method);
		if (!rule) return rule.error();
		if (database) {
			if (auto st = pgmlr::hba::check_database_name(database)) return st;
			rule->database = database;
		}
		auto res = allow ? pgmlr::hba::allow(content, *rule)
						 : pgmlr::hba::disallow(content, rule->role, rule->address, rule->database);
		if (!res) return res.error();
		auto edit = std::make_unique<pgmlr_hba_edit>();
		edit->result = std::move(*res);
		out = edit.release();
		return {};
	});
	return out;
}

}  // namespace

extern "C" pgmlr_hba_edit *pgmlr_hba_allow(const char *content, const char *role, const char *address,
										   const char *method, pgmlr_status *status) {
	return hba_edit(true, content, nullptr, role, address, method, status);
}

extern "C" pgmlr_hba_edit *pgmlr_hba_disallow(const char *content, const char *role, const char *address,
											  pgmlr_status *status) {
	return hba_edit(false, content, nullptr, role, address, "scram-sha-256", status);
}

extern "C" pgmlr_hba_edit *pgmlr_hba_allow_database(const char *content, const char *database, const char *role,
													const char *address, pgmlr_status *status) {
	return hba_edit(true, content, database ? database : "", role, address, "scram-sha-256", status);
}

extern "C" pgmlr_hba_edit *pgmlr_hba_disallow_database(const char *content, const char *database, const char *role,
													   const char *address, pgmlr_status *status) {
	return hba_edit(false, content, database ? database : "", role, address, "scram-sha-256", status);
}

extern "C" const char *pgmlr_hba_edit_content(const pgmlr_hba_edit *edit) { return edit->result.content.c_str(); }

extern "C" bool pgmlr_hba_edit_changed(const pgmlr_hba_edit *edit) { return edit->result.changed; }

extern "C" const char *pgmlr_hba_edit_rule(const pgmlr_hba_edit *edit) {
	return edit->result.rule.empty() ? nullptr : edit->result.rule.c_str();
}

extern "C" int pgmlr_hba_edit_notice_count(const pgmlr_hba_edit *edit) {
	return static_cast<int>(edit->result.notices.size());
}

extern "C" const char *pgmlr_hba_edit_notice(const pgmlr_hba_edit *edit, int i) {
	if (i < 0 || static_cast<size_t>(i) >= edit->result.notices.size()) return nullptr;
	return edit->result.notices[static_cast<size_t>(i)].c_str();
}

extern "C" void pgmlr_hba_edit_free(void *edit) { delete static_cast<pgmlr_hba_edit *>(edit); }

extern "C" char *pgmlr_hba_normalize_address(const char *address, pgmlr_status *status) {
	return pgmlr::guarded_string(status, [&]() -> pgmlr::Result<std::string> {
		return pgmlr::hba::normalize_address(address ? address : "");
	});
}

extern "C" char *pgmlr_hba_normalize_method(const char *method, pgmlr_status *status) {
	return pgmlr::guarded_string(status, [&]() -> pgmlr::Result<std::string> {
		return pgmlr::hba::normalize_method(method ? method : "");
	});
}

extern "C" bool pgmlr_hba_address_note(const char *address, pgmlr_status *note) {
	bool have = false;
	pgmlr::guarded(note, [&]() -> pgmlr::Status {
		std::optional<pgmlr::Error> n = pgmlr::hba::address_note(address ? address : "");
		if (n) {
			pgmlr::fill_status(note, *n);
			note->code = PGMLR_OK;  // a note, not an error
			have = true;
		}
		return {};
	});
	return have && note->code == PGMLR_OK;
}

// ---- password ----------------------------------------------------------

extern "C" char *pgmlr_generate_password(pgmlr_status *status) {
	return pgmlr::guarded_string(status, [&]() -> pgmlr::Result<std::string> {
		return pgmlr::generate_password();
	});
}

extern "C" int pgmlr_classify_password(const char *password, pgmlr_status *status) {
	int kind = PGMLR_PASSWORD_PLAINTEXT;
	pgmlr::guarded(status, [&]() -> pgmlr::Status {
		auto k = pgmlr::classify_password(password ? password : "");
		if (!k) return k.error();
		kind = *k == pgmlr::PasswordKind::ScramVerifier ? PGMLR_PASSWORD_SCRAM_VERIFIER : PGMLR_PASSWORD_PLAINTEXT;
		return {};
	});
	return kind;
}

// ---- standby_setup -----------------------------------------------------

extern "C" char *pgmlr_standby_setup_script(const pgmlr_standby_setup_args *args, pgmlr_status *status) {
	return pgmlr::guarded_string(status, [&]() -> pgmlr::Result<std::string> {
		pgmlr::StandbySetup s;
		if (!args->primary_host)
			return pgmlr::make_error(pgmlr::ErrCode::InvalidParameter, "primary_host must not be NULL", {},
			                         "Give the primary's host name or IP address as the replica reaches it.");
		s.primary_host = args->primary_host;
		s.primary_port = args->primary_port;
		if (!args->data_directory)
			return pgmlr::make_error(
			    pgmlr::ErrCode::InvalidParameter, "data_directory is required",
			    "The script replaces the cluster in that folder on the replica host; it is never guessed, so "
			    "it cannot default to the primary's own folder.",
			    "Give the replica's data directory, for example data_directory => '/var/lib/postgresql/15/main'.");
		if (!args->role_name || !args->stanza)
			return pgmlr::make_error(pgmlr::ErrCode::InvalidParameter, "role_name and stanza must not be NULL");
		s.role_name = args->role_name;
		s.stanza = args->stanza;
		s.data_directory = args->data_directory;
		if (args->pgbackrest_config) {
			if (!*args->pgbackrest_config)
				return pgmlr::make_error(pgmlr::ErrCode::InvalidParameter, "pgbackrest_config must not be empty", {},
				                         "Give the configuration file's absolute path, or NULL for pgBackRest's default.");
			s.pgbackrest_config = args->pgbackrest_config;
		}
		if (args->application_name) {
			if (!*args->application_name)
				return pgmlr::make_error(pgmlr::ErrCode::InvalidParameter, "application_name must not be empty", {},
				                         "Give a name such as replica_1, or NULL to derive one from the replica's host name.");
			s.application_name = args->application_name;
		}
		s.copy_model_cache = args->copy_model_cache;
		return pgmlr::render_standby_setup(s);
	});
}

// ---- pgcat_config ------------------------------------------------------

extern "C" char *pgmlr_pgcat_config(const pgmlr_pgcat_args *args, char **unknown_ports, pgmlr_status *status) {
	*unknown_ports = nullptr;
	return pgmlr::guarded_string(status, [&]() -> pgmlr::Result<std::string> {
		if (!args->pool || !args->primary_host || !args->database || !args->user_name)
			return pgmlr::make_error(pgmlr::ErrCode::InvalidParameter, "pool must not be NULL", {}, "Use a name such as postgresml.");
		pgmlr::PgcatPool p;
		p.pool = args->pool;
		p.port = args->port;
		p.primary_host = args->primary_host;
		p.database = args->database;
		p.user_name = args->user_name;
		for (int i = 0; i < args->n_replicas; ++i) {
			if (!args->replicas[i])
				return pgmlr::make_error(pgmlr::ErrCode::InvalidParameter, "replicas must not contain NULL", {},
				                         "Give each replica as host or host:port.");
			p.replicas.emplace_back(args->replicas[i]);
		}
		for (int i = 0; i < args->n_connected; ++i)
			p.connected.push_back({args->connected_hosts[i] ? args->connected_hosts[i] : "",
			                       args->connected_names[i] ? args->connected_names[i] : ""});
		pgmlr::Result<pgmlr::PgcatRendered> r = pgmlr::render_pgcat_config(p);
		if (!r) return r.error();
		if (!r->unknown_ports.empty()) {
			std::string names;
			for (const std::string &n : r->unknown_ports) names += (names.empty() ? "\"" : ", \"") + n + "\"";
			*unknown_ports = pgmlr::to_c_string(names);
		}
		return r->toml;
	});
}

extern "C" char *pgmlr_pgcat_default_primary_host(const char *server_addr, const char *listen_addresses,
                                                  pgmlr_status *status) {
	char *out = nullptr;
	pgmlr::guarded(status, [&]() -> pgmlr::Status {
		out = pgmlr::to_c_string(
		    pgmlr::default_primary_host(server_addr ? server_addr : "", listen_addresses ? listen_addresses : ""));
		return {};
	});
	return out;
}

// ---- pgbackrest_info ---------------------------------------------------

extern "C" char *pgmlr_pgbackrest_info_command(const char *stanza, const char *pgbackrest_config, int timeout_seconds,
                                               const char *stderr_path, pgmlr_status *status) {
	return pgmlr::guarded_string(status, [&]() -> pgmlr::Result<std::string> {
		if (!stanza)
			return pgmlr::make_error(pgmlr::ErrCode::InvalidParameter, "stanza must not be NULL", {},
			                         "Give the pgBackRest stanza name, for example main.");
		if (pgbackrest_config && !*pgbackrest_config)
			return pgmlr::make_error(pgmlr::ErrCode::InvalidParameter, "pgbackrest_config must not be empty", {},
			                         "Give the configuration file's absolute path, or NULL for pgBackRest's default.");
		return pgmlr::pgbackrest_info_command(
		    stanza, pgbackrest_config ? pgbackrest_config : "", timeout_seconds, stderr_path ? stderr_path : "");
	});
}

extern "C" void pgmlr_pgbackrest_exit_error(int exit_code, int timeout_seconds, const char *stdout_text,
                                            const char *stderr_text, pgmlr_status *status) {
	pgmlr::guarded(status, [&]() -> pgmlr::Status {
		return pgmlr::pgbackrest_exit_error(exit_code, timeout_seconds, stdout_text ? stdout_text : "",
		                                    stderr_text ? stderr_text : "");
	});
}

extern "C" void pgmlr_pgbackrest_info_validate(const char *json_text, pgmlr_status *status) {
	pgmlr::guarded(status, [&]() -> pgmlr::Status { return pgmlr::validate_info_json(json_text ? json_text : ""); });
}

extern "C" char *pgmlr_pgbackrest_archive_max(const char *json_text, const char *stanza, pgmlr_status *status) {
	char *out = nullptr;
	pgmlr::guarded(status, [&]() -> pgmlr::Status {
		auto r = pgmlr::archive_max(json_text ? json_text : "", stanza ? stanza : "");
		if (!r) return r.error();
		if (*r) out = pgmlr::to_c_string(**r);
		return {};
	});
	return out;
}
