#include "core_only.hpp"
#include "standby_setup.hpp"

#include <string>

#include "shell_quote.hpp"
#include "text_util.hpp"

namespace pgmlr {

namespace {

bool is_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

Error invalid(std::string_view param, std::string message, std::string detail, std::string hint) {
	(void) param;
	return make_error(PGMLR_ERR_INVALID_PARAMETER, std::move(message), std::move(detail), std::move(hint));
}

std::string quoted_for_message(std::string_view s) {
	// Messages show the value, but never a raw control character.
	std::string out = "\"";
	for (char c : s) {
		unsigned char u = static_cast<unsigned char>(c);
		if (u < 0x20 || u == 0x7f)
			out += '?';
		else
			out += c;
		if (out.size() > 80) {
			out += "...";
			break;
		}
	}
	return out + "\"";
}

}  // namespace

Status validate_host(std::string_view param, std::string_view host) {
	std::string p(param);
	if (host.empty())
		return invalid(param, p + " must not be empty", {}, "Give a host name or an IP address, for example 10.0.0.1 or db-primary.internal.");
	bool ok = host.size() <= 253 && host.front() != '-' && host.front() != '.';
	for (char c : host)
		if (!(is_alnum(c) || c == '.' || c == '-' || c == ':' || c == '_' || c == '%')) ok = false;
	if (!ok)
		return invalid(param, "invalid " + p + " " + quoted_for_message(host),
		               "A host is a DNS name or an IP address: letters, digits, '.', '-', '_' and ':' only, up to 253 characters.",
		               "Give a host name or an IP address, for example 10.0.0.1 or db-primary.internal.");
	return {};
}

Status validate_port(std::string_view param, long port) {
	if (port < 1 || port > 65535)
		return invalid(param, std::string(param) + " " + std::to_string(port) + " is out of range",
		               "A TCP port is between 1 and 65535.", "PostgreSQL listens on port 5432 unless configured otherwise.");
	return {};
}

Status validate_role_name(std::string_view param, std::string_view role) {
	bool ok = !role.empty() && role.size() <= 63 && !(role.front() >= '0' && role.front() <= '9');
	for (char c : role)
		if (!(is_alnum(c) || c == '_')) ok = false;
	if (!ok)
		return make_error(PGMLR_ERR_INVALID_NAME, "invalid " + std::string(param) + " " + quoted_for_message(role),
		                  "The generated steps accept plain role names only: letters, digits and '_', not starting with a digit, up to 63 characters.",
		                  "Use a plain name such as replication_user.");
	return {};
}

Status validate_stanza(std::string_view param, std::string_view stanza) {
	bool ok = !stanza.empty() && stanza.size() <= 64 && is_alnum(stanza.front());
	for (char c : stanza)
		if (!(is_alnum(c) || c == '_' || c == '-' || c == '.')) ok = false;
	if (!ok)
		return invalid(param, "invalid " + std::string(param) + " " + quoted_for_message(stanza),
		               "A pgBackRest stanza name here is letters, digits, '_', '-' and '.', starting with a letter or digit, up to 64 characters.",
		               "Use the stanza name of your pgBackRest configuration, for example main.");
	return {};
}

Status validate_absolute_path(std::string_view param, std::string_view path) {
	std::string p(param);
	const std::string example =
	    param == "pgbackrest_config" ? "/etc/pgbackrest/pgbackrest.conf" : "/var/lib/postgresql/15/main";
	if (path.empty() || path.front() != '/')
		return invalid(param, p + " must be an absolute path", "Got " + quoted_for_message(path) + ".",
		               "Give the full path, for example " + example + ".");
	if (has_control_chars(path) || !is_valid_utf8(path) || path.size() > 1024)
		return invalid(param, p + " contains a newline or another control character", {},
		               "Give a path of printable UTF-8 characters, up to 1024 bytes.");
	return {};
}

Status validate_application_name(std::string_view param, std::string_view name) {
	bool ok = !name.empty() && name.size() <= 63;
	for (char c : name)
		if (!(is_alnum(c) || c == '_' || c == '-' || c == '.')) ok = false;
	if (!ok)
		return invalid(param, "invalid " + std::string(param) + " " + quoted_for_message(name),
		               "The application_name is letters, digits, '_', '-' and '.', up to 63 characters, so it can be named in synchronous_standby_names.",
		               "Use a name such as replica_1, or leave it NULL to derive one from the replica's host name.");
	return {};
}

std::string pgpass_field(std::string_view s) {
	std::string out;
	for (char c : s) {
		if (c == ':' || c == '\\') out += '\\';
		out += c;
	}
	return out;
}

std::string restore_command(std::string_view stanza, std::string_view pgbackrest_config) {
	std::string cmd = "pgbackrest";
	if (!pgbackrest_config.empty()) {
		// The server expands %f, %p, %r and %% in restore_command.
		std::string escaped;
		for (char c : pgbackrest_config) {
			if (c == '%') escaped += '%';
			escaped += c;
		}
		cmd += " " + shell_word("--config=" + escaped);
	}
	cmd += " " + shell_word("--stanza=" + std::string(stanza));
	cmd += " archive-get %f \"%p\"";
	return cmd;
}

namespace {

// The inside of a postgresql.auto.conf string, without its outer quotes.
std::string guc_file_inner(std::string_view s) {
	std::string q = guc_file_string(s);
	return q.substr(1, q.size() - 2);
}

}  // namespace

Result<std::string> render_standby_setup(const StandbySetup &s) {
	if (Status st = validate_host("primary_host", s.primary_host)) return *st;
	if (Status st = validate_port("primary_port", s.primary_port)) return *st;
	if (Status st = validate_role_name("role_name", s.role_name)) return *st;
	if (Status st = validate_stanza("stanza", s.stanza)) return *st;
	if (Status st = validate_absolute_path("data_directory", s.data_directory)) return *st;
	if (s.data_directory.find_first_not_of('/') == std::string::npos)
		return make_error(PGMLR_ERR_INVALID_PARAMETER, "data_directory must not be the root directory",
		                  "The steps empty the data directory before copying the primary.",
		                  "Give the replica's own data directory, for example /var/lib/postgresql/15/main.");
	if (!s.pgbackrest_config.empty())
		if (Status st = validate_absolute_path("pgbackrest_config", s.pgbackrest_config)) return *st;
	if (!s.application_name.empty())
		if (Status st = validate_application_name("application_name", s.application_name)) return *st;

	const std::string port = std::to_string(s.primary_port);
	const std::string conninfo = "host=" + conninfo_value(s.primary_host) + " port=" + conninfo_value(port) +
	                             " user=" + conninfo_value(s.role_name);
	const std::string pgpass_line = pgpass_field(s.primary_host) + ":" + port + ":*:" + pgpass_field(s.role_name) + ":PASSWORD";

	std::string o;
	o += "#!/usr/bin/env bash\n";
	o += "# Turns this host into a streaming replica of the PostgresML primary\n";
	o += "# " + s.primary_host + " port " + port + ". Generated by pgml_repl.standby_setup().\n";
	o += "# Run it on the replica host as the postgres OS user, after reading it:\n";
	o += "# it stops the local server and DELETES everything in the data directory.\n";
	o += "set -euo pipefail\n";
	o += "\n";
	o += "# --- Settings ------------------------------------------------------------\n";
	o += "# Server programs: pg_config's bindir unless PGBIN is set.\n";
	o += "PGBIN=\"${PGBIN:-$(pg_config --bindir)}\"\n";
	if (s.data_directory_from_primary)
		o += "# The primary's own data_directory: the replica is assumed to use the same layout.\n";
	o += "PGDATA_DIR=" + shell_quote(s.data_directory) + "\n";
	o += "# Where postgresql.conf lives (Debian: /etc/postgresql/<version>/<cluster>).\n";
	o += "PGCONF_DIR=\"${PGCONF_DIR:-$PGDATA_DIR}\"\n";
	o += "PRIMARY_HOST=" + shell_quote(s.primary_host) + "\n";
	o += "PRIMARY_PORT=" + shell_quote(port) + "\n";
	o += "REPLICATION_ROLE=" + shell_quote(s.role_name) + "\n";
	o += "# The role's password comes from this file; primary_conninfo names it too.\n";
	o += "PGPASSFILE=\"${PGPASSFILE:-$HOME/.pgpass}\"\n";
	o += "export PGPASSFILE\n";
	o += "# The name the primary shows in pg_stat_replication.application_name.\n";
	if (s.application_name.empty())
		o += "APPLICATION_NAME=\"${APPLICATION_NAME:-pgml_$(uname -n | tr -c 'A-Za-z0-9_\\n' '_' | cut -c1-40)}\"\n";
	else
		o += "APPLICATION_NAME=" + shell_quote(s.application_name) + "\n";
	o += "# Extra server options for pg_ctl start, e.g. '-p 5433' when the replica\n";
	o += "# shares a host with the primary.\n";
	o += "PG_CTL_START_OPTIONS=\"${PG_CTL_START_OPTIONS:-}\"\n";
	o += "PG_CTL_LOG=\"${PG_CTL_LOG:-$PGDATA_DIR/pg_ctl_start.log}\"\n";
	o += "\n";
	o += "# --- 1. Password file ----------------------------------------------------\n";
	o += "# The password never appears in this script or in the server's settings.\n";
	o += "# Create the file once, readable by you only (write ':' and '\\' in the\n";
	o += "# password as '\\:' and '\\\\'):\n";
	o += "#   (umask 077; echo " + shell_quote(pgpass_line) + " >> \"$PGPASSFILE\")\n";
	o += "case \"$PGPASSFILE\" in\n";
	o += "\t/*) ;;\n";
	o += "\t*) echo \"PGPASSFILE must be an absolute path: $PGPASSFILE\" >&2; exit 1 ;;\n";
	o += "esac\n";
	o += "case \"$PGPASSFILE\" in\n";
	o += "\t*[\\'\\\\]* | *$'\\n'*) echo \"PGPASSFILE must not contain quotes, backslashes or newlines\" >&2; exit 1 ;;\n";
	o += "esac\n";
	o += "if [ ! -r \"$PGPASSFILE\" ]; then\n";
	o += "\techo \"no password file at $PGPASSFILE: create it first (step 1)\" >&2\n";
	o += "\texit 1\n";
	o += "fi\n";
	o += "case \"$APPLICATION_NAME\" in\n";
	o += "\t'' | *[!A-Za-z0-9_.-]*) echo \"APPLICATION_NAME must be letters, digits, '_', '-' and '.'\" >&2; exit 1 ;;\n";
	o += "esac\n";
	o += "\n";
	o += "# --- 2. Stop the local server (if it runs), empty the data directory ---\n";
	o += "case \"${PGDATA_DIR:?PGDATA_DIR is empty}\" in\n";
	o += "\t/*[!/]*) ;;\n";
	o += "\t*) echo \"refusing to empty $PGDATA_DIR: not an absolute path below /\" >&2; exit 1 ;;\n";
	o += "esac\n";
	o += "if \"$PGBIN/pg_ctl\" -D \"$PGDATA_DIR\" status >/dev/null 2>&1; then\n";
	o += "\t\"$PGBIN/pg_ctl\" -D \"$PGDATA_DIR\" -m fast -w stop\n";
	o += "fi\n";
	o += "mkdir -p -m 700 \"$PGDATA_DIR\"\n";
	o += "find \"$PGDATA_DIR\" -mindepth 1 -maxdepth 1 -exec rm -rf -- {} +\n";
	o += "\n";
	o += "# --- 3. Copy the primary, streaming the WAL written meanwhile -----------\n";
	o += "\"$PGBIN/pg_basebackup\" -h \"$PRIMARY_HOST\" -p \"$PRIMARY_PORT\" -U \"$REPLICATION_ROLE\" \\\n";
	o += "\t-D \"$PGDATA_DIR\" -X stream --checkpoint=fast --no-password\n";
	o += "\n";
	o += "# --- 4. Standby settings, appended to postgresql.auto.conf --------------\n";
	o += "# Later lines win over earlier ones, so the primary's copied settings stay\n";
	o += "# unless named here.\n";
	o += "AUTO_CONF=\"$PGDATA_DIR/postgresql.auto.conf\"\n";
	o += "printf \"primary_conninfo = '%s application_name=%s passfile=''%s'''\\n\" \\\n";
	o += "\t" + shell_quote(guc_file_inner(conninfo)) + " \"$APPLICATION_NAME\" \"$PGPASSFILE\" >>\"$AUTO_CONF\"\n";
	o += "cat >>\"$AUTO_CONF\" <<'PGMLR_END_OF_SETTINGS'\n";
	o += "restore_command = " + guc_file_string(restore_command(s.stanza, s.pgbackrest_config)) + "\n";
	o += "hot_standby = on\n";
	o += "PGMLR_END_OF_SETTINGS\n";
	o += "# shared_preload_libraries: keep what the copied configuration lists and\n";
	o += "# add pgml_replication, whose worker prefetches the model cache.\n";
	o += "current_libraries=\"$(\"$PGBIN/postgres\" -D \"$PGCONF_DIR\" -C shared_preload_libraries)\"\n";
	o += "case \",$(printf '%s' \"$current_libraries\" | tr -d ' \"'),\" in\n";
	o += "\t*,pgml_replication,*) libraries=\"$current_libraries\" ;;\n";
	o += "\t,,) libraries=pgml_replication ;;\n";
	o += "\t*) libraries=\"$current_libraries,pgml_replication\" ;;\n";
	o += "esac\n";
	o += "libraries=\"${libraries//\\\\/\\\\\\\\}\"\n";
	o += "libraries=\"${libraries//\\'/\\'\\'}\"\n";
	o += "printf \"shared_preload_libraries = '%s'\\n\" \"$libraries\" >>\"$AUTO_CONF\"\n";
	o += "touch \"$PGDATA_DIR/standby.signal\"\n";
	o += "\n";
	o += "# --- 5. Model cache ------------------------------------------------------\n";
	if (s.copy_model_cache) {
		o += "# Optional: the pgml_replication prefetch worker downloads the primary's\n";
		o += "# models by itself; copying saves the download. Needs ssh to the primary.\n";
		o += "HF_HUB_DIR=/var/lib/postgresql/.cache/huggingface/hub\n";
		o += "mkdir -p \"$HF_HUB_DIR\"\n";
		o += "rsync -a --partial \"$PRIMARY_HOST:$HF_HUB_DIR/\" \"$HF_HUB_DIR/\"\n";
	} else {
		o += "# Nothing to copy: the pgml_replication prefetch worker downloads the\n";
		o += "# models the primary lists (standby_setup(copy_model_cache => true)\n";
		o += "# adds an rsync step instead).\n";
	}
	o += "\n";
	o += "# --- 6. Start the replica -----------------------------------------------\n";
	o += "\"$PGBIN/pg_ctl\" -D \"$PGCONF_DIR\" -l \"$PG_CTL_LOG\" -w ${PG_CTL_START_OPTIONS:+-o \"$PG_CTL_START_OPTIONS\"} start\n";
	o += "\n";
	o += "# --- 7. Verify -----------------------------------------------------------\n";
	o += "echo \"replica started; check it streams with:\"\n";
	o += "echo \"  psql -c 'SELECT * FROM pgml_repl.replication_status();'\"\n";
	return o;
}

}  // namespace pgmlr

extern "C" char *pgmlr_standby_setup_script(const pgmlr_standby_setup_args *args, pgmlr_status *status) {
	return pgmlr::guarded_string(status, [&]() -> pgmlr::Result<std::string> {
		pgmlr::StandbySetup s;
		if (!args->primary_host)
			return pgmlr::make_error(PGMLR_ERR_INVALID_PARAMETER, "primary_host must not be NULL", {},
			                         "Give the primary's host name or IP address as the replica reaches it.");
		s.primary_host = args->primary_host;
		s.primary_port = args->primary_port;
		if (!args->role_name || !args->stanza || !args->data_directory)
			return pgmlr::make_error(PGMLR_ERR_INVALID_PARAMETER, "role_name, stanza and data_directory must not be NULL");
		s.role_name = args->role_name;
		s.stanza = args->stanza;
		s.data_directory = args->data_directory;
		s.data_directory_from_primary = args->data_directory_from_primary;
		if (args->pgbackrest_config) {
			if (!*args->pgbackrest_config)
				return pgmlr::make_error(PGMLR_ERR_INVALID_PARAMETER, "pgbackrest_config must not be empty", {},
				                         "Give the configuration file's absolute path, or NULL for pgBackRest's default.");
			s.pgbackrest_config = args->pgbackrest_config;
		}
		if (args->application_name) {
			if (!*args->application_name)
				return pgmlr::make_error(PGMLR_ERR_INVALID_PARAMETER, "application_name must not be empty", {},
				                         "Give a name such as replica_1, or NULL to derive one from the replica's host name.");
			s.application_name = args->application_name;
		}
		s.copy_model_cache = args->copy_model_cache;
		return pgmlr::render_standby_setup(s);
	});
}
