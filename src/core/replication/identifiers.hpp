// Role names the extension agrees to create or write into pg_hba.conf.
#pragma once
#include "common/core_only.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace pgmlr {

// The longest role name PostgreSQL keeps (NAMEDATALEN - 1).
constexpr size_t kMaxRoleNameBytes = 63;

// A plain role name: [A-Za-z_][A-Za-z0-9_$]*, 1 to 63 bytes, and not one of
// the names PostgreSQL reserves or treats specially (pg_ prefix, public,
// none, current_user, session_user, current_role; compared without regard
// to case). Stricter than PostgreSQL on purpose: such a name needs no
// quoting in SQL, in pg_hba.conf or in a connection string.
Status check_role_name(std::string_view name);

// Edit distance between two names, letter case ignored: insertions,
// deletions, replacements and swaps of two neighbouring bytes count one each.
size_t name_distance(std::string_view a, std::string_view b);

// The candidate a misspelt name most likely meant: the nearest by
// name_distance, if that is at most 1 for names up to 4 bytes and at most a
// third of the longer name (rounded up, at least 2) otherwise. Ties go to
// the earlier candidate; nothing close enough gives nullopt.
std::optional<std::string> nearest_name(std::string_view name, const std::vector<std::string> &candidates);

}  // namespace pgmlr
