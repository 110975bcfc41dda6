// Validation of the values the operator toolkit puts into scripts and
// configuration, and the standby_setup() script renderer.
#pragma once
#include "common/core_only.hpp"

#include <string>
#include <string_view>

#include "common/error.hpp"

namespace pgmlr {

// Each returns an INVALID_PARAMETER error naming `param` with a HINT.
Status validate_host(std::string_view param, std::string_view host);  // DNS name or IP, no spaces/quotes
Status validate_port(std::string_view param, long port);               // 1..65535
Status validate_role_name(std::string_view param, std::string_view role);
Status validate_stanza(std::string_view param, std::string_view stanza);
Status validate_absolute_path(std::string_view param, std::string_view path);
Status validate_application_name(std::string_view param, std::string_view name);

// A .pgpass field: ':' and '\' escaped with a backslash.
std::string pgpass_field(std::string_view s);

struct StandbySetup {
	std::string primary_host;
	int primary_port = 5432;
	std::string role_name = "replication_user";
	std::string stanza = "main";
	std::string data_directory;  // required: never guessed
	std::string pgbackrest_config;  // empty: pgBackRest's default
	std::string application_name;   // empty: derived on the replica host
	bool copy_model_cache = false;
};

// The restore_command value (unquoted) for a stanza and optional config.
std::string restore_command(std::string_view stanza, std::string_view pgbackrest_config);

Result<std::string> render_standby_setup(const StandbySetup &s);

}  // namespace pgmlr
