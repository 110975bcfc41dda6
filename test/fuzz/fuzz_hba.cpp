// pg_hba.conf text is whatever the administrator wrote; this extension edits
// it. Target: hba::parse/render and pgmlr_hba_allow/pgmlr_hba_disallow (and
// their database-rule forms, pgmlr_hba_allow_database/disallow_database) on
// arbitrary file text and arbitrary role/address/method/database arguments.
// Invariants:
//  - render(parse(text)) == text, byte for byte;
//  - every line that is not ours is kept byte for byte and in order (allow
//    may only add the newline a last line lacked before appending after it);
//  - allow and disallow are idempotent: applied again to their own output
//    they change nothing;
//  - the rule allow reports is a line of the output, and that line parses as
//    our rule (fields host|hostssl, replication or the database, role, address, method;
//    marker comment), so a neighbouring line cannot swallow it;
//  - on text without lines of ours and ending in a newline, disallow undoes
//    allow exactly;
//  - refusals are errors in house style, notices are printable UTF-8.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstring>
#include <string>
#include <vector>

#include "fuzz_common.hpp"
#include "replication/hba_file.hpp"
#include "pgml_repl/replication.h"

namespace {

using pgmlr::hba::Line;

struct Edit {
	bool ok = false;
	pgmlr_status st;
	std::string content, rule;
	bool changed = false;
	std::vector<std::string> notices;
};

Edit take(pgmlr_hba_edit *e, const pgmlr_status &st) {
	Edit out;
	out.st = st;
	out.ok = e != nullptr;
	if (!e) {
		FUZZ_CHECK(st.code != PGMLR_OK);
		FUZZ_CHECK(st.code != PGMLR_ERR_INTERNAL, st.message);
		fuzz::check_status_texts(st);
		return out;
	}
	FUZZ_CHECK(st.code == PGMLR_OK, st.message);
	out.content = pgmlr_hba_edit_content(e);
	out.changed = pgmlr_hba_edit_changed(e);
	if (const char *r = pgmlr_hba_edit_rule(e)) out.rule = r;
	for (int i = 0; i < pgmlr_hba_edit_notice_count(e); ++i) {
		std::string n = pgmlr_hba_edit_notice(e, i);
		FUZZ_CHECK(!fuzz::has_ctl(n) && fuzz::utf8_ok(n) && !n.empty(), n);
		out.notices.push_back(n);
	}
	pgmlr_hba_edit_free(e);
	return out;
}

// database: nullptr for a replication rule, else a database rule.
const char *g_database = nullptr;

Edit allow(const std::string &c, const std::string &role, const std::string &addr, const std::string &method) {
	pgmlr_status st;
	pgmlr_hba_edit *e = g_database ? pgmlr_hba_allow_database(c.c_str(), g_database, role.c_str(), addr.c_str(), &st)
								   : pgmlr_hba_allow(c.c_str(), role.c_str(), addr.c_str(), method.c_str(), &st);
	return take(e, st);
}

Edit disallow(const std::string &c, const std::string &role, const std::string &addr) {
	pgmlr_status st;
	pgmlr_hba_edit *e = g_database ? pgmlr_hba_disallow_database(c.c_str(), g_database, role.c_str(), addr.c_str(), &st)
								   : pgmlr_hba_disallow(c.c_str(), role.c_str(), addr.c_str(), &st);
	return take(e, st);
}

std::vector<std::string> foreign_lines(const std::string &text) {
	std::vector<std::string> out;
	for (const Line &l : pgmlr::hba::parse(text))
		if (!l.ours()) out.push_back(l.raw);
	return out;
}

bool ends_with_nl(const std::string &s) { return s.empty() || s.back() == '\n'; }

void check_foreign_kept(const std::string &before, const std::string &after, bool may_add_eol) {
	auto a = foreign_lines(before), b = foreign_lines(after);
	FUZZ_CHECK(a.size() == b.size(), before, after);
	for (size_t i = 0; i < a.size(); ++i) {
		if (a[i] == b[i]) continue;
		// allow may end the last line: add its missing newline, and a blank
		// line after a trailing backslash (continuation) - nothing else.
		bool last = i + 1 == a.size();
		bool only_eols = b[i].size() > a[i].size() && b[i].compare(0, a[i].size(), a[i]) == 0 &&
						 b[i].find_first_not_of("\r\n", a[i].size()) == std::string::npos;
		FUZZ_CHECK(may_add_eol && last && only_eols, a[i], b[i]);
	}
}

std::string pick(FuzzedDataProvider &p, const std::vector<std::string> &choices, size_t max_len) {
	if (p.ConsumeBool()) return choices[p.ConsumeIntegralInRange<size_t>(0, choices.size() - 1)];
	return p.ConsumeRandomLengthString(max_len);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	FuzzedDataProvider p(data, size);
	std::string role = pick(p, {"replicator", "all", "Repl_1", "pg_x", "a$b"}, 80);
	std::string addr = pick(p, {"10.0.0.5", "10.0.0.0/24", "::1", "fd00::/64", "192.168.1.7/32"}, 60);
	std::string method = pick(p, {"scram-sha-256", "md5", "cert", "SCRAM-SHA-256", "trust"}, 20);
	bool database_rule = p.ConsumeBool();
	std::string database = pick(p, {"postgres", "pgml", "all", "replication", "my-db.v2$"}, 70);
	std::string text = p.ConsumeRemainingBytesAsString();
	for (std::string *s : {&role, &addr, &method, &database, &text}) s->resize(std::strlen(s->c_str()));  // C strings
	g_database = database_rule ? database.c_str() : nullptr;

	auto lines = pgmlr::hba::parse(text);
	FUZZ_CHECK(pgmlr::hba::render(lines) == text, text);
	int prev = 0;
	for (const Line &l : lines) {
		FUZZ_CHECK(l.line_number > prev);
		prev = l.line_number;
	}

	Edit a = allow(text, role, addr, method);
	if (a.ok) {
		FUZZ_CHECK(a.changed == (a.content != text), text, a.content);
		check_foreign_kept(text, a.content, true);
		Edit again = allow(a.content, role, addr, method);
		FUZZ_CHECK(again.ok && !again.changed && again.content == a.content, a.content, again.content);
		FUZZ_CHECK(!a.rule.empty());
		bool found = false;
		for (const Line &l : pgmlr::hba::parse(a.content)) {
			std::string raw = l.raw;
			while (!raw.empty() && (raw.back() == '\n' || raw.back() == '\r')) raw.pop_back();
			if (raw != a.rule) continue;
			found = true;
			if (!a.changed || !l.ours()) continue;
			// our freshly written line must parse as the rule it stands for
			FUZZ_CHECK(l.fields.size() == 5, a.content, raw);
			for (const auto &f : l.fields) FUZZ_CHECK(f.size() == 1, raw);
			FUZZ_CHECK(l.fields[0][0].text == "host" || l.fields[0][0].text == "hostssl", raw);
			FUZZ_CHECK(l.fields[1][0].text == (g_database ? database : std::string("replication")) &&
						   l.fields[1][0].quoted == (g_database && (database == "all" || database == "replication" ||
																	database == "sameuser" || database == "samerole" ||
																	database == "samegroup")) &&
						   l.fields[2][0].text == role,
					   raw);
		}
		FUZZ_CHECK(found, a.content, a.rule);
		Edit d = disallow(a.content, role, addr);
		FUZZ_CHECK(d.ok, d.st.message);
		check_foreign_kept(a.content, d.content, false);
		bool had_ours = false;
		for (const Line &l : lines) had_ours = had_ours || l.ours();
		bool continued = !lines.empty() && lines.back().raw.find_last_not_of("\r\n") != std::string::npos &&
						 lines.back().raw[lines.back().raw.find_last_not_of("\r\n")] == '\\';
		if (!had_ours && ends_with_nl(text) && !continued) FUZZ_CHECK(d.content == text, text, d.content);
	}

	Edit d = disallow(text, role, addr);
	if (d.ok) {
		FUZZ_CHECK(d.changed == (d.content != text), text, d.content);
		check_foreign_kept(text, d.content, false);
		Edit again = disallow(d.content, role, addr);
		FUZZ_CHECK(again.ok && !again.changed && again.content == d.content, d.content, again.content);
	}
	return 0;
}
