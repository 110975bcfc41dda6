// Where the HF cache is, and how a path inside it is resolved without ever
// leaving it: symlinks are read and followed one component at a time
// (lstat/readlink), so a link that points out of the cache is reported
// instead of followed.
#pragma once
#include "common/core_only.hpp"
#include "hf_cache/hub_env.hpp"  // default_cache_dir, EnvLookup

#include <sys/stat.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace pgmlr::hf {

enum class Resolve {
	ok,            // final target exists (see st)
	missing,       // the last component does not exist
	broken,        // an inner component is missing or not a folder, or a link is empty
	outside,       // a link (or "..") leads out of the cache folder
	too_many_links,
	unreadable     // lstat/readlink failed for another reason (errno_value)
};

struct Resolved {
	Resolve result = Resolve::broken;
	std::string rel;             // path relative to the root, after all links
	std::string first_target;    // text of the first link followed ("" if none)
	int links_followed = 0;
	int errno_value = 0;
	struct stat st {};
};

// Folders (relative to the root) already seen to be real folders, not links:
// a scan resolves thousands of paths through the same few folders.
using KnownDirs = std::unordered_set<std::string>;

// Resolves rel (relative to root, '/'-separated) the way the kernel would,
// but confined to root: an absolute link target is accepted only when it
// names a path under root. max_links bounds the links followed.
Resolved resolve_in_cache(const std::string &root, const std::string &rel, int max_links,
						  KnownDirs *known_dirs = nullptr);

std::string join_path(const std::string &a, const std::string &b);

// The core's one containment check: the part of the absolute path p below
// root ("a/b" for root "/r" and p "/r/a/b", "" for "/r/"), or nullopt when p
// is not below root (root itself, "/r" without the "/", is not below it).
// Textual only: callers resolve links first (realpath, resolve_in_cache).
std::optional<std::string_view> path_below(std::string_view root, std::string_view p);

// Where a link's target leads, worked out from the text alone: link_dir_rel
// is the folder holding the link, relative to root, and every one of its
// components must be a real folder (not a link), so a leading ".." is its
// parent. nullopt whenever only the file system can tell: an empty target,
// one ending in "/", "." or "..", a ".." after an ordinary component (that
// component may be a link), a ".." above root, or an absolute target that
// does not name a path under root. Callers then use resolve_in_cache.
std::optional<std::string> lexical_link_target(const std::string &root, const std::string &link_dir_rel,
											   std::string_view target);

// Descriptors of folders under the root, each opened one component at a
// time with O_NOFOLLOW from the root's descriptor: a descriptor handed out
// is a real folder inside the root, never one reached through a link. Keeps
// at most a few dozen open (it closes them all when full).
class RealDirs {
public:
	explicit RealDirs(int root_fd) : root_fd_(root_fd) {}
	~RealDirs();
	RealDirs(const RealDirs &) = delete;
	RealDirs &operator=(const RealDirs &) = delete;

	// -1 when a component is missing, unreadable or not a real folder. The
	// descriptor stays valid until the next call.
	int get(const std::string &rel_dir);

private:
	int open_rec(const std::string &rel_dir);
	void close_all();

	int root_fd_;
	std::unordered_map<std::string, int> fds_;  // -1 remembered too
};

}  // namespace pgmlr::hf
