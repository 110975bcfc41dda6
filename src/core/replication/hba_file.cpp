// Implements replication/hba_file.hpp; what it is for is said at the top of that header.
#include "common/core_only.hpp"
#include "replication/hba_file.hpp"

#include <algorithm>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>
#include <memory>
#include <optional>

#include "replication/identifiers.hpp"
#include "common/text.hpp"
#include "pgml_repl/replication.h"

namespace pgmlr::hba {

namespace {

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// One token the way PostgreSQL's next_token() reads it: blanks end it unless
// quoted, an unquoted '#' starts the comment, an unquoted ',' ends the token
// but not the field, and "" inside quotes is a literal quote.
struct Lexer {
	std::string_view s;
	size_t pos = 0;
	std::string comment;
	bool in_comment = false;

	bool next_token(Token &tok, bool &trailing_comma) {
		trailing_comma = false;
		while (pos < s.size() && is_blank(s[pos])) ++pos;
		bool in_quote = false, was_quote = false, saw_quote = false;
		tok = Token{};
		while (pos < s.size() && (!is_blank(s[pos]) || in_quote)) {
			char c = s[pos];
			if (c == '#' && !in_quote) {
				comment = std::string(trim(s.substr(pos + 1)));
				in_comment = true;
				pos = s.size();
				break;
			}
			if (c == ',' && !in_quote) {
				trailing_comma = true;
				++pos;
				break;
			}
			if (c != '"' || was_quote) tok.text.push_back(c);
			if (in_quote && c == '"')
				was_quote = !was_quote;
			else
				was_quote = false;
			if (c == '"') {
				in_quote = !in_quote;
				saw_quote = true;
				if (tok.text.empty()) tok.quoted = true;
			}
			++pos;
		}
		return saw_quote || !tok.text.empty();
	}
};

void tokenize(Line &line, std::string_view logical) {
	Lexer lx;
	lx.s = logical;
	while (lx.pos < logical.size() && !lx.in_comment) {
		Field field;
		Token tok;
		bool comma = false;
		do {
			if (!lx.next_token(tok, comma)) break;
			field.push_back(tok);
		} while (comma && !lx.in_comment);
		if (!field.empty()) line.fields.push_back(std::move(field));
	}
	line.comment = lx.comment;
}

bool single_token(const Field &f) { return f.size() == 1; }
bool is_keyword(const Token &t, std::string_view kw) { return !t.quoted && t.text == kw; }

bool db_field_has_replication(const Line &line) {
	if (line.fields.size() < 2) return false;
	for (const Token &t : line.fields[1])
		if (is_keyword(t, kReplication)) return true;
	return false;
}

// Whether the line's database field can match a normal (not replication)
// connection: any token but the keyword replication.
bool db_field_has_other(const Line &line) {
	if (line.fields.size() < 2) return false;
	for (const Token &t : line.fields[1])
		if (!is_keyword(t, kReplication)) return true;
	return false;
}

bool is_hba_keyword(std::string_view s) {
	return s == "all" || s == "sameuser" || s == "samerole" || s == "samegroup" || s == kReplication;
}

// The database token of a rule: the keyword replication (database empty), or a name.
bool same_database(const Token &t, std::string_view database) {
	if (database.empty()) return is_keyword(t, kReplication);
	return t.text == database && (t.quoted || !is_hba_keyword(t.text));
}

// Prefix length of a contiguous netmask, or -1.
int mask_prefix(std::string_view mask) {
	std::string m(mask);
	unsigned char buf[16];
	size_t bytes;
	if (inet_pton(AF_INET, m.c_str(), buf) == 1)
		bytes = 4;
	else if (inet_pton(AF_INET6, m.c_str(), buf) == 1)
		bytes = 16;
	else
		return -1;
	int prefix = 0;
	bool ended = false;
	for (size_t i = 0; i < bytes; ++i)
		for (int b = 7; b >= 0; --b) {
			bool bit = (buf[i] >> b) & 1;
			if (bit && ended) return -1;
			if (bit) ++prefix; else ended = true;
		}
	return prefix;
}

// What a host line says about a replication rule, if it is one we can
// compare: connection type, role token, normalised address, method.
struct HostRule {
	std::string conntype;
	Token database;
	Token role;
	std::string address;
	std::string method;
};

std::optional<HostRule> host_rule(const Line &line) {
	const auto &f = line.fields;
	if (f.size() < 5) return std::nullopt;
	for (size_t i = 0; i < 4; ++i)
		if (!single_token(f[i])) return std::nullopt;
	const Token &ct = f[0][0];
	if (ct.quoted || !(ct.text == "host" || ct.text == "hostssl" || ct.text == "hostnossl" ||
					   ct.text == "hostgssenc" || ct.text == "hostnogssenc"))
		return std::nullopt;
	if (f[3][0].quoted) return std::nullopt;
	std::string address = f[3][0].text;
	size_t method_at = 4;
	if (address.find('/') == std::string::npos && f.size() >= 6 && single_token(f[4]) && !f[4][0].quoted) {
		int prefix = mask_prefix(f[4][0].text);
		if (prefix >= 0) {
			address += "/" + std::to_string(prefix);
			method_at = 5;
		}
	}
	auto norm = normalize_address(address);
	if (!norm || !single_token(f[method_at])) return std::nullopt;
	return HostRule{ct.text, f[1][0], f[2][0], *norm, f[method_at][0].text};
}

bool same_role(const Token &t, std::string_view role) {
	// Unquoted all (or +group) is a keyword, not the role of that name.
	return t.text == role && (t.quoted || t.text != "all");
}

std::optional<HostRule> matching_rule(const Line &line, std::string_view database, std::string_view role,
									  std::string_view address) {
	auto r = host_rule(line);
	if (r && same_database(r->database, database) && same_role(r->role, role) && r->address == address) return r;
	return std::nullopt;
}

std::string eol_of(std::string_view content) {
	size_t nl = content.find('\n');
	return nl != std::string_view::npos && nl > 0 && content[nl - 1] == '\r' ? "\r\n" : "\n";
}

std::string strip_eol(std::string s) {
	while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
	return s;
}

std::string pad(std::string_view s, size_t width) {
	std::string out(s);
	out.append(s.size() < width ? width - s.size() : 1, ' ');
	return out;
}

// Whether the last physical line of a logical line's bytes ends in a
// backslash (line endings aside), so PostgreSQL would join the next line.
bool ends_in_continuation(std::string_view raw) {
	if (!raw.empty() && raw.back() == '\n') raw.remove_suffix(1);
	size_t nl = raw.rfind('\n');
	std::string_view body = nl == std::string_view::npos ? raw : raw.substr(nl + 1);
	while (!body.empty() && body.back() == '\r') body.remove_suffix(1);
	return !body.empty() && body.back() == '\\';
}

// Shows a value in a message only when it cannot break the message.
std::string shown(std::string_view s) {
	if (s.size() > 100 || has_control_chars(s) || !is_valid_utf8(s)) return "(not shown)";
	return "\"" + std::string(s) + "\"";
}

constexpr std::string_view kAddressHint =
	"Give the replica's IP address or a CIDR range, for example 10.0.0.5, 10.0.0.0/24 or fd00::/64.";

}  // namespace

std::vector<Line> parse(std::string_view text) {
	std::vector<Line> lines;
	size_t pos = 0;
	int physical = 0;
	while (pos < text.size()) {
		Line line;
		line.line_number = physical + 1;
		std::string logical;
		// A line ending in a backslash continues on the next one, as in
		// PostgreSQL's tokenize_auth_file().
		for (;;) {
			size_t nl = text.find('\n', pos);
			size_t end = nl == std::string_view::npos ? text.size() : nl + 1;
			std::string_view phys = text.substr(pos, end - pos);
			line.raw.append(phys);
			++physical;
			pos = end;
			std::string_view body = phys;
			while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.remove_suffix(1);
			if (!body.empty() && body.back() == '\\' && pos < text.size()) {
				logical.append(body.substr(0, body.size() - 1));
				continue;
			}
			logical.append(body);
			break;
		}
		tokenize(line, logical);
		lines.push_back(std::move(line));
	}
	return lines;
}

std::string render(const std::vector<Line> &lines) {
	std::string out;
	for (const Line &l : lines) out += l.raw;
	return out;
}

Result<std::string> normalize_address(std::string_view address) {
	if (address.empty())
		return make_error(ErrCode::InvalidParameter, "address must not be empty", {}, std::string(kAddressHint));
	for (unsigned char c : address)
		if (c <= ' ' || c == 0x7f || c == '"' || c == '\'' || c == '#' || c == ',' || c == '\\' || c >= 0x80)
			return make_error(ErrCode::InvalidParameter, "address contains characters not allowed in pg_hba.conf",
							  "Blanks, quotes, commas, backslashes, '#', control and non-ASCII characters are refused.",
							  std::string(kAddressHint));
	std::string lower = to_lower_ascii(address);
	if (lower == "all" || lower == "samehost" || lower == "samenet")
		return make_error(ErrCode::InvalidParameter, "address keyword " + shown(address) + " is not accepted",
						  "A replication rule should name the replica's address, not every host.",
						  std::string(kAddressHint));
	size_t slash = address.find('/');
	std::string host(address.substr(0, slash));
	bool v6 = host.find(':') != std::string::npos;
	unsigned char buf[16] = {};
	if (inet_pton(v6 ? AF_INET6 : AF_INET, host.c_str(), buf) != 1)
		return make_error(ErrCode::InvalidParameter, "invalid IP address " + shown(host),
						  "Only numeric IPv4 and IPv6 addresses are accepted; host names are not.",
						  std::string(kAddressHint));
	const int max_prefix = v6 ? 128 : 32;
	int prefix = max_prefix;
	if (slash != std::string_view::npos) {
		std::string_view p = address.substr(slash + 1);
		bool digits = !p.empty() && p.size() <= 3 && (p.size() == 1 || p[0] != '0');
		for (char c : p) digits = digits && c >= '0' && c <= '9';
		prefix = digits ? std::stoi(std::string(p)) : -1;
		if (prefix < 0 || prefix > max_prefix)
			return make_error(ErrCode::InvalidParameter, "invalid CIDR mask in address " + shown(address),
							  "The mask must be a number from 0 to " + std::to_string(max_prefix) + ".",
							  std::string(kAddressHint));
	}
	// Clear the host bits so equal ranges compare equal as text.
	const int bytes = v6 ? 16 : 4;
	for (int i = 0; i < bytes; ++i) {
		int keep = prefix - i * 8;
		if (keep <= 0)
			buf[i] = 0;
		else if (keep < 8)
			buf[i] &= static_cast<unsigned char>(0xFF << (8 - keep));
	}
	char text[INET6_ADDRSTRLEN];
	if (!inet_ntop(v6 ? AF_INET6 : AF_INET, buf, text, sizeof text))
		return make_error(ErrCode::Internal, "could not format address");
	return std::string(text) + "/" + std::to_string(prefix);
}

std::optional<Error> address_note(std::string_view address) {
	Result<std::string> norm = normalize_address(address);
	if (!norm) return std::nullopt;
	const size_t slash = address.find('/');
	const std::string host(address.substr(0, slash));
	const bool v6 = host.find(':') != std::string::npos;
	const std::string max_prefix = v6 ? "/128" : "/32";
	Result<std::string> single = normalize_address(host);
	if (!single) return std::nullopt;
	const std::string norm_host = single->substr(0, single->find('/'));
	if (slash != std::string_view::npos) {
		if (*norm == *single || starts_with(*norm, norm_host + "/")) return std::nullopt;
		const std::string network = norm->substr(0, norm->find('/'));
		return make_error(ErrCode::Ok, "address " + std::string(address) + " is written as " + *norm,
		                  "A CIDR range is written with its network address: pg_hba.conf matches the same range " +
		                      *norm + " either way.",
		                  "For the one host " + norm_host + ", give it without a mask (or with " + max_prefix + ").");
	}
	// A bare address whose last bits are zero names a network more often
	// than a host: x.y.z.0 (IPv4), or an IPv6 address ending in 64 zero bits.
	unsigned char buf[16] = {};
	if (inet_pton(v6 ? AF_INET6 : AF_INET, host.c_str(), buf) != 1) return std::nullopt;
	bool network_like = v6 ? std::all_of(buf + 8, buf + 16, [](unsigned char b) { return b == 0; }) : buf[3] == 0;
	if (!network_like) return std::nullopt;
	return make_error(ErrCode::Ok, "address " + std::string(address) + " is taken as the single host " + *norm,
	                  "An address without a mask matches one host only.",
	                  "For the network, give its mask, for example " + norm_host + (v6 ? "/64" : "/24") + ".");
}

Result<std::string> normalize_method(std::string_view method) {
	std::string m = to_lower_ascii(method);
	if (m == "scram-sha-256" || m == "md5" || m == "cert") return m;
	const std::string hint = "Use scram-sha-256 (the default), md5 or cert.";
	if (m == "trust")
		return make_error(ErrCode::InvalidParameter, "authentication method \"trust\" is not allowed",
						  "trust lets anyone who reaches the server from that address connect without a password.",
						  hint);
	if (m == "password")
		return make_error(ErrCode::InvalidParameter, "authentication method \"password\" is not allowed",
						  "password sends the password over the network in clear text.", hint);
	return make_error(ErrCode::InvalidParameter, "unsupported authentication method " + shown(method), {}, hint);
}

Status check_database_name(std::string_view name) {
	bool ok = !name.empty() && name.size() <= 63;
	for (char c : name)
		ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
					c == '$' || c == '-' || c == '.');
	if (ok) return {};
	return make_error(ErrCode::InvalidParameter, "database name " + shown(name) + " cannot be written in a pg_hba.conf rule",
					  "Only names of 1 to 63 ASCII letters, digits, '_', '$', '-' and '.' are written.",
					  "Add the line to pg_hba.conf by hand, or install the extension in a database with such a name.");
}

std::string render_rule(const Rule &rule) {
	std::string role = rule.role == "all" ? "\"all\"" : rule.role;
	std::string db = rule.database.empty()				   ? std::string(kReplication)
					 : is_hba_keyword(rule.database) ? "\"" + rule.database + "\""
													 : rule.database;
	return pad(rule.conntype(), 8) + pad(db, 16) + pad(role, 16) + pad(rule.address, 24) + rule.method +
		   " # " + std::string(kMarker);
}

Result<EditResult> allow(std::string_view content, const Rule &rule) {
	std::vector<Line> lines = parse(content);
	const std::string eol = eol_of(content);
	EditResult res;
	res.rule = render_rule(rule);

	std::vector<size_t> ours;
	std::optional<size_t> hand_written_same, hand_written_other;
	for (size_t i = 0; i < lines.size(); ++i) {
		auto r = matching_rule(lines[i], rule.database, rule.role, rule.address);
		if (!r) continue;
		bool same = r->conntype == rule.conntype() && r->method == rule.method;
		if (lines[i].ours()) {
			if (same) {
				res.rule = strip_eol(lines[i].raw);
				res.content = std::string(content);
				return res;
			}
			ours.push_back(i);
		} else if (same) {
			if (!hand_written_same) hand_written_same = i;
		} else if (!hand_written_other) {
			hand_written_other = i;
		}
	}
	if (!ours.empty()) {
		// Our rule with another method: change it where it stands.
		lines[ours[0]].raw = res.rule + eol;
		for (size_t k = ours.size(); k-- > 1;) lines.erase(lines.begin() + static_cast<long>(ours[k]));
		res.content = render(lines);
		res.changed = true;
		return res;
	}
	if (hand_written_same) {
		res.rule = strip_eol(lines[*hand_written_same].raw);
		res.notices.push_back("pg_hba.conf line " + std::to_string(lines[*hand_written_same].line_number) +
							  " already has this rule and was not added by pgml_replication; it is left as is");
		res.content = std::string(content);
		return res;
	}
	size_t at = lines.size();
	const bool replication = rule.database.empty();
	for (size_t i = 0; i < lines.size(); ++i)
		if (replication ? db_field_has_replication(lines[i]) : db_field_has_other(lines[i])) {
			at = i;
			break;
		}
	if (hand_written_other)
		res.notices.push_back("pg_hba.conf line " + std::to_string(lines[*hand_written_other].line_number) +
							  " also matches this role and address with another method; the new rule is placed "
							  "before it, so the new rule applies");
	if (at == lines.size() && !lines.empty()) {
		if (!ends_with(lines.back().raw, "\n")) lines.back().raw += eol;
		// A last line ending in a backslash continues onto the next line
		// (PostgreSQL 14+, even in a comment) and would swallow our rule; a
		// blank line ends it without changing what it says. (Found by
		// test/fuzz/fuzz_hba.)
		if (ends_in_continuation(lines.back().raw)) {
			Line blank;
			blank.raw = eol;
			lines.push_back(std::move(blank));
			at = lines.size();
		}
	}
	Line added;
	added.raw = res.rule + eol;
	lines.insert(lines.begin() + static_cast<long>(at), std::move(added));
	res.content = render(lines);
	res.changed = true;
	return res;
}

Result<EditResult> disallow(std::string_view content, std::string_view role, std::string_view address,
							std::string_view database) {
	std::vector<Line> lines = parse(content);
	EditResult res;
	std::vector<Line> kept;
	for (Line &l : lines) {
		if (matching_rule(l, database, role, address)) {
			if (l.ours()) {
				if (res.rule.empty()) res.rule = strip_eol(l.raw);
				res.changed = true;
				continue;
			}
			res.notices.push_back("pg_hba.conf line " + std::to_string(l.line_number) +
								  " matches this role and address but was not added by pgml_replication; it is "
								  "left in place");
		}
		kept.push_back(std::move(l));
	}
	res.content = res.changed ? render(kept) : std::string(content);
	return res;
}

}  // namespace pgmlr::hba
