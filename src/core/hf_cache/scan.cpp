// Implements hf_cache/scan.hpp; what it is for is said at the top of that header.
#include "common/core_only.hpp"
#include "hf_cache/scan.hpp"

#include "hf_cache/layout.hpp"
#include "common/quiet_thread.hpp"
#include "common/text.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <iterator>
#include <map>
#include <set>
#include <thread>
#include <tuple>
#include <utility>

namespace pgmlr::hf {

namespace {

constexpr int kMaxDepth = 64;
constexpr size_t kParallelScanMin = 16;  // root entries; fewer are not worth a thread

std::string errno_text(int e) { return std::strerror(e); }

struct DirEntry {
	std::string name;
	struct stat st;
	bool stat_ok;
	int err;
};

// An open folder; its descriptor anchors the *at() calls on its entries.
class Dir {
public:
	Dir() = default;
	~Dir() {
		if (d_) closedir(d_);
	}
	Dir(const Dir &) = delete;
	Dir &operator=(const Dir &) = delete;

	// at/name as for openat(); *err is errno when it fails.
	bool open(int at, const char *name, int flags, int *err) {
		int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | flags);
		if (fd < 0) {
			*err = errno;
			return false;
		}
		d_ = fdopendir(fd);
		if (!d_) {
			*err = errno;
			::close(fd);
			return false;
		}
		return true;
	}

	int fd() const { return dirfd(d_); }

	// Sorted entries. Only regular files (whose size and identity rows
	// need) and entries of unknown type are stat'ed; the others get their
	// type from the folder itself. want_stat narrows it further.
	std::vector<DirEntry> entries(bool (*want_stat)(const char *name) = nullptr) {
		std::vector<DirEntry> out;
		while (struct dirent *e = readdir(d_)) {
			if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
			DirEntry de;
			de.name = e->d_name;
			de.err = 0;
			if (want_stat && !want_stat(e->d_name)) {
				de.stat_ok = false;
				out.push_back(std::move(de));
				continue;
			}
			if (e->d_type != DT_UNKNOWN && e->d_type != DT_REG) {
				std::memset(&de.st, 0, sizeof de.st);
				de.st.st_mode = DTTOIF(e->d_type);
				de.stat_ok = true;
			} else {
				de.stat_ok = fstatat(fd(), e->d_name, &de.st, AT_SYMLINK_NOFOLLOW) == 0;
				if (!de.stat_ok) de.err = errno;
			}
			out.push_back(std::move(de));
		}
		std::sort(out.begin(), out.end(), [](const DirEntry &a, const DirEntry &b) { return a.name < b.name; });
		return out;
	}

private:
	DIR *d_ = nullptr;
};

// Sorted listing of a folder named by its absolute path; nullopt (and
// errno) when the folder cannot be opened.
std::optional<std::vector<DirEntry>> list_dir(const std::string &abs, int *err,
											  bool (*want_stat)(const char *name) = nullptr) {
	Dir d;
	if (!d.open(AT_FDCWD, abs.c_str(), 0, err)) return std::nullopt;
	return d.entries(want_stat);
}

// The text of the link name in folder dir_fd; false when it cannot be read
// in one go.
bool read_link_at(int dir_fd, const char *name, std::string *out) {
	char buf[4096];
	ssize_t n = readlinkat(dir_fd, name, buf, sizeof buf);
	if (n <= 0 || static_cast<size_t>(n) >= sizeof buf) return false;
	out->assign(buf, static_cast<size_t>(n));
	return true;
}

class Scanner {
public:
	Scanner(Scan &scan, int root_fd) : s_(scan), real_dirs_(root_fd) {}

	void notice(std::string msg) {
		if (s_.notices.size() < kMaxNotices)
			s_.notices.push_back(std::move(msg));
		else
			++suppressed_;
	}

	void finish_notices() {
		if (suppressed_)
			s_.notices.push_back(std::to_string(suppressed_) + " more notices about the cache were not shown");
	}

	// Scans the root's entries [begin, end) into this scanner's Scan.
	void scan_entries(const std::vector<DirEntry> &entries, size_t begin, size_t end) {
		for (size_t i = begin; i < end; ++i) {
			const DirEntry &e = entries[i];
			// Bookkeeping of huggingface_hub, and the 1.x cross-repo blob store
			// (reached through the repos' own blob links).
			if (e.name == ".locks" || e.name == "CACHEDIR.TAG" || e.name == "blobs" || e.name[0] == '.') continue;
			std::string why;
			auto repo = parse_repo_folder(e.name, &why);
			if (!repo) {
				// huggingface_hub would misread such a name (split at the first
				// "--", then every "--" a "/"); it is nothing a download writes.
				if (e.name.find("--") != std::string::npos)
					notice("skipped cache folder " + shown(e.name) + ": not a valid repo folder name: " + why);
				if (auto type = repo_folder_type(e.name)) s_.refused_folders.push_back(RefusedFolder{e.name, *type, why});
				continue;
			}
			if (!e.stat_ok || !S_ISDIR(e.st.st_mode)) {
				notice("skipped cache entry \"" + e.name + "\": not a folder");
				continue;
			}
			scan_repo(e.name, *repo);
		}
	}

	// Appends what a scanner of the entries after this one's found, as if
	// this scanner had gone on: same row order, same notice limit.
	void append(Scanner &later) {
		Scan &o = later.s_;
		s_.files.insert(s_.files.end(), std::make_move_iterator(o.files.begin()), std::make_move_iterator(o.files.end()));
		s_.repos.insert(s_.repos.end(), std::make_move_iterator(o.repos.begin()), std::make_move_iterator(o.repos.end()));
		s_.refused_folders.insert(s_.refused_folders.end(), std::make_move_iterator(o.refused_folders.begin()),
								  std::make_move_iterator(o.refused_folders.end()));
		for (auto &n : o.notices) notice(std::move(n));
		suppressed_ += later.suppressed_;
	}

private:
	Scan &s_;
	size_t suppressed_ = 0;
	KnownDirs known_dirs_;
	RealDirs real_dirs_;

	std::string label(const RepoName &r) const { return r.type + " " + r.id; }

	void read_refs(const std::string &dir_rel, const std::string &prefix, const RepoName &repo, int depth,
				   std::map<std::string, std::vector<std::string>> &refs) {
		int err = 0;
		auto entries = list_dir(join_path(s_.root, dir_rel), &err);
		if (!entries) {
			if (err != ENOENT) notice("cannot read refs of " + label(repo) + ": " + errno_text(err));
			return;
		}
		for (const auto &e : *entries) {
			std::string ref = prefix.empty() ? e.name : prefix + "/" + e.name;
			std::string rel = dir_rel + "/" + e.name;
			if (e.stat_ok && S_ISDIR(e.st.st_mode)) {
				if (depth < kMaxDepth) read_refs(rel, ref, repo, depth + 1, refs);
				continue;
			}
			if (!e.stat_ok || !S_ISREG(e.st.st_mode)) {
				notice("ignored ref \"" + ref + "\" of " + label(repo) + ": not a regular file");
				continue;
			}
			if (Problem p = ref_problem(ref)) {
				notice("ignored ref " + shown(ref) + " of " + label(repo) + ": the name " + *p);
				continue;
			}
			int fd = open(join_path(s_.root, rel).c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			if (fd < 0) {
				notice("cannot read ref \"" + ref + "\" of " + label(repo) + ": " + errno_text(errno));
				continue;
			}
			char buf[128];
			ssize_t n = read(fd, buf, sizeof buf);
			close(fd);
			std::string content(buf, n > 0 ? static_cast<size_t>(n) : 0);
			if (is_commit_hash(content)) {
				refs[content].push_back(ref);
			} else if (content.size() > 40 && is_commit_hash(content.substr(0, 40)) &&
					   trim(content.substr(40)).empty()) {
				notice("ignored ref \"" + ref + "\" of " + label(repo) +
					   ": it ends with a newline, which huggingface_hub cannot resolve offline");
			} else {
				notice("ignored ref \"" + ref + "\" of " + label(repo) + ": it does not hold a 40-hex commit");
			}
		}
	}

	void scan_repo(const std::string &folder, const RepoName &repo) {
		std::map<std::string, std::vector<std::string>> refs;
		read_refs(folder + "/refs", "", repo, 0, refs);
		for (auto &kv : refs) std::sort(kv.second.begin(), kv.second.end());

		RepoRow summary;
		summary.repo_type = repo.type;
		summary.repo_id = repo.id;
		size_t first_row = s_.files.size();
		std::set<std::string> snapshots;

		int err = 0;
		std::string snap_rel = folder + "/snapshots";
		std::string snap_abs = join_path(s_.root, snap_rel);
		Dir snap_dir;
		// A snapshots folder that is a link is still listed, as it always
		// was, but ".." from inside it is then no longer lexical.
		bool real_snapshots = snap_dir.open(AT_FDCWD, snap_abs.c_str(), O_NOFOLLOW, &err);
		bool opened = real_snapshots || ((err == ELOOP || err == ENOTDIR) && snap_dir.open(AT_FDCWD, snap_abs.c_str(), 0, &err));
		if (!opened) {
			if (err == ENOENT || err == ENOTDIR)
				notice(label(repo) + " has no snapshots folder");
			else
				notice("cannot read snapshots of " + label(repo) + ": " + errno_text(err));
		} else {
			for (const auto &e : snap_dir.entries()) {
				if (!is_commit_hash(e.name)) {
					notice("skipped snapshot \"" + e.name + "\" of " + label(repo) + ": not a 40-hex commit");
					continue;
				}
				if (!e.stat_ok || !S_ISDIR(e.st.st_mode)) {
					notice("skipped snapshot " + e.name + " of " + label(repo) + ": not a folder");
					continue;
				}
				snapshots.insert(e.name);
				++summary.revisions;
				auto it = refs.find(e.name);
				const std::vector<std::string> no_refs;
				Walk w{repo, e.name, it == refs.end() ? no_refs : it->second, real_snapshots};
				walk_snapshot(w, snap_dir.fd(), e.name, snap_rel + "/" + e.name, "", 0);
			}
		}
		for (const auto &kv : refs) {
			if (snapshots.count(kv.first)) {
				summary.refs.insert(summary.refs.end(), kv.second.begin(), kv.second.end());
				continue;
			}
			for (const auto &ref : kv.second)
				notice("ref \"" + ref + "\" of " + label(repo) + " points to commit " + kv.first +
					   ", which has no snapshot");
		}
		std::sort(summary.refs.begin(), summary.refs.end());

		scan_incomplete(folder, repo);

		// Blobs count once however many paths and revisions share them.
		std::set<std::pair<dev_t, ino_t>> seen;
		for (size_t i = first_row; i < s_.files.size(); ++i) {
			const FileRow &f = s_.files[i];
			if (f.content_rel.empty() || f.status == kIncomplete) continue;
			if (!seen.insert({f.dev, f.ino}).second) continue;
			++summary.files;
			summary.size_on_disk += f.size;
			if (!summary.last_modified || f.mtime > *summary.last_modified) summary.last_modified = f.mtime;
		}
		s_.repos.push_back(std::move(summary));
	}

	FileRow base_row(const RepoName &repo) {
		FileRow r;
		r.repo_type = repo.type;
		r.repo_id = repo.id;
		return r;
	}

	// What every row of one snapshot shares.
	struct Walk {
		const RepoName &repo;
		const std::string &commit;
		const std::vector<std::string> &refs;
		bool real_folders;  // every folder from the repo down is a real folder
	};

	// Walks folder name of parent_fd (dir_rel from the root). Folders are
	// opened with O_NOFOLLOW, so the walk never leaves through a link.
	void walk_snapshot(const Walk &w, int parent_fd, const std::string &name, const std::string &dir_rel,
					   const std::string &prefix, int depth) {
		int err = 0;
		Dir dir;
		if (!dir.open(parent_fd, name.c_str(), O_NOFOLLOW, &err)) {
			FileRow r = base_row(w.repo);
			r.revision = w.commit;
			r.refs = w.refs;
			r.path = prefix.empty() ? std::string(".") : prefix;
			r.status = kUnreadable;
			notice("cannot read folder \"" + *r.path + "\" of snapshot " + w.commit + " of " + label(w.repo) +
				   ": " + errno_text(err));
			s_.files.push_back(std::move(r));
			return;
		}
		for (const auto &e : dir.entries()) {
			std::string path = prefix.empty() ? e.name : prefix + "/" + e.name;
			if (!is_valid_utf8(e.name)) {
				notice("skipped a file of snapshot " + w.commit + " of " + label(w.repo) +
					   ": its name is not valid UTF-8");
				continue;
			}
			std::string rel = dir_rel + "/" + e.name;
			if (e.stat_ok && S_ISDIR(e.st.st_mode)) {
				if (depth < kMaxDepth)
					walk_snapshot(w, dir.fd(), e.name, rel, path, depth + 1);
				else
					notice("skipped folder \"" + path + "\" of " + label(w.repo) + ": nested too deep");
				continue;
			}
			FileRow r = base_row(w.repo);
			r.revision = w.commit;
			r.refs = w.refs;
			r.path = std::move(path);
			if (!e.stat_ok) {
				r.status = kUnreadable;
			} else if (S_ISREG(e.st.st_mode)) {
				// No-symlink mode: the content is here, its blob name unknown
				// until someone hashes it with the right algorithm.
				r.status = kNotASymlink;
				set_content(r, rel, e.st);
			} else if (S_ISLNK(e.st.st_mode)) {
				Resolved res;
				if (!w.real_folders || !resolve_fast(dir.fd(), dir_rel, e.name, &res))
					res = resolve_in_cache(s_.root, rel, kMaxLinks, &known_dirs_);
				classify_link(r, res);
			} else {
				r.status = kNotAFile;
			}
			if (Problem p = path_problem(*r.path)) {
				notice("file " + shown(*r.path) + " of snapshot " + w.commit + " of " + label(w.repo) +
					   " is not publishable: the path " + *p);
				r.status = kInvalidName;
			}
			s_.files.push_back(std::move(r));
		}
	}

	// The common case without resolve_in_cache's component walk: read the
	// link once, work out its target lexically (the folders holding it are
	// real), and stat the target in a real folder reached with O_NOFOLLOW.
	// Follows further links the same way (the 1.x blob store). Returns
	// false, having decided nothing, for anything unusual; resolve_in_cache
	// then gives the answer, so both always agree.
	bool resolve_fast(int dir_fd, const std::string &dir_rel, const std::string &name, Resolved *res) {
		std::string target;
		if (!read_link_at(dir_fd, name.c_str(), &target)) return false;
		res->first_target = target;
		res->links_followed = 1;
		std::string link_dir = dir_rel;
		for (;;) {
			auto rel = lexical_link_target(s_.root, link_dir, target);
			if (!rel) return false;
			size_t slash = rel->rfind('/');
			std::string parent = slash == std::string::npos ? std::string() : rel->substr(0, slash);
			const char *base = rel->c_str() + (slash == std::string::npos ? 0 : slash + 1);
			int parent_fd = real_dirs_.get(parent);
			if (parent_fd < 0) return false;
			if (fstatat(parent_fd, base, &res->st, AT_SYMLINK_NOFOLLOW) != 0) {
				if (errno != ENOENT) return false;
				res->errno_value = ENOENT;
				res->result = Resolve::missing;
				res->rel = std::move(*rel);
				return true;
			}
			if (!S_ISLNK(res->st.st_mode)) {
				res->result = Resolve::ok;
				res->rel = std::move(*rel);
				return true;
			}
			if (res->links_followed >= kMaxLinks || !read_link_at(parent_fd, base, &target)) return false;
			++res->links_followed;
			link_dir = std::move(parent);
		}
	}

	static void set_content(FileRow &r, const std::string &rel, const struct stat &st) {
		r.content_rel = rel;
		r.size = static_cast<int64_t>(st.st_size);
		r.dev = st.st_dev;
		r.ino = st.st_ino;
		r.mtime = static_cast<int64_t>(st.st_mtime);
	}

	static void classify_link(FileRow &r, const Resolved &res) {
		std::string name;
		if (!res.first_target.empty()) {
			size_t slash = res.first_target.rfind('/');
			name = slash == std::string::npos ? res.first_target : res.first_target.substr(slash + 1);
		}
		switch (res.result) {
			case Resolve::ok:
				if (!S_ISREG(res.st.st_mode)) {
					r.status = kNotAFile;
					break;
				}
				r.blob = name;
				r.status = is_blob_name(name) ? kOk : kBadBlobName;
				set_content(r, res.rel, res.st);
				break;
			case Resolve::missing:
				if (!name.empty()) r.blob = name;
				r.status = kMissingBlob;
				break;
			case Resolve::broken:
			case Resolve::too_many_links:
				if (!name.empty()) r.blob = name;
				r.status = kBrokenSymlink;
				break;
			case Resolve::outside:
				r.status = kOutside;
				break;
			case Resolve::unreadable:
				r.status = kUnreadable;
				break;
		}
	}

	// Downloads that never finished: blobs/<blob>.incomplete (0.27) and
	// blobs/<blob>.<8hex>.incomplete (1.x).
	void scan_incomplete(const std::string &folder, const RepoName &repo) {
		int err = 0;
		// Only partial downloads matter here; blobs are stat'ed through links.
		auto entries = list_dir(join_path(s_.root, folder + "/blobs"), &err, [](const char *name) {
			return ends_with(name, ".incomplete");
		});
		if (!entries) return;
		for (const auto &e : *entries) {
			if (!ends_with(e.name, ".incomplete")) continue;
			std::string stem = e.name.substr(0, e.name.size() - std::strlen(".incomplete"));
			size_t dot = stem.rfind('.');
			if (dot != std::string::npos && stem.size() - dot - 1 == 8 && is_hex(stem.substr(dot + 1)))
				stem.resize(dot);
			FileRow r = base_row(repo);
			r.blob = stem;
			r.status = kIncomplete;
			if (e.stat_ok && S_ISREG(e.st.st_mode)) r.size = static_cast<int64_t>(e.st.st_size);
			s_.files.push_back(std::move(r));
		}
	}
};

}  // namespace

Result<Scan> scan_cache(const std::string &cache_dir) {
	if (cache_dir.empty() || cache_dir[0] != '/')
		return make_error(ErrCode::InvalidParameter, "cache folder must be an absolute path",
						  "The cache folder given was \"" + cache_dir + "\".",
						  "Pass an absolute path, or set pgml_replication.hf_cache_dir.");
	Scan scan;
	char *real = realpath(cache_dir.c_str(), nullptr);
	if (!real) {
		int e = errno;
		if (e == ENOENT) {
			scan.notices.push_back("HuggingFace cache folder \"" + cache_dir + "\" does not exist");
			scan.found = false;
			return scan;
		}
		return make_error(e == EACCES ? ErrCode::Permission : ErrCode::Io,
						  "could not open HuggingFace cache folder \"" + cache_dir + "\"",
						  "The server process got: " + errno_text(e) + ".",
						  "Make the folder and its parents readable and searchable by the operating system "
						  "user that runs PostgreSQL.");
	}
	scan.root = real;
	std::free(real);

	int err = 0;
	Dir root_dir;
	if (!root_dir.open(AT_FDCWD, scan.root.c_str(), 0, &err)) {
		if (err == ENOTDIR)
			return make_error(ErrCode::InvalidParameter,
							  "HuggingFace cache folder \"" + cache_dir + "\" is not a folder", "",
							  "Point it at the hub folder, for example ~/.cache/huggingface/hub.");
		return make_error(err == EACCES ? ErrCode::Permission : ErrCode::Io,
						  "could not read HuggingFace cache folder \"" + cache_dir + "\"",
						  "The server process got: " + errno_text(err) + ".",
						  "Make the folder readable and searchable by the operating system user that runs "
						  "PostgreSQL.");
	}
	// The scan is system calls, one folder after another: with two cores,
	// two threads over the two halves of the repo folders take about half
	// the time. Repos are independent; the halves are merged in order.
	std::vector<DirEntry> entries = root_dir.entries();
	Scanner first(scan, root_dir.fd());
	size_t mid = entries.size() >= kParallelScanMin && std::thread::hardware_concurrency() > 1 ? entries.size() / 2 : entries.size();
	if (mid < entries.size()) {
		Scan rest;
		rest.root = scan.root;
		Scanner second(rest, root_dir.fd());
		std::exception_ptr failed;
		std::thread helper = start_quiet_thread([&] {
			try {
				second.scan_entries(entries, mid, entries.size());
			} catch (...) {
				failed = std::current_exception();
			}
		});
		try {
			first.scan_entries(entries, 0, mid);
		} catch (...) {
			helper.join();
			throw;
		}
		helper.join();
		if (failed) std::rethrow_exception(failed);
		first.append(second);
	} else {
		first.scan_entries(entries, 0, entries.size());
	}
	first.finish_notices();
	return scan;
}

}  // namespace pgmlr::hf
