// Quoting for the texts the operator toolkit renders: POSIX shell words,
// libpq conninfo values, postgresql.auto.conf string values, TOML strings.
#pragma once
#include "common/core_only.hpp"

#include <string>
#include <string_view>

namespace pgmlr {

// Always single-quoted; an embedded ' becomes '\''. Safe for any bytes.
std::string shell_quote(std::string_view s);
// Left bare when every byte is in [A-Za-z0-9_@%+=:,./-] (and s is not
// empty), shell_quote() otherwise: for commands people read.
std::string shell_word(std::string_view s);
// A libpq conninfo value: bare when it is [A-Za-z0-9_.]+ (as libpq's own
// appendConnStrVal does), else in single quotes with ' and \ backslashed.
std::string conninfo_value(std::string_view s);
// A string value as postgresql.auto.conf holds it: in single quotes with
// ' doubled and \ doubled (the config file parser reads backslash escapes).
std::string guc_file_string(std::string_view s);
// A TOML basic string, quotes included: ", \ and control characters escaped.
std::string toml_string(std::string_view s);
// A TOML key: bare when [A-Za-z0-9_-]+, a basic string otherwise.
std::string toml_key(std::string_view s);

}  // namespace pgmlr
