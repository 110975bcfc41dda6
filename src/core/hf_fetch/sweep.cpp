// Implements hf_fetch/sweep.hpp; what it is for is said at the top of that header.
#include "common/core_only.hpp"
#include "hf_fetch/sweep.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vector>

#include "hf_fetch/fs.hpp"
#include "hf_fetch/range_set.hpp"
#include "hf_cache/names.hpp"
#include "common/text.hpp"

namespace pgmlr::hf_fetch {
namespace {

// The names in the folder open at fd (which the listing takes over).
std::vector<std::string> names_in(int fd) {
	std::vector<std::string> out;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return out;
	}
	while (struct dirent *e = readdir(d)) out.emplace_back(e->d_name);
	closedir(d);
	return out;
}

int open_dir_at(int at, const std::string &name) {
	return openat(at, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

}  // namespace

int64_t remove_stale_partials(const std::string &root, const std::set<std::pair<std::string, std::string>> &wanted,
							  std::string_view suffix) {
	int64_t removed = 0;
	int root_fd = open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0) return 0;
	int list_fd = dup(root_fd);
	for (const std::string &folder : list_fd >= 0 ? names_in(list_fd) : std::vector<std::string>{}) {
		if (!hf::parse_repo_folder(folder)) continue;
		int folder_fd = open_dir_at(root_fd, folder);
		if (folder_fd < 0) continue;
		int blobs_fd = open_dir_at(folder_fd, "blobs");
		close(folder_fd);
		if (blobs_fd < 0) continue;
		int blobs_list_fd = dup(blobs_fd);
		for (const std::string &name : blobs_list_fd >= 0 ? names_in(blobs_list_fd) : std::vector<std::string>{}) {
			// A ranged download's sidecar (and its temporary) goes with the partial file.
			std::string_view matched;
			for (std::string_view sfx : {suffix, std::string_view(kRangesSuffix), std::string_view(kRangesTempSuffix)})
				if (name.size() > sfx.size() && ends_with(name, sfx)) matched = sfx;
			if (matched.empty()) continue;
			std::string blob = name.substr(0, name.size() - matched.size());
			if (!hf::is_blob_name(blob) || wanted.count({folder, blob})) continue;
			if (make_dirs(root, ".locks/" + folder)) continue;
			BlobLock lock;
			bool busy = false;
			if (lock.try_acquire(root + "/.locks/" + folder + "/" + blob + ".lock", &busy) || busy) continue;
			struct stat st;
			// Under the lock no writer of ours has the file open; a folder of
			// that name is left alone.
			if (fstatat(blobs_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode) &&
				unlinkat(blobs_fd, name.c_str(), 0) == 0 && matched == suffix)
				++removed;
		}
		close(blobs_fd);
	}
	close(root_fd);
	return removed;
}

}  // namespace pgmlr::hf_fetch
