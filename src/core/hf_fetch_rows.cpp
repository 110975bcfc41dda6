#include "core_only.hpp"
#include "hf_fetch_rows.hpp"

#include "text_util.hpp"

#include <vector>

namespace pgmlr::hf_fetch {
namespace {

Error bad(std::string_view column, std::string message, std::string detail = {}) {
	return make_error(PGMLR_ERR_INVALID_PARAMETER,
					  "invalid manifest " + std::string(column) + ": " + message, std::move(detail),
					  "Manifest rows come from the primary's table; fix the row there.");
}

// Quoted for a detail message, cut short and with control bytes escaped so a
// hostile value cannot flood or forge log lines.
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

bool is_name_char(char c) {
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
		   c == '_' || c == '-';
}

bool is_alnum(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

bool lower_hex_of_length(std::string_view v, size_t n) { return v.size() == n && is_hex(v); }

}  // namespace

Status validate_repo_type(std::string_view v) {
	if (v == "model" || v == "dataset" || v == "space") return {};
	return bad("repo_type", "must be model, dataset or space", "The value is " + shown(v) + ".");
}

Status validate_repo_id(std::string_view v) {
	if (v.empty()) return bad("repo_id", "is empty");
	if (v.find("--") != std::string_view::npos || v.find("..") != std::string_view::npos)
		return bad("repo_id", "must not contain \"--\" or \"..\"", "The value is " + shown(v) + ".");
	size_t slash = v.find('/');
	if (slash != std::string_view::npos && v.find('/', slash + 1) != std::string_view::npos)
		return bad("repo_id", "has more than one \"/\"", "The value is " + shown(v) + ".");
	std::vector<std::string_view> parts;
	if (slash == std::string_view::npos)
		parts = {v};
	else
		parts = {v.substr(0, slash), v.substr(slash + 1)};
	for (std::string_view part : parts) {
		if (part.empty() || !is_alnum(part[0]))
			return bad("repo_id", "each part must start with a letter or digit", "The value is " + shown(v) + ".");
		if (part.size() > 96) return bad("repo_id", "a part is longer than 96 characters");
		for (char c : part)
			if (!is_name_char(c))
				return bad("repo_id", "may contain only letters, digits, \".\", \"_\", \"-\" and one \"/\"",
						   "The value is " + shown(v) + ".");
	}
	return {};
}

Status validate_revision(std::string_view v) {
	if (lower_hex_of_length(v, 40)) return {};
	return bad("revision", "must be a 40-character lower-case hex commit id", "The value is " + shown(v) + ".");
}

Status validate_ref(std::string_view v) {
	if (v.empty()) return {};
	if (v.size() > 255) return bad("ref", "is longer than 255 bytes");
	if (v.front() == '/' || v.back() == '/') return bad("ref", "must not start or end with \"/\"", "The value is " + shown(v) + ".");
	if (has_control_chars(v) || !is_valid_utf8(v)) return bad("ref", "contains control characters or invalid UTF-8", "The value is " + shown(v) + ".");
	for (char c : v)
		if (c == '\\' || c == ' ' || c == '~' || c == '^' || c == ':' || c == '?' || c == '*' || c == '[')
			return bad("ref", "contains a character git forbids in ref names", "The value is " + shown(v) + ".");
	if (v.find("..") != std::string_view::npos || v.find("@{") != std::string_view::npos)
		return bad("ref", "must not contain \"..\" or \"@{\"", "The value is " + shown(v) + ".");
	size_t start = 0;
	while (start <= v.size()) {
		size_t end = v.find('/', start);
		if (end == std::string_view::npos) end = v.size();
		std::string_view seg = v.substr(start, end - start);
		if (seg.empty() || seg.front() == '.' || ends_with(seg, ".lock"))
			return bad("ref", "has an empty segment, a segment starting with \".\" or ending with \".lock\"",
					   "The value is " + shown(v) + ".");
		start = end + 1;
	}
	return {};
}

Status validate_path(std::string_view v) {
	if (v.empty()) return bad("path", "is empty");
	if (v.size() > 1024) return bad("path", "is longer than 1024 bytes", "The value starts with " + shown(v) + ".");
	if (v.find('\0') != std::string_view::npos || has_control_chars(v))
		return bad("path", "contains NUL or control characters", "The value is " + shown(v) + ".");
	if (!is_valid_utf8(v)) return bad("path", "is not valid UTF-8", "The value is " + shown(v) + ".");
	if (v.find('\\') != std::string_view::npos) return bad("path", "contains a backslash", "The value is " + shown(v) + ".");
	if (v.front() == '/') return bad("path", "must be relative", "The value is " + shown(v) + ".");
	size_t start = 0;
	while (start <= v.size()) {
		size_t end = v.find('/', start);
		if (end == std::string_view::npos) end = v.size();
		std::string_view seg = v.substr(start, end - start);
		if (seg.empty() || seg == "." || seg == "..")
			return bad("path", "has an empty, \".\" or \"..\" segment", "The value is " + shown(v) + ".");
		if (seg.size() > 255) return bad("path", "has a segment longer than 255 bytes");
		start = end + 1;
	}
	return {};
}

Status validate_blob(std::string_view v) {
	if (lower_hex_of_length(v, 40) || lower_hex_of_length(v, 64)) return {};
	return bad("blob", "must be 40 or 64 lower-case hex characters", "The value is " + shown(v) + ".");
}

Status validate_size(int64_t v) {
	if (v >= 0 && v <= kMaxFileSize) return {};
	return bad("size", "must be between 0 and 4 TiB", "The value is " + std::to_string(v) + ".");
}

Status validate_row(const Row &row) {
	for (Status st : {validate_repo_type(row.repo_type), validate_repo_id(row.repo_id),
					  validate_revision(row.revision), validate_ref(row.ref), validate_path(row.path),
					  validate_blob(row.blob), validate_size(row.size)})
		if (st) return st;
	return {};
}

std::string repo_folder_name(const Row &row) {
	std::string out = row.repo_type + "s--";
	for (char c : row.repo_id) {
		if (c == '/')
			out += "--";
		else
			out += c;
	}
	return out;
}

std::string percent_encode(std::string_view s, std::string_view keep) {
	static const char *hex = "0123456789ABCDEF";
	std::string out;
	out.reserve(s.size());
	for (char ch : s) {
		unsigned char c = static_cast<unsigned char>(ch);
		if (is_alnum(ch) || ch == '-' || ch == '.' || ch == '_' || ch == '~' || keep.find(ch) != std::string_view::npos) {
			out += ch;
		} else {
			out += '%';
			out += hex[c >> 4];
			out += hex[c & 15];
		}
	}
	return out;
}

std::string resolve_url(std::string_view endpoint, const Row &row) {
	while (!endpoint.empty() && endpoint.back() == '/') endpoint.remove_suffix(1);
	std::string url(endpoint);
	url += '/';
	if (row.repo_type == "dataset") url += "datasets/";
	if (row.repo_type == "space") url += "spaces/";
	url += row.repo_id;
	url += "/resolve/";
	url += percent_encode(row.revision, "");
	url += '/';
	url += percent_encode(row.path, "/");
	return url;
}

std::string symlink_target(std::string_view path, std::string_view blob) {
	std::string out = "../../";
	for (char c : path)
		if (c == '/') out += "../";
	out += "blobs/";
	out += blob;
	return out;
}

}  // namespace pgmlr::hf_fetch
