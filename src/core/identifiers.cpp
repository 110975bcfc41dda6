#include "core_only.hpp"
#include "identifiers.hpp"

#include "text_util.hpp"

namespace pgmlr {

namespace {

bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_name_char(char c) { return is_name_start(c) || (c >= '0' && c <= '9') || c == '$'; }

constexpr std::string_view kRuleHint =
	"Use a plain role name: a letter or underscore, then letters, digits, underscores or dollar signs, "
	"at most 63 bytes.";

}  // namespace

Status check_role_name(std::string_view name) {
	if (name.empty())
		return make_error(PGMLR_ERR_INVALID_NAME, "role name must not be empty", {}, std::string(kRuleHint));
	if (name.size() > kMaxRoleNameBytes)
		return make_error(PGMLR_ERR_INVALID_NAME, "role name is too long",
						  "The name has " + std::to_string(name.size()) + " bytes; the limit is 63.",
						  std::string(kRuleHint));
	bool plain = is_name_start(name[0]);
	for (char c : name) plain = plain && is_name_char(c);
	if (!plain)
		// Never echo the name: it may hold newlines or quotes meant to break out.
		return make_error(PGMLR_ERR_INVALID_NAME, "role name is not a plain identifier",
						  "Only letters, digits, underscores and dollar signs are accepted, and the name must not "
						  "start with a digit or dollar sign.",
						  std::string(kRuleHint));
	std::string lower = to_lower_ascii(name);
	if (starts_with(lower, "pg_"))
		return make_error(PGMLR_ERR_INVALID_NAME, "role name \"" + std::string(name) + "\" is reserved",
						  "Role names starting with \"pg_\" are reserved for PostgreSQL's predefined roles.",
						  "Choose another name, for example \"replication_user\".");
	for (std::string_view reserved : {"public", "none", "current_user", "session_user", "current_role"})
		if (lower == reserved)
			return make_error(PGMLR_ERR_INVALID_NAME, "role name \"" + std::string(name) + "\" is reserved",
							  "\"" + std::string(reserved) + "\" has a special meaning in role specifications.",
							  "Choose another name, for example \"replication_user\".");
	return {};
}

}  // namespace pgmlr

extern "C" bool pgmlr_check_role_name(const char *name, pgmlr_status *status) {
	pgmlr::guarded(status, [&] { return pgmlr::check_role_name(name ? name : ""); });
	return status->code == PGMLR_OK;
}
