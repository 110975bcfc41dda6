// Parallel ranged transfers of one large file: the byte interval set and
// range splitting, the resume sidecar's format, the writer's in-order hash
// with ranges arriving out of order, and whole jobs over a fake Source that
// serves ranges (several streams, resume from a sidecar or a plain prefix,
// a sidecar that does not parse, a server that ignores Range, a hedged
// stall).
#include "hf_cache/checksum.hpp"
#include "hf_fetch/job.hpp"
#include "hf_fetch/partial_file.hpp"
#include "hf_fetch/range_set.hpp"
#include "hf_fetch/ranged_download.hpp"
#include "hf_fetch/ranged_writer.hpp"
#include "hf_fetch/source.hpp"
#include "temp_files.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

namespace fs = std::filesystem;
using namespace pgmlr::hf_fetch;
using pgmlr::Result;

namespace {

const std::string kRev = std::string(40, '1');

using test_files::read_file;
using test_files::TempDir;

void write_file(const std::string &p, const std::string &data) {
	std::ofstream f(p, std::ios::binary | std::ios::trunc);
	f << data;
}

std::string content_of(size_t n) {
	std::string s(n, '\0');
	uint32_t x = 12345;
	for (size_t i = 0; i < n; ++i) {
		x = x * 1103515245u + 12345u;
		s[i] = static_cast<char>(x >> 24);
	}
	return s;
}

// Serves one blob from memory, bounded ranges included, chunk bytes per
// transfer and run(). Transfers starting at an offset in stall deliver
// nothing (once per offset); ignore_range answers every request with the
// whole blob from byte 0, as a server without Range support does.
class RangeFake final : public Source {
public:
	std::string data;
	size_t chunk = 4096;
	bool ignore_range = false;
	std::set<int64_t> stall;
	std::vector<ByteRange> starts;
	int stops = 0;

	bool serves_ranges() const override { return true; }
	SourceTransfer *start(const BlobTask &, ByteRange range, BlobReceiver &rx, std::string *) override {
		auto t = std::make_unique<T>();
		t->rx = &rx;
		t->pos = range.from;
		t->end = range.bounded() ? range.end : static_cast<int64_t>(data.size());
		t->asked_later_byte = range.from > 0 || range.bounded();
		t->stalled = stall.erase(range.from) > 0;
		starts.push_back(range);
		live.push_back(std::move(t));
		return live.back().get();
	}
	void resume(SourceTransfer *t) override { deliver(static_cast<T &>(*t)); }
	void stop(SourceTransfer *t) override {
		stops++;
		for (auto it = live.begin(); it != live.end(); ++it)
			if (it->get() == t) {
				live.erase(it);
				return;
			}
	}
	void run() override {
		for (size_t i = 0; i < live.size(); ++i) deliver(*live[i]);
	}
	int collect(const std::function<void(BlobReceiver &, const TransferEnd &)> &ended) override {
		int n = 0;
		for (size_t i = 0; i < live.size();) {
			if (!live[i]->done) {
				++i;
				continue;
			}
			BlobReceiver &rx = *live[i]->rx;
			TransferEnd end = live[i]->end_as;
			live.erase(live.begin() + static_cast<long>(i));
			ended(rx, end);
			n++;
		}
		return n;
	}
	void wait(int max_ms) override { std::this_thread::sleep_for(std::chrono::milliseconds(std::min(max_ms, 1))); }
	void wake() override {}

private:
	struct T final : SourceTransfer {
		BlobReceiver *rx = nullptr;
		int64_t pos = 0, end = 0;
		bool asked_later_byte = false, checked = false, stalled = false, done = false;
		TransferEnd end_as{TransferEnd::Kind::complete, true, {}, 0};
	};
	void deliver(T &t) {
		if (t.done || t.stalled) return;
		if (!t.checked) {
			t.checked = true;
			if (ignore_range && t.asked_later_byte) {
				if (!t.rx->restart()) {
					t.end_as = TransferEnd{TransferEnd::Kind::retry, true, "refused", 0};
					t.done = true;
					return;
				}
				t.pos = 0;
				t.end = static_cast<int64_t>(data.size());
			}
		}
		size_t n = static_cast<size_t>(std::min<int64_t>(static_cast<int64_t>(chunk), t.end - t.pos));
		if (n > 0) {
			BlobReceiver::Take r = t.rx->take(data.data() + t.pos, n);
			if (r == BlobReceiver::Take::pause) return;
			if (r == BlobReceiver::Take::refuse) {
				t.end_as = TransferEnd{TransferEnd::Kind::retry, true, "refused", 0};
				t.done = true;
				return;
			}
			t.pos += static_cast<int64_t>(n);
		}
		if (t.pos >= t.end) t.done = true;
	}
	std::vector<std::unique_ptr<T>> live;
};

Row row_for(const std::string &blob, int64_t size) {
	Row r;
	r.repo_type = "model";
	r.repo_id = "org/m";
	r.revision = kRev;
	r.refs = {"main"};
	r.path = "model.bin";
	r.blob = blob;
	r.size = size;
	return r;
}

Options ranged_options(const std::string &root) {
	Options o;
	o.cache_root = root;
	o.endpoint = "http://127.0.0.1:9";
	o.backoff_base_ms = 1;
	o.backoff_max_ms = 5;
	o.range_size = 16 * 1024;
	return o;
}

struct JobRun {
	Progress progress;
	bool finished = false;
	std::vector<ByteRange> starts;  // what the source was asked, first first
};

// The job owns the source: what it was asked is copied out before both go.
JobRun run_job(std::unique_ptr<RangeFake> src, const Options &o, const std::string &blob, int64_t size) {
	JobRun out;
	RangeFake *fake = src.get();
	auto job = Job::create(o, std::move(src));
	EXPECT_TRUE(job);
	if (!job) return out;
	EXPECT_FALSE((*job)->add_row(row_for(blob, size)));
	EXPECT_FALSE((*job)->plan());
	for (int i = 0; i < 2000 && !out.finished; ++i) {
		Result<bool> r = (*job)->step(100, &out.progress);
		EXPECT_TRUE(r);
		if (!r) break;
		out.finished = *r;
	}
	out.starts = fake->starts;
	return out;
}

std::vector<std::string> names_in(const std::string &dir) {
	std::vector<std::string> out;
	for (auto &e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
	return out;
}

}  // namespace

TEST(RangeSet, MergesTouchingIntervalsAndFindsGaps) {
	RangeSet s;
	s.add(10, 20);
	s.add(30, 40);
	s.add(20, 25);  // touches: merged
	ASSERT_EQ(s.intervals().size(), 2u);
	EXPECT_EQ(s.intervals()[0], (Interval{10, 25}));
	EXPECT_EQ(s.total(), 25);
	EXPECT_EQ(s.prefix_end(), 0);
	EXPECT_TRUE(s.covers(12, 25));
	EXPECT_FALSE(s.covers(12, 26));
	EXPECT_TRUE(s.covers(5, 5));
	Interval g;
	ASSERT_TRUE(s.first_gap(50, 100, &g));
	EXPECT_EQ(g, (Interval{0, 10}));
	s.add(0, 10);
	EXPECT_EQ(s.prefix_end(), 25);
	ASSERT_TRUE(s.first_gap(50, 3, &g));
	EXPECT_EQ(g, (Interval{25, 28}));  // at most max_len
	s.add(5, 45);  // swallows both
	ASSERT_EQ(s.intervals().size(), 1u);
	ASSERT_TRUE(s.first_gap(50, 100, &g));
	EXPECT_EQ(g, (Interval{45, 50}));
	s.add(45, 50);
	EXPECT_FALSE(s.first_gap(50, 100, &g));
}

TEST(RangeSet, SplitsABlobIntoRangesOfTheRangeSize) {
	auto r = split_ranges(40, 16);
	ASSERT_EQ(r.size(), 3u);
	EXPECT_EQ(r[0], (Interval{0, 16}));
	EXPECT_EQ(r[1], (Interval{16, 32}));
	EXPECT_EQ(r[2], (Interval{32, 40}));
	EXPECT_EQ(split_ranges(32, 16).size(), 2u);
	EXPECT_TRUE(split_ranges(0, 16).empty());
	RangedSettings s;
	s.range_size = 16;
	EXPECT_TRUE(s.eligible(32));   // two ranges: ranged
	EXPECT_FALSE(s.eligible(31));  // smaller: one stream
	s.max_streams = 1;
	EXPECT_FALSE(s.eligible(1000));
}

TEST(Sidecar, RoundTripsAndRejectsWhatDoesNotFit) {
	const std::string blob(64, 'a');
	RangeSet w;
	w.add(0, 100);
	w.add(200, 300);
	std::string text = format_sidecar(blob, 1000, w);
	RangeSet back;
	ASSERT_TRUE(parse_sidecar(text, blob, 1000, &back));
	EXPECT_EQ(back.intervals(), w.intervals());
	RangeSet empty;
	ASSERT_TRUE(parse_sidecar(format_sidecar(blob, 1000, RangeSet()), blob, 1000, &empty));
	EXPECT_TRUE(empty.empty());

	RangeSet out;
	EXPECT_FALSE(parse_sidecar(text, std::string(64, 'b'), 1000, &out));  // another blob
	EXPECT_FALSE(parse_sidecar(text, blob, 999, &out));                    // another size
	EXPECT_FALSE(parse_sidecar(text.substr(0, text.size() - 4), blob, 1000, &out));  // torn: no end line
	EXPECT_FALSE(parse_sidecar(text + "junk\n", blob, 1000, &out));  // something after the end
	EXPECT_FALSE(parse_sidecar("garbage", blob, 1000, &out));
	EXPECT_FALSE(parse_sidecar("", blob, 1000, &out));
	std::string head = "pgml_replication ranges 1\nblob " + blob + "\nsize 1000\n";
	EXPECT_FALSE(parse_sidecar(head + "0 1001\nend\n", blob, 1000, &out));  // past the blob
	EXPECT_FALSE(parse_sidecar(head + "50 40\nend\n", blob, 1000, &out));   // backwards
	EXPECT_FALSE(parse_sidecar(head + "0 100\n50 150\nend\n", blob, 1000, &out));  // overlapping
	EXPECT_FALSE(parse_sidecar(head + "-5 10\nend\n", blob, 1000, &out));
	EXPECT_FALSE(parse_sidecar(head + "0 x\nend\n", blob, 1000, &out));
	EXPECT_TRUE(parse_sidecar(head + "0 100\n100 200\nend\n", blob, 1000, &out));  // adjacent lines merge
	EXPECT_EQ(out.intervals().size(), 1u);

	TempDir d;
	std::string side = d.path + "/x.pgml.ranges";
	ASSERT_EQ(write_sidecar(side, text), "");
	std::string read;
	ASSERT_TRUE(read_sidecar(side, &read));
	EXPECT_EQ(read, text);
	EXPECT_FALSE(fs::exists(side + ".tmp"));
	EXPECT_EQ(sidecar_path_for(d.path + "/b.pgml.incomplete"), d.path + "/b.pgml.ranges");
}

TEST(RangedWriter, HashesInOrderWhileRangesArriveOutOfOrder) {
	TempDir d;
	const std::string data = content_of(5 * 100000 + 123);
	const std::string blob = pgmlr::hf::sha256_hex(data);
	const int64_t size = static_cast<int64_t>(data.size());
	int fd = open((d.path + "/f").c_str(), O_RDWR | O_CREAT, 0644);
	ASSERT_GE(fd, 0);
	pgmlr::hf::BlobHasher hasher(blob, size);
	{
		RangedWriter w(fd, &hasher, RangeSet(), d.path + "/f.pgml.ranges", blob, size, 2);
		auto put = [&](int64_t from, int64_t to) {
			std::vector<char> b(data.begin() + from, data.begin() + to);
			ASSERT_TRUE(w.put(from, std::move(b)));
		};
		put(300000, size);  // the last range first
		put(100000, 200000);
		ASSERT_TRUE(w.drain());
		EXPECT_EQ(w.hashed(), 0);  // nothing contiguous from byte 0 yet
		put(0, 100000);
		ASSERT_TRUE(w.drain());
		EXPECT_EQ(w.hashed(), 200000);  // the prefix, read back past the block
		put(200000, 300000);
		ASSERT_TRUE(w.drain());
		EXPECT_EQ(w.hashed(), size);
		EXPECT_EQ(w.written().intervals(), (std::vector<Interval>{{0, size}}));
		ASSERT_EQ(w.checkpoint_now(), "");
	}
	EXPECT_EQ(hasher.hex_digest(), blob);
	RangeSet recorded;
	EXPECT_TRUE(parse_sidecar(read_file(d.path + "/f.pgml.ranges"), blob, size, &recorded));
	EXPECT_EQ(recorded.total(), size);
	close(fd);
}

TEST(RangedJob, FetchesALargeFileOverSeveralBoundedRanges) {
	TempDir d;
	const std::string data = content_of(200 * 1024 + 7);
	const std::string blob = pgmlr::hf::sha256_hex(data);
	auto src = std::make_unique<RangeFake>();
	src->data = data;
	JobRun r = run_job(std::move(src), ranged_options(d.path), blob, static_cast<int64_t>(data.size()));
	ASSERT_TRUE(r.finished);
	EXPECT_EQ(r.progress.files_done, 1);
	EXPECT_EQ(r.progress.bytes_received, static_cast<int64_t>(data.size()));
	std::string blobs = d.path + "/models--org--m/blobs";
	EXPECT_EQ(read_file(blobs + "/" + blob), data);
	EXPECT_GE(r.starts.size(), 13u);  // 13 ranges of 16 KiB
	for (const ByteRange &b : r.starts) EXPECT_TRUE(b.bounded());
	EXPECT_EQ(names_in(blobs), std::vector<std::string>{blob});  // no partial file, no sidecar
}

TEST(RangedJob, ResumesTheRangesASidecarRecords) {
	TempDir d;
	const std::string data = content_of(200 * 1024);
	const std::string blob = pgmlr::hf::sha256_hex(data);
	const int64_t size = static_cast<int64_t>(data.size());
	std::string blobs = d.path + "/models--org--m/blobs";
	fs::create_directories(blobs);
	// What a kill -9 leaves: the file sized in full, two ranges written.
	std::string partial = data;
	for (int64_t i = 32768; i < size; ++i)
		if (i < 65536 || i >= 98304) partial[static_cast<size_t>(i)] = 'x';
	write_file(blobs + "/" + blob + ".pgml.incomplete", partial);
	RangeSet kept;
	kept.add(0, 32768);
	kept.add(65536, 98304);
	write_file(blobs + "/" + blob + ".pgml.ranges", format_sidecar(blob, size, kept));
	auto src = std::make_unique<RangeFake>();
	src->data = data;
	JobRun r = run_job(std::move(src), ranged_options(d.path), blob, size);
	ASSERT_TRUE(r.finished);
	EXPECT_EQ(r.progress.files_done, 1);
	EXPECT_EQ(read_file(blobs + "/" + blob), data);
	EXPECT_EQ(r.progress.bytes_received, size - 65536);  // only what the sidecar did not record
	for (const ByteRange &b : r.starts) {
		EXPECT_FALSE(b.from < 32768) << b.from;
		EXPECT_FALSE(b.from < 98304 && b.end > 65536) << b.from << "-" << b.end;
	}
	EXPECT_EQ(names_in(blobs), std::vector<std::string>{blob});
}

TEST(RangedJob, APartialFileWithoutASidecarIsAPlainPrefix) {
	TempDir d;
	const std::string data = content_of(200 * 1024);
	const std::string blob = pgmlr::hf::sha256_hex(data);
	const int64_t size = static_cast<int64_t>(data.size());
	std::string blobs = d.path + "/models--org--m/blobs";
	fs::create_directories(blobs);
	write_file(blobs + "/" + blob + ".pgml.incomplete", data.substr(0, 40000));  // one stream's prefix
	auto src = std::make_unique<RangeFake>();
	src->data = data;
	JobRun r = run_job(std::move(src), ranged_options(d.path), blob, size);
	ASSERT_TRUE(r.finished);
	EXPECT_EQ(read_file(blobs + "/" + blob), data);
	EXPECT_EQ(r.progress.bytes_received, size - 40000);
	ASSERT_FALSE(r.starts.empty());
	EXPECT_EQ(r.starts.front().from, 40000);
}

TEST(RangedJob, ASidecarThatDoesNotParseIsDiscardedWithItsPartialFile) {
	TempDir d;
	const std::string data = content_of(100 * 1024);
	const std::string blob = pgmlr::hf::sha256_hex(data);
	const int64_t size = static_cast<int64_t>(data.size());
	std::string blobs = d.path + "/models--org--m/blobs";
	fs::create_directories(blobs);
	write_file(blobs + "/" + blob + ".pgml.incomplete", std::string(data.size(), 'x'));  // wrong bytes
	write_file(blobs + "/" + blob + ".pgml.ranges", "pgml_replication ranges 1\nblob " + blob + "\nsize 1\n0 1\nend\n");
	auto src = std::make_unique<RangeFake>();
	src->data = data;
	JobRun r = run_job(std::move(src), ranged_options(d.path), blob, size);
	ASSERT_TRUE(r.finished);
	EXPECT_EQ(r.progress.files_done, 1);
	EXPECT_EQ(r.progress.bytes_received, size);  // everything again
	EXPECT_EQ(read_file(blobs + "/" + blob), data);
	EXPECT_EQ(names_in(blobs), std::vector<std::string>{blob});
}

TEST(RangedJob, AServerThatIgnoresRangeGetsOneStream) {
	TempDir d;
	const std::string data = content_of(100 * 1024);
	const std::string blob = pgmlr::hf::sha256_hex(data);
	auto src = std::make_unique<RangeFake>();
	src->data = data;
	src->ignore_range = true;
	JobRun r = run_job(std::move(src), ranged_options(d.path), blob, static_cast<int64_t>(data.size()));
	ASSERT_TRUE(r.finished);
	EXPECT_EQ(r.progress.files_done, 1);
	std::string blobs = d.path + "/models--org--m/blobs";
	EXPECT_EQ(read_file(blobs + "/" + blob), data);
	ASSERT_GE(r.starts.size(), 2u);
	EXPECT_TRUE(r.starts.front().bounded());
	EXPECT_FALSE(r.starts.back().bounded());  // the fallback: one stream
	EXPECT_EQ(names_in(blobs), std::vector<std::string>{blob});
}

// Four streams at most; a stream slow for two 100 ms windows is hedged.
RangedSettings hedging_settings(int64_t range_size) {
	RangedSettings s;
	s.range_size = range_size;
	s.max_streams = 4;
	s.hedge_window_ms = 100;
	s.hedge_windows = 2;
	return s;
}

// Pumps one ranged download against the fake until it ends (60 s at most:
// a download that never ends is a fail with its own reason).
TransferEnd drive(RangedDownload &r, RangeFake &src, const std::string &blob, int64_t size) {
	ConnectionBudget budget;
	BlobTask task;
	task.blob = blob;
	task.size = size;
	TransferEnd end{TransferEnd::Kind::fail, false, "did not end within 60 s", 0};
	bool ended = false;
	auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
	while (!ended && std::chrono::steady_clock::now() < deadline) {
		budget.used = r.streams();
		if (r.pump(task, budget, &end)) break;
		src.run();
		src.collect([&](BlobReceiver &rx, const TransferEnd &e) {
			auto *stream = dynamic_cast<RangedStream *>(&rx);
			if (stream && r.stream_ended(*stream, e, &end)) ended = true;
		});
		std::this_thread::sleep_for(std::chrono::milliseconds(1));
	}
	return end;
}

TEST(RangedDownload, AStalledStreamIsHedgedAndTheFirstToFinishWins) {
	TempDir d;
	const std::string data = content_of(1 << 20);
	const std::string blob = pgmlr::hf::sha256_hex(data);
	const int64_t size = static_cast<int64_t>(data.size());
	RangeFake src;
	src.data = data;
	src.chunk = 512;
	src.stall.insert(0);  // the first range never moves
	RangedDownload r(hedging_settings(64 * 1024), src, nullptr);
	ASSERT_EQ(r.open(d.path + "/b.pgml.incomplete", blob, size), "");
	ASSERT_EQ(r.begin_attempt(), "");
	EXPECT_TRUE(fs::exists(d.path + "/b.pgml.ranges"));  // written before the file was sized
	TransferEnd end = drive(r, src, blob, size);
	ASSERT_EQ(end.kind, TransferEnd::Kind::complete) << end.why;
	EXPECT_EQ(r.hedges(), 1);
	EXPECT_GE(src.stops, 1);  // the stalled transfer lost and was stopped
	int from_zero = 0;
	for (const ByteRange &b : src.starts) from_zero += b.from == 0;
	EXPECT_EQ(from_zero, 2);  // the stalled range and its hedge
	PartialFile file;
	r.hand_over(file);
	EXPECT_FALSE(fs::exists(d.path + "/b.pgml.ranges"));
	EXPECT_EQ(file.on_disk(), size);
	EXPECT_EQ(file.hex_digest(), blob);
	std::string path;
	close(file.hand_over(&path));
	EXPECT_EQ(read_file(path), data);
}

// The last stream left has no sibling to be compared with: when it moves no
// byte for the hedge windows it is hedged all the same (this hung before).
TEST(RangedDownload, ALoneStalledStreamIsHedged) {
	TempDir d;
	const std::string data = content_of(64 * 1024);
	const std::string blob = pgmlr::hf::sha256_hex(data);
	const int64_t size = static_cast<int64_t>(data.size());
	RangeFake src;
	src.data = data;
	src.stall.insert(0);
	RangedDownload r(hedging_settings(size), src, nullptr);  // one piece: one stream, never a sibling
	ASSERT_EQ(r.open(d.path + "/b.pgml.incomplete", blob, size), "");
	ASSERT_EQ(r.begin_attempt(), "");
	TransferEnd end = drive(r, src, blob, size);
	ASSERT_EQ(end.kind, TransferEnd::Kind::complete) << end.why;
	EXPECT_EQ(r.hedges(), 1);
	EXPECT_EQ(src.starts.size(), 2u);  // the stalled stream and its hedge
	EXPECT_GE(src.stops, 1);
	PartialFile file;
	r.hand_over(file);
	EXPECT_EQ(file.hex_digest(), blob);
}
