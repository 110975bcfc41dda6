#include "core_only.hpp"
#include "hf_fetch_plan.hpp"

#include <map>
#include <tuple>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hf_fetch_hash.hpp"

namespace pgmlr::hf_fetch {
namespace {

Error conflict(const std::string &what, const Row &row) {
	return make_error(PGMLR_ERR_INVALID_PARAMETER, "conflicting manifest rows: " + what,
					  "Repository \"" + row.repo_id + "\", revision " + row.revision + ", path \"" + row.path + "\".",
					  "Each path of a revision names one blob, each blob one size, each ref one commit.");
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
	std::map<std::tuple<std::string, std::string, std::string>, std::string> path_blob;
	std::map<std::pair<std::string, std::string>, std::string> ref_commit;

	for (const Row &row : rows) {
		std::string folder = repo_folder_name(row);

		// Refs first: the same file arrives once per ref naming its revision.
		auto [git, new_group] = group_index.emplace(std::make_pair(folder, row.revision), plan.groups.size());
		if (new_group) plan.groups.push_back(Group{folder, row.revision, 0, false, false});
		size_t gi = git->second;

		if (!row.ref.empty()) {
			auto [rit, new_ref] = ref_commit.emplace(std::make_pair(folder, row.ref), row.revision);
			if (!new_ref && rit->second != row.revision) return conflict("one ref with two commits", row);
			if (new_ref) {
				std::string current;
				if (!read_small_file(root + "/" + folder + "/refs/" + row.ref, &current) || current != row.revision)
					plan.refs.push_back(RefTask{folder, row.ref, row.revision, gi});
			}
		}

		auto pkey = std::make_tuple(folder, row.revision, row.path);
		auto pit = path_blob.find(pkey);
		if (pit != path_blob.end()) {
			if (pit->second != row.blob) return conflict("one path with two blobs", row);
			continue;  // a duplicate row
		}
		path_blob.emplace(pkey, row.blob);

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
					Result<bool> ok = file_matches_blob(p, row.blob, row.size);
					if (!ok) return ok.error();
					b.present = *ok;
				} else {
					b.present = true;
				}
			}
			plan.blobs.push_back(std::move(b));
		} else if (plan.blobs[bit->second].size != row.size) {
			return conflict("one blob with two sizes", row);
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
