// Implements hf_cache/manifest.hpp; what it is for is said at the top of that header.
#include "common/core_only.hpp"
#include "hf_cache/manifest.hpp"

#include <algorithm>
#include <optional>
#include <set>
#include <tuple>

namespace pgmlr::hf {

namespace {

auto key(const ManifestRow &r) { return std::tie(r.repo_type, r.repo_id, r.revision, r.path); }

bool same_content(const ManifestRow &a, const ManifestRow &b) {
	if (a.blob != b.blob || a.size != b.size) return false;
	std::vector<std::string> ra = a.refs, rb = b.refs;
	std::sort(ra.begin(), ra.end());
	std::sort(rb.begin(), rb.end());
	return ra == rb;
}

void sort_by_key(std::vector<ManifestRow> &rows) {
	std::stable_sort(rows.begin(), rows.end(), [](const ManifestRow &a, const ManifestRow &b) { return key(a) < key(b); });
}

}  // namespace

Problem manifest_row_problem(const ManifestRow &row) {
	auto named = [](const char *column, Problem p) -> Problem {
		if (p) return std::string(column) + " " + *p;
		return std::nullopt;
	};
	if (Problem p = named("repo_type", repo_type_problem(row.repo_type))) return p;
	if (Problem p = named("repo_id", repo_id_problem(row.repo_id))) return p;
	if (Problem p = named("revision", revision_problem(row.revision))) return p;
	for (const auto &ref : row.refs)
		if (Problem p = named("ref", ref_problem(ref))) return *p + " (" + shown(ref) + ")";
	if (Problem p = named("path", path_problem(row.path))) return p;
	if (Problem p = named("blob", blob_problem(row.blob))) return p;
	return named("size", size_problem(row.size));
}

std::vector<ManifestRow> healthy_rows(const Scan &scan, size_t *unhealthy, std::vector<RefusedEntry> *refused) {
	std::vector<ManifestRow> out;
	size_t bad = 0;
	for (const auto &folder : scan.refused_folders) {
		RefusedEntry e;
		e.row.repo_type = folder.type;
		e.row.repo_id = folder.name;
		e.folder = true;
		e.reason = "not a valid repo folder name: " + folder.why;
		e.label = folder.type + " folder " + shown(folder.name);
		if (refused) refused->push_back(std::move(e));
	}
	for (const auto &f : scan.files) {
		bool named_badly = f.status == kInvalidName;
		if (!named_badly && (f.status != kOk || !f.revision || !f.path || !f.blob || f.size < 0)) {
			++bad;
			continue;
		}
		ManifestRow row{f.repo_type, f.repo_id, f.revision.value_or(""), f.refs, f.path.value_or(""),
						f.blob.value_or(""), f.size};
		Problem p = manifest_row_problem(row);
		if (!p && named_badly) p = "path breaks the rules";  // the scan and this function share them: not reached
		if (p) {
			std::string label = row.repo_type + " " + shown(row.repo_id) + " revision " + shown(row.revision) +
								" path " + shown(row.path);
			if (refused) refused->push_back(RefusedEntry{std::move(row), false, std::move(*p), std::move(label)});
			continue;
		}
		out.push_back(std::move(row));
	}
	if (unhealthy) *unhealthy = bad;
	return out;
}

ManifestDiff diff_manifest(std::vector<ManifestRow> published, std::vector<ManifestRow> wanted) {
	sort_by_key(published);
	sort_by_key(wanted);
	ManifestDiff d;
	size_t i = 0, j = 0;
	while (i < published.size() || j < wanted.size()) {
		if (j == wanted.size() || (i < published.size() && key(published[i]) < key(wanted[j]))) {
			d.deletes.push_back(std::move(published[i++]));
		} else if (i == published.size() || key(wanted[j]) < key(published[i])) {
			// A key twice in the scan cannot happen (paths are unique per
			// snapshot); keep the first so the INSERTs cannot collide.
			if (d.inserts.empty() || key(d.inserts.back()) != key(wanted[j])) d.inserts.push_back(std::move(wanted[j]));
			++j;
		} else {
			if (same_content(published[i], wanted[j]))
				++d.unchanged;
			else
				d.updates.push_back(std::move(wanted[j]));
			++i;
			++j;
			// Skip duplicates of the key just matched.
			while (j < wanted.size() && key(wanted[j]) == key(published[i - 1])) ++j;
		}
	}
	return d;
}

CacheComparison compare_with_cache(const std::vector<ManifestRow> &published, const Scan &scan) {
	using File = std::tuple<std::string, std::string, std::optional<std::string>, std::optional<std::string>,
							std::optional<std::string>>;
	std::set<File> table, cache;
	CacheComparison c;
	c.manifest_files = published.size();
	for (const ManifestRow &r : published) table.emplace(r.repo_type, r.repo_id, r.revision, r.path, r.blob);
	for (const FileRow &f : scan.files) {
		if (f.status == kInvalidName) ++c.cache_invalid_names;
		if (f.status != kOk) continue;
		++c.cache_files;
		cache.emplace(f.repo_type, f.repo_id, f.revision, f.path, f.blob);
	}
	for (const File &t : table) c.manifest_not_in_cache += cache.count(t) == 0;
	for (const File &f : cache) c.cache_not_in_manifest += table.count(f) == 0;
	return c;
}

}  // namespace pgmlr::hf
