// The bash text of the standby_setup() script after its settings block.
#pragma once
#include "common/core_only.hpp"

#include <string>

namespace pgmlr {

struct StandbyScriptParts {
	std::string pgpass_example;       // shell-quoted example line of the password file
	std::string restore_command_line;  // "restore_command = '...'", as postgresql.auto.conf holds it
	bool copy_model_cache = false;
};

// Steps 1 to 9: checks that change nothing, then the copy, the settings,
// the optional model cache copy, the swap and the start.
std::string render_standby_script_body(const StandbyScriptParts &p);

}  // namespace pgmlr
