// Implements replication/standby_setup.hpp; what it is for is said at the top of that header.
#include "common/core_only.hpp"
#include "replication/standby_setup.hpp"

#include <string>

#include "common/shell_quote.hpp"
#include "replication/standby_script.hpp"
#include "common/text.hpp"
#include "pgml_repl/replication.h"

namespace pgmlr {

namespace {

bool is_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

Error invalid(std::string_view param, std::string message, std::string detail, std::string hint) {
	(void) param;
	return make_error(ErrCode::InvalidParameter, std::move(message), std::move(detail), std::move(hint));
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
		return make_error(ErrCode::InvalidName, "invalid " + std::string(param) + " " + quoted_for_message(role),
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

Result<std::string> render_standby_setup(const StandbySetup &s) {
	if (Status st = validate_host("primary_host", s.primary_host)) return *st;
	if (Status st = validate_port("primary_port", s.primary_port)) return *st;
	if (Status st = validate_role_name("role_name", s.role_name)) return *st;
	if (Status st = validate_stanza("stanza", s.stanza)) return *st;
	if (Status st = validate_absolute_path("data_directory", s.data_directory)) return *st;
	if (s.data_directory.find_first_not_of('/') == std::string::npos)
		return make_error(ErrCode::InvalidParameter, "data_directory must not be the root directory",
		                  "The script replaces the data directory with a copy of the primary.",
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
	o += "# Run it on the replica host as the postgres OS user, after reading it.\n";
	o += "#\n";
	o += "# Nothing changes before every check has passed: the replication login\n";
	o += "# to the primary (step 2) and what the data directory holds (step 3).\n";
	o += "# Without --force only a missing or empty folder, or a standby of this\n";
	o += "# same primary, is replaced. An existing replica keeps serving while the\n";
	o += "# copy is made next to it; it is stopped only to swap the two folders,\n";
	o += "# and put back if the new copy does not start.\n";
	o += "#\n";
	o += "#   bash standby_setup.sh             check, copy, swap, start\n";
	o += "#   bash standby_setup.sh --check     run the checks only; change nothing\n";
	o += "#   bash standby_setup.sh --force     also replace a folder that holds another\n";
	o += "#                                     cluster, a stopped primary or other files\n";
	o += "#   bash standby_setup.sh --in-place  copy straight into the data directory\n";
	o += "#                                     (a mount point, or no room for two\n";
	o += "#                                     copies): the local server is down during\n";
	o += "#                                     the copy\n";
	o += "set -euo pipefail\n";
	o += "\n";
	o += "# --- Settings ------------------------------------------------------------\n";
	o += "# Server programs: pg_config's bindir unless PGBIN is set.\n";
	o += "PGBIN=\"${PGBIN:-$(pg_config --bindir)}\"\n";
	o += "# The replica's data directory (standby_setup's data_directory).\n";
	o += "PGDATA_DIR=" + shell_quote(s.data_directory) + "\n";
	o += "# Where postgresql.conf lives when not in the data directory (Debian:\n";
	o += "# /etc/postgresql/<version>/<cluster>).\n";
	o += "PGCONF_DIR=\"${PGCONF_DIR:-}\"\n";
	o += "PRIMARY_HOST=" + shell_quote(s.primary_host) + "\n";
	o += "PRIMARY_PORT=" + shell_quote(port) + "\n";
	o += "REPLICATION_ROLE=" + shell_quote(s.role_name) + "\n";
	o += "# The three above as a libpq connection string.\n";
	o += "PRIMARY_CONNINFO=" + shell_quote(conninfo) + "\n";
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
	o += "# Seconds pg_ctl waits for a server to start or stop.\n";
	o += "PG_CTL_TIMEOUT=\"${PG_CTL_TIMEOUT:-300}\"\n";

	StandbyScriptParts parts;
	parts.pgpass_example = shell_quote(pgpass_line);
	parts.restore_command_line = "restore_command = " + guc_file_string(restore_command(s.stanza, s.pgbackrest_config));
	parts.copy_model_cache = s.copy_model_cache;
	o += render_standby_script_body(parts);
	return o;
}

}  // namespace pgmlr
