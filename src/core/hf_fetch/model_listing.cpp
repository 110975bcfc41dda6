// Implements hf_fetch/model_listing.hpp; what it is for is said at the top of that header.
#include "common/core_only.hpp"
#include "hf_fetch/model_listing.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "hf_cache/names.hpp"
#include "hf_fetch/rows.hpp"

namespace pgmlr::hf_fetch {

using nlohmann::json;

namespace {

Error bad(std::string message) { return make_error(ErrCode::InvalidParameter, std::move(message)); }

// Bytes as code points; a byte that is not valid UTF-8 becomes U+DC00+byte
// (Python's surrogateescape), so it matches only itself and never an
// ASCII character.
std::u32string decode_utf8(std::string_view s) {
	std::u32string out;
	out.reserve(s.size());
	size_t i = 0;
	while (i < s.size()) {
		const unsigned char c = static_cast<unsigned char>(s[i]);
		int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
		char32_t cp = len == 1 ? c : len == 2 ? (c & 0x1f) : len == 3 ? (c & 0x0f) : (c & 0x07);
		bool ok = len > 0 && i + len <= s.size();
		for (int k = 1; ok && k < len; ++k) {
			const unsigned char cc = static_cast<unsigned char>(s[i + k]);
			ok = (cc & 0xc0) == 0x80;
			cp = (cp << 6) | (cc & 0x3f);
		}
		// Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
		if (ok && ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
				   (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff))
			ok = false;
		if (!ok) {
			out.push_back(0xdc00 + c);
			i += 1;
		} else {
			out.push_back(cp);
			i += static_cast<size_t>(len);
		}
	}
	return out;
}

// One step of a translated fnmatch pattern (fnmatch.translate's regex,
// kept as data): a literal, '?', a set, a set that never matches ("[z-a]")
// or one that matches anything ("[!z-a]"), or '*'.
struct Token {
	enum Kind { lit, any, set, never, star } kind = lit;
	char32_t c = 0;
	bool negate = false;
	std::vector<std::pair<char32_t, char32_t>> ranges;  // single characters are [c, c]

	static Token of(Kind k, char32_t ch = 0) {
		Token t;
		t.kind = k;
		t.c = ch;
		return t;
	}

	bool matches(char32_t x) const {
		switch (kind) {
		case lit: return x == c;
		case any: return true;
		case never: return false;
		case star: return false;
		case set: break;
		}
		bool in = false;
		for (const auto &r : ranges) in = in || (x >= r.first && x <= r.second);
		return in != negate;
	}
};

// The set between '[' and its ']' (pat[i, j)), as Python 3.11's
// fnmatch.translate builds it: chunks split at '-' (a '-' right after the
// opening or right after a range's end is literal), ranges whose ends are
// out of order dropped, '!' first negates.
Token make_set(const std::u32string &pat, size_t i, size_t j) {
	Token t;
	const std::u32string stuff = pat.substr(i, j - i);
	std::vector<std::u32string> chunks;
	if (stuff.find(U'-') == std::u32string::npos) {
		chunks.push_back(stuff);
	} else {
		size_t start = i;
		size_t k = pat[i] == U'!' ? i + 2 : i + 1;
		while (true) {
			size_t dash = k < j ? pat.find(U'-', k) : std::u32string::npos;
			if (dash == std::u32string::npos || dash >= j) break;
			chunks.push_back(pat.substr(start, dash - start));
			start = dash + 1;
			k = dash + 3;
		}
		std::u32string last = pat.substr(start, j - start);
		if (!last.empty())
			chunks.push_back(last);
		else
			chunks.back() += U'-';
		for (size_t m = chunks.size() - 1; m >= 1; --m) {
			if (chunks[m - 1].back() > chunks[m].front()) {
				chunks[m - 1] = chunks[m - 1].substr(0, chunks[m - 1].size() - 1) + chunks[m].substr(1);
				chunks.erase(chunks.begin() + static_cast<long>(m));
			}
		}
	}
	if (chunks.size() == 1 && chunks[0].empty()) {
		t.kind = Token::never;
		return t;
	}
	if (chunks.size() == 1 && chunks[0] == U"!") {
		t.kind = Token::any;
		return t;
	}
	t.kind = Token::set;
	t.negate = chunks[0][0] == U'!';
	for (size_t m = 0; m < chunks.size(); ++m) {
		const std::u32string &ch = chunks[m];
		for (size_t p = (m == 0 && t.negate) ? 1 : 0; p < ch.size(); ++p) {
			if (m > 0 && p == 0) continue;  // the end of the range opened by the chunk before
			if (m + 1 < chunks.size() && p + 1 == ch.size())
				t.ranges.emplace_back(ch[p], chunks[m + 1].front());
			else
				t.ranges.emplace_back(ch[p], ch[p]);
		}
	}
	return t;
}

std::vector<Token> translate(const std::u32string &pat) {
	std::vector<Token> out;
	size_t i = 0;
	const size_t n = pat.size();
	while (i < n) {
		const char32_t c = pat[i++];
		if (c == U'*') {
			if (out.empty() || out.back().kind != Token::star) out.push_back(Token::of(Token::star));
		} else if (c == U'?') {
			out.push_back(Token::of(Token::any));
		} else if (c == U'[') {
			size_t j = i;
			if (j < n && pat[j] == U'!') ++j;
			if (j < n && pat[j] == U']') ++j;
			while (j < n && pat[j] != U']') ++j;
			if (j >= n) {
				out.push_back(Token::of(Token::lit, U'['));
			} else {
				out.push_back(make_set(pat, i, j));
				i = j + 1;
			}
		} else {
			out.push_back(Token::of(Token::lit, c));
		}
	}
	return out;
}

std::string normalize_separators(std::string_view s) {
	std::string out(s);
	std::replace(out.begin(), out.end(), '\\', '/');
	return out;
}

bool match_tokens(const std::u32string &s, const std::vector<Token> &tok) {
	size_t p = 0, i = 0;
	size_t star_p = std::string::npos, star_i = 0;
	while (i < s.size()) {
		if (p < tok.size() && tok[p].kind == Token::star) {
			star_p = p++;
			star_i = i;
		} else if (p < tok.size() && tok[p].matches(s[i])) {
			++p;
			++i;
		} else if (star_p != std::string::npos) {  // let the last '*' take one more character
			p = star_p + 1;
			i = ++star_i;
		} else {
			return false;
		}
	}
	while (p < tok.size() && tok[p].kind == Token::star) ++p;
	return p == tok.size();
}

// filter_repo_objects' patterns, translated once for every path of a listing.
struct PatternList {
	bool all = true;  // nullopt: no list at all
	std::vector<std::vector<Token>> tokens;

	explicit PatternList(const std::optional<std::vector<std::string>> &patterns) {
		if (!patterns) return;
		all = false;
		for (const std::string &p : *patterns) {
			std::string pat = normalize_separators(p);
			if (!pat.empty() && pat.back() == '/') pat += '*';
			tokens.push_back(translate(decode_utf8(pat)));
		}
	}
	bool any_matches(const std::u32string &path) const {
		for (const auto &t : tokens)
			if (match_tokens(path, t)) return true;
		return false;
	}
};

bool keeps(std::string_view path, const PatternList &allow, const PatternList &ignore) {
	const std::u32string p = decode_utf8(normalize_separators(path));
	if (!allow.all && !allow.any_matches(p)) return false;
	if (!ignore.all && ignore.any_matches(p)) return false;
	return true;
}

bool is_hex(std::string_view s, size_t len, bool any_case) {
	if (s.size() != len) return false;
	for (char c : s)
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (any_case && c >= 'A' && c <= 'F'))) return false;
	return true;
}

// Only the fields read here are kept while parsing, and nothing nested
// deeper than an entry's "lfs": a page of 64 MiB of other fields or of
// "[[[[..." costs no more memory than its text.
json parse_kept(std::string_view body, int max_depth, bool (*keep_key)(int depth, const std::string &key)) {
	json::parser_callback_t cb = [&](int depth, json::parse_event_t event, json &parsed) {
		if ((event == json::parse_event_t::object_start || event == json::parse_event_t::array_start) && depth > max_depth)
			return false;
		if (event == json::parse_event_t::key) return keep_key(depth, parsed.get<std::string>());
		return true;
	};
	return json::parse(body.begin(), body.end(), cb, /*allow_exceptions=*/false);
}

bool tree_key(int depth, const std::string &key) {
	if (depth != 2) return true;  // inside "lfs" (depth 3) every key is small
	return key == "type" || key == "path" || key == "size" || key == "oid" || key == "lfs" || key == "xetHash";
}

bool revision_key(int depth, const std::string &key) { return depth != 1 || key == "sha"; }

// One "file" entry, its values checked by the Hub's rules. Returns the
// reason, or nullopt when fine.
std::optional<std::string> read_entry(const json &e, TreeFile *f, bool *xet_ok) {
	const json &path = e.contains("path") ? e["path"] : json();
	if (!path.is_string()) return std::string("has no \"path\" string");
	f->path = path.get<std::string>();
	if (auto p = hf::path_problem(f->path)) return "path " + hf::shown(f->path) + " " + *p;
	const json &size = e.contains("size") ? e["size"] : json();
	if (!size.is_number_integer()) return std::string("has no integer \"size\"");
	f->size = size.get<int64_t>();
	if (auto p = hf::size_problem(f->size)) return "size " + std::to_string(f->size) + " " + *p;
	const json &oid = e.contains("oid") ? e["oid"] : json();
	if (!oid.is_string() || !is_hex(oid.get<std::string>(), 40, false))
		return std::string("has an \"oid\" that is not a git blob id (40 lower-case hex)");
	f->blob_id = oid.get<std::string>();
	if (e.contains("lfs") && !e["lfs"].is_null()) {
		const json &lfs = e["lfs"];
		if (!lfs.is_object()) return std::string("has an \"lfs\" that is not an object");
		const json &lo = lfs.contains("oid") ? lfs["oid"] : json();
		if (!lo.is_string() || !is_hex(lo.get<std::string>(), 64, false))
			return std::string("has an \"lfs.oid\" that is not a SHA-256 (64 lower-case hex)");
		const json &ls = lfs.contains("size") ? lfs["size"] : json();
		if (!ls.is_number_integer()) return std::string("has no integer \"lfs.size\"");
		f->lfs = true;
		f->lfs_sha256 = lo.get<std::string>();
		f->lfs_size = ls.get<int64_t>();
		if (auto p = hf::size_problem(f->lfs_size)) return "lfs.size " + std::to_string(f->lfs_size) + " " + *p;
	}
	if (e.contains("xetHash") && !e["xetHash"].is_null()) {
		if (!e["xetHash"].is_string()) return std::string("has an \"xetHash\" that is not a string");
		f->xet_hash = e["xetHash"].get<std::string>();
		if (!is_hex(f->xet_hash, 64, true)) *xet_ok = false;
	}
	if (hf::blob_problem(f->blob())) return std::string("has an invalid blob id");  // unreachable by the checks above
	return std::nullopt;
}

void append_int(std::string *out, int64_t v) { *out += std::to_string(v); }

}  // namespace

std::string repo_label(std::string_view repo_type, std::string_view repo_id) {
	return std::string(repo_type) + "s/" + std::string(repo_id);
}

std::string revision_url(std::string_view endpoint, const ModelSpec &spec) {
	return std::string(endpoint) + "/api/" + repo_label(spec.repo_type, spec.repo_id) + "/revision/" +
		   percent_encode(spec.revision, "");
}

std::string tree_url(std::string_view endpoint, const ModelSpec &spec, std::string_view commit) {
	return std::string(endpoint) + "/api/" + repo_label(spec.repo_type, spec.repo_id) + "/tree/" +
		   percent_encode(commit, "") + "?recursive=true&expand=false";
}

Result<std::string> parse_revision_answer(std::string_view body) {
	json doc = parse_kept(body, 1, &revision_key);
	if (doc.is_discarded() || !doc.is_object()) return bad("the revision answer is not a JSON object");
	if (!doc.contains("sha") || !doc["sha"].is_string()) return bad("the revision answer has no \"sha\" string");
	std::string sha = doc["sha"].get<std::string>();
	if (!hf::is_commit_hash(sha)) return bad("the revision answer's \"sha\" " + hf::shown(sha) + " is not a 40-hex commit");
	return sha;
}

Status parse_tree_page(std::string_view body, std::vector<TreeFile> *out, bool *xet_ok) {
	json doc = parse_kept(body, 3, &tree_key);
	if (doc.is_discarded() || !doc.is_array()) return bad("a tree page is not a JSON array");
	size_t index = 0;
	for (const json &e : doc) {
		const std::string where = "tree entry " + std::to_string(out->size() + index);
		++index;
		if (!e.is_object() || !e.contains("type") || !e["type"].is_string())
			return bad(where + " is not an object with a \"type\"");
		if (e["type"].get<std::string>() != "file") continue;  // a folder: its files are listed too
		TreeFile f;
		if (auto why = read_entry(e, &f, xet_ok)) return bad(where + " " + *why);
		out->push_back(std::move(f));
	}
	return {};
}

bool fnmatch_case(std::string_view name, std::string_view pattern) {
	return match_tokens(decode_utf8(name), translate(decode_utf8(pattern)));
}

bool pattern_keeps(std::string_view path, const std::optional<std::vector<std::string>> &allow,
				   const std::optional<std::vector<std::string>> &ignore) {
	return keeps(path, PatternList(allow), PatternList(ignore));
}

Result<ModelListing> build_listing(ModelSpec spec, std::string commit, std::vector<TreeFile> files, bool xet_ok) {
	std::sort(files.begin(), files.end(), [](const TreeFile &a, const TreeFile &b) { return a.path < b.path; });
	for (size_t i = 1; i < files.size(); ++i)
		if (files[i].path == files[i - 1].path) return bad("the tree lists path " + hf::shown(files[i].path) + " twice");
	ModelListing l;
	l.spec = std::move(spec);
	l.commit = std::move(commit);
	l.files = std::move(files);
	l.tree_writable = xet_ok;
	const PatternList allow(l.spec.allow), ignore(l.spec.ignore);
	for (size_t i = 0; i < l.files.size(); ++i)
		if (keeps(l.files[i].path, allow, ignore)) l.kept.push_back(i);
	return l;
}

std::optional<std::string> listing_ref(const ModelListing &listing) {
	if (hf::is_commit_hash(listing.spec.revision)) return std::nullopt;
	return listing.spec.revision;
}

std::string python_json_string(std::string_view s) {
	static const char *hex = "0123456789abcdef";
	std::string out = "\"";
	auto u = [&](unsigned v) {
		out += "\\u";
		for (int sh = 12; sh >= 0; sh -= 4) out += hex[(v >> sh) & 15];
	};
	for (char32_t c : decode_utf8(s)) {
		if (c >= 0xdc80 && c <= 0xdcff) c = 0xfffd;  // not UTF-8: never in a checked value
		switch (c) {
		case U'"': out += "\\\""; continue;
		case U'\\': out += "\\\\"; continue;
		case U'\n': out += "\\n"; continue;
		case U'\r': out += "\\r"; continue;
		case U'\t': out += "\\t"; continue;
		case U'\b': out += "\\b"; continue;
		case U'\f': out += "\\f"; continue;
		default: break;
		}
		if (c >= 0x20 && c <= 0x7e) {
			out += static_cast<char>(c);
		} else if (c < 0x10000) {
			u(static_cast<unsigned>(c));
		} else {
			const unsigned v = static_cast<unsigned>(c) - 0x10000;
			u(0xd800 | (v >> 10));
			u(0xdc00 | (v & 0x3ff));
		}
	}
	out += '"';
	return out;
}

std::string render_tree_json(const std::vector<TreeFile> &files) {
	std::vector<const TreeFile *> sorted;
	sorted.reserve(files.size());
	for (const TreeFile &f : files) sorted.push_back(&f);
	std::sort(sorted.begin(), sorted.end(), [](const TreeFile *a, const TreeFile *b) { return a->path < b->path; });
	std::string out = "{\n \"format_version\": 1,\n \"files\": {";
	if (sorted.empty()) return out + "}\n}";
	for (size_t i = 0; i < sorted.size(); ++i) {
		const TreeFile &f = *sorted[i];
		out += i == 0 ? "\n  " : ",\n  ";
		out += python_json_string(f.path);
		out += ": {\n   \"size\": ";
		append_int(&out, f.size);
		out += ",\n   \"blob_id\": " + python_json_string(f.blob_id);
		if (f.lfs) {
			out += ",\n   \"lfs_sha256\": " + python_json_string(f.lfs_sha256);
			out += ",\n   \"lfs_size\": ";
			append_int(&out, f.lfs_size);
		}
		if (!f.xet_hash.empty()) out += ",\n   \"xet_hash\": " + python_json_string(f.xet_hash);
		out += "\n  }";
	}
	return out + "\n }\n}";
}

std::optional<std::vector<TreeFile>> parse_tree_json(std::string_view content) {
	json doc = json::parse(content.begin(), content.end(), nullptr, /*allow_exceptions=*/false);
	if (doc.is_discarded() || !doc.is_object()) return std::nullopt;
	if (!doc.contains("format_version") || !doc["format_version"].is_number_integer() ||
		doc["format_version"].get<int64_t>() != 1)
		return std::nullopt;
	if (!doc.contains("files") || !doc["files"].is_object()) return std::nullopt;
	std::vector<TreeFile> out;
	for (const auto &[path, info] : doc["files"].items()) {
		if (!info.is_object()) return std::nullopt;
		// The tree page's shape, so one set of checks serves both.
		json e = {{"path", path}};
		if (info.contains("size")) e["size"] = info["size"];
		if (info.contains("blob_id")) e["oid"] = info["blob_id"];
		const bool has_lfs = info.contains("lfs_sha256") && !info["lfs_sha256"].is_null();
		if (has_lfs) e["lfs"] = {{"oid", info["lfs_sha256"]}, {"size", info.contains("lfs_size") ? info["lfs_size"] : json()}};
		if (info.contains("xet_hash")) e["xetHash"] = info["xet_hash"];
		TreeFile f;
		bool xet_ok = true;
		if (read_entry(e, &f, &xet_ok) || !xet_ok) return std::nullopt;
		out.push_back(std::move(f));
	}
	return out;
}

}  // namespace pgmlr::hf_fetch
