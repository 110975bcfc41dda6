#include "core_only.hpp"
#include "hf_manifest.hpp"

#include <algorithm>
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

std::vector<ManifestRow> healthy_rows(const Scan &scan, size_t *unhealthy) {
	std::vector<ManifestRow> out;
	size_t bad = 0;
	for (const auto &f : scan.files) {
		if (f.status != kOk || !f.revision || !f.path || !f.blob || f.size < 0) {
			++bad;
			continue;
		}
		out.push_back(ManifestRow{f.repo_type, f.repo_id, *f.revision, f.refs, *f.path, *f.blob, f.size});
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

}  // namespace pgmlr::hf
