// Implements hf_cache/names.hpp; what it is for is said at the top of that header.
#include "common/core_only.hpp"
#include "hf_cache/names.hpp"

#include "common/text.hpp"

#include <utility>

namespace pgmlr::hf {
namespace {

// Python's \w for a str pattern is every Unicode letter, digit and "_"; the
// Hub itself creates ASCII names only, so ASCII is all that is accepted.
bool is_word_char(char c) {
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

bool is_repo_id_char(char c) { return is_word_char(c) || c == '-' || c == '.'; }

bool lower_hex_of_length(std::string_view v, size_t n) { return v.size() == n && is_hex(v); }

bool contains(std::string_view v, std::string_view what) { return v.find(what) != std::string_view::npos; }

// Calls fn on each '/'-separated segment (empty ones included); stops at the
// first problem fn returns.
template <typename Fn>
Problem each_segment(std::string_view v, Fn fn) {
	size_t start = 0;
	for (;;) {
		size_t end = v.find('/', start);
		std::string_view seg = v.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
		if (Problem p = fn(seg)) return p;
		if (end == std::string_view::npos) return std::nullopt;
		start = end + 1;
	}
}

}  // namespace

Problem repo_type_problem(std::string_view v) {
	if (v == "model" || v == "dataset" || v == "space") return std::nullopt;
	return "must be model, dataset or space";
}

// REPO_ID_REGEX = ^(\b[\w\-.]+\b/)?\b[\w\-.]{1,96}\b$ plus "no -- or .." and
// "not .git at the end". \b next to the start, the "/" or the end means the
// part's first and last characters are word characters: never "-" or ".".
// Two deliberate narrowings: ASCII only (above), and the namespace is
// bounded by 96 like the name, so "datasets--<ns>--<name>" stays below
// NAME_MAX. Python's "$" also matches before a final "\n"; a newline is
// refused here like every other character outside the set.
Problem repo_id_problem(std::string_view v) {
	if (v.empty()) return "is empty";
	size_t slash = v.find('/');
	if (slash != std::string_view::npos && v.find('/', slash + 1) != std::string_view::npos)
		return "has more than one \"/\"";
	for (char c : v)
		if (c != '/' && !is_repo_id_char(c))
			return "may contain only ASCII letters, digits, \"_\", \"-\", \".\" and one \"/\"";
	std::string_view parts[2] = {v, {}};
	if (slash != std::string_view::npos) parts[0] = v.substr(0, slash), parts[1] = v.substr(slash + 1);
	for (size_t i = 0; i < (slash == std::string_view::npos ? 1u : 2u); ++i) {
		std::string_view part = parts[i];
		if (part.empty()) return "has an empty namespace or name around the \"/\"";
		if (part.size() > kMaxRepoIdPart) return "has a namespace or name longer than 96 characters";
		if (!is_word_char(part.front()) || !is_word_char(part.back()))
			return "has a namespace or name that starts or ends with \"-\" or \".\"";
	}
	if (contains(v, "--") || contains(v, "..")) return "contains \"--\" or \"..\"";
	if (ends_with(v, ".git")) return "ends with \".git\"";
	return std::nullopt;
}

Problem revision_problem(std::string_view v) {
	if (is_commit_hash(v)) return std::nullopt;
	return "must be a 40-character lower-case hex commit id";
}

// git check-ref-format, with one-level names allowed (the Hub's refs are
// "main", "v1.0", "refs/pr/1"). Each rule also keeps the refs/ file inside
// the repo folder.
Problem ref_problem(std::string_view v) {
	if (v.empty()) return "is empty";
	if (v.size() > kMaxRefBytes) return "is longer than 255 bytes";
	if (has_control_chars(v)) return "contains control characters";
	if (!is_valid_utf8(v)) return "is not valid UTF-8";
	for (char c : v)
		if (c == '\\' || c == ' ' || c == '~' || c == '^' || c == ':' || c == '?' || c == '*' || c == '[')
			return "contains a character git forbids in ref names (space \\ ~ ^ : ? * [)";
	if (v == "@") return "is \"@\", which git reserves";
	if (contains(v, "..") || contains(v, "@{")) return "contains \"..\" or \"@{\"";
	if (v.back() == '.') return "ends with \".\"";
	return each_segment(v, [](std::string_view seg) -> Problem {
		if (seg.empty()) return "starts or ends with \"/\" or has \"//\"";
		if (seg.front() == '.') return "has a segment starting with \".\"";
		if (ends_with(seg, ".lock")) return "has a segment ending with \".lock\"";
		return std::nullopt;
	});
}

Problem path_problem(std::string_view v) {
	if (v.empty()) return "is empty";
	if (v.size() > kMaxPathBytes) return "is longer than 1024 bytes";
	if (has_control_chars(v)) return "contains NUL or control characters";
	if (!is_valid_utf8(v)) return "is not valid UTF-8";
	if (contains(v, "\\")) return "contains a backslash";
	if (v.front() == '/') return "must be relative";
	return each_segment(v, [](std::string_view seg) -> Problem {
		if (seg.empty() || seg == "." || seg == "..") return "has an empty, \".\" or \"..\" segment";
		if (seg.size() > kMaxPathSegmentBytes) return "has a segment longer than 255 bytes";
		if (to_lower_ascii(seg) == ".git") return "has a \".git\" segment, which no git repository holds";
		return std::nullopt;
	});
}

Problem blob_problem(std::string_view v) {
	if (is_blob_name(v)) return std::nullopt;
	return "must be 40 or 64 lower-case hex characters";
}

Problem size_problem(int64_t v) {
	if (v >= 0 && v <= kMaxFileSize) return std::nullopt;
	return "must be between 0 and 4 TiB";
}

bool is_commit_hash(std::string_view s) { return lower_hex_of_length(s, 40); }

bool is_blob_name(std::string_view s) { return lower_hex_of_length(s, 40) || lower_hex_of_length(s, 64); }

std::string repo_folder_name(std::string_view type, std::string_view id) {
	std::string out(type);
	out += "s--";
	for (char c : id) {
		if (c == '/')
			out += "--";
		else
			out += c;
	}
	return out;
}

namespace {
const std::pair<std::string_view, const char *> kFolderPrefixes[] = {
	{"models--", "model"}, {"datasets--", "dataset"}, {"spaces--", "space"}};
}  // namespace

std::optional<std::string> repo_folder_type(std::string_view name) {
	for (const auto &k : kFolderPrefixes)
		if (starts_with(name, k.first)) return std::string(k.second);
	return std::nullopt;
}

std::optional<RepoName> parse_repo_folder(std::string_view name, std::string *why) {
	for (const auto &k : kFolderPrefixes) {
		if (!starts_with(name, k.first)) continue;
		std::string_view rest = name.substr(k.first.size());
		// A valid id has no "--" and no part that starts or ends with "-", so
		// the first "--" is the separator and the only one.
		std::string id(rest);
		size_t sep = rest.find("--");
		if (sep != std::string_view::npos) id = std::string(rest.substr(0, sep)) + "/" + std::string(rest.substr(sep + 2));
		if (Problem p = repo_id_problem(id)) {
			if (why) *why = "repo id " + shown(id) + " " + *p;
			return std::nullopt;
		}
		if (repo_folder_name(k.second, id) != name) {  // cannot happen for a valid id; kept as the contract
			if (why) *why = "it does not round-trip";
			return std::nullopt;
		}
		return RepoName{k.second, id};
	}
	if (why) *why = "unknown repo type";
	return std::nullopt;
}

std::string shown(std::string_view v) {
	std::string out = "\"";
	for (size_t i = 0; i < v.size() && i < 80; ++i) {
		unsigned char c = static_cast<unsigned char>(v[i]);
		if (c < 0x20 || c == 0x7f || c >= 0x80 || c == '"' || c == '\\') {
			static const char *hex = "0123456789abcdef";
			out += "\\x";
			out += hex[c >> 4];
			out += hex[c & 15];
		} else {
			out += static_cast<char>(c);
		}
	}
	if (v.size() > 80) out += "...";
	return out + "\"";
}

}  // namespace pgmlr::hf
