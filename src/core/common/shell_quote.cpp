// Implements common/shell_quote.hpp; what it is for is said at the top of that header.
#include "common/core_only.hpp"
#include "common/shell_quote.hpp"

#include <cstdio>

namespace pgmlr {

std::string shell_quote(std::string_view s) {
	std::string out = "'";
	for (char c : s) {
		if (c == '\'')
			out += "'\\''";
		else
			out += c;
	}
	out += '\'';
	return out;
}

namespace {
bool is_shell_safe(char c) {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '@' ||
	       c == '%' || c == '+' || c == '=' || c == ':' || c == ',' || c == '.' || c == '/' || c == '-';
}
bool is_conninfo_bare(char c) {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.';
}
}  // namespace

std::string shell_word(std::string_view s) {
	if (s.empty()) return "''";
	for (char c : s)
		if (!is_shell_safe(c)) return shell_quote(s);
	return std::string(s);
}

std::string conninfo_value(std::string_view s) {
	bool bare = !s.empty();
	for (char c : s)
		if (!is_conninfo_bare(c)) bare = false;
	if (bare) return std::string(s);
	std::string out = "'";
	for (char c : s) {
		if (c == '\'' || c == '\\') out += '\\';
		out += c;
	}
	out += '\'';
	return out;
}

std::string guc_file_string(std::string_view s) {
	std::string out = "'";
	for (char c : s) {
		if (c == '\'')
			out += "''";
		else if (c == '\\')
			out += "\\\\";
		else
			out += c;
	}
	out += '\'';
	return out;
}

std::string toml_string(std::string_view s) {
	std::string out = "\"";
	for (char ch : s) {
		unsigned char c = static_cast<unsigned char>(ch);
		switch (c) {
			case '"': out += "\\\""; break;
			case '\\': out += "\\\\"; break;
			case '\b': out += "\\b"; break;
			case '\t': out += "\\t"; break;
			case '\n': out += "\\n"; break;
			case '\f': out += "\\f"; break;
			case '\r': out += "\\r"; break;
			default:
				if (c < 0x20 || c == 0x7f) {
					char buf[8];
					std::snprintf(buf, sizeof buf, "\\u%04X", c);
					out += buf;
				} else {
					out += ch;
				}
		}
	}
	out += '"';
	return out;
}

std::string toml_key(std::string_view s) {
	bool bare = !s.empty();
	for (char c : s)
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
			bare = false;
	return bare ? std::string(s) : toml_string(s);
}

}  // namespace pgmlr
