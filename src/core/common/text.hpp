// Small string helpers shared by the core's parsers and renderers.
#pragma once
#include "common/core_only.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace pgmlr {

std::string_view trim(std::string_view s);
std::vector<std::string> split_lines(std::string_view text);  // keeps no '\n'; a final newline adds no empty line
bool is_hex(std::string_view s);                              // non-empty, [0-9a-f] only (lower case)
bool has_control_chars(std::string_view s);                   // any byte < 0x20 or 0x7f
bool is_valid_utf8(std::string_view s);
bool starts_with(std::string_view s, std::string_view prefix);
bool ends_with(std::string_view s, std::string_view suffix);
std::string to_lower_ascii(std::string_view s);
std::string format_bytes(long long bytes);  // "12 MB" style, for details

}  // namespace pgmlr
