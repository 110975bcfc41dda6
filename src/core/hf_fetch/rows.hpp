// Manifest rows for the fetcher: validation of untrusted rows, cache names,
// Hub URLs and snapshot symlink targets. Pure functions, no I/O.
#pragma once
#include "common/core_only.hpp"

#include <cstdint>
#include <string>
#include <set>
#include <string_view>
#include <tuple>
#include <vector>

#include "hf_cache/manifest.hpp"
#include "hf_cache/names.hpp"
#include "common/error.hpp"

namespace pgmlr::hf_fetch {

// A row of pgml_repl.hf_manifest, as the table and the publisher know it:
// one file with every ref naming its revision (an empty ref is no ref).
using Row = hf::ManifestRow;

using hf::kMaxFileSize;

// A manifest row the fetcher will not act on, and why (the message of the
// validation refusal, or the conflict that refused its whole repo).
struct RefusedRow {
	Row row;
	std::string reason;
};

// Refused rows, each file (type, repo, revision, path) once: a file refused
// for one ref and again for its repo is one report.
class RefusalList {
public:
	void add(const Row &row, std::string reason);
	const std::vector<RefusedRow> &rows() const { return rows_; }

private:
	std::set<std::tuple<std::string, std::string, std::string, std::string>> keys_;
	std::vector<RefusedRow> rows_;
};

// The rules are hf_cache/names.hpp's; these turn a problem into a refusal that
// names the column in its message.
Status validate_repo_type(std::string_view v);
Status validate_repo_id(std::string_view v);
Status validate_revision(std::string_view v);
Status validate_ref(std::string_view v);  // empty is fine: no ref
Status validate_path(std::string_view v);
Status validate_blob(std::string_view v);
Status validate_size(int64_t v);
// Every column but refs.
Status validate_file(const Row &row);
// validate_file, then each ref in order.
Status validate_row(const Row &row);

// "models--org--name" (hf::repo_folder_name)
std::string repo_folder_name(const Row &row);

// Percent-encoding as Python's urllib.parse.quote: unreserved bytes kept,
// plus the bytes in keep.
std::string percent_encode(std::string_view s, std::string_view keep);

// {endpoint}/{datasets/|spaces/}{repo_id}/resolve/{revision}/{path}
std::string resolve_url(std::string_view endpoint, const Row &row);

// "../../blobs/<blob>" plus one "../" per folder in path.
std::string symlink_target(std::string_view path, std::string_view blob);

}  // namespace pgmlr::hf_fetch
