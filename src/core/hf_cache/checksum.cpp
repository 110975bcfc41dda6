#include "common/core_only.hpp"
#include "hf_cache/checksum.hpp"

#include "common/quiet_thread.hpp"
#include "common/text.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <numeric>
#include <stdexcept>

namespace pgmlr::hf {

namespace {

struct MdCtx {
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	~MdCtx() { EVP_MD_CTX_free(ctx); }
};

struct Fd {
	int fd;
	~Fd() {
		if (fd >= 0) close(fd);
	}
};

const EVP_MD *md_for(HashKind kind) { return kind == HashKind::sha256 ? EVP_sha256() : EVP_sha1(); }

std::string to_hex(const unsigned char *p, unsigned n) {
	static const char digits[] = "0123456789abcdef";
	std::string out;
	out.reserve(n * 2);
	for (unsigned i = 0; i < n; ++i) {
		out += digits[p[i] >> 4];
		out += digits[p[i] & 15];
	}
	return out;
}

bool init(MdCtx &c, HashKind kind, uint64_t size) {
	if (!c.ctx || EVP_DigestInit_ex(c.ctx, md_for(kind), nullptr) != 1) return false;
	if (kind == HashKind::git_sha1) {
		std::string header = "blob " + std::to_string(size);
		if (EVP_DigestUpdate(c.ctx, header.data(), header.size() + 1) != 1) return false;  // with the NUL
	}
	return true;
}

std::string final_hex(MdCtx &c) {
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned n = 0;
	if (EVP_DigestFinal_ex(c.ctx, md, &n) != 1) throw std::runtime_error("OpenSSL digest failed");
	return to_hex(md, n);
}

std::string hash_memory(std::string_view data, HashKind kind) {
	MdCtx c;
	if (!init(c, kind, data.size()) || EVP_DigestUpdate(c.ctx, data.data(), data.size()) != 1)
		throw std::runtime_error("OpenSSL digest failed");
	return final_hex(c);
}

}  // namespace

bool hash_kind_for_blob(const std::string &blob, HashKind *kind) {
	if (!is_hex(blob)) return false;
	if (blob.size() == 64) *kind = HashKind::sha256;
	else if (blob.size() == 40) *kind = HashKind::git_sha1;
	else return false;
	return true;
}

std::string sha256_hex(std::string_view data) { return hash_memory(data, HashKind::sha256); }
std::string git_blob_sha1_hex(std::string_view data) { return hash_memory(data, HashKind::git_sha1); }

Result<std::string> hash_file(const std::string &abs_path, HashKind kind, const std::atomic<bool> *cancel) {
	Fd f{open(abs_path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC)};
	if (f.fd < 0)
		return make_error(ErrCode::Io, "could not open \"" + abs_path + "\": " + std::strerror(errno));
	struct stat st;
	if (fstat(f.fd, &st) != 0 || !S_ISREG(st.st_mode))
		return make_error(ErrCode::Io, "\"" + abs_path + "\" is not a regular file");
	MdCtx c;
	if (!init(c, kind, static_cast<uint64_t>(st.st_size))) throw std::runtime_error("OpenSSL digest failed");
	std::unique_ptr<char[]> buf(new char[kHashChunk]);
	for (;;) {
		if (cancel && cancel->load(std::memory_order_relaxed))
			return make_error(ErrCode::Canceled, "hashing canceled");
		ssize_t n = read(f.fd, buf.get(), kHashChunk);
		if (n < 0) {
			if (errno == EINTR) continue;
			return make_error(ErrCode::Io, "could not read \"" + abs_path + "\": " + std::strerror(errno));
		}
		if (n == 0) break;
		if (EVP_DigestUpdate(c.ctx, buf.get(), static_cast<size_t>(n)) != 1)
			throw std::runtime_error("OpenSSL digest failed");
	}
	return final_hex(c);
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
	join_all();
}

void Verifier::start() {
	unsigned n = static_cast<unsigned>(std::min<size_t>(max_threads_, jobs_.size()));
	AllSignalsBlocked mask;  // the hashing threads inherit it; restored however start() leaves
	std::lock_guard<std::mutex> lock(mu_);
	for (unsigned i = 0; i < n; ++i) {
		threads_.emplace_back([this] { run(); });
		++running_;
	}
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
	--running_;
	cv_.notify_all();
}

bool Verifier::wait(int timeout_ms) {
	{
		std::unique_lock<std::mutex> lock(mu_);
		if (!cv_.wait_for(lock, std::chrono::milliseconds(std::max(0, timeout_ms)), [this] { return running_ == 0; }))
			return false;
	}
	join_all();
	return true;
}

void Verifier::join_all() {
	for (auto &t : threads_)
		if (t.joinable()) t.join();
}

}  // namespace pgmlr::hf
