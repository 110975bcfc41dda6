// Implements hf_fetch/ranged_download.hpp; what it is for is said at the top of that header.
#include "common/core_only.hpp"
#include "hf_fetch/ranged_download.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hf_fetch/fs.hpp"
#include "hf_fetch/partial_file.hpp"
#include "hf_fetch/ranged_writer.hpp"
#include "hf_fetch/rate_limiter.hpp"

namespace pgmlr::hf_fetch {
namespace {

using Ms = std::chrono::milliseconds;

// Blocks handed to the writer: libcurl's 16 KiB pieces gathered into writes
// of this size. Memory per file: one block per stream plus the queue.
constexpr size_t kBlock = size_t{256} << 10;
constexpr size_t kQueuedBlocks = 4;
constexpr auto kCheckpointEvery = std::chrono::seconds(1);

double seconds(RangedDownload::Clock::duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

int RangedFiles::connection_cap(int max_parallel, int max_streams_per_file) {
	int per_file = std::max(max_streams_per_file, 1);
	return std::max({std::min(64, max_parallel * per_file), per_file, max_parallel});
}

int RangedFiles::connection_cap(const Options &opts) {
	int cap = connection_cap(opts.max_parallel, opts.max_streams_per_file);
	return opts.max_connections > 0 ? std::min(cap, opts.max_connections) : cap;
}

RangedFiles::RangedFiles(const Options &opts, bool source_serves_ranges, RateLimiter *limiter, int64_t *bytes_received) {
	settings.range_size = opts.range_size;
	settings.max_streams = source_serves_ranges ? opts.max_streams_per_file : 1;
	settings.limiter = limiter;
	settings.bytes_received = bytes_received;
	budget.cap = connection_cap(opts);
}

std::unique_ptr<RangedDownload> RangedFiles::make(int64_t size, Source &src, void *tag) const {
	if (!settings.eligible(size)) return nullptr;
	return std::make_unique<RangedDownload>(settings, src, tag);
}

// ---- one stream ----------------------------------------------------------

BlobReceiver::Take RangedStream::take(const char *data, size_t n) {
	if (pos >= end) return Take::refuse;  // its tail went to another stream: done
	size_t mine = static_cast<size_t>(std::min<int64_t>(static_cast<int64_t>(n), end - pos));
	RateLimiter *limiter = owner->settings_.limiter;
	if (limiter && limiter->enabled() && !limiter->take(mine)) {
		paused = true;
		return Take::pause;
	}
	if (block.capacity() == 0) block.reserve(kBlock);
	block.insert(block.end(), data, data + mine);
	pos += static_cast<int64_t>(mine);
	window_bytes += static_cast<int64_t>(mine);
	owner->received_ += static_cast<int64_t>(mine);
	if (owner->settings_.bytes_received) *owner->settings_.bytes_received += static_cast<int64_t>(mine);
	if (block.size() >= kBlock && !owner->flush(*this)) return Take::refuse;
	return mine < n ? Take::refuse : Take::ok;  // bytes past end belong to another stream
}

bool RangedStream::restart() {
	owner->ranges_ignored_ = true;  // a 200 to a ranged request: one stream for this file
	return false;
}

// ---- the download --------------------------------------------------------

RangedDownload::RangedDownload(RangedSettings settings, Source &src, void *tag)
	: settings_(settings), src_(src), tag_(tag) {}

RangedDownload::~RangedDownload() { keep(); }

std::string RangedDownload::open(const std::string &partial_path, const std::string &blob, int64_t size) {
	if (fd_ >= 0) return {};
	path_ = partial_path;
	sidecar_ = sidecar_path_for(partial_path);
	blob_ = blob;
	size_ = size;
	unlink((sidecar_ + ".tmp").c_str());
	int64_t on_disk = 0;
	int fd = open_plain_file(path_, &on_disk);  // a planted link or other odd file is replaced
	if (fd < 0) return std::string("could not create a temporary file: ") + std::strerror(errno);
	fd_ = fd;
	RangeSet written;
	std::string text;
	if (read_sidecar(sidecar_, &text)) {
		bool fits = parse_sidecar(text, blob, size, &written) &&
					(written.empty() || written.intervals().back().to <= on_disk);
		if (!fits) {
			// Not ours, torn or of another size: its bytes cannot be trusted.
			written = RangeSet();
			unlink(sidecar_.c_str());
			if (ftruncate(fd_, 0) != 0) return std::string("could not reset the download: ") + std::strerror(errno);
		}
		sized_ = fits && on_disk == size;
	} else if (on_disk > size) {
		if (ftruncate(fd_, 0) != 0) return std::string("could not reset the download: ") + std::strerror(errno);
	} else if (on_disk > 0) {
		written.add(0, on_disk);  // a plain prefix (one stream wrote it)
	}
	accepted_ = written;
	hasher_ = std::make_unique<hf::BlobHasher>(blob, size);
	writer_ = std::make_unique<RangedWriter>(fd_, hasher_.get(), std::move(written), sidecar_, blob, size, kQueuedBlocks);
	return {};
}

std::string RangedDownload::begin_attempt() {
	attempt_start_ = accepted_.total();
	has_outcome_ = false;
	ranges_ignored_ = false;
	error_.clear();
	growing_ = true;
	int pieces = static_cast<int>(std::min<int64_t>(split_ranges(size_ - accepted_.total(), settings_.range_size).size(), 64));
	target_ = std::max(1, std::min({settings_.initial_streams, settings_.max_streams, pieces}));
	level_since_ = Clock::now();
	window_open_ = false;
	level_rate_ = 0;
	hedge_tick_ = Clock::now();
	if (sized_) return {};
	// The sidecar first: from here on the file is no plain prefix.
	if (std::string why = writer_->checkpoint_now(); !why.empty()) return why;
	if (fallocate(fd_, 0, 0, size_) != 0) {
		if (errno != EOPNOTSUPP && errno != ENOSYS) return std::string("could not size the download: ") + std::strerror(errno);
		if (ftruncate(fd_, size_) != 0) return std::string("could not size the download: ") + std::strerror(errno);
	}
	sized_ = true;
	return {};
}

bool RangedDownload::flush(RangedStream &s) {
	if (s.block.empty()) {
		s.block_at = s.pos;
		return error_.empty();
	}
	int64_t at = s.block_at;
	int64_t n = static_cast<int64_t>(s.block.size());
	if (!writer_->put(at, std::move(s.block))) {
		if (error_.empty()) error_ = writer_->error();
		s.block.clear();
		return false;
	}
	accepted_.add(at, at + n);
	s.block = writer_->spare_block(kBlock);
	s.block_at = s.pos;
	return true;
}

// The first bytes no one holds or fetches; else the second half of the
// stream with the most bytes left (the tail).
bool RangedDownload::next_piece(Interval *out) {
	RangeSet claimed = accepted_;
	for (auto &s : streams_) claimed.add(s->block_at, s->end);
	if (claimed.first_gap(size_, settings_.range_size, out)) return true;
	RangedStream *victim = nullptr;
	for (auto &s : streams_)
		if (!s->raced && s->running && (!victim || s->end - s->pos > victim->end - victim->pos)) victim = s.get();
	if (!victim || victim->end - victim->pos < 2 * settings_.min_steal) return false;
	int64_t mid = victim->pos + (victim->end - victim->pos) / 2;
	*out = Interval{mid, victim->end};
	victim->end = mid;
	return true;
}

RangedStream *RangedDownload::open_stream(const BlobTask &task, Interval iv, ConnectionBudget &budget) {
	auto s = std::make_unique<RangedStream>();
	s->owner = this;
	s->from = s->pos = s->block_at = iv.from;
	s->end = iv.to;
	s->started = Clock::now();
	s->block = writer_->spare_block(kBlock);
	std::string why;
	s->running = src_.start(task, ByteRange(iv.from, iv.to), *s, &why);
	if (!s->running) {
		finish_with(TransferEnd{TransferEnd::Kind::fail, true, why, 0});
		return nullptr;
	}
	budget.used++;
	streams_.push_back(std::move(s));
	return streams_.back().get();
}

void RangedDownload::remove_stream(RangedStream &s, bool keep_bytes) {
	if (s.running) src_.stop(s.running);
	s.running = nullptr;
	if (keep_bytes) flush(s);
	auto it = std::find_if(streams_.begin(), streams_.end(), [&](const auto &p) { return p.get() == &s; });
	if (it != streams_.end()) streams_.erase(it);
}

void RangedDownload::finish_with(TransferEnd end) {
	if (has_outcome_) return;
	if (!error_.empty()) end = TransferEnd{TransferEnd::Kind::retry, false, error_, 0};
	while (!streams_.empty()) remove_stream(*streams_.back(), end.keep_bytes);
	has_outcome_ = true;
	outcome_ = std::move(end);
	if (outcome_.kind == TransferEnd::Kind::complete) return;
	if (ranges_ignored_)
		flatten();
	else if (!outcome_.keep_bytes)
		drop();
}

bool RangedDownload::take_outcome(TransferEnd *out) {
	if (!has_outcome_) return false;
	has_outcome_ = false;
	*out = outcome_;
	return true;
}

// Doubles the stream count while a doubling buys at least 20 % more
// throughput; measured over sample_ms once settle_ms passed after a change.
void RangedDownload::adapt(Clock::time_point now) {
	if (!growing_ || target_ >= settings_.max_streams) return;
	if (static_cast<int>(streams_.size()) < target_) {
		window_open_ = false;  // not all streams run (budget, tail): no fair measure
		return;
	}
	if (now - level_since_ < Ms(settings_.settle_ms)) return;
	if (!window_open_) {
		window_open_ = true;
		window_since_ = now;
		window_bytes0_ = received_;
		return;
	}
	double dt = seconds(now - window_since_);
	if (dt * 1000 < settings_.sample_ms) return;
	double rate = double(received_ - window_bytes0_) / dt;
	if (level_rate_ > 0 && rate < 1.2 * level_rate_) {
		growing_ = false;
		return;
	}
	level_rate_ = rate;
	target_ = std::min(target_ * 2, settings_.max_streams);
	level_since_ = now;
	window_open_ = false;
}

void RangedDownload::hedge(const BlobTask &task, ConnectionBudget &budget, Clock::time_point now) {
	double dt = seconds(now - hedge_tick_);
	if (dt * 1000 < settings_.hedge_window_ms) return;
	hedge_tick_ = now;
	std::vector<std::pair<RangedStream *, double>> rates;
	for (auto &s : streams_) {
		if (s->running && !s->paused && now - s->started >= Ms(settings_.hedge_window_ms))
			rates.emplace_back(s.get(), double(s->window_bytes) / dt);
		s->window_bytes = 0;
	}
	for (auto &[s, rate] : rates) {
		// Slow means slow beside its siblings; a stream with none measured in
		// the window (the last one, or its siblings too young) is slow only if
		// it moved no byte, else a stall at the tail would wait for curl's
		// low-speed timeout.
		bool slow = rate == 0;
		if (rates.size() >= 2) {
			std::vector<double> others;
			for (auto &o : rates)
				if (o.first != s) others.push_back(o.second);
			std::nth_element(others.begin(), others.begin() + others.size() / 2, others.end());
			slow = rate < settings_.hedge_ratio * others[others.size() / 2];
		}
		s->slow_windows = slow ? s->slow_windows + 1 : 0;
		if (s->raced || s->slow_windows < settings_.hedge_windows || s->pos >= s->end || !budget.available()) continue;
		int64_t from = s->pos, to = s->end;
		s->raced = true;
		if (RangedStream *h = open_stream(task, Interval{from, to}, budget)) {
			h->raced = true;
			hedges_++;
		}
		return;  // one hedge per window; open_stream may have changed streams_
	}
}

bool RangedDownload::pump(const BlobTask &task, ConnectionBudget &budget, TransferEnd *whole) {
	pump(task, budget);
	return take_outcome(whole);
}

void RangedDownload::pump(const BlobTask &task, ConnectionBudget &budget) {
	if (has_outcome_ || !writer_) return;
	Clock::time_point now = Clock::now();
	// A stream whose remaining bytes a sibling already delivered lost its race.
	for (size_t i = 0; i < streams_.size();) {
		RangedStream &s = *streams_[i];
		if (s.running && accepted_.covers(s.pos, s.end))
			remove_stream(s, true);
		else
			++i;
	}
	if (!error_.empty()) return finish_with(TransferEnd{});
	adapt(now);
	hedge(task, budget, now);
	if (has_outcome_) return;
	while (static_cast<int>(streams_.size()) < target_ && budget.available()) {
		Interval iv;
		if (!next_piece(&iv) || !open_stream(task, iv, budget)) break;
	}
	if (streams_.empty() && !has_outcome_ && accepted_.covers(0, size_)) {
		if (!writer_->drain()) error_ = writer_->error();
		finish_with(TransferEnd{TransferEnd::Kind::complete, true, {}, 0});
	}
}

bool RangedDownload::stream_ended(RangedStream &s, const TransferEnd &end, TransferEnd *whole) {
	stream_ended(s, end);
	return take_outcome(whole);
}

void RangedDownload::stream_ended(RangedStream &s, const TransferEnd &end) {
	s.running = nullptr;  // the source has freed it
	s.paused = false;
	bool reached_end = s.pos >= s.end;
	bool progressed = s.pos > s.from;
	if (end.keep_bytes) flush(s);
	auto it = std::find_if(streams_.begin(), streams_.end(), [&](const auto &p) { return p.get() == &s; });
	std::unique_ptr<RangedStream> gone;
	if (it != streams_.end()) {
		gone = std::move(*it);
		streams_.erase(it);
	}
	if (!error_.empty()) return finish_with(TransferEnd{});
	if (ranges_ignored_)
		return finish_with(TransferEnd{TransferEnd::Kind::retry, true,
												"the server ignored the Range header: one stream instead", 0});
	if (reached_end) {
		if (Clock::now() - last_checkpoint_ >= kCheckpointEvery) {
			last_checkpoint_ = Clock::now();
			writer_->request_checkpoint();
		}
		return;  // pump() starts the next range or notices the end
	}
	if (!end.keep_bytes) return finish_with(end);
	// A dropped stream that moved forward: its rest goes out again at once.
	// Otherwise the whole file ends and the job's retry policy decides.
	if (progressed && end.kind != TransferEnd::Kind::fail) return;
	TransferEnd e = end;
	if (e.kind == TransferEnd::Kind::complete) {
		e.kind = TransferEnd::Kind::retry;
		e.why = "a range ended before its last byte";
	}
	finish_with(e);
}

bool RangedDownload::any_paused() const {
	for (auto &s : streams_)
		if (s->paused && s->running) return true;
	return false;
}

bool RangedDownload::resume_paused(RateLimiter &limiter) {
	for (size_t i = 0; i < streams_.size(); ++i) {
		RangedStream &s = *streams_[i];
		if (!s.paused || !s.running || (limiter.enabled() && !limiter.has_tokens())) continue;
		s.paused = false;
		src_.resume(s.running);  // may deliver (and pause) at once
	}
	return any_paused();
}

void RangedDownload::stop_streams() {
	while (!streams_.empty()) remove_stream(*streams_.back(), true);
}

void RangedDownload::close_file() {
	writer_.reset();
	if (fd_ >= 0) close(fd_);
	fd_ = -1;
}

void RangedDownload::keep() {
	if (fd_ < 0) return;  // closed, or handed over
	stop_streams();
	if (writer_ && error_.empty() && writer_->checkpoint_now().empty()) {
		close_file();
		return;
	}
	drop();
}

void RangedDownload::drop() {
	if (fd_ < 0) return;  // closed, or handed over
	while (!streams_.empty()) remove_stream(*streams_.back(), false);
	close_file();
	if (!path_.empty()) unlink(path_.c_str());
	unlink(sidecar_.c_str());
	unlink((sidecar_ + ".tmp").c_str());
}

void RangedDownload::flatten() {
	if (fd_ < 0) return;  // closed, or handed over
	stop_streams();
	bool ok = writer_ && error_.empty() && writer_->drain();
	int64_t prefix = ok ? writer_->written().prefix_end() : 0;
	writer_.reset();
	if (!ok || ftruncate(fd_, prefix) != 0 || fdatasync(fd_) != 0) return drop();
	unlink(sidecar_.c_str());
	close_file();
}

void RangedDownload::hand_over(PartialFile &file) {
	writer_.reset();  // drained when the outcome was complete
	unlink(sidecar_.c_str());
	file.adopt(fd_, path_, std::move(hasher_), size_, attempt_start_);
	fd_ = -1;
}

}  // namespace pgmlr::hf_fetch
