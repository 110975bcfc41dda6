// Implements hf_cache/extras.hpp; what it is for is said at the top of that header.
#include "common/core_only.hpp"
#include "hf_cache/extras.hpp"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "common/unique_fd.hpp"
#include "hf_cache/layout.hpp"

namespace pgmlr::hf {

namespace {

constexpr char kJson[] = ".json";

// A folder opened from its parent without following a link: -1 (errno set)
// when it is missing, a link or not a folder.
UniqueFd open_dir_at(int parent, const std::string &name) {
	return UniqueFd(::openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
}

// The names in the folder fd (not "." and ".."), sorted; the descriptor is
// duplicated, so fd stays open. false when it cannot be read.
bool dir_names(int fd, std::vector<std::string> *out) {
	int dup_fd = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (dup_fd < 0) return false;
	DIR *d = ::fdopendir(dup_fd);
	if (!d) {
		::close(dup_fd);
		return false;
	}
	while (struct dirent *e = ::readdir(d)) {
		std::string n = e->d_name;
		if (n != "." && n != "..") out->push_back(std::move(n));
	}
	::closedir(d);
	std::sort(out->begin(), out->end());
	return true;
}

// lstat of name in folder fd: its type without following a link.
mode_t entry_type(int fd, const std::string &name) {
	struct stat st {};
	if (::fstatat(fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return 0;
	return st.st_mode & S_IFMT;
}

// Collects what one repo folder holds; skips are counted per kind and said
// once each at the end, with the first example.
class Lister {
public:
	Lister(std::string folder, RepoExtras *out) : folder_(std::move(folder)), out_(out) {}

	Status trees(int repo_fd) {
		UniqueFd trees = open_dir_at(repo_fd, "trees");
		if (trees.get() < 0) return not_there("trees", repo_fd);
		std::vector<std::string> names;
		if (!dir_names(trees.get(), &names)) return unreadable("tree", "trees");
		for (const std::string &n : names) {
			// A replica's temp file (hf_fetch/extras_write.cpp) left by a crash.
			if (n[0] == '.') continue;
			const size_t stem = n.size() >= sizeof kJson - 1 ? n.size() - (sizeof kJson - 1) : 0;
			if (n.size() < sizeof kJson || n.compare(stem, std::string::npos, kJson) != 0 ||
				!is_commit_hash(std::string_view(n).substr(0, stem))) {
				skip("tree", "trees/" + n, "is not named <40-hex commit>.json");
				continue;
			}
			if (Status st = read_tree(trees.get(), n, n.substr(0, stem))) return st;
		}
		return {};
	}

	Status markers(int repo_fd) {
		UniqueFd top = open_dir_at(repo_fd, ".no_exist");
		if (top.get() < 0) return not_there(".no_exist", repo_fd);
		std::vector<std::string> commits;
		if (!dir_names(top.get(), &commits)) return unreadable("marker", ".no_exist");
		for (const std::string &c : commits) {
			const std::string rel = ".no_exist/" + c;
			if (!is_commit_hash(c)) {
				skip("marker", rel, "is not named after a 40-hex commit");
				continue;
			}
			UniqueFd cfd = open_dir_at(top.get(), c);
			if (cfd.get() < 0) {
				skip("marker", rel, "is a link or not a folder");
				continue;
			}
			if (Status st = walk(cfd.get(), c, "", 0)) return st;
		}
		return {};
	}

	void finish() {
		for (auto &s : skips_)
			out_->warnings.push_back(folder_ + ": skipped " + std::to_string(s.count) + " " + s.what +
									 (s.count == 1 ? "" : "s") + ", e.g. " + s.example + ", which " + s.why);
		if (capped_)
			out_->warnings.push_back(folder_ + ": listed only the first " + std::to_string(kMaxMarkersPerRepo) +
									 " .no_exist markers");
	}

private:
	struct Skip {
		std::string what, why, example;
		size_t count = 0;
	};

	void skip(const std::string &what, const std::string &rel, const std::string &why) {
		for (auto &s : skips_)
			if (s.what == what && s.why == why) {
				++s.count;
				return;
			}
		skips_.push_back(Skip{what, why, shown(rel), 1});  // shown() quotes it
	}

	Status not_there(const char *name, int repo_fd) {
		mode_t t = entry_type(repo_fd, name);
		if (t != 0) skip(std::string(name) == "trees" ? "tree" : "marker", name, "is a link or not a folder");
		return {};
	}

	// An entry that cannot be read (permissions, I/O) is skipped with a
	// warning: the rest of the cache is still served.
	Status unreadable(const std::string &what, const std::string &rel) {
		skip(what, rel, std::string("could not be read: ") + std::strerror(errno));
		return {};
	}

	Status read_tree(int trees_fd, const std::string &file, const std::string &commit) {
		const std::string rel = "trees/" + file;
		// O_NONBLOCK: a FIFO planted under the name must not hang the open.
		UniqueFd fd(::openat(trees_fd, file.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
		struct stat st {};
		if (fd.get() < 0 || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
			if (fd.get() < 0 && errno != ELOOP && errno != ENOENT) return unreadable("tree", rel);
			skip("tree", rel, "is a link or not a regular file");
			return {};
		}
		if (st.st_size > kMaxTreeFileBytes) {
			skip("tree", rel, "is larger than " + std::to_string(kMaxTreeFileBytes >> 20) + " MiB");
			return {};
		}
		std::string content(static_cast<size_t>(st.st_size), '\0');
		size_t done = 0;
		while (done < content.size()) {
			ssize_t n = ::pread(fd.get(), &content[done], content.size() - done, static_cast<off_t>(done));
			if (n < 0 && errno == EINTR) continue;
			if (n < 0) return unreadable("tree", rel);
			if (n == 0) break;  // shrank while read: what was there
			done += static_cast<size_t>(n);
		}
		content.resize(done);
		out_->items.push_back(Extra{ExtraKind::tree, commit, std::move(content)});
		return {};
	}

	// Markers in folder fd, which is .no_exist/<commit>/<prefix> (prefix ""
	// or ending in "/"), depth folders below the commit's.
	Status walk(int fd, const std::string &commit, const std::string &prefix, int depth) {
		std::vector<std::string> names;
		if (!dir_names(fd, &names)) return unreadable("marker", ".no_exist/" + commit + "/" + prefix);
		for (const std::string &n : names) {
			if (capped_) return {};
			const std::string path = prefix + n;
			const std::string rel = ".no_exist/" + commit + "/" + path;
			mode_t t = entry_type(fd, n);
			if (t == S_IFDIR) {
				if (depth + 1 >= kMaxMarkerDepth) {
					skip("marker", rel, "is more than " + std::to_string(kMaxMarkerDepth) + " folders deep");
					continue;
				}
				UniqueFd sub = open_dir_at(fd, n);
				if (sub.get() < 0) {
					skip("marker", rel, "could not be opened as a folder");
					continue;
				}
				if (Status st = walk(sub.get(), commit, path + "/", depth + 1)) return st;
			} else if (t != S_IFREG) {
				skip("marker", rel, "is a link or not a regular file");
			} else if (extra_name_problem(ExtraKind::no_exist, commit + "/" + path)) {
				skip("marker", rel, "names a path the Hub never serves");
			} else if (markers_ >= kMaxMarkersPerRepo) {
				capped_ = true;
			} else {
				out_->items.push_back(Extra{ExtraKind::no_exist, commit + "/" + path, {}});
				++markers_;
			}
		}
		return {};
	}

	std::string folder_;
	RepoExtras *out_;
	std::vector<Skip> skips_;
	size_t markers_ = 0;
	bool capped_ = false;
};

}  // namespace

const char *extra_kind_name(ExtraKind kind) { return kind == ExtraKind::tree ? "tree" : "no_exist"; }

std::optional<ExtraKind> parse_extra_kind(std::string_view name) {
	if (name == "tree") return ExtraKind::tree;
	if (name == "no_exist") return ExtraKind::no_exist;
	return std::nullopt;
}

Problem extra_name_problem(ExtraKind kind, std::string_view name) {
	if (kind == ExtraKind::tree) {
		if (auto p = revision_problem(name)) return "must be a commit: the commit " + *p;
		return std::nullopt;
	}
	const size_t slash = name.find('/');
	if (slash == std::string_view::npos) return "must be <commit>/<path>";
	if (auto p = revision_problem(name.substr(0, slash))) return "must start with a commit: the commit " + *p;
	if (auto p = path_problem(name.substr(slash + 1))) return "must end in a file path: the path " + *p;
	return std::nullopt;
}

std::string extra_rel_path(ExtraKind kind, std::string_view name) {
	if (kind == ExtraKind::tree) return "trees/" + std::string(name) + kJson;
	return ".no_exist/" + std::string(name);
}

Result<RepoExtras> list_repo_extras(const std::string &cache_root, std::string_view repo_type,
									std::string_view repo_id) {
	if (auto p = repo_type_problem(repo_type))
		return make_error(ErrCode::InvalidParameter, "invalid repo type " + shown(repo_type), "The repo type " + *p + ".");
	if (auto p = repo_id_problem(repo_id))
		return make_error(ErrCode::InvalidParameter, "invalid repo id " + shown(repo_id), "The repo id " + *p + ".");
	if (cache_root.empty() || cache_root[0] != '/')
		return make_error(ErrCode::ConfigFile, "the cache folder is not an absolute path", shown(cache_root),
						  "Set pgml_replication.hf_cache_dir to an absolute path.");
	RepoExtras out;
	UniqueFd root(::open(cache_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
	if (root.get() < 0) {
		if (errno == ENOENT) return out;
		return make_error(ErrCode::Io, "could not open the cache folder \"" + cache_root + "\": " + std::strerror(errno));
	}
	const std::string folder = repo_folder_name(repo_type, repo_id);
	UniqueFd repo = open_dir_at(root.get(), folder);
	if (repo.get() < 0) {
		if (errno == ENOENT) return out;
		if (errno == ELOOP || errno == ENOTDIR)
			return make_error(ErrCode::Permission, "refusing to read through \"" + folder + "\"",
							  "It is a symbolic link or not a folder; extras are read only from real folders of the cache.",
							  "Make the cache's repo folders real folders (as huggingface_hub creates them).");
		return make_error(ErrCode::Io, "could not open folder \"" + join_path(cache_root, folder) + "\": " +
										   std::strerror(errno));
	}
	Lister lister(folder, &out);
	if (Status st = lister.trees(repo.get())) return *st;
	if (Status st = lister.markers(repo.get())) return *st;
	lister.finish();
	return out;
}

}  // namespace pgmlr::hf
