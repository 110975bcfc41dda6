// Implements hf_fetch/extras_write.hpp; what it is for is said at the top of that header.
#include "common/core_only.hpp"
#include "hf_fetch/extras_write.hpp"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "common/unique_fd.hpp"
#include "hf_cache/names.hpp"

namespace pgmlr::hf_fetch {

namespace {

Error bad_row(const std::string &what, std::string_view value, const std::string &problem) {
	return make_error(ErrCode::InvalidParameter, "refused " + what + " " + hf::shown(value), "The " + what + " " + problem + ".");
}

std::vector<std::string> split_slash(const std::string &s) {
	std::vector<std::string> out;
	size_t start = 0;
	while (true) {
		size_t p = s.find('/', start);
		out.push_back(s.substr(start, p == std::string::npos ? std::string::npos : p - start));
		if (p == std::string::npos) break;
		start = p + 1;
	}
	return out;
}

Error io(const std::string &what, const std::string &path, int e) {
	return make_error(ErrCode::Io, "could not " + what + " \"" + path + "\": " + std::strerror(e));
}

// The folder name in parent, created when missing, never through a link.
Result<UniqueFd> dir_at(int parent, const std::string &name, const std::string &shown_path) {
	for (int attempt = 0; attempt < 2; ++attempt) {
		UniqueFd fd(::openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
		if (fd.get() >= 0) return fd;
		const int e = errno;
		if (e == ELOOP || e == ENOTDIR)
			return make_error(ErrCode::Permission, "refusing to write through \"" + shown_path + "\"",
							  "It is a symbolic link or not a folder.",
							  "Make it a real folder of the cache, as huggingface_hub creates it.");
		if (e != ENOENT) return io("open folder", shown_path, e);
		if (::mkdirat(parent, name.c_str(), 0755) != 0 && errno != EEXIST) return io("create folder", shown_path, errno);
	}
	return io("open folder", shown_path, ENOENT);
}

// Whether the regular file name in dir holds exactly content.
Result<bool> same_content(int dir, const std::string &name, std::string_view content, const std::string &shown_path) {
	UniqueFd fd(::openat(dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
	if (fd.get() < 0) {
		if (errno == ENOENT || errno == ELOOP) return false;  // a link is replaced, never followed
		return io("open", shown_path, errno);
	}
	struct stat st {};
	if (::fstat(fd.get(), &st) != 0) return io("stat", shown_path, errno);
	if (S_ISDIR(st.st_mode))
		return make_error(ErrCode::Permission, "refusing to replace folder \"" + shown_path + "\"",
						  "A tree listing goes where a folder is.");
	if (!S_ISREG(st.st_mode) || st.st_size != static_cast<off_t>(content.size())) return false;
	std::string have(content.size(), '\0');
	size_t done = 0;
	while (done < have.size()) {
		ssize_t n = ::pread(fd.get(), &have[done], have.size() - done, static_cast<off_t>(done));
		if (n < 0 && errno == EINTR) continue;
		if (n <= 0) return false;
		done += static_cast<size_t>(n);
	}
	return have == content;
}

Status write_all(int fd, std::string_view content, const std::string &shown_path) {
	size_t done = 0;
	while (done < content.size()) {
		ssize_t n = ::write(fd, content.data() + done, content.size() - done);
		if (n < 0 && errno == EINTR) continue;
		if (n < 0) return io("write", shown_path, errno);
		done += static_cast<size_t>(n);
	}
	return {};
}

Result<WriteOutcome> write_tree(int dir, const std::string &name, std::string_view content, const std::string &shown_path) {
	Result<bool> same = same_content(dir, name, content, shown_path);
	if (!same) return same.error();
	if (*same) return WriteOutcome::unchanged;
	const std::string tmp = "." + name + ".pgml." + std::to_string(::getpid()) + ".tmp";
	UniqueFd fd(::openat(dir, tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644));
	if (fd.get() < 0) return io("create", shown_path + " (temp file)", errno);
	Status st = write_all(fd.get(), content, shown_path);
	if (!st && ::fsync(fd.get()) != 0) st = io("sync", shown_path, errno);
	if (!st && ::renameat(dir, tmp.c_str(), dir, name.c_str()) != 0) st = io("rename into", shown_path, errno);
	if (st) {
		::unlinkat(dir, tmp.c_str(), 0);
		return *st;
	}
	if (::fsync(dir) != 0) return io("sync the folder of", shown_path, errno);
	return WriteOutcome::written;
}

Result<WriteOutcome> write_marker(int dir, const std::string &name, const std::string &shown_path) {
	UniqueFd fd(::openat(dir, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
	if (fd.get() >= 0) return WriteOutcome::written;
	if (errno != EEXIST) return io("create", shown_path, errno);
	struct stat st {};
	if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
		return WriteOutcome::unchanged;
	return make_error(ErrCode::Permission, "refusing to write marker \"" + shown_path + "\"",
					  "Something else than a regular file (a link or a folder) is there.");
}

}  // namespace

Result<ExtraTarget> check_extra_row(std::string_view repo_type, std::string_view repo_id, std::string_view kind,
									std::string_view name, bool content_null, size_t content_len) {
	if (auto p = hf::repo_type_problem(repo_type)) return bad_row("repo type", repo_type, *p);
	if (auto p = hf::repo_id_problem(repo_id)) return bad_row("repo id", repo_id, *p);
	std::optional<hf::ExtraKind> k = hf::parse_extra_kind(kind);
	if (!k) return bad_row("kind", kind, "must be tree or no_exist");
	if (auto p = hf::extra_name_problem(*k, name)) return bad_row(std::string(kind) + " name", name, *p);
	if (*k == hf::ExtraKind::tree) {
		if (content_null) return bad_row("tree", name, "came without content");
		if (content_len > static_cast<size_t>(hf::kMaxTreeFileBytes))
			return bad_row("tree", name, "is larger than " + std::to_string(hf::kMaxTreeFileBytes >> 20) + " MiB");
	} else if (!content_null) {
		return bad_row("no_exist marker", name, "came with content; a marker is an empty file");
	}
	return ExtraTarget{*k, hf::repo_folder_name(repo_type, repo_id), hf::extra_rel_path(*k, name)};
}

Result<WriteOutcome> write_extra(const std::string &cache_root, const ExtraTarget &target, std::string_view content) {
	if (cache_root.empty() || cache_root[0] != '/')
		return make_error(ErrCode::ConfigFile, "the cache folder is not an absolute path", hf::shown(cache_root));
	UniqueFd root(::open(cache_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
	if (root.get() < 0) return io("open the cache folder", cache_root, errno);
	std::vector<std::string> parts = split_slash(target.repo_folder + "/" + target.rel);
	const std::string leaf = parts.back();
	parts.pop_back();
	UniqueFd dir;
	int at = root.get();
	std::string shown_path = cache_root;
	for (const std::string &p : parts) {
		shown_path += "/" + p;
		Result<UniqueFd> next = dir_at(at, p, shown_path);
		if (!next) return next.error();
		dir = std::move(*next);
		at = dir.get();
	}
	shown_path += "/" + leaf;
	if (target.kind == hf::ExtraKind::tree) return write_tree(at, leaf, content, shown_path);
	return write_marker(at, leaf, shown_path);
}

}  // namespace pgmlr::hf_fetch
