// Role names the extension agrees to create or write into pg_hba.conf.
#pragma once
#include "core_only.hpp"

#include <string_view>

#include "status.hpp"

namespace pgmlr {

// The longest role name PostgreSQL keeps (NAMEDATALEN - 1).
constexpr size_t kMaxRoleNameBytes = 63;

// A plain role name: [A-Za-z_][A-Za-z0-9_$]*, 1 to 63 bytes, and not one of
// the names PostgreSQL reserves or treats specially (pg_ prefix, public,
// none, current_user, session_user, current_role; compared without regard
// to case). Stricter than PostgreSQL on purpose: such a name needs no
// quoting in SQL, in pg_hba.conf or in a connection string.
Status check_role_name(std::string_view name);

}  // namespace pgmlr
