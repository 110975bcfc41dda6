// Implements replication/primary_settings.hpp; what it is for is said at the top of that header.
#include "common/core_only.hpp"
#include "replication/primary_settings.hpp"
#include "common/text.hpp"
#include "pgml_repl/replication.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>

namespace pgmlr {

namespace {

// Control characters shown as escapes, so an error message never carries a
// raw line break into the log.
std::string printable(std::string_view s, size_t limit = 80) {
	std::string out;
	for (size_t i = 0; i < s.size() && i < limit; ++i) {
		unsigned char c = static_cast<unsigned char>(s[i]);
		if (c == '\n') out += "\\n";
		else if (c == '\r') out += "\\r";
		else if (c == '\t') out += "\\t";
		else if (c < 0x20 || c == 0x7f) {
			char buf[8];
			std::snprintf(buf, sizeof buf, "\\x%02x", c);
			out += buf;
		} else out.push_back(static_cast<char>(c));
	}
	if (s.size() > limit) out += "...";
	return out;
}

Error invalid(std::string message, std::string detail, std::string hint) {
	return make_error(ErrCode::InvalidParameter, std::move(message), std::move(detail), std::move(hint));
}

const char *kStanzaHint = "Use the name of the stanza section in pgbackrest.conf, for example 'main'.";

bool is_stanza_char(char c) {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
		   c == '.';
}

std::optional<long long> parse_integer(std::string_view text) {
	std::string s(trim(text));
	if (s.empty()) return std::nullopt;
	errno = 0;
	char *end = nullptr;
	long long v = std::strtoll(s.c_str(), &end, 0);
	if (errno != 0 || end == s.c_str() || *end != '\0') return std::nullopt;
	return v;
}

}  // namespace

Status validate_stanza(const char *stanza) {
	if (stanza == nullptr)
		return invalid("stanza must not be null", "", kStanzaHint);
	std::string_view s(stanza);
	if (s.empty())
		return invalid("stanza must not be empty", "", kStanzaHint);
	if (s.size() > kMaxStanzaLength)
		return invalid("stanza name is too long",
					   "The name has " + std::to_string(s.size()) + " characters; pgBackRest allows at most " +
						   std::to_string(kMaxStanzaLength) + ".",
					   kStanzaHint);
	for (char c : s)
		if (!is_stanza_char(c))
			return invalid("invalid stanza name \"" + printable(s) + "\"",
						   "Stanza names may contain only letters, digits, \"_\", \"-\" and \".\".", kStanzaHint);
	if (s.front() == '-')
		return invalid("invalid stanza name \"" + printable(s) + "\"",
					   "A stanza name must not start with \"-\", which pgBackRest would read as an option.",
					   kStanzaHint);
	return {};
}

Status validate_archive_command(std::string_view command) {
	const char *hint = "Pass NULL to use pgBackRest's archive-push, or a one-line shell command that uses %p.";
	if (trim(command).empty())
		return invalid("archive_command must not be empty",
					   "An empty archive_command with archive_mode = on makes PostgreSQL keep every WAL segment.",
					   hint);
	for (char c : command) {
		if (c == '\n' || c == '\r')
			return invalid("archive_command must not contain a line break",
						   "Got \"" + printable(command) + "\". postgresql.auto.conf cannot store multi-line values.",
						   hint);
	}
	for (char c : command) {
		unsigned char u = static_cast<unsigned char>(c);
		if ((u < 0x20 && c != '\t') || u == 0x7f)
			return invalid("archive_command must not contain control characters",
						   "Got \"" + printable(command) + "\".", hint);
	}
	return {};
}

bool archive_command_has_path(std::string_view command) {
	for (size_t i = 0; i + 1 < command.size(); ++i) {
		if (command[i] != '%') continue;
		if (command[i + 1] == 'p') return true;
		if (command[i + 1] == '%') ++i;  // %% is a literal percent sign
	}
	return false;
}

Status validate_max_wal_senders(const int64_t *value) {
	const char *hint =
		"Each streaming replica needs one WAL sender and pg_basebackup up to two; the default 10 suits most set-ups.";
	if (value == nullptr)
		return invalid("max_wal_senders must not be null", "", hint);
	if (*value < 1 || *value > kMaxWalSenders)
		return invalid("max_wal_senders must be between 1 and " + std::to_string(kMaxWalSenders),
					   "Got " + std::to_string(static_cast<long long>(*value)) + ".", hint);
	return {};
}

Status validate_pgbackrest_config(std::string_view path) {
	const char *hint = "Pass the full path of the pgBackRest configuration file, for example "
					   "'/etc/pgbackrest/pgbackrest.conf'.";
	if (path.empty() || path.front() != '/')
		return invalid("pgbackrest_config must be an absolute path", "Got \"" + printable(path) + "\".", hint);
	if (path.size() > kMaxConfigPathLength)
		return invalid("pgbackrest_config is too long",
					   "The path has " + std::to_string(path.size()) + " bytes; at most " +
						   std::to_string(kMaxConfigPathLength) + " are allowed.",
					   hint);
	for (char c : path) {
		unsigned char u = static_cast<unsigned char>(c);
		if (u < 0x20 || u == 0x7f)
			return invalid("pgbackrest_config must not contain control characters",
						   "Got \"" + printable(path) + "\".", hint);
	}
	if (path.find('\'') != std::string_view::npos)
		return invalid("pgbackrest_config must not contain a single quote", "Got \"" + printable(path) + "\".",
					   "Move the file, or link it from a path without quotes.");
	return {};
}

std::string default_archive_command(std::string_view stanza, const std::optional<std::string> &config) {
	std::string cmd = "pgbackrest --stanza=";
	cmd += stanza;
	if (config) {
		cmd += " --config=";
		for (char c : shell_word(*config)) {
			if (c == '%') cmd += "%%";
			else cmd.push_back(c);
		}
	}
	cmd += " archive-push %p";
	return cmd;
}

std::string normalize_setting(SettingKind kind, std::string_view value) {
	switch (kind) {
		case SettingKind::ArchiveMode: {
			std::string v = to_lower_ascii(trim(value));
			if (v == "on" || v == "true" || v == "yes" || v == "1") return "on";
			if (v == "off" || v == "false" || v == "no" || v == "0") return "off";
			return v;
		}
		case SettingKind::WalLevel: {
			std::string v = to_lower_ascii(trim(value));
			if (v == "archive" || v == "hot_standby") return "replica";  // PG 9.6 aliases, still accepted
			return v;
		}
		case SettingKind::Integer: {
			auto n = parse_integer(value);
			return n ? std::to_string(*n) : std::string(value);
		}
		case SettingKind::String:
			break;
	}
	return std::string(value);
}

Result<PrimaryPlan> plan_primary(const char *stanza, const char *archive_command, const int64_t *max_wal_senders,
								 const char *pgbackrest_config) {
	if (Status st = validate_stanza(stanza)) return *st;
	std::optional<std::string> config;
	if (pgbackrest_config) {
		if (Status st = validate_pgbackrest_config(pgbackrest_config)) return *st;
		if (archive_command)
			return invalid("pgbackrest_config applies only to the default archive_command",
						   "archive_command was given, so pgbackrest_config would be ignored.",
						   "Pass archive_command => NULL, or put --config=<path> into your own archive_command.");
		config = pgbackrest_config;
	}
	std::string command = archive_command ? std::string(archive_command) : default_archive_command(stanza, config);
	if (Status st = validate_archive_command(command)) return *st;
	if (Status st = validate_max_wal_senders(max_wal_senders)) return *st;

	PrimaryPlan plan;
	plan.archive_command_lacks_path = !archive_command_has_path(command);
	auto add = [&](const char *name, SettingKind kind, bool restart, std::string desired) {
		PlannedSetting s;
		s.name = name;
		s.kind = kind;
		s.needs_restart = restart;
		s.desired = std::move(desired);
		plan.settings.push_back(std::move(s));
	};
	add("archive_mode", SettingKind::ArchiveMode, true, "on");
	add("wal_level", SettingKind::WalLevel, true, "replica");
	add("archive_command", SettingKind::String, false, command);
	add("max_wal_senders", SettingKind::Integer, true, std::to_string(static_cast<long long>(*max_wal_senders)));
	return plan;
}

void observe_setting(PlannedSetting &s, const char *configured, std::string_view running) {
	s.previous = configured ? std::string(configured) : std::string(running);
	std::string prev_norm = normalize_setting(s.kind, s.previous);
	bool keep = (s.kind == SettingKind::WalLevel && prev_norm == "logical") ||
				(s.kind == SettingKind::ArchiveMode && prev_norm == "always");
	s.value = keep ? s.previous : s.desired;
	std::string value_norm = normalize_setting(s.kind, s.value);
	s.changed = value_norm != prev_norm;
	s.pending_restart = s.needs_restart && value_norm != normalize_setting(s.kind, running);
}

}  // namespace pgmlr
