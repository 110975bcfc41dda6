// postgresql.auto.conf is rendered by the core and read back by the server's
// own lexer (guc-file.l). Target: AutoConf add/set/render.
// Invariants:
//  - render() starts with ALTER SYSTEM's header and reads back (with a
//    decoder that follows guc-file.l: STRING = '([^'\\\n]|\\.|'')*', then
//    GUC_scanstr's escapes) to exactly the entries, in order, for any value
//    without a newline or NUL (the server's ALTER SYSTEM refuses those, and
//    so do the core's callers) - quotes and backslashes included;
//  - set(name, v): afterwards find(name) == v, exactly one entry has that
//    name (case-insensitively), the other entries keep their order, and a
//    second identical set renders the same bytes;
//  - escape_conf_value agrees with guc_file_string (shell_quote.hpp).
#include <fuzzer/FuzzedDataProvider.h>

#include <cstring>
#include <string>
#include <vector>

#include "replication/auto_conf.hpp"
#include "fuzz_common.hpp"
#include "common/shell_quote.hpp"
#include "pgml_repl/replication.h"

namespace {

using Entries = std::vector<pgmlr::ConfEntry>;

bool name_char(char c, bool first) {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (!first && ((c >= '0' && c <= '9') || c == '.' || c == '$'));
}

// guc-file.l for the lines render() writes: ID ws = ws STRING ws \n.
bool decode(const std::string &text, Entries &out) {
	size_t i = 0;
	while (i < text.size()) {
		size_t eol = text.find('\n', i);
		if (eol == std::string::npos) return false;  // render() ends every line
		if (text[i] == '#') { i = eol + 1; continue; }
		pgmlr::ConfEntry e;
		while (i < text.size() && name_char(text[i], e.name.empty())) e.name += text[i++];
		if (e.name.empty()) return false;
		while (text[i] == ' ') ++i;
		if (text[i++] != '=') return false;
		while (text[i] == ' ') ++i;
		if (text[i++] != '\'') return false;
		for (;;) {
			if (i >= text.size() || text[i] == '\n') return false;
			char c = text[i++];
			if (c == '\'') {
				if (text[i] == '\'') { e.value += '\''; ++i; continue; }
				break;
			}
			if (c != '\\') { e.value += c; continue; }
			if (i >= text.size() || text[i] == '\n') return false;
			char n = text[i++];
			switch (n) {
				case 'b': e.value += '\b'; break;
				case 'f': e.value += '\f'; break;
				case 'n': e.value += '\n'; break;
				case 'r': e.value += '\r'; break;
				case 't': e.value += '\t'; break;
				default:
					if (n >= '0' && n <= '7') {
						int v = n - '0';
						for (int k = 0; k < 2 && text[i] >= '0' && text[i] <= '7'; ++k) v = v * 8 + (text[i++] - '0');
						e.value += static_cast<char>(v);
					} else {
						e.value += n;
					}
			}
		}
		while (text[i] == ' ') ++i;
		if (text[i] != '\n') return false;
		++i;
		out.push_back(std::move(e));
	}
	return true;
}

bool same(const Entries &a, const Entries &b) {
	if (a.size() != b.size()) return false;
	for (size_t i = 0; i < a.size(); ++i)
		if (a[i].name != b[i].name || a[i].value != b[i].value) return false;
	return true;
}

std::string name_from(FuzzedDataProvider &p) {
	static const char *const names[] = {"archive_mode", "ARCHIVE_MODE", "wal_level", "archive_command",
										"max_wal_senders", "pgml_replication.hf_token", "x"};
	if (p.ConsumeBool()) return names[p.ConsumeIntegralInRange<int>(0, 6)];
	std::string s = p.ConsumeRandomLengthString(12), n;
	for (char c : s)
		if (name_char(c, n.empty())) n += c;
	return n.empty() ? "x" : n;
}

std::string value_from(FuzzedDataProvider &p) {
	std::string v = p.ConsumeRandomLengthString(64), out;
	for (char c : v)
		if (c != '\n' && c != '\0') out += c;
	return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	FuzzedDataProvider p(data, size);
	pgmlr::AutoConf conf;
	Entries model;
	int n = p.ConsumeIntegralInRange<int>(0, 8);
	for (int i = 0; i < n; ++i) {
		std::string name = name_from(p), value = value_from(p);
		conf.add(name, value);
		model.push_back({name, value});
	}
	Entries back;
	std::string text = conf.render();
	FUZZ_CHECK(text.rfind(pgmlr::kAutoConfHeader, 0) == 0, text);
	FUZZ_CHECK(decode(text, back) && same(back, model), text);

	while (p.remaining_bytes() > 0) {
		std::string name = name_from(p), value = value_from(p);
		FUZZ_CHECK(pgmlr::guc_file_string(value) == "'" + pgmlr::escape_conf_value(value) + "'", value);
		conf.set(name, value);
		const std::string *got = conf.find(name);
		FUZZ_CHECK(got && *got == value, value);
		// the model: first match replaced in place, later matches dropped
		Entries next;
		bool placed = false;
		for (auto &e : model) {
			if (!pgmlr::guc_name_equal(e.name, name))
				next.push_back(e);
			else if (!placed) {
				next.push_back({name, value});
				placed = true;
			}
		}
		if (!placed) next.push_back({name, value});
		model = next;
		FUZZ_CHECK(same(conf.entries(), model));
		int matches = 0;
		for (auto &e : conf.entries()) matches += pgmlr::guc_name_equal(e.name, name);
		FUZZ_CHECK(matches == 1);
		text = conf.render();
		back.clear();
		FUZZ_CHECK(decode(text, back) && same(back, model), text);
		conf.set(name, value);
		FUZZ_CHECK(conf.render() == text, text);
	}

	// The C boundary renders the same bytes.
	pgmlr_status st;
	pgmlr_auto_conf *c = pgmlr_auto_conf_create(&st);
	FUZZ_CHECK(c != nullptr);
	for (auto &e : model) {
		std::string v = e.value;
		if (std::strlen(v.c_str()) != v.size()) { pgmlr_auto_conf_free(c); return 0; }
		pgmlr_auto_conf_add(c, e.name.c_str(), v.c_str(), &st);
		FUZZ_CHECK(st.code == PGMLR_OK);
	}
	char *r = pgmlr_auto_conf_render(c, &st);
	FUZZ_CHECK(r && text == r, text);
	pgmlr_free(r);
	pgmlr_auto_conf_free(c);
	return 0;
}
