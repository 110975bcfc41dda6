// pgBackRest "info --output=json": the command that produces it, and what
// the toolkit reads from it.
#pragma once
#include "common/core_only.hpp"

#include <optional>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace pgmlr {

Result<std::string> pgbackrest_info_command(std::string_view stanza, std::string_view pgbackrest_config,
                                            int timeout_seconds, std::string_view stderr_path);

// The error for a pgbackrest run that did not exit 0 (exit_code -1: killed).
Error pgbackrest_exit_error(int exit_code, int timeout_seconds, std::string_view stdout_text,
                            std::string_view stderr_text);

// What a stanza's status.code means, for messages (codes of pgBackRest 2.x).
std::string stanza_status_text(long code);

Status validate_info_json(std::string_view json_text);

// The stanza's system-id exactly as the JSON spells it (a 64-bit integer).
Result<std::string> stanza_system_id(std::string_view json_text, std::string_view stanza);

// archive[].max of the stanza's current database; nullopt when none yet.
Result<std::optional<std::string>> archive_max(std::string_view json_text, std::string_view stanza);

}  // namespace pgmlr
