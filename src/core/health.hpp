// Archive and replication health: pure classification of measured facts.
// The shim collects the facts; nothing here knows about PostgreSQL.
#pragma once
#include "core_only.hpp"

#include <cstdint>
#include <string>

#include "pgml_repl_core.h"

namespace pgmlr {

struct ArchiveVerdict {
	pgmlr_health_state state = PGMLR_HEALTH_OK;
	bool has_oldest_ready_age = false;
	int64_t oldest_ready_age = 0;  // microseconds
	std::string detail;
};

struct ReplicationVerdict {
	pgmlr_health_state state = PGMLR_HEALTH_OK;
	bool has_lag_bytes = false;
	int64_t lag_bytes = 0;
	bool has_replay_delay = false;
	int64_t replay_delay = 0;  // microseconds
	std::string detail;
};

ArchiveVerdict classify_archive(const pgmlr_archive_facts &facts);
ReplicationVerdict classify_replication(const pgmlr_replication_facts &facts);

// "HH:MM:SS" for a microsecond duration (hours may exceed 24; negative
// durations print as 00:00:00).
std::string format_duration(int64_t microseconds);

}  // namespace pgmlr
