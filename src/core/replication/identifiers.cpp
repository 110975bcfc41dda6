// Implements replication/identifiers.hpp; what it is for is said at the top of that header.
#include "common/core_only.hpp"
#include "replication/identifiers.hpp"

#include <algorithm>

#include "common/text.hpp"
#include "pgml_repl/replication.h"

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
		return make_error(ErrCode::InvalidName, "role name must not be empty", {}, std::string(kRuleHint));
	if (name.size() > kMaxRoleNameBytes)
		return make_error(ErrCode::InvalidName, "role name is too long",
						  "The name has " + std::to_string(name.size()) + " bytes; the limit is 63.",
						  std::string(kRuleHint));
	bool plain = is_name_start(name[0]);
	for (char c : name) plain = plain && is_name_char(c);
	if (!plain)
		// Never echo the name: it may hold newlines or quotes meant to break out.
		return make_error(ErrCode::InvalidName, "role name is not a plain identifier",
						  "Only letters, digits, underscores and dollar signs are accepted, and the name must not "
						  "start with a digit or dollar sign.",
						  std::string(kRuleHint));
	std::string lower = to_lower_ascii(name);
	if (starts_with(lower, "pg_"))
		return make_error(ErrCode::InvalidName, "role name \"" + std::string(name) + "\" is reserved",
						  "Role names starting with \"pg_\" are reserved for PostgreSQL's predefined roles.",
						  "Choose another name, for example \"replication_user\".");
	for (std::string_view reserved : {"public", "none", "current_user", "session_user", "current_role"})
		if (lower == reserved)
			return make_error(ErrCode::InvalidName, "role name \"" + std::string(name) + "\" is reserved",
							  "\"" + std::string(reserved) + "\" has a special meaning in role specifications.",
							  "Choose another name, for example \"replication_user\".");
	return {};
}

size_t name_distance(std::string_view a_in, std::string_view b_in) {
	const std::string a = to_lower_ascii(a_in), b = to_lower_ascii(b_in);
	// Optimal string alignment: three rows of the Damerau-Levenshtein table.
	std::vector<size_t> before(b.size() + 1), prev(b.size() + 1), cur(b.size() + 1);
	for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
	for (size_t i = 1; i <= a.size(); ++i) {
		cur[0] = i;
		for (size_t j = 1; j <= b.size(); ++j) {
			size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
			cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
				cur[j] = std::min(cur[j], before[j - 2] + 1);
		}
		before.swap(prev);
		prev.swap(cur);
	}
	return prev[b.size()];
}

std::optional<std::string> nearest_name(std::string_view name, const std::vector<std::string> &candidates) {
	std::optional<std::string> best;
	size_t best_distance = 0;
	for (const std::string &c : candidates) {
		size_t longer = std::max(name.size(), c.size());
		size_t limit = longer <= 4 ? 1 : std::max<size_t>(2, (longer + 2) / 3);
		size_t d = name_distance(name, c);
		if (d <= limit && (!best || d < best_distance)) {
			best = c;
			best_distance = d;
		}
	}
	return best;
}

}  // namespace pgmlr
