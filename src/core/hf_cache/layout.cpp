// Implements hf_cache/layout.hpp; what it is for is said at the top of that header.
#include "common/core_only.hpp"
#include "hf_cache/layout.hpp"

#include "common/text.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <deque>

namespace pgmlr::hf {

namespace {

std::vector<std::string> split_components(const std::string &p) {
	std::vector<std::string> out;
	size_t i = 0;
	while (i <= p.size()) {
		size_t j = p.find('/', i);
		if (j == std::string::npos) j = p.size();
		if (j > i) out.emplace_back(p.substr(i, j - i));
		i = j + 1;
	}
	return out;
}

std::string join_components(const std::vector<std::string> &c) {
	std::string out;
	for (const auto &s : c) {
		if (!out.empty()) out += '/';
		out += s;
	}
	return out;
}

}  // namespace

std::string join_path(const std::string &a, const std::string &b) {
	if (b.empty()) return a;
	if (a.empty()) return b;
	if (a.back() == '/') return a + b;
	return a + "/" + b;
}

std::optional<std::string_view> path_below(std::string_view root, std::string_view p) {
	if (!root.empty() && root.back() == '/') root.remove_suffix(1);
	if (p.size() <= root.size() || p.compare(0, root.size(), root) != 0 || p[root.size()] != '/') return std::nullopt;
	return p.substr(root.size() + 1);
}

Resolved resolve_in_cache(const std::string &root, const std::string &rel, int max_links, KnownDirs *known_dirs) {
	Resolved r;
	std::deque<std::string> todo;
	for (auto &c : split_components(rel)) todo.push_back(std::move(c));
	std::vector<std::string> cur;  // real folders only, so ".." may pop lexically
	bool have_stat = false;

	while (!todo.empty()) {
		std::string comp = std::move(todo.front());
		todo.pop_front();
		if (comp == ".") continue;
		if (comp == "..") {
			if (cur.empty()) {
				r.result = Resolve::outside;
				return r;
			}
			cur.pop_back();
			have_stat = false;
			continue;
		}
		cur.push_back(comp);
		std::string cur_rel = join_components(cur);
		if (known_dirs && !todo.empty() && known_dirs->count(cur_rel)) {
			have_stat = false;
			continue;
		}
		std::string abs = join_path(root, cur_rel);
		if (lstat(abs.c_str(), &r.st) != 0) {
			r.errno_value = errno;
			if (errno == ENOENT)
				r.result = todo.empty() ? Resolve::missing : Resolve::broken;
			else if (errno == ENOTDIR)
				r.result = Resolve::broken;
			else
				r.result = Resolve::unreadable;
			r.rel = join_components(cur);
			return r;
		}
		have_stat = true;
		if (S_ISLNK(r.st.st_mode)) {
			if (r.links_followed >= max_links) {
				r.result = Resolve::too_many_links;
				return r;
			}
			std::string target(static_cast<size_t>(r.st.st_size > 0 ? r.st.st_size : 255) + 1, '\0');
			ssize_t n = readlink(abs.c_str(), target.data(), target.size());
			if (n < 0) {
				r.errno_value = errno;
				r.result = Resolve::unreadable;
				return r;
			}
			if (static_cast<size_t>(n) >= target.size()) {  // grew meanwhile
				r.result = Resolve::unreadable;
				return r;
			}
			target.resize(static_cast<size_t>(n));
			if (target.empty()) {
				r.result = Resolve::broken;
				return r;
			}
			if (r.links_followed == 0) r.first_target = target;
			++r.links_followed;
			cur.pop_back();
			if (target[0] == '/') {
				// Absolute links are accepted only into the root itself.
				std::optional<std::string_view> below = path_below(root, target);
				if (!below) {
					r.result = Resolve::outside;
					return r;
				}
				target = std::string(*below);
				cur.clear();
			}
			auto parts = split_components(target);
			for (auto it = parts.rbegin(); it != parts.rend(); ++it) todo.push_front(*it);
			have_stat = false;
			continue;
		}
		if (!todo.empty() && !S_ISDIR(r.st.st_mode)) {
			r.result = Resolve::broken;
			return r;
		}
		if (known_dirs && S_ISDIR(r.st.st_mode)) known_dirs->insert(cur_rel);
	}
	r.rel = join_components(cur);
	if (!have_stat) {
		// Ended on ".." or "." (or an empty path): a folder inside the root.
		if (lstat(join_path(root, r.rel).c_str(), &r.st) != 0) {
			r.errno_value = errno;
			r.result = Resolve::unreadable;
			return r;
		}
	}
	r.result = Resolve::ok;
	return r;
}

std::optional<std::string> lexical_link_target(const std::string &root, const std::string &link_dir_rel,
											   std::string_view target) {
	if (target.empty() || target.back() == '/') return std::nullopt;
	std::string out;
	std::string_view rest = target;
	if (target[0] == '/') {
		if (root.empty() || root.back() == '/') return std::nullopt;
		std::optional<std::string_view> below = path_below(root, target);
		if (!below || below->empty()) return std::nullopt;
		rest = *below;
	} else {
		out = link_dir_rel;
	}
	bool leading = true;  // still in the run of "." and ".." that opens the target
	size_t i = 0;
	std::string_view last;
	while (i <= rest.size()) {
		size_t j = rest.find('/', i);
		if (j == std::string_view::npos) j = rest.size();
		std::string_view comp = rest.substr(i, j - i);
		i = j + 1;
		if (comp.empty()) continue;
		last = comp;
		if (comp == ".") continue;
		if (comp == "..") {
			// Only the link's own folders are known to be real; an absolute
			// target names none of them.
			if (!leading || target[0] == '/' || out.empty()) return std::nullopt;
			size_t slash = out.rfind('/');
			out.resize(slash == std::string::npos ? 0 : slash);
			continue;
		}
		leading = false;
		if (!out.empty()) out += '/';
		out.append(comp.data(), comp.size());
	}
	if (last.empty() || last == "." || last == "..") return std::nullopt;
	return out;
}

RealDirs::~RealDirs() { close_all(); }

void RealDirs::close_all() {
	for (auto &kv : fds_)
		if (kv.second >= 0) close(kv.second);
	fds_.clear();
}

int RealDirs::get(const std::string &rel_dir) {
	constexpr size_t kMaxOpen = 48;
	if (rel_dir.empty()) return root_fd_;
	auto it = fds_.find(rel_dir);
	if (it != fds_.end()) return it->second;
	if (fds_.size() >= kMaxOpen) close_all();
	return open_rec(rel_dir);
}

int RealDirs::open_rec(const std::string &rel_dir) {
	if (rel_dir.empty()) return root_fd_;
	auto it = fds_.find(rel_dir);
	if (it != fds_.end()) return it->second;
	size_t slash = rel_dir.rfind('/');
	int parent = slash == std::string::npos ? root_fd_ : open_rec(rel_dir.substr(0, slash));
	int fd = -1;
	if (parent >= 0) {
		std::string name = slash == std::string::npos ? rel_dir : rel_dir.substr(slash + 1);
		if (name != "." && name != "..")
			fd = openat(parent, name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	fds_.emplace(rel_dir, fd);
	return fd;
}

}  // namespace pgmlr::hf
