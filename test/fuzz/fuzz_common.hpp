// Shared by the libFuzzer targets: an invariant check that aborts with a
// readable message (libFuzzer then saves the input as a crash artifact), and
// small oracles written independently of the code under test.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "pgml_repl/status.h"

namespace fuzz {

[[noreturn]] inline void fail(const char *what, std::string_view a = {}, std::string_view b = {}) {
	std::fprintf(stderr, "INVARIANT VIOLATED: %s\n", what);
	if (!a.empty()) std::fprintf(stderr, "  a (%zu bytes): %.*s\n", a.size(), static_cast<int>(a.size()), a.data());
	if (!b.empty()) std::fprintf(stderr, "  b (%zu bytes): %.*s\n", b.size(), static_cast<int>(b.size()), b.data());
	std::abort();
}

#define FUZZ_CHECK(cond, ...) \
	do { \
		if (!(cond)) ::fuzz::fail(#cond, ##__VA_ARGS__); \
	} while (0)

inline bool has_ctl(std::string_view s) {
	for (unsigned char c : s)
		if (c < 0x20 || c == 0x7f) return true;
	return false;
}

// Strict UTF-8 (no overlongs, no surrogates, <= U+10FFFF), own implementation.
inline bool utf8_ok(std::string_view s) {
	size_t i = 0;
	while (i < s.size()) {
		unsigned char c = static_cast<unsigned char>(s[i]);
		size_t n;
		unsigned cp;
		if (c < 0x80) { ++i; continue; }
		if ((c & 0xE0) == 0xC0) { n = 1; cp = c & 0x1F; }
		else if ((c & 0xF0) == 0xE0) { n = 2; cp = c & 0x0F; }
		else if ((c & 0xF8) == 0xF0) { n = 3; cp = c & 0x07; }
		else return false;
		for (size_t k = 1; k <= n; ++k) {
			if (i + k >= s.size()) return false;
			unsigned char d = static_cast<unsigned char>(s[i + k]);
			if ((d & 0xC0) != 0x80) return false;
			cp = (cp << 6) | (d & 0x3F);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000)) return false;
		if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
		i += n + 1;
	}
	return true;
}

// The house style for errmsg: non-empty, no trailing period, no line break,
// and the texts the shim hands to ereport are valid UTF-8 without control
// characters other than the newlines a detail may hold.
inline void check_status_texts(const pgmlr_status &st) {
	std::string_view msg = st.message, detail = st.detail, hint = st.hint;
	FUZZ_CHECK(!msg.empty(), msg);
	FUZZ_CHECK(msg.back() != '.', msg);
	FUZZ_CHECK(!has_ctl(msg), msg);
	FUZZ_CHECK(utf8_ok(msg), msg);
	FUZZ_CHECK(utf8_ok(detail), detail);
	FUZZ_CHECK(utf8_ok(hint), hint);
	FUZZ_CHECK(!has_ctl(hint), hint);
}

}  // namespace fuzz
