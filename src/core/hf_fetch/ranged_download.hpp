// Parallel ranged transfer of one large file: the blob is cut into ranges
// of range_size bytes, fetched over several transfers of the Source at once
// (each its own connection) and written at their offsets into the partial
// file by a RangedWriter, which hashes the contiguous prefix in order.
//   - Adaptive: starts with initial_streams and doubles while the file's
//     throughput grows by at least 20 % per doubling, up to max_streams;
//     every stream also needs a connection from the job-wide budget.
//   - Tail: when no range is left, an idle slot takes the second half of
//     the stream with the most bytes left.
//   - Hedge: a stream slower than a quarter of its siblings' median for a
//     few windows has its remaining bytes asked again on a new transfer;
//     the first to deliver them wins and the other is stopped.
//   - Resume: the sidecar (range_set.hpp) records the written intervals; it
//     is written before the file is sized to its full length, so a partial
//     file without a sidecar is always a plain prefix.
//   - A server that ignores Range (200 instead of 206) ends the download
//     with ranges_ignored(): the job cuts the file to its prefix and goes on
//     with one stream.
// Driven from the job's thread only; the writer has its own thread.
#pragma once
#include "common/core_only.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "hf_cache/checksum.hpp"
#include "hf_fetch/range_set.hpp"
#include "hf_fetch/job.hpp"
#include "hf_fetch/source.hpp"

namespace pgmlr::hf_fetch {

class PartialFile;
class RangedDownload;
class RangedWriter;
class RateLimiter;

struct RangedSettings {
	int64_t range_size = int64_t{16} << 20;
	int max_streams = 16;  // 1: never ranged
	RateLimiter *limiter = nullptr;     // the job's: a stream pauses when it says so
	int64_t *bytes_received = nullptr;  // the job's count of body bytes
	int initial_streams = 4;
	int settle_ms = 200;      // after a change of the stream count, before measuring
	int sample_ms = 300;      // the measuring window
	int hedge_window_ms = 1000;
	int hedge_windows = 3;    // this many slow windows in a row start a hedge
	double hedge_ratio = 0.25;
	int64_t min_steal = int64_t{1} << 20;  // a stream keeps at least this much when its tail is split
	// Files of at least two ranges, when more than one stream is allowed.
	bool eligible(int64_t size) const { return max_streams > 1 && range_size > 0 && size >= 2 * range_size; }
};

// Connections of the whole job: the job sets cap and counts used each turn.
struct ConnectionBudget {
	int cap = 16;
	int used = 0;
	bool available() const { return used < cap; }
};

// One transfer of a range of the blob.
struct RangedStream final : BlobReceiver {
	using Clock = std::chrono::steady_clock;
	RangedDownload *owner = nullptr;
	SourceTransfer *running = nullptr;
	int64_t from = 0;
	int64_t pos = 0;  // the next byte to receive
	int64_t end = 0;  // exclusive; lowered when the tail is split off
	int64_t block_at = 0;  // where block starts (bytes before it are with the writer)
	std::vector<char> block;
	bool paused = false;
	bool raced = false;  // hedged, or a hedge: not split further
	Clock::time_point started{};
	int64_t window_bytes = 0;
	int slow_windows = 0;

	Take take(const char *data, size_t n) override;
	bool restart() override;
};

class RangedDownload {
public:
	using Clock = std::chrono::steady_clock;
	RangedDownload(RangedSettings settings, Source &src, void *tag);
	~RangedDownload();  // keep(): the bytes so far stay for a later attempt
	RangedDownload(const RangedDownload &) = delete;
	RangedDownload &operator=(const RangedDownload &) = delete;

	// Opens the partial file: resumes the intervals of a sidecar that fits
	// this blob, or a plain prefix; a sidecar that does not parse or fit is
	// discarded with the file's bytes. Returns an error text. Any thread
	// (the job's set-up threads); a no-op when already open.
	std::string open(const std::string &partial_path, const std::string &blob, int64_t size);
	// Before each attempt: writes the sidecar, then sizes the file (once).
	std::string begin_attempt();
	// Once per turn of the job's loop: stops redundant streams, adapts the
	// stream count, hedges, splits tails, starts streams, notices the end.
	// true with *whole when the download as a whole ended.
	bool pump(const BlobTask &task, ConnectionBudget &budget, TransferEnd *whole);
	// A stream's transfer ended (s is freed here); true with *whole when the
	// download as a whole ended with it.
	bool stream_ended(RangedStream &s, const TransferEnd &end, TransferEnd *whole);
	// The download as a whole ended (complete, retry or fail): once. Unless
	// complete, its streams are stopped, and the file is closed when the
	// server ignored Range (cut to its contiguous prefix, no sidecar) or the
	// bytes cannot be kept (removed with the sidecar).
	bool take_outcome(TransferEnd *out);

	bool any_paused() const;
	bool resume_paused(RateLimiter &limiter);  // true: some stream still paused
	void stop_streams();  // without reports; received bytes are kept
	void keep();          // stop, sync, record the sidecar, close
	void drop();          // stop, close, remove the file and its sidecar
	void flatten();       // cut to the contiguous prefix, no sidecar, close
	// Complete and hashed: the file becomes the job's PartialFile (the
	// sidecar goes first: a full file without one is a complete prefix).
	void hand_over(PartialFile &file);

	bool is_open() const { return fd_ >= 0; }
	bool ranges_ignored() const { return ranges_ignored_; }
	int streams() const { return static_cast<int>(streams_.size()); }
	int64_t accepted() const { return accepted_.total(); }
	int64_t attempt_start() const { return attempt_start_; }
	int target_streams() const { return target_; }
	int hedges() const { return hedges_; }
	int64_t received() const { return received_; }
	void *tag() const { return tag_; }

private:
	friend struct RangedStream;
	void stream_ended(RangedStream &s, const TransferEnd &end);
	void pump(const BlobTask &task, ConnectionBudget &budget);
	bool flush(RangedStream &s);
	bool next_piece(Interval *out);
	RangedStream *open_stream(const BlobTask &task, Interval iv, ConnectionBudget &budget);
	void remove_stream(RangedStream &s, bool keep_bytes);
	void adapt(Clock::time_point now);
	void hedge(const BlobTask &task, ConnectionBudget &budget, Clock::time_point now);
	void finish_with(TransferEnd end);
	void close_file();

	RangedSettings settings_;
	Source &src_;
	void *tag_;
	std::string path_, sidecar_, blob_;
	int64_t size_ = 0;
	int fd_ = -1;
	bool sized_ = false;
	std::unique_ptr<hf::BlobHasher> hasher_;
	std::unique_ptr<RangedWriter> writer_;
	RangeSet accepted_;  // bytes handed to the writer (or on disk from before)
	std::vector<std::unique_ptr<RangedStream>> streams_;
	int64_t attempt_start_ = 0;
	int64_t received_ = 0;
	bool ranges_ignored_ = false;
	std::string error_;  // a write error: the bytes are dropped
	bool has_outcome_ = false;
	TransferEnd outcome_;
	Clock::time_point last_checkpoint_{};
	int hedges_ = 0;
	// adaptation
	int target_ = 0;
	bool growing_ = true;
	Clock::time_point level_since_{};
	bool window_open_ = false;
	Clock::time_point window_since_{};
	int64_t window_bytes0_ = 0;
	double level_rate_ = 0;
	Clock::time_point hedge_tick_{};
};

// What a job keeps for its ranged files: their settings and its budget of
// connections.
struct RangedFiles {
	RangedFiles(const Options &opts, bool source_serves_ranges, RateLimiter *limiter, int64_t *bytes_received);
	// Connections of one job: each ranged file may use max_streams_per_file
	// of them, up to 64 in all (aria2's -x16 per file for four files at
	// once); fewer when fewer files may run at once, never fewer than one
	// file's max_streams_per_file or max_parallel.
	static int connection_cap(int max_parallel, int max_streams_per_file);
	// The job's cap: the above, lowered to opts.max_connections when that is set.
	static int connection_cap(const Options &opts);
	// A ranged download for a blob of size bytes; nullptr: one stream.
	std::unique_ptr<RangedDownload> make(int64_t size, Source &src, void *tag) const;

	RangedSettings settings;
	ConnectionBudget budget;
};

}  // namespace pgmlr::hf_fetch
