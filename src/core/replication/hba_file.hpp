// Text work on pg_hba.conf: enough of PostgreSQL's tokenizer to recognise
// replication rules, and edits that touch only the lines this extension
// added (marked with kHbaMarker). Every other byte of the file is kept.
#pragma once
#include "common/core_only.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace pgmlr::hba {

// The trailing comment that marks a line as ours.
constexpr std::string_view kMarker = "pgml_replication";

struct Token {
	std::string text;  // quotes removed, "" inside quotes made one "
	bool quoted = false;
};
using Field = std::vector<Token>;  // comma-separated tokens of one field

// One logical line: its exact bytes (with continuation lines and the final
// newline, if any) and the fields PostgreSQL would see.
struct Line {
	std::string raw;
	std::vector<Field> fields;
	std::string comment;  // text after the first unquoted '#', trimmed
	int line_number = 0;  // 1-based physical line where it starts
	bool ours() const { return comment == kMarker; }
};

std::vector<Line> parse(std::string_view text);
std::string render(const std::vector<Line> &lines);

// "1.2.3.4" -> "1.2.3.4/32", "10.1.2.3/8" -> "10.0.0.0/8", "::1" -> "::1/128".
// Only numeric IPv4/IPv6 addresses and CIDR; hostnames, keywords (all,
// samehost, samenet) and anything with blanks, quotes, '#', ',' or control
// characters are refused.
Result<std::string> normalize_address(std::string_view address);

// What normalize_address() did that the user may not have meant, as a note
// (message, detail, hint; code ErrCode::Ok): host bits it cleared
// ("10.0.12.5/24" is the rule for 10.0.12.0/24), or a bare address that
// looks like a network taken as one host ("10.0.12.0" -> /32). nullopt when
// there is nothing to say or the address is invalid.
std::optional<Error> address_note(std::string_view address);

// scram-sha-256, md5 or cert (any case). trust, password and the rest are
// refused with a hint.
Result<std::string> normalize_method(std::string_view method);

// The keyword a replication rule has in its database field.
inline constexpr std::string_view kReplication = "replication";

// A database name that can stand in a rule: 1 to 63 bytes of ASCII letters,
// digits, '_', '$', '-' and '.'. Other names are refused (pg_hba.conf would
// need quoting rules we do not write). A name equal to an hba keyword (all,
// sameuser, samerole, samegroup, replication) is written quoted.
Status check_database_name(std::string_view name);

struct Rule {
	std::string role;     // already checked by check_role_name
	std::string address;  // normalised
	std::string method;   // normalised
	// Empty: a replication rule (database field: the keyword replication).
	// Else a database name (check_database_name), for a normal connection
	// such as fetching blobs; a name that is an hba keyword, "replication"
	// included, is written quoted.
	std::string database = {};
	// cert works only on hostssl lines; the others use host.
	std::string conntype() const { return method == "cert" ? "hostssl" : "host"; }
};

// The line (without newline) we write for a rule, marker included.
std::string render_rule(const Rule &rule);

struct EditResult {
	std::string content;
	bool changed = false;
	std::string rule;                  // the line added, kept (as in the file) or removed; empty if none
	std::vector<std::string> notices;  // about hand-written lines left alone
};

// Adds the rule before the first line that could match the same connection
// (first match wins, so a later reject cannot shadow it), else at the end:
// for a replication rule the first line whose database field holds the
// keyword replication, for a database rule the first line whose database
// field holds anything else. Our line for the same role and address with another method is
// replaced in place. Unchanged when our line, or an equivalent hand-written
// one, is already there.
Result<EditResult> allow(std::string_view content, const Rule &rule);

// Removes our lines for role and address (any method). Hand-written lines
// that match are kept and reported in notices.
Result<EditResult> disallow(std::string_view content, std::string_view role, std::string_view address,
							std::string_view database = {});

}  // namespace pgmlr::hba
