#include "common/core_only.hpp"
#include "hf_fetch/job.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <random>
#include <set>
#include <unordered_set>

#include <curl/curl.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hf_fetch/fs.hpp"
#include "hf_fetch/hash.hpp"
#include "common/work_pool.hpp"
#include "hf_fetch/sink.hpp"
#include "hf_fetch/sweep.hpp"
#include "pgml_repl/hf_fetch.h"

namespace pgmlr::hf_fetch {
namespace {

using Clock = std::chrono::steady_clock;
using Ms = std::chrono::milliseconds;

// curl hands over at most CURL_MAX_WRITE_SIZE (16 KiB) per callback; gather
// that into large writes so the disk sees few, big requests.
constexpr size_t kWriteBlock = size_t{1} << 20;
constexpr size_t kQueuedBlocks = 2;  // per transfer, plus the one being filled and the one being written
// Publishing (fsync, rename, links) runs on this many threads: side-by-side
// fsyncs share journal commits, and more threads than this gain little.
constexpr int kPublishThreads = 8;
constexpr int kMaxPublishing = 64;  // verified files waiting for the disk; beyond it no new transfer starts
constexpr int kHardAttemptCap = 100;  // progress resets the retry count; this bounds it anyway
constexpr int kMaxRetryAfterMs = 60000;
constexpr const char *kPartialSuffix = ".pgml.incomplete";

void copy_field(char *dst, size_t cap, const std::string &src) {
	size_t n = std::min(cap - 1, src.size());
	while (n > 0 && n < src.size() && (static_cast<unsigned char>(src[n]) & 0xC0) == 0x80) --n;
	std::memcpy(dst, src.data(), n);
	dst[n] = '\0';
}

}  // namespace

struct Transfer {
	struct Job::Impl *job = nullptr;
	size_t blob = 0;
	pgmlr_fetch_state state = PGMLR_FETCH_PENDING;
	int attempts = 0;
	int failures_without_progress = 0;
	Clock::time_point next_try{};
	Clock::time_point lock_wait_since{};
	bool lock_waiting = false;
	std::string last_error;

	CURL *easy = nullptr;
	curl_slist *headers = nullptr;
	int fd = -1;
	std::string temp_path;
	BlobLock lock;
	std::unique_ptr<BlobHasher> hasher;
	std::unique_ptr<BlockSink> sink;  // while a response body may arrive
	int64_t on_disk = 0;         // bytes in the temp file, all hashed (when no sink runs)
	int64_t accepted = 0;        // on_disk plus bytes handed to the sink
	int64_t attempt_start = 0;   // on_disk when this attempt began
	bool body_checked = false;
	bool discard_body = false;
	bool paused = false;         // by the rate limit, until tokens come back
	bool publishing = false;     // verified, handed to the publishing threads
	int64_t content_range_start = -1;
	int64_t resumed_from = -1;   // bytes of a kept partial file found at the first start
	std::string write_error;
};

struct Job::Impl {
	Options opts;
	std::string root;  // realpath of the cache root
	std::vector<Row> rows;
	RefusalList refused;
	int64_t partials_removed = 0;
	Plan plan;
	bool planned = false;
	bool published_present = false;
	bool finished = false;
	bool canceled = false;
	CURLM *multi = nullptr;
	std::vector<std::unique_ptr<Transfer>> transfers;  // one per blob not present
	std::mt19937 rng{std::random_device{}()};
	Clock::time_point started{};
	bool started_set = false;
	int64_t bytes_received = 0;
	int64_t links_created = 0;
	int64_t refs_written = 0;
	int64_t links_failed = 0;
	std::string last_publish_error;
	// The rate limit is one token bucket for the whole job (a per-transfer
	// cap would leave bandwidth unused while fewer transfers run).
	double rate_tokens = 0;
	Clock::time_point rate_refilled{};
	size_t resume_cursor = 0;  // round robin, so every paused transfer moves
	std::unordered_set<std::string> dirs_made;  // relative folders created (and checked) in this job
	std::unique_ptr<WorkPool> pool;

	~Impl() {
		abandon_all();
		pool.reset();  // its threads may wake the multi handle until they stop
		if (multi) curl_multi_cleanup(multi);
	}

	// make_dirs once per folder and job: thousands of files share a few
	// folders. Publishing re-checks containment right before each rename.
	Status ensure_dir(const std::string &rel) {
		if (dirs_made.count(rel)) return {};
		if (Status st = make_dirs(root, rel)) return st;
		dirs_made.insert(rel);
		return {};
	}

	const BlobTask &task(const Transfer &t) const { return plan.blobs[t.blob]; }
	std::string blobs_dir(const Transfer &t) const { return root + "/" + task(t).folder + "/blobs"; }

	// ---- file handling ---------------------------------------------------
	// Waits for the sink to write and hash everything, then stops it: the
	// file, on_disk and the hasher agree again.
	bool settle(Transfer &t) {
		if (!t.sink) return t.write_error.empty();
		bool ok = t.sink->drain();
		t.on_disk += t.sink->written();
		if (!ok && t.write_error.empty()) t.write_error = t.sink->error();
		t.sink.reset();
		t.accepted = t.on_disk;
		return ok;
	}

	void drop_temp(Transfer &t) {
		t.sink.reset();  // stop the writer before its fd goes away
		if (t.fd >= 0) close(t.fd);
		t.fd = -1;
		if (!t.temp_path.empty()) unlink(t.temp_path.c_str());
		t.temp_path.clear();
		t.on_disk = 0;
		t.accepted = 0;
		if (t.hasher) t.hasher->reset();
	}

	void detach_easy(Transfer &t) {
		if (t.easy) {
			curl_multi_remove_handle(multi, t.easy);
			curl_easy_cleanup(t.easy);
			t.easy = nullptr;
		}
		if (t.headers) curl_slist_free_all(t.headers);
		t.headers = nullptr;
		t.paused = false;
	}

	// The deterministic partial file: the next job (or the next start after a
	// crash) finds it there. It is only ever opened, written or removed while
	// holding the blob's lock, so two writers never share it.
	std::string partial_path(const Transfer &t) const { return blobs_dir(t) + "/" + task(t).blob + kPartialSuffix; }

	// Stops writing and keeps the bytes so far for the next job: they are a
	// clean prefix (written in order by one thread, synced here). A file that
	// saw a write error is removed instead. The final checksum still guards
	// every byte, so a prefix damaged later (power loss before the sync) can
	// only cost a restart from zero, never a wrong blob.
	void keep_partial(Transfer &t) {
		bool ok = settle(t);
		if (t.fd >= 0 && ok && t.on_disk > 0 && fdatasync(t.fd) == 0) {
			close(t.fd);
			t.fd = -1;
			t.temp_path.clear();
			t.on_disk = 0;
			t.accepted = 0;
			if (t.hasher) t.hasher->reset();
			return;
		}
		drop_temp(t);
	}

	// Opens (or creates) the partial file under the blob lock and positions
	// it after the kept prefix, whose bytes are hashed again from disk.
	// Returns an error text, empty on success.
	std::string open_partial(Transfer &t) {
		const BlobTask &b = task(t);
		t.temp_path = partial_path(t);
		// O_NOFOLLOW: a link planted under our name is replaced, never followed.
		int fd = open(t.temp_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
		struct stat sb;
		if (fd >= 0 && (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))) {
			close(fd);
			fd = -1;
			errno = EINVAL;
		}
		if (fd < 0 && errno != ENOENT && errno != ENOSPC && errno != EROFS && errno != EDQUOT) {
			// Unreadable or not a plain file: discard it and start a fresh one.
			unlink(t.temp_path.c_str());
			fd = open(t.temp_path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
		}
		if (fd < 0) {
			std::string why = std::string("could not create a temporary file: ") + std::strerror(errno);
			t.temp_path.clear();
			return why;
		}
		t.fd = fd;
		t.on_disk = 0;
		t.hasher->reset();
		int64_t kept = fstat(fd, &sb) == 0 ? static_cast<int64_t>(sb.st_size) : 0;
		if (kept > b.size) kept = 0;  // not a prefix of this blob
		if (kept > 0 && hash_fd_prefix(fd, kept, *t.hasher)) {
			t.hasher->reset();
			kept = 0;  // unreadable: start over
		}
		if (ftruncate(fd, kept) != 0 || lseek(fd, kept, SEEK_SET) != kept) {
			std::string why = std::string("could not prepare the download: ") + std::strerror(errno);
			drop_temp(t);
			return why;
		}
		t.on_disk = kept;
		if (t.resumed_from < 0) t.resumed_from = kept;
		return {};
	}

	void abandon_all() {
		// Files already verified finish publishing (a bounded wait on the
		// disk); their completions may hand refs over, which are waited for too.
		for (int round = 0; pool && pool->in_flight() > 0 && round < 1000; ++round) pool->wait_idle();
		for (auto &t : transfers) {
			detach_easy(*t);
			keep_partial(*t);
			t->lock.release();
			if (t->state == PGMLR_FETCH_ACTIVE || t->state == PGMLR_FETCH_BACKOFF) t->state = PGMLR_FETCH_PENDING;
		}
	}

	// ---- callbacks -------------------------------------------------------
	static size_t on_header(char *data, size_t size, size_t n, void *ud) {
		auto *t = static_cast<Transfer *>(ud);
		size_t len = size * n;
		std::string line(data, len);
		if (line.compare(0, 5, "HTTP/") == 0) {  // a new response (after a redirect)
			t->body_checked = false;
			t->discard_body = false;
			t->content_range_start = -1;
		} else if (line.size() > 14 && strncasecmp(line.c_str(), "content-range:", 14) == 0) {
			size_t p = line.find("bytes ");
			if (p != std::string::npos) t->content_range_start = std::strtoll(line.c_str() + p + 6, nullptr, 10);
		}
		return len;
	}

	static size_t on_body(char *data, size_t size, size_t n, void *ud) {
		auto *t = static_cast<Transfer *>(ud);
		Impl *job = t->job;
		size_t len = size * n;
		if (!t->body_checked) {
			t->body_checked = true;
			long code = 0;
			curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code);
			if (code == 200 && t->accepted > 0) {
				// The server ignored our Range: start over, hash included.
				if (!job->settle(*t)) return 0;
				if (ftruncate(t->fd, 0) != 0 || lseek(t->fd, 0, SEEK_SET) != 0) {
					t->write_error = std::string("could not truncate the download: ") + std::strerror(errno);
					return 0;
				}
				t->on_disk = 0;
				t->accepted = 0;
				t->attempt_start = 0;
				t->hasher->reset();
				t->sink = std::make_unique<BlockSink>(t->fd, t->hasher.get(), kWriteBlock, kQueuedBlocks);
			} else if (code == 206 && t->content_range_start != t->on_disk) {
				t->write_error = "the server answered a different range than asked";
				return 0;
			} else if (code != 200 && code != 206) {
				t->discard_body = true;  // an error page or a redirect body
			}
		}
		if (t->discard_body) return len;
		if (job->opts.max_bytes_per_second > 0) {
			if (job->rate_tokens <= 0) {
				t->paused = true;
				return CURL_WRITEFUNC_PAUSE;  // libcurl hands the same bytes again on resume
			}
			job->rate_tokens -= static_cast<double>(len);
		}
		if (t->accepted + static_cast<int64_t>(len) > job->task(*t).size) {
			t->write_error = "the server sent more bytes than the manifest size";
			return 0;
		}
		if (!t->sink->append(data, len)) {
			t->write_error = t->sink->error();
			return 0;
		}
		t->accepted += static_cast<int64_t>(len);
		job->bytes_received += static_cast<int64_t>(len);
		return len;
	}

	static int on_progress(void *ud, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
		auto *t = static_cast<Transfer *>(ud);
		volatile sig_atomic_t *flag = t->job->opts.abort_flag;
		return (flag && *flag) ? 1 : 0;
	}

	bool aborted() const { return opts.abort_flag && *opts.abort_flag; }

	// ---- life of one blob ------------------------------------------------
	// keep: the partial file is a clean prefix and the failure says nothing
	// against it (the network or the server): a later job resumes it. Local
	// failures (disk space, refused paths) remove it.
	void fail(Transfer &t, const std::string &why, bool keep = false) {
		detach_easy(t);
		if (keep)
			keep_partial(t);
		else
			drop_temp(t);
		t.lock.release();
		t.state = PGMLR_FETCH_FAILED;
		t.last_error = why;
		for (size_t li : task(t).links) plan.groups[plan.links[li].group].failed = true;
	}

	// Keeps the blob lock while the partial file stays open: no other writer
	// may touch it until this job either resumes it or gives up.
	void retry_later(Transfer &t, const std::string &why, long retry_after_s) {
		detach_easy(t);
		if (t.fd < 0) t.lock.release();
		t.last_error = why;
		if (t.on_disk > t.attempt_start)
			t.failures_without_progress = 0;
		else
			t.failures_without_progress++;
		if (t.failures_without_progress > opts.max_retries || t.attempts >= kHardAttemptCap) {
			fail(t, why + " (gave up after " + std::to_string(t.attempts) + " attempts)", true);
			return;
		}
		int exp = std::min(t.failures_without_progress, 16);
		double delay = std::min<double>(opts.backoff_max_ms, opts.backoff_base_ms * double(1 << exp) / 2.0);
		delay *= std::uniform_real_distribution<double>(0.75, 1.25)(rng);
		if (retry_after_s > 0) delay = std::max<double>(delay, std::min<double>(retry_after_s * 1000.0, kMaxRetryAfterMs));
		t.state = PGMLR_FETCH_BACKOFF;
		t.next_try = Clock::now() + Ms(static_cast<long>(delay));
	}

	bool start(Transfer &t) {
		const BlobTask &b = task(t);
		if (Status st = ensure_dir(b.folder + "/blobs")) return fail(t, st->message + " " + st->detail), false;
		if (Status st = ensure_dir(".locks/" + b.folder)) return fail(t, st->message + " " + st->detail), false;
		bool busy = false;
		if (Status st = t.lock.try_acquire(root + "/.locks/" + b.folder + "/" + b.blob + ".lock", &busy))
			return fail(t, st->message + " " + st->detail), false;
		if (busy) {
			if (!t.lock_waiting) {
				t.lock_waiting = true;
				t.lock_wait_since = Clock::now();
			} else if (Clock::now() - t.lock_wait_since > Ms(opts.lock_wait_ms)) {
				fail(t, "another process holds the blob lock");
				return false;
			}
			t.state = PGMLR_FETCH_BACKOFF;
			t.next_try = Clock::now() + Ms(100);
			return false;
		}
		t.lock_waiting = false;
		// Another writer may have finished the blob while we waited.
		// Same test as planning (size; checksum only with verify_present), so
		// a step never hashes a large foreign file unasked.
		struct stat sb;
		std::string existing = blobs_dir(t) + "/" + b.blob;
		if (stat(existing.c_str(), &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size == b.size) {
			Result<bool> ok = opts.verify_present ? file_matches_blob(existing, b.blob, b.size) : Result<bool>(true);
			if (ok && *ok) {
				drop_temp(t);
				unlink(partial_path(t).c_str());  // a leftover of ours, now useless
				t.lock.release();
				t.state = PGMLR_FETCH_DONE;
				publish(t.blob, nullptr, nullptr);
				return false;
			}
		}
		if (!t.hasher) t.hasher = std::make_unique<BlobHasher>(b.blob, b.size);
		if (t.fd < 0) {
			if (std::string why = open_partial(t); !why.empty()) return fail(t, why), false;
		} else {
			// Resume within this job: the file holds exactly on_disk bytes; the
			// hash must cover them. Re-hash from disk once if it does not.
			if (ftruncate(t.fd, t.on_disk) != 0 || lseek(t.fd, t.on_disk, SEEK_SET) != t.on_disk)
				return fail(t, std::string("could not prepare the resume: ") + std::strerror(errno)), false;
			if (t.hasher->bytes() != t.on_disk) {
				t.hasher->reset();
				if (Status st = hash_fd_prefix(t.fd, t.on_disk, *t.hasher)) return fail(t, st->message), false;
			}
		}
		Result<int64_t> avail = free_bytes(blobs_dir(t));
		if (!avail) return fail(t, avail.error().message), false;
		if (*avail - (b.size - t.on_disk) < opts.min_free_disk)
			return fail(t, "not enough free disk space: " + std::to_string(b.size - t.on_disk) + " bytes needed, " +
							   std::to_string(*avail) + " available, " + std::to_string(opts.min_free_disk) +
							   " must stay free"),
				   false;
		if (t.on_disk == b.size && b.size > 0) {
			finish(t);
			return false;
		}
		t.sink = std::make_unique<BlockSink>(t.fd, t.hasher.get(), kWriteBlock, kQueuedBlocks);
		t.accepted = t.on_disk;
		t.write_error.clear();
		t.body_checked = false;
		t.discard_body = false;
		t.attempt_start = t.on_disk;
		t.attempts++;

		CURL *e = curl_easy_init();
		if (!e) return fail(t, "could not create a curl handle"), false;
		t.easy = e;
		std::string url = resolve_url(opts.endpoint, b.source);
		curl_easy_setopt(e, CURLOPT_URL, url.c_str());
		curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
		curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
		curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
		curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
		if (!opts.ca_file.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, opts.ca_file.c_str());
		curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(opts.connect_timeout_ms));
		curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, static_cast<long>(opts.low_speed_limit));
		curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, static_cast<long>(opts.low_speed_time_s));
		curl_easy_setopt(e, CURLOPT_USERAGENT, "pgml_replication/0.1");
		curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 512L * 1024L);
		// A custom Authorization header: libcurl drops it when a redirect leaves
		// the original host (we never set CURLOPT_UNRESTRICTED_AUTH).
		if (!opts.token.empty()) t.headers = curl_slist_append(t.headers, ("Authorization: Bearer " + opts.token).c_str());
		t.headers = curl_slist_append(t.headers, "Accept-Encoding: identity");
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, t.headers);
		if (t.on_disk > 0) curl_easy_setopt(e, CURLOPT_RANGE, (std::to_string(t.on_disk) + "-").c_str());
		curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &Impl::on_header);
		curl_easy_setopt(e, CURLOPT_HEADERDATA, &t);
		curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Impl::on_body);
		curl_easy_setopt(e, CURLOPT_WRITEDATA, &t);
		curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, &Impl::on_progress);
		curl_easy_setopt(e, CURLOPT_XFERINFODATA, &t);
		curl_easy_setopt(e, CURLOPT_PRIVATE, &t);
		if (curl_multi_add_handle(multi, e) != CURLM_OK) {
			fail(t, "could not start a transfer");
			return false;
		}
		t.state = PGMLR_FETCH_ACTIVE;
		return true;
	}

	// Size and checksum, then: fsync, rename into place, fsync the folder.
	void finish(Transfer &t) {
		const BlobTask &b = task(t);
		if (t.on_disk != b.size) {
			std::string why = "size mismatch: got " + std::to_string(t.on_disk) + " bytes, expected " + std::to_string(b.size);
			drop_temp(t);
			retry_later(t, why, 0);
			return;
		}
		std::string digest = t.hasher->hex_digest();
		t.hasher->reset();
		if (digest != b.blob) {
			drop_temp(t);
			retry_later(t, "checksum mismatch: content hashes to " + digest, 0);
			return;
		}
		// Verified: the rest (fsync, rename, folder sync, links) waits for
		// the disk, on the publishing threads. The lock stays held until the
		// blob is in place.
		int fd = t.fd;
		std::string temp = std::move(t.temp_path);
		t.fd = -1;
		t.temp_path.clear();
		t.publishing = true;
		std::string dir = blobs_dir(t), rel = b.folder + "/blobs/" + b.blob, root_dir = root;
		publish(t.blob, [fd, temp, dir, rel, root_dir]() -> Status {
			auto give_up = [&](const char *what, int err) {
				unlink(temp.c_str());
				return make_error(ErrCode::Io, what + std::string(std::strerror(err)));
			};
			int synced = fsync(fd);
			int err = errno;
			close(fd);  // exactly once: the number may belong to another file right after
			if (synced != 0) return give_up("could not sync the download: ", err);
			if (Status st = check_contained(root_dir, rel, false)) {
				unlink(temp.c_str());
				return make_error(st->code, st->message + " " + st->detail);
			}
			if (rename(temp.c_str(), (root_dir + "/" + rel).c_str()) != 0) return give_up("could not publish the blob: ", errno);
			return fsync_dir(dir);
		}, [this, &t](Status st) {
			t.publishing = false;
			t.lock.release();
			if (st) return fail(t, st->message);
			t.state = PGMLR_FETCH_DONE;
			t.last_error.clear();
		});
	}

	void on_done(Transfer &t, CURLcode rc) {
		long code = 0;
		long retry_after = 0;
		curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &code);
		curl_off_t ra = 0;
		if (curl_easy_getinfo(t.easy, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK) retry_after = static_cast<long>(ra);
		std::string curl_msg = curl_easy_strerror(rc);
		detach_easy(t);
		settle(t);
		if (!t.write_error.empty()) {
			// Our own refusal (disk error, oversized or misplaced body):
			// restart from zero.
			std::string why = t.write_error;
			drop_temp(t);
			retry_later(t, why, 0);
			return;
		}
		if (rc == CURLE_OK && (code == 200 || code == 206)) return finish(t);
		if (rc == CURLE_OK) {
			std::string why = "HTTP " + std::to_string(code) + " from " + resolve_url(opts.endpoint, task(t).source);
			if (code == 408 || code == 429 || code >= 500) return retry_later(t, why, retry_after);
			return fail(t, why, true);
		}
		if (rc == CURLE_ABORTED_BY_CALLBACK) return retry_later(t, "aborted", 0);
		if (rc == CURLE_TOO_MANY_REDIRECTS || rc == CURLE_UNSUPPORTED_PROTOCOL || rc == CURLE_URL_MALFORMAT ||
			rc == CURLE_SSL_CACERT_BADFILE || rc == CURLE_PEER_FAILED_VERIFICATION)
			return fail(t, curl_msg);
		retry_later(t, curl_msg, 0);  // dropped, timed out, refused: resume later
	}

	// ---- publishing links and refs ---------------------------------------
	struct LinkWork {
		size_t index;
		std::string dir;  // absolute
		std::string rel_dir;
		std::string name, target;
		Status result;
		bool created = false;
	};

	// A snapshot link or ref that could not be written: its revision's refs
	// stay unwritten, and the failure is counted and kept for the report.
	void publish_failed(size_t group, const Error &e) {
		plan.groups[group].failed = true;
		links_failed++;
		last_publish_error = e.message + " " + e.detail;
	}

	// On a publishing thread: blob_step (the blob's own fsync and rename,
	// if any), then the snapshot links to it; on this thread afterwards:
	// the bookkeeping, then() and the refs that became ready.
	void publish(size_t bi, std::function<Status()> blob_step, std::function<void(Status)> then) {
		auto links = std::make_shared<std::vector<LinkWork>>();
		for (size_t li : plan.blobs[bi].links) {
			LinkTask &l = plan.links[li];
			if (l.done) continue;
			if (Status st = ensure_dir(l.dir)) {
				publish_failed(plan.links[li].group, *st);
				continue;
			}
			links->push_back(LinkWork{li, root + "/" + l.dir, l.dir, l.name, l.target, {}, false});
		}
		if (!blob_step && links->empty()) return write_ready_refs();
		std::string root_dir = root;
		pool->submit(
			[blob_step = std::move(blob_step), links, root_dir]() -> Status {
				if (blob_step)
					if (Status st = blob_step()) return st;
				for (LinkWork &w : *links) {
					w.result = check_contained(root_dir, w.rel_dir, true);
					if (!w.result) w.result = create_symlink_atomic(w.dir, w.name, w.target, &w.created);
				}
				return {};
			},
			[this, links, then = std::move(then)](Status st) {
				if (!st)
					for (LinkWork &w : *links) {
						if (w.result) {
							publish_failed(plan.links[w.index].group, *w.result);
							continue;
						}
						plan.links[w.index].done = true;
						if (w.created) links_created++;
						plan.groups[plan.links[w.index].group].links_pending--;
					}
				if (then) then(st);
				write_ready_refs();
			});
	}

	void write_ready_refs() {
		for (RefTask &r : plan.refs) {
			Group &g = plan.groups[r.group];
			if (g.failed || g.links_pending > 0 || r.revision.empty() || r.writing) continue;
			size_t slash = r.ref.rfind('/');
			std::string dir = r.folder + "/refs" + (slash == std::string::npos ? "" : "/" + r.ref.substr(0, slash));
			std::string name = slash == std::string::npos ? r.ref : r.ref.substr(slash + 1);
			std::string root_dir = root, revision = r.revision;
			r.writing = true;
			Status made = ensure_dir(dir);
			pool->submit(
				[made, root_dir, dir, name, revision]() -> Status {
					if (made) return made;
					if (Status st = check_contained(root_dir, dir + "/" + name, false)) return st;
					return write_file_atomic(root_dir + "/" + dir, name, revision);
				},
				[this, &r](Status st) {
					r.writing = false;
					r.revision.clear();  // written or given up: never again in this job
					if (st) return publish_failed(r.group, *st);
					refs_written++;
				});
		}
	}

	void publish_present() {
		for (size_t bi = 0; bi < plan.blobs.size(); ++bi)
			if (plan.blobs[bi].present) publish(bi, nullptr, nullptr);
		write_ready_refs();
	}

	// ---- the rate limit --------------------------------------------------
	// Paused transfers resume only once the bucket is half full again, so
	// the job wakes up about 40 times a second instead of after every few
	// kilobytes (each wake-up costs the replica's queries a context switch).
	// Returns how long to wait for that when transfers are paused, else -1.
	int refill_and_resume() {
		if (opts.max_bytes_per_second <= 0) return -1;
		double rate = static_cast<double>(opts.max_bytes_per_second);
		double burst = std::max(rate / 20.0, 256.0 * 1024.0);  // 50 ms of traffic, at least one curl buffer
		Clock::time_point now = Clock::now();
		if (rate_refilled == Clock::time_point{}) {
			rate_tokens = burst;
		} else {
			double dt = std::chrono::duration<double>(now - rate_refilled).count();
			rate_tokens = std::min(burst, rate_tokens + dt * rate);
		}
		rate_refilled = now;
		bool any_paused = false;
		for (auto &t : transfers) any_paused = any_paused || (t->paused && t->easy);
		if (!any_paused) return -1;
		double resume_at = burst / 2.0;
		if (rate_tokens < resume_at) return static_cast<int>((resume_at - rate_tokens) * 1000.0 / rate) + 1;
		bool still_paused = false;
		for (size_t k = 0, n = transfers.size(); k < n; ++k) {
			Transfer &t = *transfers[(resume_cursor + k) % n];
			if (!t.paused || !t.easy) continue;
			if (rate_tokens <= 0) {
				still_paused = true;
				continue;
			}
			resume_cursor = (resume_cursor + k + 1) % n;
			t.paused = false;
			curl_easy_pause(t.easy, CURLPAUSE_CONT);  // may deliver (and pause) at once
			still_paused = still_paused || t.paused;
		}
		if (!still_paused) return -1;
		return static_cast<int>(std::max(0.0, resume_at - rate_tokens) * 1000.0 / rate) + 1;
	}

	// ---- the step loop ---------------------------------------------------
	void start_ready() {
		int active = 0;
		for (auto &t : transfers) active += t->state == PGMLR_FETCH_ACTIVE && !t->publishing;
		Clock::time_point now = Clock::now();
		for (auto &t : transfers) {
			if (active >= opts.max_parallel || pool->in_flight() >= kMaxPublishing) break;
			if (t->state == PGMLR_FETCH_PENDING || (t->state == PGMLR_FETCH_BACKOFF && now >= t->next_try))
				active += start(*t) ? 1 : 0;
		}
	}

	// Returns how many transfers ended, so the loop can refill their slots
	// at once instead of waiting in poll with idle connections.
	int collect_done() {
		int left = 0;
		int ended = 0;
		while (CURLMsg *m = curl_multi_info_read(multi, &left)) {
			if (m->msg != CURLMSG_DONE) continue;
			Transfer *t = nullptr;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, reinterpret_cast<char **>(&t));
			CURLcode rc = m->data.result;
			if (t) on_done(*t, rc);
			ended++;
		}
		return ended;
	}

	bool all_settled() const {
		if (pool->in_flight() > 0) return false;
		for (auto &t : transfers)
			if (t->state != PGMLR_FETCH_DONE && t->state != PGMLR_FETCH_FAILED) return false;
		return true;
	}

	void fill_progress(pgmlr_fetch_progress *out) const {
		std::memset(out, 0, sizeof *out);
		out->files_wanted = static_cast<int64_t>(transfers.size());
		const Transfer *cur = nullptr;
		for (auto &t : transfers) {
			const BlobTask &b = task(*t);
			out->bytes_wanted += b.size;
			if (t->state == PGMLR_FETCH_DONE) {
				out->files_done++;
				out->bytes_done += b.size;
			} else if (t->state == PGMLR_FETCH_FAILED) {
				out->files_failed++;
				out->bytes_failed += b.size;
			} else if (t->state == PGMLR_FETCH_ACTIVE) {
				out->files_active++;
				if (!cur) cur = t.get();
			}
		}
		out->bytes_received = bytes_received;
		out->links_created = links_created;
		out->refs_written = refs_written;
		out->links_failed = links_failed;
		out->partials_removed = partials_removed;
		copy_field(out->last_publish_error, sizeof out->last_publish_error, last_publish_error);
		if (started_set) {
			double s = std::chrono::duration<double>(Clock::now() - started).count();
			out->throughput_bps = s > 0 ? double(bytes_received) / s : 0;
		}
		if (cur) {
			copy_field(out->current_repo, sizeof out->current_repo, task(*cur).source.repo_id);
			copy_field(out->current_path, sizeof out->current_path, task(*cur).source.path);
			out->current_bytes = cur->accepted;
			out->current_total = task(*cur).size;
		}
		out->canceled = canceled;
	}
};

Result<Options> options_from_c(const pgmlr_fetch_options *c) {
	Options o;
	if (!c || !c->cache_root || !*c->cache_root)
		return make_error(ErrCode::InvalidParameter, "the fetch options need a cache folder");
	if (!c->endpoint || (std::strncmp(c->endpoint, "http://", 7) != 0 && std::strncmp(c->endpoint, "https://", 8) != 0))
		return make_error(ErrCode::InvalidParameter, "the Hub endpoint must be an http:// or https:// URL",
						  c->endpoint ? std::string("The value is \"") + c->endpoint + "\"." : "The value is empty.");
	o.cache_root = c->cache_root;
	o.endpoint = c->endpoint;
	while (!o.endpoint.empty() && o.endpoint.back() == '/') o.endpoint.pop_back();
	if (c->token) o.token = c->token;
	if (o.token.find_first_of("\r\n") != std::string::npos)
		return make_error(ErrCode::InvalidParameter, "the Hub token contains a line break");
	if (c->ca_file) o.ca_file = c->ca_file;
	if (c->max_parallel < 1 || c->max_parallel > 64)
		return make_error(ErrCode::InvalidParameter, "max_parallel must be between 1 and 64");
	if (c->max_retries < 0 || c->max_retries > 50)
		return make_error(ErrCode::InvalidParameter, "max_retries must be between 0 and 50");
	if (c->min_free_disk < 0 || c->connect_timeout_ms <= 0 || c->low_speed_limit < 0 || c->low_speed_time_s < 0 ||
		c->backoff_base_ms < 0 || c->backoff_max_ms < c->backoff_base_ms || c->lock_wait_ms < 0 ||
		c->max_bytes_per_second < 0)
		return make_error(ErrCode::InvalidParameter, "a fetch timeout, limit or backoff option is out of range");
	o.max_parallel = c->max_parallel;
	o.min_free_disk = c->min_free_disk;
	o.connect_timeout_ms = c->connect_timeout_ms;
	o.low_speed_limit = c->low_speed_limit;
	o.low_speed_time_s = c->low_speed_time_s;
	o.max_retries = c->max_retries;
	o.backoff_base_ms = c->backoff_base_ms;
	o.backoff_max_ms = c->backoff_max_ms;
	o.lock_wait_ms = c->lock_wait_ms;
	o.verify_present = c->verify_present;
	o.max_bytes_per_second = c->max_bytes_per_second;
	o.abort_flag = c->abort_flag;
	return o;
}

Job::Job(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Job::~Job() = default;

Result<std::unique_ptr<Job>> Job::create(Options opts) {
	Result<std::string> root = real_cache_root(opts.cache_root);
	if (!root) return root.error();
	auto impl = std::make_unique<Impl>();
	impl->opts = std::move(opts);
	impl->root = *root;
	impl->multi = curl_multi_init();
	if (!impl->multi) return make_error(ErrCode::Internal, "could not create a curl multi handle");
	curl_multi_setopt(impl->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, static_cast<long>(impl->opts.max_parallel));
	CURLM *multi = impl->multi;
	impl->pool = std::make_unique<WorkPool>(kPublishThreads, [multi] { curl_multi_wakeup(multi); });
	return std::unique_ptr<Job>(new Job(std::move(impl)));
}

Status Job::add_row(const Row &row) {
	if (impl_->planned) return make_error(ErrCode::Internal, "rows cannot be added after planning");
	if (Status st = validate_row(row)) {
		impl_->refused.add(row, st->message);
		return st;
	}
	impl_->rows.push_back(row);
	return {};
}

Status Job::plan() {
	if (impl_->planned) return make_error(ErrCode::Internal, "the fetch job is already planned");
	Result<Plan> p = make_plan(impl_->rows, impl_->root, impl_->opts.verify_present);
	if (!p) return p.error();
	impl_->plan = std::move(*p);
	for (const RefusedRow &r : impl_->plan.refused) impl_->refused.add(r.row, r.reason);
	std::set<std::pair<std::string, std::string>> wanted;  // folder, blob: partial files a transfer may resume
	for (size_t i = 0; i < impl_->plan.blobs.size(); ++i) {
		if (impl_->plan.blobs[i].present) continue;
		auto t = std::make_unique<Transfer>();
		t->job = impl_.get();
		t->blob = i;
		impl_->transfers.push_back(std::move(t));
		wanted.emplace(impl_->plan.blobs[i].folder, impl_->plan.blobs[i].blob);
	}
	impl_->partials_removed = remove_stale_partials(impl_->root, wanted, kPartialSuffix);
	impl_->planned = true;
	return {};
}

Result<bool> Job::step(int max_ms, pgmlr_fetch_progress *out) {
	Impl &j = *impl_;
	if (!j.planned) return make_error(ErrCode::Internal, "the fetch job is not planned yet");
	if (!j.started_set) {
		j.started = Clock::now();
		j.started_set = true;
	}
	Clock::time_point deadline = Clock::now() + Ms(std::max(max_ms, 0));
	while (!j.finished && !j.canceled) {
		if (j.aborted()) {
			cancel();
			break;
		}
		if (!j.published_present) {
			j.publish_present();
			j.published_present = true;
		}
		j.start_ready();
		int token_wait = j.refill_and_resume();
		int running = 0;
		curl_multi_perform(j.multi, &running);
		int ended = j.collect_done() + j.pool->collect();
		if (j.all_settled()) {
			j.write_ready_refs();
			j.finished = true;
			break;
		}
		auto left = std::chrono::duration_cast<Ms>(deadline - Clock::now()).count();
		if (left <= 0) break;
		if (ended > 0) continue;
		int wait = static_cast<int>(std::min<long long>(left, 50));
		if (token_wait >= 0) wait = std::min(wait, token_wait);
		curl_multi_poll(j.multi, nullptr, 0, wait, nullptr);
	}
	if (out) j.fill_progress(out);
	if (j.canceled) return make_error(ErrCode::Canceled, "the download was canceled");
	return j.finished;
}

void Job::cancel() {
	impl_->abandon_all();
	for (auto &t : impl_->transfers)
		if (t->state == PGMLR_FETCH_PENDING) t->last_error = "canceled";
	impl_->canceled = true;
}

int Job::refused_count() const { return static_cast<int>(impl_->refused.rows().size()); }

bool Job::refused_item(int index, pgmlr_fetch_refusal *out) const {
	const auto &rows = impl_->refused.rows();
	if (index < 0 || static_cast<size_t>(index) >= rows.size()) return false;
	const RefusedRow &r = rows[static_cast<size_t>(index)];
	std::memset(out, 0, sizeof *out);
	copy_field(out->repo_type, sizeof out->repo_type, r.row.repo_type);
	copy_field(out->repo_id, sizeof out->repo_id, r.row.repo_id);
	copy_field(out->revision, sizeof out->revision, r.row.revision);
	copy_field(out->path, sizeof out->path, r.row.path);
	copy_field(out->reason, sizeof out->reason, r.reason);
	copy_field(out->label, sizeof out->label,
			   (hf::repo_type_problem(r.row.repo_type) ? hf::shown(r.row.repo_type) : r.row.repo_type) + " " +
				   hf::shown(r.row.repo_id) + " revision " + hf::shown(r.row.revision) +
				   " path " + hf::shown(r.row.path));
	return true;
}

int Job::queue_count() const {
	int n = 0;
	for (auto &t : impl_->transfers) n += t->state != PGMLR_FETCH_DONE;
	return n;
}

bool Job::queue_item(int index, pgmlr_fetch_queue_entry *out) const {
	int n = 0;
	for (auto &t : impl_->transfers) {
		if (t->state == PGMLR_FETCH_DONE) continue;
		if (n++ != index) continue;
		const BlobTask &b = impl_->task(*t);
		std::memset(out, 0, sizeof *out);
		copy_field(out->repo_type, sizeof out->repo_type, b.source.repo_type);
		copy_field(out->repo_id, sizeof out->repo_id, b.source.repo_id);
		copy_field(out->revision, sizeof out->revision, b.source.revision);
		copy_field(out->path, sizeof out->path, b.source.path);
		copy_field(out->blob, sizeof out->blob, b.blob);
		out->size = b.size;
		out->bytes_done = t->accepted;
		out->attempts = t->attempts;
		out->state = t->state;
		copy_field(out->last_error, sizeof out->last_error, t->last_error);
		return true;
	}
	return false;
}

}  // namespace pgmlr::hf_fetch
