// The four settings configure_primary writes: argument validation, the
// default pgBackRest archive_command, and the per-setting decision
// (previous value, new value, changed, pending restart).
#pragma once
#include "common/core_only.hpp"
#include "common/shell_quote.hpp"
#include "common/error.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pgmlr {

constexpr size_t kMaxStanzaLength = 64;
constexpr long long kMaxWalSenders = 262143;  // MAX_BACKENDS
constexpr size_t kMaxConfigPathLength = 1023; // MAXPGPATH - 1

Status validate_stanza(const char *stanza);
Status validate_archive_command(std::string_view command);
// True when the command has a %p placeholder (%% is a literal percent).
bool archive_command_has_path(std::string_view command);
Status validate_max_wal_senders(const int64_t *value);
Status validate_pgbackrest_config(std::string_view path);
// "pgbackrest --stanza=S [--config=P] archive-push %p"; every % of the path
// doubled so PostgreSQL does not expand it.
std::string default_archive_command(std::string_view stanza, const std::optional<std::string> &config);

enum class SettingKind { ArchiveMode, WalLevel, Integer, String };
// Canonical spelling for comparisons: enum and boolean aliases folded,
// integers in decimal, strings unchanged.
std::string normalize_setting(SettingKind kind, std::string_view value);

struct PlannedSetting {
	std::string name;
	SettingKind kind = SettingKind::String;
	bool needs_restart = false;  // PGC_POSTMASTER
	std::string desired;         // what the caller asked for
	std::string previous;        // configured now (auto.conf entry or the server's value)
	std::string value;           // what will be configured
	bool changed = false;
	bool pending_restart = false;
};

struct PrimaryPlan {
	std::vector<PlannedSetting> settings;  // archive_mode, wal_level, archive_command, max_wal_senders
	bool archive_command_lacks_path = false;
};

// Validates the arguments (nullptr = SQL NULL) and fills the desired values.
Result<PrimaryPlan> plan_primary(const char *stanza, const char *archive_command, const int64_t *max_wal_senders,
								 const char *pgbackrest_config);

// Decides value/changed/pending_restart from what is configured
// (nullptr: no auto.conf entry, so the running value is the previous one)
// and what the running server uses. Never downgrades wal_level = logical
// or archive_mode = always.
void observe_setting(PlannedSetting &s, const char *configured, std::string_view running);

}  // namespace pgmlr
