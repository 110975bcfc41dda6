// The operator toolkit renders shell scripts, libpq conninfo strings,
// postgresql.auto.conf values and PgCat TOML from user-given values.
// Target: shell_quote, shell_word, conninfo_value, guc_file_string,
// toml_string, toml_key. Each output is read back with a decoder written
// here after the consumer's grammar (POSIX sh words, libpq's conninfo_parse,
// guc-file.l, TOML 1.0 basic strings/bare keys).
// Invariants: the decoder consumes the whole output as ONE token (no quote
// left unescaped, nothing after the closing quote, no unquoted blank or
// shell metacharacter) and yields the input back byte for byte; TOML output
// has no raw control character.
#include <cctype>
#include <cstring>
#include <string>

#include "fuzz_common.hpp"
#include "common/shell_quote.hpp"

namespace {

bool sh_safe(char c) {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		   std::strchr("_@%+=:,./-", c) != nullptr;
}

// One POSIX shell word made of bare safe bytes and '...' parts (backslash
// only as the \' of '\''). Any other byte outside quotes fails.
bool sh_decode(const std::string &w, std::string &out) {
	out.clear();
	size_t i = 0;
	if (w.empty()) return false;
	while (i < w.size()) {
		char c = w[i];
		if (c == '\'') {
			size_t end = w.find('\'', i + 1);
			if (end == std::string::npos) return false;
			out.append(w, i + 1, end - i - 1);
			i = end + 1;
		} else if (c == '\\') {
			if (i + 1 >= w.size()) return false;
			out += w[i + 1];
			i += 2;
		} else if (sh_safe(c)) {
			out += c;
			++i;
		} else {
			return false;
		}
	}
	return true;
}

// libpq conninfo_parse: a bare value runs to whitespace; a quoted one takes
// backslash-escaped bytes up to the closing quote.
bool conninfo_decode(const std::string &v, std::string &out) {
	out.clear();
	if (v.empty()) return false;
	if (v[0] != '\'') {
		for (char c : v)
			if (std::isspace(static_cast<unsigned char>(c)) || c == '\'' || c == '\\' || c == '=') return false;
		out = v;
		return true;
	}
	size_t i = 1;
	for (;;) {
		if (i >= v.size()) return false;
		char c = v[i++];
		if (c == '\\') {
			if (i >= v.size()) return false;
			out += v[i++];
		} else if (c == '\'') {
			return i == v.size();
		} else {
			out += c;
		}
	}
}

// guc-file.l STRING, then GUC_scanstr.
bool guc_decode(const std::string &v, std::string &out) {
	out.clear();
	if (v.size() < 2 || v[0] != '\'') return false;
	size_t i = 1;
	for (;;) {
		if (i >= v.size() || v[i] == '\n') return false;
		char c = v[i++];
		if (c == '\'') {
			if (i < v.size() && v[i] == '\'') { out += '\''; ++i; continue; }
			return i == v.size();
		}
		if (c != '\\') { out += c; continue; }
		if (i >= v.size() || v[i] == '\n') return false;
		char n = v[i++];
		switch (n) {
			case 'b': out += '\b'; break;
			case 'f': out += '\f'; break;
			case 'n': out += '\n'; break;
			case 'r': out += '\r'; break;
			case 't': out += '\t'; break;
			default:
				if (n >= '0' && n <= '7') return false;  // never produced: backslashes are doubled
				out += n;
		}
	}
}

void put_utf8(unsigned cp, std::string &out) {
	if (cp < 0x80) out += static_cast<char>(cp);
	else if (cp < 0x800) { out += static_cast<char>(0xC0 | (cp >> 6)); out += static_cast<char>(0x80 | (cp & 0x3F)); }
	else if (cp < 0x10000) { out += static_cast<char>(0xE0 | (cp >> 12)); out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F)); out += static_cast<char>(0x80 | (cp & 0x3F)); }
	else { out += static_cast<char>(0xF0 | (cp >> 18)); out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F)); out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F)); out += static_cast<char>(0x80 | (cp & 0x3F)); }
}

// TOML basic string: no raw control char but tab, escapes \b \t \n \f \r \" \\ \uXXXX \UXXXXXXXX.
bool toml_decode(const std::string &v, std::string &out) {
	out.clear();
	if (v.size() < 2 || v[0] != '"') return false;
	size_t i = 1;
	for (;;) {
		if (i >= v.size()) return false;
		unsigned char c = static_cast<unsigned char>(v[i++]);
		if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
		if (c == '"') return i == v.size();
		if (c != '\\') { out += static_cast<char>(c); continue; }
		if (i >= v.size()) return false;
		char n = v[i++];
		switch (n) {
			case 'b': out += '\b'; break;
			case 't': out += '\t'; break;
			case 'n': out += '\n'; break;
			case 'f': out += '\f'; break;
			case 'r': out += '\r'; break;
			case '"': out += '"'; break;
			case '\\': out += '\\'; break;
			case 'u':
			case 'U': {
				size_t len = n == 'u' ? 4 : 8;
				if (i + len > v.size()) return false;
				unsigned cp = 0;
				for (size_t k = 0; k < len; ++k) {
					char h = v[i + k];
					int d = (h >= '0' && h <= '9') ? h - '0' : (h >= 'a' && h <= 'f') ? h - 'a' + 10 : (h >= 'A' && h <= 'F') ? h - 'A' + 10 : -1;
					if (d < 0) return false;
					cp = cp * 16 + static_cast<unsigned>(d);
				}
				if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
				put_utf8(cp, out);
				i += len;
				break;
			}
			default: return false;
		}
	}
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	std::string s(reinterpret_cast<const char *>(data), size), d;

	std::string q = pgmlr::shell_quote(s);
	FUZZ_CHECK(sh_decode(q, d) && d == s, q);
	std::string w = pgmlr::shell_word(s);
	FUZZ_CHECK(sh_decode(w, d) && d == s, w);

	std::string c = pgmlr::conninfo_value(s);
	FUZZ_CHECK(conninfo_decode(c, d) && d == s, c);

	std::string g = pgmlr::guc_file_string(s);
	if (s.find('\n') == std::string::npos) FUZZ_CHECK(guc_decode(g, d) && d == s, g);

	std::string t = pgmlr::toml_string(s);
	FUZZ_CHECK(toml_decode(t, d) && d == s, t);
	std::string k = pgmlr::toml_key(s);
	if (k[0] == '"') {
		FUZZ_CHECK(toml_decode(k, d) && d == s, k);
	} else {
		FUZZ_CHECK(!k.empty() && k == s, k);
		for (char ch : k)
			FUZZ_CHECK((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-', k);
	}
	return 0;
}
