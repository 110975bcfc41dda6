// Implements hf_fetch/plan.hpp; what it is for is said at the top of that header.
#include "common/core_only.hpp"
#include "hf_fetch/plan.hpp"

#include <map>
#include <set>
#include <tuple>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hf_cache/checksum.hpp"

namespace pgmlr::hf_fetch {
namespace {

// Finds the repos whose rows contradict each other: folder -> the reason.
std::map<std::string, std::string> conflicting_repos(const std::vector<Row> &rows) {
	std::map<std::string, std::string> bad;
	std::map<std::tuple<std::string, std::string, std::string>, std::string> path_blob;  // folder, revision, path
	std::map<std::pair<std::string, std::string>, int64_t> blob_size;                   // folder, blob
	std::map<std::pair<std::string, std::string>, std::string> ref_commit;              // folder, ref
	auto refuse = [&bad](const std::string &folder, std::string why) {
		bad.emplace(folder, "conflicting manifest rows: " + why + "; every row of this repo is refused");
	};
	for (const Row &row : rows) {
		std::string folder = repo_folder_name(row);
		for (const std::string &ref : row.refs) {
			if (ref.empty()) continue;
			auto [it, added] = ref_commit.emplace(std::make_pair(folder, ref), row.revision);
			if (!added && it->second != row.revision)
				refuse(folder, "ref " + hf::shown(ref) + " names two commits, " + it->second + " and " + row.revision);
		}
		auto [pit, new_path] = path_blob.emplace(std::make_tuple(folder, row.revision, row.path), row.blob);
		if (!new_path && pit->second != row.blob)
			refuse(folder, "path " + hf::shown(row.path) + " of revision " + row.revision + " names two blobs");
		auto [bit, new_blob] = blob_size.emplace(std::make_pair(folder, row.blob), row.size);
		if (!new_blob && bit->second != row.size)
			refuse(folder, "blob " + row.blob + " has two sizes");
	}
	return bad;
}

bool read_small_file(const std::string &path, std::string *out) {
	int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) return false;
	char buf[128];
	ssize_t n = read(fd, buf, sizeof buf);
	close(fd);
	if (n < 0) return false;
	out->assign(buf, static_cast<size_t>(n));
	return true;
}

}  // namespace

Result<Plan> make_plan(const std::vector<Row> &rows, const std::string &root, bool verify_present) {
	Plan plan;
	std::map<std::pair<std::string, std::string>, size_t> blob_index;   // folder, blob
	std::map<std::pair<std::string, std::string>, size_t> group_index;  // folder, revision
	std::set<std::tuple<std::string, std::string, std::string>> paths;  // folder, revision, path
	std::set<std::pair<std::string, std::string>> refs_seen;              // folder, ref
	std::map<std::string, std::string> bad = conflicting_repos(rows);

	for (const Row &row : rows) {
		std::string folder = repo_folder_name(row);
		if (auto b = bad.find(folder); b != bad.end()) {
			plan.refused.push_back(RefusedRow{row, b->second});
			continue;
		}

		// Refs first: a repeated file may bring other refs of its revision.
		auto [git, new_group] = group_index.emplace(std::make_pair(folder, row.revision), plan.groups.size());
		if (new_group) plan.groups.push_back(Group{folder, row.revision, 0, false, false});
		size_t gi = git->second;

		for (const std::string &ref : row.refs) {
			if (ref.empty() || !refs_seen.emplace(folder, ref).second) continue;
			std::string current;
			if (!read_small_file(root + "/" + folder + "/refs/" + ref, &current) || current != row.revision)
				plan.refs.push_back(RefTask{folder, ref, row.revision, gi});
		}

		if (!paths.emplace(folder, row.revision, row.path).second) continue;  // the same file again

		auto [bit, new_blob] = blob_index.emplace(std::make_pair(folder, row.blob), plan.blobs.size());
		if (new_blob) {
			BlobTask b;
			b.folder = folder;
			b.blob = row.blob;
			b.size = row.size;
			b.source = row;
			std::string p = root + "/" + folder + "/blobs/" + row.blob;
			struct stat sb;
			// stat, not lstat: huggingface_hub 1.x may make blobs/<blob> a link
			// into its cross-repo store; the content is what counts.
			if (stat(p.c_str(), &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size == row.size) {
				if (verify_present) {
					Result<bool> ok = hf::file_matches_blob(p, row.blob, row.size);
					if (!ok) return ok.error();
					b.present = *ok;
				} else {
					b.present = true;
				}
			}
			plan.blobs.push_back(std::move(b));
		}
		size_t bi = bit->second;

		std::string link_path = folder + "/snapshots/" + row.revision + "/" + row.path;
		struct stat sb;
		if (lstat((root + "/" + link_path).c_str(), &sb) == 0) continue;  // never replace what exists
		size_t slash = link_path.rfind('/');
		LinkTask l;
		l.dir = link_path.substr(0, slash);
		l.name = link_path.substr(slash + 1);
		l.target = symlink_target(row.path, row.blob);
		l.blob = bi;
		l.group = gi;
		plan.blobs[bi].links.push_back(plan.links.size());
		plan.groups[gi].links_pending++;
		plan.links.push_back(std::move(l));
	}
	return plan;
}

}  // namespace pgmlr::hf_fetch
