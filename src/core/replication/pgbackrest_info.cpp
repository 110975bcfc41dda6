// Implements replication/pgbackrest_info.hpp; what it is for is said at the top of that header.
#include "common/core_only.hpp"
#include "replication/pgbackrest_info.hpp"

#include <nlohmann/json.hpp>

#include "common/shell_quote.hpp"
#include "replication/standby_setup.hpp"
#include "common/text.hpp"
#include "pgml_repl/replication.h"

namespace pgmlr {

using json = nlohmann::json;

Result<std::string> pgbackrest_info_command(std::string_view stanza, std::string_view pgbackrest_config,
                                            int timeout_seconds, std::string_view stderr_path) {
	if (Status st = validate_stanza("stanza", stanza)) return *st;
	if (!pgbackrest_config.empty())
		if (Status st = validate_absolute_path("pgbackrest_config", pgbackrest_config)) return *st;
	if (timeout_seconds < 1)
		return make_error(ErrCode::InvalidParameter, "pgml_replication.pgbackrest_timeout must be at least 1 second");
	if (Status st = validate_absolute_path("stderr path", stderr_path)) return *st;
	// coreutils timeout sends TERM at the limit and KILL 5 s later, so a
	// pgbackrest stuck on an unreachable repository cannot hold the backend.
	std::string cmd = "timeout --kill-after=5 " + std::to_string(timeout_seconds) + " pgbackrest";
	if (!pgbackrest_config.empty()) cmd += " " + shell_quote("--config=" + std::string(pgbackrest_config));
	cmd += " " + shell_quote("--stanza=" + std::string(stanza));
	cmd += " --output=json info 2>" + shell_quote(stderr_path) + " </dev/null";
	return cmd;
}

namespace {

// The first few lines of a program's output, for an error DETAIL.
std::string first_lines(std::string_view text, size_t max_lines, size_t max_bytes) {
	std::string out;
	size_t n = 0;
	for (const std::string &line : split_lines(text)) {
		std::string_view t = trim(line);
		if (t.empty()) continue;
		if (n == max_lines || out.size() + t.size() > max_bytes) {
			out += "\n...";
			break;
		}
		if (!out.empty()) out += '\n';
		out += t;
		++n;
	}
	return out;
}

}  // namespace

Error pgbackrest_exit_error(int exit_code, int timeout_seconds, std::string_view stdout_text,
                            std::string_view stderr_text) {
	std::string output = first_lines(stderr_text, 5, 800);
	if (output.empty()) output = first_lines(stdout_text, 5, 800);
	std::string detail = output.empty() ? "pgbackrest wrote no error text." : "pgbackrest said: " + output;
	if (exit_code == 124 || exit_code == 137)
		return make_error(ErrCode::Canceled,
		                  "pgbackrest info did not finish within " + std::to_string(timeout_seconds) + " seconds", detail,
		                  "Check that the repository is reachable, or raise pgml_replication.pgbackrest_timeout.");
	if (exit_code == 127 || exit_code == 126)
		return make_error(ErrCode::NotFound, "could not run pgbackrest", detail,
		                  "Install pgBackRest on the database server (Debian: apt install pgbackrest) and make sure the server's PATH finds it.");
	if (exit_code < 0)
		return make_error(ErrCode::Io, "pgbackrest info was terminated by a signal", detail,
		                  "Run the same command as the postgres OS user to see what happens.");
	return make_error(ErrCode::Io, "pgbackrest info failed with exit code " + std::to_string(exit_code), detail,
	                  "Check the stanza name and pgbackrest_config, and run \"pgbackrest --stanza=<stanza> info\" as the postgres OS user.");
}

std::string stanza_status_text(long code) {
	switch (code) {
		case 0: return "ok";
		case 1: return "missing stanza path: the stanza does not exist in the repository";
		case 2: return "no valid backups: archiving may work, but there is no backup to restore yet";
		case 3: return "missing stanza data: the repository lacks the stanza's info files";
		case 4: return "different across repos: the stanza's status differs between repositories";
		case 5: return "database mismatch across repos: the repositories hold different clusters";
		case 6: return "requested backup not found";
		case 99: return "other: pgBackRest could not read the stanza (see its message)";
		default: return "unknown status code " + std::to_string(code);
	}
}

namespace {

std::string stanza_status_hint(long code) {
	switch (code) {
		case 1:
		case 3: return "Run \"pgbackrest --stanza=<stanza> stanza-create\" on the primary, then \"pgbackrest check\".";
		case 2: return "Run a full backup: \"pgbackrest --stanza=<stanza> --type=full backup\".";
		default: return "Run \"pgbackrest --stanza=<stanza> info\" as the postgres OS user for details.";
	}
}

Result<json> parse(std::string_view text) {
	if (!is_valid_utf8(text))
		return make_error(ErrCode::Io, "pgbackrest info output is not valid UTF-8", {},
		                  "Run \"pgbackrest --output=json info\" by hand to inspect it.");
	json j = json::parse(text.begin(), text.end(), nullptr, false);
	if (j.is_discarded())
		return make_error(ErrCode::Io, "pgbackrest info output is not valid JSON",
		                  "It starts with: " + first_lines(text, 2, 200),
		                  "Run \"pgbackrest --output=json info\" by hand to inspect it.");
	if (!j.is_array())
		return make_error(ErrCode::Io, "pgbackrest info output is not a JSON array of stanzas", {},
		                  "This pgBackRest version may print another format; pgBackRest 2.x is expected.");
	for (const json &s : j) {
		if (!s.is_object() || !s.contains("name") || !s["name"].is_string() || !s.contains("status") ||
		    !s["status"].is_object() || !s["status"].contains("code") || !s["status"]["code"].is_number_integer())
			return make_error(ErrCode::Io, "pgbackrest info output lacks a stanza's name or status code", {},
			                  "This pgBackRest version may print another format; pgBackRest 2.x is expected.");
	}
	return j;
}

Result<json> find_stanza(const json &all, std::string_view stanza) {
	for (const json &s : all)
		if (s["name"].get<std::string>() == stanza) return s;
	return make_error(ErrCode::NotFound, "pgBackRest reports no stanza \"" + std::string(stanza) + "\"", {},
	                  "Check the stanza name and the pgBackRest configuration file.");
}

// pgBackRest numbers a stanza's database history upwards; the highest id is
// the cluster archiving now.
std::optional<long long> current_db_id(const json &stanza) {
	std::optional<long long> best;
	if (!stanza.contains("db") || !stanza["db"].is_array()) return best;
	for (const json &db : stanza["db"])
		if (db.is_object() && db.contains("id") && db["id"].is_number_integer()) {
			long long id = db["id"].get<long long>();
			if (!best || id > *best) best = id;
		}
	return best;
}

}  // namespace

Status validate_info_json(std::string_view json_text) {
	Result<json> j = parse(json_text);
	if (!j) return j.error();
	return {};
}

Result<std::string> stanza_system_id(std::string_view json_text, std::string_view stanza) {
	Result<json> all = parse(json_text);
	if (!all) return all.error();
	Result<json> s = find_stanza(*all, stanza);
	if (!s) return s.error();
	std::optional<long long> id = current_db_id(*s);
	if (id)
		for (const json &db : (*s)["db"])
			// const operator[] on a missing key is undefined behaviour (found by
			// test/fuzz/fuzz_pgbackrest_info): check each entry's shape first.
			if (db.is_object() && db.contains("id") && db["id"].is_number_integer() &&
			    db["id"].get<long long>() == *id && db.contains("system-id") && db["system-id"].is_number_integer())
				return db["system-id"].dump();  // the integer's exact digits
	return make_error(ErrCode::NotFound, "pgBackRest reports no database for stanza \"" + std::string(stanza) + "\"",
	                  "Stanza status: " + stanza_status_text((*s)["status"]["code"].get<long>()) + ".",
	                  stanza_status_hint((*s)["status"]["code"].get<long>()));
}

Result<std::optional<std::string>> archive_max(std::string_view json_text, std::string_view stanza) {
	Result<json> all = parse(json_text);
	if (!all) return all.error();
	Result<json> s = find_stanza(*all, stanza);
	if (!s) return s.error();
	long code = (*s)["status"]["code"].get<long>();
	if (code != 0 && code != 2) {
		std::string message;
		if ((*s)["status"].contains("message") && (*s)["status"]["message"].is_string())
			message = (*s)["status"]["message"].get<std::string>();
		return make_error(ErrCode::ConfigFile, "pgBackRest stanza \"" + std::string(stanza) + "\" is not usable",
		                  "Status " + std::to_string(code) + ", " + stanza_status_text(code) +
		                      (message.empty() ? std::string(".") : " (pgBackRest says \"" + message + "\")."),
		                  stanza_status_hint(code));
	}
	std::optional<std::string> best;
	std::optional<long long> db = current_db_id(*s);
	if (!db || !s->contains("archive") || !(*s)["archive"].is_array()) return best;
	for (const json &a : (*s)["archive"]) {
		if (!a.is_object() || !a.contains("database") || !a["database"].is_object()) continue;
		const json &d = a["database"];
		if (!d.contains("id") || !d["id"].is_number_integer() || d["id"].get<long long>() != *db) continue;
		if (!a.contains("max") || !a["max"].is_string()) continue;
		std::string max = a["max"].get<std::string>();
		// WAL file names are fixed-width hex (timeline, log, segment), so the
		// string order is the WAL order, across repositories too.
		if (max.size() != 24 || !is_hex(to_lower_ascii(max))) continue;
		if (!best || max > *best) best = max;
	}
	return best;
}

}  // namespace pgmlr
