#include "common/core_only.hpp"
#include "hf_fetch/hash.hpp"

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

namespace pgmlr::hf_fetch {

struct BlobHasher::Impl {
	EVP_MD_CTX *ctx = nullptr;
	const EVP_MD *md = nullptr;
	bool git = false;
	int64_t size = 0;
};

BlobHasher::BlobHasher(std::string_view blob, int64_t size) : impl_(new Impl) {
	impl_->git = blob.size() == 40;
	impl_->md = impl_->git ? EVP_sha1() : EVP_sha256();
	impl_->size = size;
	impl_->ctx = EVP_MD_CTX_new();
	if (!impl_->ctx) throw std::bad_alloc();
	reset();
}

BlobHasher::~BlobHasher() { EVP_MD_CTX_free(impl_->ctx); }

void BlobHasher::reset() {
	if (EVP_DigestInit_ex(impl_->ctx, impl_->md, nullptr) != 1) throw std::runtime_error("EVP_DigestInit_ex failed");
	if (impl_->git) {
		std::string header = "blob " + std::to_string(impl_->size);
		EVP_DigestUpdate(impl_->ctx, header.data(), header.size() + 1);  // with the NUL
	}
	bytes_ = 0;
}

void BlobHasher::update(const void *data, size_t n) {
	if (n == 0) return;
	EVP_DigestUpdate(impl_->ctx, data, n);
	bytes_ += static_cast<int64_t>(n);
}

std::string BlobHasher::hex_digest() {
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	EVP_DigestFinal_ex(impl_->ctx, md, &len);
	static const char *hex = "0123456789abcdef";
	std::string out;
	for (unsigned i = 0; i < len; ++i) {
		out += hex[md[i] >> 4];
		out += hex[md[i] & 15];
	}
	return out;
}

Status hash_fd_prefix(int fd, int64_t n, BlobHasher &hasher) {
	std::vector<char> buf(size_t{1} << 20);
	int64_t off = 0;
	while (off < n) {
		size_t want = static_cast<size_t>(std::min<int64_t>(static_cast<int64_t>(buf.size()), n - off));
		ssize_t got = pread(fd, buf.data(), want, off);
		if (got < 0 && errno == EINTR) continue;
		if (got <= 0)
			return make_error(ErrCode::Io, "could not read back a partial download",
							  got < 0 ? std::string(std::strerror(errno)) : "The file is shorter than expected.");
		hasher.update(buf.data(), static_cast<size_t>(got));
		off += got;
	}
	return {};
}

Result<bool> file_matches_blob(const std::string &path, std::string_view blob, int64_t size) {
	int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
	if (fd < 0) return false;
	struct stat sb;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size != size) {
		close(fd);
		return false;
	}
	BlobHasher h(blob, size);
	Status st = hash_fd_prefix(fd, size, h);
	close(fd);
	if (st) return *st;
	return h.hex_digest() == blob;
}

}  // namespace pgmlr::hf_fetch
