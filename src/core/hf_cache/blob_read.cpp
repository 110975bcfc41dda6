// Implements hf_cache/blob_read.hpp; what it is for is said at the top of that header.
#include "common/core_only.hpp"
#include "hf_cache/blob_read.hpp"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "common/unique_fd.hpp"
#include "hf_cache/layout.hpp"
#include "hf_cache/names.hpp"

namespace pgmlr::hf {

namespace {

constexpr const char *kRetryHint =
	"The blob is not (yet) in this server's cache: retry later, or fetch it from another source.";

Error name_error(const char *what, std::string_view value, const std::string &problem) {
	return make_error(ErrCode::InvalidParameter, std::string("invalid ") + what + " " + shown(value),
					  std::string("The ") + what + " " + problem + ".",
					  "Pass a name as pgml_repl.hf_manifest lists it.");
}

// Why a folder on the way could not be opened as a real folder.
Error folder_error(const std::string &root, const std::string &rel) {
	const std::string full = join_path(root, rel);
	struct stat st {};
	if (lstat(full.c_str(), &st) != 0 && errno == ENOENT)
		return make_error(ErrCode::NotFound, "folder \"" + rel + "\" is not in the cache", "Looked in " + root + ".",
						  kRetryHint);
	if (S_ISLNK(st.st_mode) || !S_ISDIR(st.st_mode))
		return make_error(ErrCode::Permission, "refusing to read through \"" + rel + "\"",
						  "It is a symbolic link or not a folder; blobs are read only from real folders of the cache.",
						  "Make the cache's repo folders and blobs/ real folders (as huggingface_hub creates them).");
	return make_error(ErrCode::Io, "could not open folder \"" + full + "\": " + std::strerror(errno));
}

}  // namespace

Result<int64_t> blob_read_span(int64_t size, int64_t offset, int64_t length) {
	const std::string of_size = "The blob has " + std::to_string(size) + " bytes.";
	if (offset < 0)
		return make_error(ErrCode::InvalidParameter, "offset must not be negative", of_size,
						  "Pass an offset from 0 to the blob's size minus one.");
	if (offset > 0 && offset >= size)
		return make_error(ErrCode::InvalidParameter, "offset " + std::to_string(offset) + " is past the end of the blob",
						  of_size, "Pass an offset from 0 to the blob's size minus one; a read at the end returns fewer bytes.");
	if (length <= 0 || length > kMaxBlobReadLength)
		return make_error(ErrCode::InvalidParameter, "length must be from 1 to " + std::to_string(kMaxBlobReadLength),
						  "length was " + std::to_string(length) + ".",
						  "Read a large blob in ranges of at most 64 MiB.");
	return std::min(length, size - offset);
}

Result<BlobFile> BlobFile::open(const std::string &cache_root, std::string_view repo_type, std::string_view repo_id,
								std::string_view blob, int64_t manifest_size) {
	if (auto p = repo_type_problem(repo_type)) return name_error("repo type", repo_type, *p);
	if (auto p = repo_id_problem(repo_id)) return name_error("repo id", repo_id, *p);
	if (auto p = blob_problem(blob)) return name_error("blob name", blob, *p);
	if (cache_root.empty() || cache_root[0] != '/')
		return make_error(ErrCode::ConfigFile, "the cache folder is not an absolute path", shown(cache_root),
						  "Set pgml_replication.hf_cache_dir to an absolute path.");

	const std::string folder = repo_folder_name(repo_type, repo_id);
	const std::string blobs = folder + "/blobs";
	const std::string rel = blobs + "/" + std::string(blob);
	const std::string full = join_path(cache_root, rel);
	// The names above cannot leave the root; the one containment check says so
	// again, so a future change to the rules cannot open a way out.
	std::optional<std::string_view> below = path_below(cache_root, full);
	if (!below || *below != rel)
		return make_error(ErrCode::Permission, "refusing to read outside the cache", shown(full));

	UniqueFd root(::open(cache_root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
	if (root.get() < 0) {
		if (errno == ENOENT)
			return make_error(ErrCode::NotFound, "the cache folder \"" + cache_root + "\" does not exist", {},
							  kRetryHint);
		return make_error(ErrCode::Io, "could not open the cache folder \"" + cache_root + "\": " + std::strerror(errno));
	}
	RealDirs dirs(root.get());
	if (dirs.get(folder) < 0) return folder_error(cache_root, folder);
	int blobs_fd = dirs.get(blobs);
	if (blobs_fd < 0) return folder_error(cache_root, blobs);

	// O_NONBLOCK: a FIFO planted under the blob's name must not hang the open.
	UniqueFd fd(::openat(blobs_fd, std::string(blob).c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
	if (fd.get() < 0) {
		const int e = errno;
		if (e == ENOENT)
			return make_error(ErrCode::NotFound, "blob " + std::string(blob) + " is not in the cache",
							  "No file " + full + ".", kRetryHint);
		if (e == ELOOP)
			return make_error(ErrCode::Permission, "refusing to read blob " + std::string(blob) + " through a symbolic link",
							  full + " is a symbolic link.", "A blob must be a regular file in blobs/.");
		return make_error(ErrCode::Io, "could not open \"" + full + "\": " + std::strerror(e));
	}
	struct stat st {};
	if (fstat(fd.get(), &st) != 0)
		return make_error(ErrCode::Io, "could not stat \"" + full + "\": " + std::strerror(errno));
	if (!S_ISREG(st.st_mode))
		return make_error(ErrCode::Permission, "refusing to read blob " + std::string(blob),
						  full + " is not a regular file.", "A blob must be a regular file in blobs/.");
	if (st.st_size != manifest_size)
		return make_error(ErrCode::NotFound, "blob " + std::string(blob) + " is not complete in the cache",
						  "The file has " + std::to_string(st.st_size) + " bytes; the manifest lists " +
							  std::to_string(manifest_size) + ".",
						  kRetryHint);
	return BlobFile(std::move(fd), st.st_size, full);
}

Status BlobFile::read_at(int64_t offset, void *buf, size_t len) const {
	auto *out = static_cast<unsigned char *>(buf);
	size_t done = 0;
	while (done < len) {
		ssize_t n = ::pread(fd_.get(), out + done, len - done, static_cast<off_t>(offset + static_cast<int64_t>(done)));
		if (n < 0 && errno == EINTR) continue;
		if (n < 0) return make_error(ErrCode::Io, "could not read \"" + path_ + "\": " + std::strerror(errno));
		if (n == 0)
			return make_error(ErrCode::Io, "blob file \"" + path_ + "\" ended early",
							  "It has fewer than " + std::to_string(offset + static_cast<int64_t>(len)) +
								  " bytes now; it was changed while being read.",
							  kRetryHint);
		done += static_cast<size_t>(n);
	}
	return {};
}

}  // namespace pgmlr::hf
