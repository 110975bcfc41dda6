// Implements hf_fetch/rows.hpp; what it is for is said at the top of that header.
#include "common/core_only.hpp"
#include "hf_fetch/rows.hpp"

#include "hf_cache/names.hpp"

namespace pgmlr::hf_fetch {
namespace {

Status bad(std::string_view column, const hf::Problem &problem, std::string_view value) {
	if (!problem) return {};
	return make_error(ErrCode::InvalidParameter, "invalid manifest " + std::string(column) + ": " + *problem,
					  "The value is " + hf::shown(value) + ".",
					  "Manifest rows come from the primary's table; fix the row there.");
}

bool is_alnum(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

}  // namespace

Status validate_repo_type(std::string_view v) { return bad("repo_type", hf::repo_type_problem(v), v); }
Status validate_repo_id(std::string_view v) { return bad("repo_id", hf::repo_id_problem(v), v); }
Status validate_revision(std::string_view v) { return bad("revision", hf::revision_problem(v), v); }
Status validate_ref(std::string_view v) { return v.empty() ? Status{} : bad("ref", hf::ref_problem(v), v); }
Status validate_path(std::string_view v) { return bad("path", hf::path_problem(v), v); }
Status validate_blob(std::string_view v) { return bad("blob", hf::blob_problem(v), v); }

Status validate_size(int64_t v) {
	if (hf::Problem p = hf::size_problem(v))
		return make_error(ErrCode::InvalidParameter, "invalid manifest size: " + *p,
						  "The value is " + std::to_string(v) + ".",
						  "Manifest rows come from the primary's table; fix the row there.");
	return {};
}

Status validate_file(const Row &row) {
	for (Status st : {validate_repo_type(row.repo_type), validate_repo_id(row.repo_id),
					  validate_revision(row.revision), validate_path(row.path), validate_blob(row.blob),
					  validate_size(row.size)})
		if (st) return st;
	return {};
}

Status validate_row(const Row &row) {
	if (Status st = validate_file(row)) return st;
	for (const std::string &ref : row.refs)
		if (Status st = validate_ref(ref)) return st;
	return {};
}

void RefusalList::add(const Row &row, std::string reason) {
	if (keys_.emplace(row.repo_type, row.repo_id, row.revision, row.path).second)
		rows_.push_back(RefusedRow{row, std::move(reason)});
}

std::string repo_folder_name(const Row &row) { return hf::repo_folder_name(row.repo_type, row.repo_id); }

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
