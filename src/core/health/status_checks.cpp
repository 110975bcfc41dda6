// Implements health/status_checks.hpp; what it is for is said at the top of that header.
#include "common/core_only.hpp"
#include "health/status_checks.hpp"

#include <algorithm>
#include <cinttypes>
#include <cctype>
#include <cstdio>

#include "common/error.hpp"
#include "common/text.hpp"
#include "pgml_repl/health.h"

namespace pgmlr {

namespace {

std::string text_or(const char *s, const char *fallback) { return s && *s ? std::string(s) : std::string(fallback); }

bool same(const char *s, const char *literal) { return s && std::string(s) == literal; }

std::string plural(int64_t n, const char *one, const char *many) {
	char buf[32];
	std::snprintf(buf, sizeof buf, "%" PRId64 " ", n);
	return buf + std::string(n == 1 ? one : many);
}

std::string num(int64_t n) {
	char buf[32];
	std::snprintf(buf, sizeof buf, "%" PRId64, n);
	return buf;
}

// The GUCs are checked one by one (PGC_SIGHUP values arrive together from
// the file, so a check hook cannot compare them reliably): an error
// threshold below the warning threshold is raised to it, and the detail
// says so.
struct Thresholds {
	int64_t warning;
	int64_t error;
	std::string note;
};

Thresholds effective_thresholds(int64_t warning, int64_t error, const char *warning_name, const char *error_name,
								const char *unit) {
	Thresholds t{warning, error, {}};
	if (error < warning) {
		t.note = std::string(error_name) + " (" + num(error) + unit + ") is below " + warning_name + " (" +
				 num(warning) + unit + "), so " + num(warning) + unit + " is used for both.";
		t.error = warning;
	}
	return t;
}

std::string archive_measurements(const pgmlr_archive_facts &f, const ArchiveVerdict &v) {
	std::string m;
	if (f.ready_count <= 0) {
		m = "no WAL segment waiting";
	} else {
		m = plural(f.ready_count, "WAL segment", "WAL segments") + " waiting";
		if (f.oldest_ready_wal) {
			m += ", oldest " + std::string(f.oldest_ready_wal);
			if (v.has_oldest_ready_age) m += " for " + format_duration(v.oldest_ready_age);
		}
	}
	if (f.last_archived_wal)
		m += "; last archived " + std::string(f.last_archived_wal) + " at " + text_or(f.last_archived_at_text, "an unknown time");
	else
		m += "; nothing archived since the statistics were reset";
	if (f.last_failed_wal)
		m += "; last failure " + std::string(f.last_failed_wal) + " at " + text_or(f.last_failed_at_text, "an unknown time");
	if (f.failed_count > 0) m += " (" + plural(f.failed_count, "failure", "failures") + " in total)";
	return m;
}

}  // namespace

std::string format_duration(int64_t us) {
	if (us < 0) us = 0;
	int64_t secs = us / 1000000;
	char buf[48];
	std::snprintf(buf, sizeof buf, "%02" PRId64 ":%02" PRId64 ":%02" PRId64, secs / 3600, (secs / 60) % 60, secs % 60);
	return buf;
}

ArchiveVerdict classify_archive(const pgmlr_archive_facts &f) {
	ArchiveVerdict v;
	if (f.ready_count > 0 && f.has_oldest_ready_at) {
		v.has_oldest_ready_age = true;
		v.oldest_ready_age = std::max<int64_t>(0, f.now - f.oldest_ready_at);
	}

	const std::string mode = text_or(f.archive_mode, "off");
	if (mode == "off") {
		v.state = HealthState::Disabled;
		v.detail = "archive_mode is off, so this server does not archive WAL.";
		return v;
	}
	if (f.in_recovery && mode != "always") {
		v.state = HealthState::Disabled;
		v.detail = "This server is a standby with archive_mode = " + mode +
				   ": the primary archives the WAL; set archive_mode = always to archive on the standby as well.";
		return v;
	}

	Thresholds t = effective_thresholds(f.ready_warning, f.ready_error, "pgml_replication.archive_ready_warning",
										"pgml_replication.archive_ready_error", "");
	const bool failure_is_latest =
		f.has_last_failed_at && (!f.has_last_archived_at || f.last_failed_at > f.last_archived_at);
	const bool only_failures = f.failed_count > 0 && f.archived_count == 0 && !f.has_last_archived_at;

	std::string reason;
	if (failure_is_latest || only_failures) {
		v.state = HealthState::Error;
		reason = "The last archive attempt failed";
	} else if (f.ready_count >= t.error) {
		v.state = HealthState::Error;
		reason = "The archive backlog reached the error threshold of " + num(t.error);
	} else if (f.ready_count >= t.warning) {
		v.state = HealthState::Warning;
		reason = "The archive backlog reached the warning threshold of " + num(t.warning);
	} else {
		v.state = HealthState::Ok;
		reason = "Archiving is keeping up";
	}
	v.detail = reason + ": " + archive_measurements(f, v) + ".";
	if (!t.note.empty()) v.detail += " " + t.note;
	return v;
}

ReplicationVerdict classify_replication(const pgmlr_replication_facts &f) {
	ReplicationVerdict v;
	const bool positions_known = f.has_source_lsn && f.has_replay_lsn;
	if (positions_known) {
		v.has_lag_bytes = true;
		// A standby can replay WAL it restored or found in pg_wal before its
		// receiver flushed it, so replay may be ahead: nothing is pending.
		v.lag_bytes = f.source_lsn > f.replay_lsn ? static_cast<int64_t>(f.source_lsn - f.replay_lsn) : 0;
	}
	if (f.is_standby && positions_known) {
		v.has_replay_delay = true;
		// With nothing pending the standby is not behind, however long ago
		// the primary's last transaction was.
		if (v.lag_bytes == 0)
			v.replay_delay = 0;
		else if (f.has_last_replay_at)
			v.replay_delay = std::max<int64_t>(0, f.now - f.last_replay_at);
		else
			v.has_replay_delay = false;
	}

	Thresholds t = effective_thresholds(f.lag_warning_bytes, f.lag_error_bytes,
										"pgml_replication.replication_lag_warning",
										"pgml_replication.replication_lag_error", " bytes");
	const std::string who = f.is_standby ? "The WAL receiver" : "Standby \"" + text_or(f.peer, "") + "\"";
	const std::string behind = f.is_standby ? " behind the received WAL" : " behind the primary";
	std::string lag_text;
	if (v.has_lag_bytes) {
		lag_text = "replay is " + format_bytes(v.lag_bytes) + behind;
		if (v.has_replay_delay) lag_text += ", replay delay " + format_duration(v.replay_delay);
	}

	if (f.is_standby && !f.state) {
		v.state = HealthState::Error;
		v.detail = "No WAL receiver is running: this standby is not streaming from a primary.";
	} else if (f.is_standby && !same(f.state, "streaming")) {
		v.state = HealthState::Error;
		v.detail = who + " is " + text_or(f.state, "in an unknown state") + ", not streaming";
		if (f.peer) v.detail += " from " + std::string(f.peer);
		v.detail += ".";
	} else if (!f.is_standby && same(f.state, "backup")) {
		v.state = HealthState::Ok;
		v.detail = "Connection \"" + text_or(f.peer, "") + "\" is taking a base backup, not replaying WAL.";
		return v;
	} else if (!f.is_standby && !same(f.state, "streaming")) {
		v.state = HealthState::Warning;
		v.detail = who + " is in state " + text_or(f.state, "unknown") + ", not streaming yet.";
	} else if (!v.has_lag_bytes) {
		v.state = HealthState::Warning;
		v.detail = who + " is streaming but has not reported a replay position yet.";
	} else if (v.lag_bytes >= t.error) {
		v.state = HealthState::Error;
		v.detail = who + " is streaming, but " + lag_text + " (error threshold " + format_bytes(t.error) + ").";
	} else if (v.lag_bytes >= t.warning) {
		v.state = HealthState::Warning;
		v.detail = who + " is streaming, but " + lag_text + " (warning threshold " + format_bytes(t.warning) + ").";
	} else {
		v.state = HealthState::Ok;
		v.detail = who + " is streaming; " + lag_text + ".";
	}
	if (!t.note.empty()) v.detail += " " + t.note;
	return v;
}

}  // namespace pgmlr

namespace pgmlr {

std::vector<std::string> shell_words(const std::string &command) {
	std::vector<std::string> words;
	std::string word;
	bool in_word = false;
	for (size_t i = 0; i < command.size(); i++) {
		char c = command[i];
		if (c == '\'') {
			size_t end = command.find('\'', i + 1);
			if (end == std::string::npos) end = command.size();
			word += command.substr(i + 1, end - i - 1);
			in_word = true;
			i = end;
		} else if (c == '"') {
			in_word = true;
			for (i++; i < command.size() && command[i] != '"'; i++) {
				if (command[i] == '\\' && i + 1 < command.size() &&
					std::string("$`\"\\").find(command[i + 1]) != std::string::npos)
					i++;
				word += command[i];
			}
		} else if (c == '\\' && i + 1 < command.size()) {
			word += command[++i];
			in_word = true;
		} else if (c == ' ' || c == '\t') {
			if (in_word) words.push_back(word);
			word.clear();
			in_word = false;
		} else if ((c == ';' || c == '&' || c == '|') || (c == '#' && !in_word)) {
			break;
		} else {
			word += c;
			in_word = true;
		}
	}
	if (in_word) words.push_back(word);
	return words;
}

PgbackrestCommand parse_pgbackrest_command(const std::string &archive_command) {
	PgbackrestCommand r;
	std::vector<std::string> words = shell_words(archive_command);
	size_t i = 0;
	for (; i < words.size(); i++) {
		const std::string &w = words[i];
		size_t slash = w.rfind('/');
		if ((slash == std::string::npos ? w : w.substr(slash + 1)) == "pgbackrest") break;
	}
	if (i == words.size()) return r;
	for (i++; i < words.size(); i++) {
		const std::string &w = words[i];
		for (const char *opt : {"--stanza", "--config"}) {
			std::string name(opt);
			std::string value;
			bool matched = false;
			if (w.compare(0, name.size() + 1, name + "=") == 0) {
				value = w.substr(name.size() + 1);
				matched = true;
			} else if (w == name && i + 1 < words.size()) {
				value = words[++i];
				matched = true;
			}
			if (!matched) continue;
			(name == "--stanza" ? r.stanza : r.config) = value;
			break;
		}
	}
	r.found = !r.stanza.empty();
	return r;
}

namespace {
bool is_segment_name(const char *s) {
	if (!s) return false;
	for (int i = 0; i < 24; i++)
		if (!std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
	return true;
}
}  // namespace

int pgbackrest_in_sync(const char *archive_max, const char *last_archived_wal) {
	// pg_stat_archiver also names .history, .backup and .partial files;
	// only the segment part compares with pgBackRest's archive max.
	if (!is_segment_name(last_archived_wal)) return -1;
	if (!is_segment_name(archive_max)) return 0;
	return std::string(archive_max, 24) >= std::string(last_archived_wal, 24) ? 1 : 0;
}

}  // namespace pgmlr
