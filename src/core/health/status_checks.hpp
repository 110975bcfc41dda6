// Archive and replication health: pure classification of measured facts.
// The shim collects the facts; nothing here knows about PostgreSQL.
#pragma once
#include "common/core_only.hpp"

#include <cstdint>
#include <string>
#include <vector>

// The C facts structs (pgml_repl/health.h) are only named here; the api
// and implementation files include the C header.
struct pgmlr_archive_facts;
struct pgmlr_replication_facts;

namespace pgmlr {

// Same values as pgmlr_health_state (health/api.cpp checks it).
enum class HealthState { Ok = 0, Warning, Error, Disabled };

struct ArchiveVerdict {
	HealthState state = HealthState::Ok;
	bool has_oldest_ready_age = false;
	int64_t oldest_ready_age = 0;  // microseconds
	std::string detail;
};

struct ReplicationVerdict {
	HealthState state = HealthState::Ok;
	bool has_lag_bytes = false;
	int64_t lag_bytes = 0;
	bool has_replay_delay = false;
	int64_t replay_delay = 0;  // microseconds
	std::string detail;
};

ArchiveVerdict classify_archive(const pgmlr_archive_facts &facts);
ReplicationVerdict classify_replication(const pgmlr_replication_facts &facts);

// archive_command as pgBackRest sees it: found when a word's base name is
// "pgbackrest" and a --stanza follows it.
struct PgbackrestCommand {
	bool found = false;
	std::string stanza;
	std::string config;  // empty: pgBackRest's default file
};
PgbackrestCommand parse_pgbackrest_command(const std::string &archive_command);

// Shell words of a command line: '..', ".." and backslash undone; stops at
// an unquoted ;, &, | or # (what follows is another command or a comment).
std::vector<std::string> shell_words(const std::string &command);

// 1 in sync, 0 behind, -1 unknown (see pgmlr_pgbackrest_in_sync).
int pgbackrest_in_sync(const char *archive_max, const char *last_archived_wal);

// "HH:MM:SS" for a microsecond duration (hours may exceed 24; negative
// durations print as 00:00:00).
std::string format_duration(int64_t microseconds);

}  // namespace pgmlr
