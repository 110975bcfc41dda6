// Implements hf_cache/checksum.hpp; what it is for is said at the top of that header.
#include "common/core_only.hpp"
#include "hf_cache/checksum.hpp"

#include "common/unique_fd.hpp"
#include "hf_cache/names.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <new>
#include <stdexcept>
#include <thread>

namespace pgmlr::hf {

namespace {

std::string hash_memory(std::string_view data, HashKind kind) {
	BlobHasher h(kind, static_cast<int64_t>(data.size()));
	h.update(data.data(), data.size());
	return h.hex_digest();
}

}  // namespace

std::string to_hex(const unsigned char *p, size_t n) {
	static const char digits[] = "0123456789abcdef";
	std::string out;
	out.reserve(n * 2);
	for (size_t i = 0; i < n; ++i) {
		out += digits[p[i] >> 4];
		out += digits[p[i] & 15];
	}
	return out;
}

struct BlobHasher::Impl {
	EVP_MD_CTX *ctx = nullptr;
	HashKind kind = HashKind::sha256;
	int64_t size = 0;
	bool failed = false;
};

BlobHasher::BlobHasher(HashKind kind, int64_t size) : impl_(new Impl) {
	impl_->kind = kind;
	impl_->size = size;
	impl_->ctx = EVP_MD_CTX_new();
	if (!impl_->ctx) throw std::bad_alloc();
	reset();
}

BlobHasher::BlobHasher(std::string_view blob, int64_t size)
	: BlobHasher(blob.size() == 40 ? HashKind::git_sha1 : HashKind::sha256, size) {}

BlobHasher::~BlobHasher() { EVP_MD_CTX_free(impl_->ctx); }

void BlobHasher::reset() {
	const EVP_MD *md = impl_->kind == HashKind::sha256 ? EVP_sha256() : EVP_sha1();
	if (EVP_DigestInit_ex(impl_->ctx, md, nullptr) != 1) throw std::runtime_error("OpenSSL digest failed");
	if (impl_->kind == HashKind::git_sha1) {
		std::string header = "blob " + std::to_string(impl_->size);
		if (EVP_DigestUpdate(impl_->ctx, header.data(), header.size() + 1) != 1)  // with the NUL
			throw std::runtime_error("OpenSSL digest failed");
	}
	impl_->failed = false;
	bytes_ = 0;
}

void BlobHasher::update(const void *data, size_t n) {
	if (n == 0) return;
	// Never throws: the download sink calls it on its own thread. A failure
	// shows in hex_digest().
	if (EVP_DigestUpdate(impl_->ctx, data, n) != 1) impl_->failed = true;
	bytes_ += static_cast<int64_t>(n);
}

std::string BlobHasher::hex_digest() {
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	if (EVP_DigestFinal_ex(impl_->ctx, md, &len) != 1 || impl_->failed) throw std::runtime_error("OpenSSL digest failed");
	return to_hex(md, len);
}

bool hash_kind_for_blob(const std::string &blob, HashKind *kind) {
	if (!is_blob_name(blob)) return false;  // names.hpp says what a blob name is
	*kind = blob.size() == 40 ? HashKind::git_sha1 : HashKind::sha256;
	return true;
}

std::string sha256_hex(std::string_view data) { return hash_memory(data, HashKind::sha256); }
std::string git_blob_sha1_hex(std::string_view data) { return hash_memory(data, HashKind::git_sha1); }

Result<std::string> hash_file(const std::string &abs_path, HashKind kind, const std::atomic<bool> *cancel) {
	UniqueFd f(open(abs_path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
	if (f.get() < 0)
		return make_error(ErrCode::Io, "could not open \"" + abs_path + "\": " + std::strerror(errno));
	struct stat st;
	if (fstat(f.get(), &st) != 0 || !S_ISREG(st.st_mode))
		return make_error(ErrCode::Io, "\"" + abs_path + "\" is not a regular file");
	BlobHasher h(kind, static_cast<int64_t>(st.st_size));
	std::unique_ptr<char[]> buf(new char[kHashChunk]);
	for (;;) {
		if (cancel && cancel->load(std::memory_order_relaxed))
			return make_error(ErrCode::Canceled, "hashing canceled");
		ssize_t n = read(f.get(), buf.get(), kHashChunk);
		if (n < 0) {
			if (errno == EINTR) continue;
			return make_error(ErrCode::Io, "could not read \"" + abs_path + "\": " + std::strerror(errno));
		}
		if (n == 0) break;
		h.update(buf.get(), static_cast<size_t>(n));
	}
	return h.hex_digest();
}

Status hash_fd_prefix(int fd, int64_t n, BlobHasher &hasher) {
	std::unique_ptr<char[]> buf(new char[kHashChunk]);
	int64_t off = 0;
	while (off < n) {
		size_t want = static_cast<size_t>(std::min<int64_t>(static_cast<int64_t>(kHashChunk), n - off));
		ssize_t got = pread(fd, buf.get(), want, off);
		if (got < 0 && errno == EINTR) continue;
		if (got <= 0)
			return make_error(ErrCode::Io, "could not read back a partial download",
							  got < 0 ? std::string(std::strerror(errno)) : "The file is shorter than expected.");
		hasher.update(buf.get(), static_cast<size_t>(got));
		off += got;
	}
	return {};
}

Result<bool> file_matches_blob(const std::string &path, std::string_view blob, int64_t size) {
	UniqueFd f(open(path.c_str(), O_RDONLY | O_CLOEXEC));
	if (f.get() < 0) return false;
	struct stat sb;
	if (fstat(f.get(), &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size != size) return false;
	BlobHasher h(blob, size);
	if (Status st = hash_fd_prefix(f.get(), size, h)) return *st;
	return h.hex_digest() == blob;
}

unsigned default_hash_threads() {
	unsigned n = std::thread::hardware_concurrency();
	return std::clamp(n, 1u, 8u);
}

Verifier::Verifier(std::vector<VerifyJob> jobs, unsigned max_threads)
	: jobs_(std::move(jobs)), results_(jobs_.size()), max_threads_(std::max(1u, max_threads)) {
	// Biggest first, so one large blob does not run alone at the end.
	std::stable_sort(jobs_.begin(), jobs_.end(), [](const VerifyJob &a, const VerifyJob &b) { return a.size > b.size; });
}

Verifier::~Verifier() {
	cancel();
	pool_.reset();  // waits for the workers, which see cancel_ between chunks
}

// One work item per thread, each taking jobs until none is left: the pool
// only carries the threads, the job order stays biggest first.
void Verifier::start() {
	workers_ = static_cast<unsigned>(std::min<size_t>(max_threads_, jobs_.size()));
	if (workers_ == 0) return;
	pool_ = std::make_unique<WorkPool>(static_cast<int>(workers_), nullptr);
	for (unsigned i = 0; i < workers_; ++i)
		pool_->submit(
			[this] {
				run();
				return Status{};
			},
			[](Status) {});
}

void Verifier::run() {
	for (;;) {
		size_t i = next_.fetch_add(1);
		if (i >= jobs_.size()) break;
		VerifyResult &r = results_[i];
		if (cancel_.load()) {
			r.outcome = VerifyOutcome::canceled;
			continue;
		}
		try {
			HashKind kind;
			if (!hash_kind_for_blob(jobs_[i].expected, &kind)) {
				r.outcome = VerifyOutcome::unreadable;
				r.error = "blob name is not a checksum";
				continue;
			}
			auto h = hash_file(jobs_[i].abs_path, kind, &cancel_);
			if (h) {
				r.actual = *h;
				r.outcome = *h == jobs_[i].expected ? VerifyOutcome::match : VerifyOutcome::mismatch;
			} else if (h.error().code == ErrCode::Canceled) {
				r.outcome = VerifyOutcome::canceled;
			} else {
				r.outcome = VerifyOutcome::unreadable;
				r.error = h.error().message;
			}
		} catch (const std::exception &e) {
			r.outcome = VerifyOutcome::unreadable;
			r.error = e.what();
		} catch (...) {
			r.outcome = VerifyOutcome::unreadable;
			r.error = "unknown error";
		}
	}
	std::lock_guard<std::mutex> lock(mu_);
	++finished_;
	cv_.notify_all();
}

bool Verifier::wait(int timeout_ms) {
	{
		std::unique_lock<std::mutex> lock(mu_);
		if (!cv_.wait_for(lock, std::chrono::milliseconds(std::max(0, timeout_ms)),
						  [this] { return finished_ == workers_; }))
			return false;
	}
	if (pool_) pool_->wait_idle();  // the items are ending: only their bookkeeping is left
	return true;
}

}  // namespace pgmlr::hf
