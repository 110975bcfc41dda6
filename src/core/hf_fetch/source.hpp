// The seam between a fetch job and where a blob's bytes come from.
//
// The job decides what to fetch, keeps the partial file, retries, limits the
// rate and publishes; a Source only moves bytes: "send bytes [K, E) of blob
// X of size N to this receiver", then reports how it ended. The Hub over
// libcurl (hub_source.cpp) is one Source; another (libpq to the upstream
// server) is a new file implementing this interface, and the job does not
// change. Parallel ranged transfers of one large file (ranged_download.cpp)
// are built on the same seam: several bounded ranges of one blob at once,
// each on its own transfer, so every Source that serves ranges gets them.
//
// What a new Source implements:
//   - start(): begin a transfer of task's blob over range [from, end) (end
//     -1: to the end of the blob), handing the bytes in order to the
//     receiver (BlobReceiver::take). If the other side can only send the
//     whole blob from byte 0 (it ignored the range), call
//     BlobReceiver::restart() first: a single-stream receiver starts over,
//     a ranged one refuses and the job falls back to one stream. Must not
//     block: nothing is delivered before run().
//   - name() (optional): the source in the job's messages about wrong bytes.
//   - serves_ranges(): true when bounded ranges (end >= 0) are worth asking
//     for (each on its own connection); false keeps every blob one stream.
//   - run(): move every transfer forward without blocking (the job calls it
//     once per turn of its step loop; step(max_ms) stays bounded).
//   - collect(): report each transfer that ended since the last call, exactly
//     once, as a TransferEnd; the source frees the transfer before reporting.
//   - probe() (optional): ask what the source holds for a blob without its
//     bytes (a HEAD), ending like a transfer with remote_etag/remote_size.
//   - resume(): deliver again after take() answered pause (may deliver at once).
//   - stop(): end a transfer without a report (cancel, give up), also one
//     that ended and is not reported yet: collect()'s callback may stop the
//     transfers it has not reported.
//   - wait(ms): block at most ms until run() has something to do or wake()
//     was called; wake() is thread-safe (the publishing threads call it).
// A source never throws out of a callback of a C library it uses; a failure
// inside one becomes that transfer's TransferEnd (retry, keep_bytes false).
// It is driven from the job's thread only, except wake().
#pragma once
#include "common/core_only.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "hf_fetch/plan.hpp"

namespace pgmlr::hf_fetch {

// The job's side of one transfer: where the bytes go, in order.
class BlobReceiver {
public:
	enum class Take {
		ok,      // written (or queued for writing)
		pause,   // not now (the rate limit): hand the same bytes again after Source::resume
		refuse,  // abort the transfer; the receiver keeps the reason
	};
	virtual Take take(const char *data, size_t n) = 0;
	// The bytes that follow start at byte 0 although a later one was asked:
	// drop the kept prefix. false: abort the transfer (the receiver keeps why).
	virtual bool restart() = 0;

protected:
	~BlobReceiver() = default;
};

// How a transfer ended.
struct TransferEnd {
	enum class Kind {
		complete,  // every byte was delivered; the job checks size and checksum
		retry,     // worth another attempt later
		fail,      // no use trying again in this job
	};
	Kind kind = Kind::retry;
	// The bytes delivered so far are a clean prefix: a retry resumes after
	// them, a failure keeps the partial file for a later job. false: they
	// may be wrong (a protocol error of the other side, or a failure inside
	// the source) and are dropped.
	bool keep_bytes = true;
	std::string why;         // for the queue entry; empty when complete
	long retry_after_s = 0;  // the other side asked to wait this long (0: no wish)
	// retry only: the other side is busy serving others (not this file's
	// failure; it does not count against max_retries).
	bool busy = false;
	// For the fetch memory (fetch_memory.hpp): the status of the answer (0:
	// none), how long every request to the source's host must wait (a 429
	// or RateLimit r=0, rate_limit_headers.hpp; 0: no pause), and what the
	// source says the file is ("" / -1: unknown).
	int http_status = 0;
	long host_pause_s = 0;
	std::string remote_etag{};
	int64_t remote_size = -1;
};

// Which bytes of the blob a transfer asks for: [from, end), end -1 meaning
// to the end of the blob (a single stream, or its resume).
struct ByteRange {
	ByteRange(int64_t from_byte = 0, int64_t end_byte = -1) : from(from_byte), end(end_byte) {}  // NOLINT: a plain offset converts
	int64_t from;
	int64_t end;
	bool bounded() const { return end >= 0; }
};

// A running transfer, owned by its source.
class SourceTransfer {
public:
	virtual ~SourceTransfer() = default;
};

class Source {
public:
	virtual ~Source() = default;
	// nullptr with *why set when the transfer cannot start (it is not retried).
	virtual SourceTransfer *start(const BlobTask &task, ByteRange range, BlobReceiver &rx, std::string *why) = 0;
	// The quarantine's cheap question: what the source holds for task now,
	// without the bytes. Ends like a transfer (collect), complete with
	// TransferEnd::remote_etag / remote_size. nullptr with *why when this
	// source cannot ask; the job then downloads.
	virtual SourceTransfer *probe(const BlobTask &task, BlobReceiver &rx, std::string *why) {
		(void)task, (void)rx;
		*why = "this source cannot ask about a file without downloading it";
		return nullptr;
	}
	virtual bool serves_ranges() const { return false; }
	// Who sends the bytes, for the job's messages about wrong bytes (a
	// checksum or size mismatch); "": not named.
	virtual std::string name() const { return {}; }
	virtual void resume(SourceTransfer *t) = 0;
	virtual void stop(SourceTransfer *t) = 0;
	virtual void run() = 0;
	// Calls ended(receiver, end) for each finished transfer; returns how many.
	virtual int collect(const std::function<void(BlobReceiver &, const TransferEnd &)> &ended) = 0;
	virtual void wait(int max_ms) = 0;
	virtual void wake() = 0;
};

}  // namespace pgmlr::hf_fetch
