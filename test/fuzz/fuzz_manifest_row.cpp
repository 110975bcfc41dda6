// Manifest rows are untrusted (any role with INSERT on the primary's table,
// or a compromised primary, writes them; the replica turns them into paths
// and URLs). Target: pgmlr_fetch_add_row and validate_row.
// Invariants:
//  - add_row accepts exactly what validate_row accepts, and a refusal is
//    PGMLR_ERR_INVALID_PARAMETER naming the column, in house style, with no
//    control character or invalid UTF-8 in message, detail or hint (so a
//    hostile value cannot forge log lines);
//  - an accepted row passes an independent oracle: fixed vocabularies,
//    lower-case hex ids, relative paths without "."/".."/empty segments,
//    and the cache paths built from it stay inside the cache: the repo
//    folder is one path component that maps back to repo_id, and the
//    snapshot symlink resolves to <repo>/blobs/<blob>;
//  - a refused repo_id's folder name never parses back as that id
//    (test/fuzz/corpus/fuzz_manifest_row/misread_folder_orgaa: "orgaa-/x"
//    once became "models--orgaa---x", read back as "orgaa/-x").
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "fuzz_common.hpp"
#include "hf_fetch/rows.hpp"
#include "hf_cache/names.hpp"
#include "pgml_repl/hf_fetch.h"

namespace {

// One job per input: a job that kept accepted rows would look like a leak
// to libFuzzer (more mallocs than frees) and make it run LeakSanitizer often.
pgmlr_fetch_options g_opts;

bool lower_hex(std::string_view s, size_t n) {
	if (s.size() != n) return false;
	for (char c : s)
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
	return true;
}

std::vector<std::string> split(std::string_view s, char sep) {
	std::vector<std::string> out;
	size_t start = 0;
	for (;;) {
		size_t end = s.find(sep, start);
		out.emplace_back(s.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
		if (end == std::string_view::npos) return out;
		start = end + 1;
	}
}

// Lexical resolution of rel against the folder base (both '/'-separated,
// base absolute-like starting with "/"); returns "" when it climbs above "/".
std::string resolve(const std::string &base, const std::string &rel) {
	std::vector<std::string> parts;
	for (auto &p : split(base, '/'))
		if (!p.empty()) parts.push_back(p);
	for (auto &p : split(rel, '/')) {
		if (p.empty() || p == ".") continue;
		if (p == "..") {
			if (parts.empty()) return "";
			parts.pop_back();
		} else {
			parts.push_back(p);
		}
	}
	std::string out;
	for (auto &p : parts) out += "/" + p;
	return out;
}

void check_accepted(const pgmlr::hf_fetch::Row &r) {
	FUZZ_CHECK(r.repo_type == "model" || r.repo_type == "dataset" || r.repo_type == "space", r.repo_type);
	FUZZ_CHECK(lower_hex(r.revision, 40), r.revision);
	FUZZ_CHECK(lower_hex(r.blob, 40) || lower_hex(r.blob, 64), r.blob);
	FUZZ_CHECK(r.size >= 0 && r.size <= (int64_t{1} << 42));

	// repo_id: huggingface_hub's rule, ASCII: at most one '/', parts of
	// [A-Za-z0-9._-] that start and end with [A-Za-z0-9_], no "--" nor ".."
	auto word = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'; };
	FUZZ_CHECK(!r.repo_id.empty() && r.repo_id.find("..") == std::string::npos, r.repo_id);
	FUZZ_CHECK(r.repo_id.find("--") == std::string::npos, r.repo_id);
	auto parts = split(r.repo_id, '/');
	FUZZ_CHECK(parts.size() <= 2, r.repo_id);
	for (auto &p : parts) {
		FUZZ_CHECK(!p.empty() && p.size() <= 96 && word(p.front()) && word(p.back()), r.repo_id);
		for (char c : p) FUZZ_CHECK(word(c) || c == '.' || c == '-', r.repo_id);
	}
	std::string folder = pgmlr::hf_fetch::repo_folder_name(r);
	FUZZ_CHECK(folder.find('/') == std::string::npos && folder != "." && folder != "..", folder);
	std::string prefix = r.repo_type + "s--";
	FUZZ_CHECK(folder.compare(0, prefix.size(), prefix) == 0, folder);
	std::string back = folder.substr(prefix.size());
	for (size_t at; (at = back.find("--")) != std::string::npos;) back.replace(at, 2, "/");
	FUZZ_CHECK(back == r.repo_id, back, r.repo_id);
	// and the cache scan's reading of the folder gives the row's repo back
	auto parsed = pgmlr::hf::parse_repo_folder(folder);
	FUZZ_CHECK(parsed && parsed->type == r.repo_type && parsed->id == r.repo_id, folder);

	// path: relative, segments not empty/"."/"..", no control bytes, no '\\'
	FUZZ_CHECK(!r.path.empty() && r.path[0] != '/' && !fuzz::has_ctl(r.path), r.path);
	FUZZ_CHECK(r.path.find('\\') == std::string::npos && fuzz::utf8_ok(r.path), r.path);
	for (auto &seg : split(r.path, '/')) FUZZ_CHECK(!seg.empty() && seg != "." && seg != "..", r.path);

	// ref: empty, or a path inside refs/ without "." segments or controls
	for (const std::string &ref : r.refs) {
		if (ref.empty()) continue;
		FUZZ_CHECK(!fuzz::has_ctl(ref) && ref[0] != '/' && ref.find("..") == std::string::npos, ref);
		for (auto &seg : split(ref, '/')) FUZZ_CHECK(!seg.empty() && seg[0] != '.', ref);
		FUZZ_CHECK(resolve("/cache/" + folder + "/refs", ref).rfind("/cache/" + folder + "/refs/", 0) == 0, ref);
	}

	// The snapshot symlink points at this repo's blob, whatever the path.
	std::string link = "/cache/" + folder + "/snapshots/" + r.revision + "/" + r.path;
	std::string dir = link.substr(0, link.rfind('/'));
	std::string target = pgmlr::hf_fetch::symlink_target(r.path, r.blob);
	FUZZ_CHECK(resolve(dir, target) == "/cache/" + folder + "/blobs/" + r.blob, target, r.path);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
	static char dir[] = "/tmp/pgmlr_fuzz_manifest.XXXXXX";
	if (!mkdtemp(dir)) std::abort();
	pgmlr_fetch_options_init(&g_opts);
	g_opts.cache_root = dir;
	g_opts.endpoint = "http://127.0.0.1:9";
	return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	// Seven fields separated by '\x1f' (so seeds stay readable text); the
	// last field is the size as decimal.
	std::string_view in(reinterpret_cast<const char *>(data), size);
	auto f = split(in, '\x1f');
	f.resize(7);
	pgmlr::hf_fetch::Row r;
	r.repo_type = f[0];
	r.repo_id = f[1];
	r.revision = f[2];
	r.refs = {f[3]};  // one ref per input ("" is none)
	r.path = f[4];
	r.blob = f[5];
	r.size = std::strtoll(f[6].c_str(), nullptr, 10);

	// The C boundary sees NUL-terminated strings: a field with a NUL is cut
	// there, so compare with the C++ validator on the cut values.
	pgmlr::hf_fetch::Row c = r;
	for (std::string *s : {&c.repo_type, &c.repo_id, &c.revision, &c.refs[0], &c.path, &c.blob})
		s->resize(std::strlen(s->c_str()));
	const char *ref = c.refs[0].c_str();
	pgmlr_hf_manifest_row row{c.repo_type.c_str(), c.repo_id.c_str(), c.revision.c_str(), &ref, 1,
							  c.path.c_str(),      c.blob.c_str(),    c.size};
	pgmlr_status st;
	pgmlr_fetch_job *job = pgmlr_fetch_new(&g_opts, &st);
	FUZZ_CHECK(job != nullptr, st.message);
	bool ok = pgmlr_fetch_add_row(job, &row, &st);
	pgmlr_fetch_free(job);
	pgmlr::Status v = pgmlr::hf_fetch::validate_row(c);
	FUZZ_CHECK(ok == !v.has_value());
	if (ok) {
		FUZZ_CHECK(st.code == PGMLR_OK);
		check_accepted(c);
	} else {
		FUZZ_CHECK(st.code == PGMLR_ERR_INVALID_PARAMETER, st.message);
		FUZZ_CHECK(std::string_view(st.message).rfind("invalid manifest ", 0) == 0, st.message);
		fuzz::check_status_texts(st);
		FUZZ_CHECK(!fuzz::has_ctl(st.detail), st.detail);
	}

	if (pgmlr::hf_fetch::validate_repo_id(c.repo_id)) {
		auto parsed = pgmlr::hf::parse_repo_folder(pgmlr::hf::repo_folder_name("model", c.repo_id));
		FUZZ_CHECK(!parsed || parsed->id != c.repo_id, c.repo_id);
	}

	// The C++ validator on the raw fields (NULs included) must agree with the oracle too.
	if (!pgmlr::hf_fetch::validate_row(r)) check_accepted(r);
	return 0;
}
