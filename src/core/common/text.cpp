// Implements common/text.hpp; what it is for is said at the top of that header.
#include "common/core_only.hpp"
#include "common/text.hpp"

#include <cstdio>

namespace pgmlr {

std::string_view trim(std::string_view s) {
	const char *ws = " \t\r\n\f\v";
	size_t b = s.find_first_not_of(ws);
	if (b == std::string_view::npos) return {};
	size_t e = s.find_last_not_of(ws);
	return s.substr(b, e - b + 1);
}

std::vector<std::string> split_lines(std::string_view text) {
	std::vector<std::string> lines;
	size_t start = 0;
	while (start < text.size()) {
		size_t nl = text.find('\n', start);
		if (nl == std::string_view::npos) {
			lines.emplace_back(text.substr(start));
			break;
		}
		lines.emplace_back(text.substr(start, nl - start));
		start = nl + 1;
	}
	return lines;
}

bool is_hex(std::string_view s) {
	if (s.empty()) return false;
	for (char c : s)
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
	return true;
}

bool has_control_chars(std::string_view s) {
	for (unsigned char c : s)
		if (c < 0x20 || c == 0x7f) return true;
	return false;
}

bool is_valid_utf8(std::string_view s) {
	size_t i = 0;
	while (i < s.size()) {
		unsigned char c = static_cast<unsigned char>(s[i]);
		size_t len;
		unsigned cp;
		if (c < 0x80) { ++i; continue; }
		else if ((c & 0xE0) == 0xC0) { len = 2; cp = c & 0x1F; }
		else if ((c & 0xF0) == 0xE0) { len = 3; cp = c & 0x0F; }
		else if ((c & 0xF8) == 0xF0) { len = 4; cp = c & 0x07; }
		else return false;
		if (i + len > s.size()) return false;
		for (size_t k = 1; k < len; ++k) {
			unsigned char cc = static_cast<unsigned char>(s[i + k]);
			if ((cc & 0xC0) != 0x80) return false;
			cp = (cp << 6) | (cc & 0x3F);
		}
		// Overlong forms, surrogates and values past U+10FFFF are invalid.
		if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
			(cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
			return false;
		i += len;
	}
	return true;
}

bool starts_with(std::string_view s, std::string_view prefix) {
	return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

bool ends_with(std::string_view s, std::string_view suffix) {
	return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string to_lower_ascii(std::string_view s) {
	std::string out(s);
	for (char &c : out)
		if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
	return out;
}

std::string format_bytes(long long bytes) {
	const char *units[] = {"bytes", "kB", "MB", "GB", "TB"};
	double v = static_cast<double>(bytes);
	int u = 0;
	while (v >= 1024.0 && u < 4) { v /= 1024.0; ++u; }
	char buf[64];
	if (u == 0) std::snprintf(buf, sizeof buf, "%lld bytes", bytes);
	else std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
	return buf;
}

}  // namespace pgmlr
