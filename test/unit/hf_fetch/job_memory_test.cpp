// Whole fetch jobs against a fake source with a fetch memory that outlives
// them: a 429's host pause stops every request until the window ends (in
// the job and the next one), a file whose bytes never match is downloaded
// once and then held, asked about cheaply when due, released when the
// answer or the row changes; 401/403/404/410 are held the same way.
#include "hf_cache/checksum.hpp"
#include "hf_fetch/fetch_memory.hpp"
#include "hf_fetch/job.hpp"
#include "hf_fetch/job_memory.hpp"
#include "hf_fetch/source.hpp"
#include "hf_fetch/job_fixture.hpp"
#include "temp_files.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <thread>

namespace fs = std::filesystem;
using namespace pgmlr::hf_fetch;
using Clock = std::chrono::steady_clock;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

namespace {

const std::string kEndpoint = "http://127.0.0.1:9";
using job_fixture::kAbc;
using job_fixture::kAbcBlob;
using job_fixture::kHello;
using job_fixture::kHelloBlob;
using job_fixture::kRev;
using job_fixture::row;

using test_files::TempDir;

// Serves blobs from memory at once; each start may end as scripted; probes
// answer as set (or the source cannot probe).
class FakeSource final : public Source {
public:
	std::map<std::string, std::string> content;                     // blob -> bytes
	std::map<std::string, std::vector<TransferEnd>> scripts;        // blob -> ends of its next starts
	std::map<std::string, TransferEnd> probe_answers;               // blob -> a probe's end
	bool can_probe = true;
	std::vector<std::pair<std::string, Clock::time_point>> starts;  // blob, when
	std::vector<std::string> probes;

	SourceTransfer *start(const BlobTask &task, ByteRange range, BlobReceiver &rx, std::string *) override {
		auto t = std::make_unique<T>();
		t->rx = &rx;
		t->data = content[task.blob].substr(static_cast<size_t>(range.from));
		auto &s = scripts[task.blob];
		if (!s.empty()) {
			t->end = s.front();
			t->data.clear();  // a scripted end brings no bytes
			s.erase(s.begin());
		}
		starts.emplace_back(task.blob, Clock::now());
		live.push_back(std::move(t));
		return live.back().get();
	}
	SourceTransfer *probe(const BlobTask &task, BlobReceiver &rx, std::string *why) override {
		if (!can_probe) return Source::probe(task, rx, why);
		auto t = std::make_unique<T>();
		t->rx = &rx;
		t->end = probe_answers[task.blob];
		probes.push_back(task.blob);
		live.push_back(std::move(t));
		return live.back().get();
	}
	void resume(SourceTransfer *) override {}
	void stop(SourceTransfer *t) override {
		for (auto it = live.begin(); it != live.end(); ++it)
			if (it->get() == t) {
				live.erase(it);
				return;
			}
	}
	void run() override {
		for (auto &t : live)
			if (!t->data.empty()) {
				t->rx->take(t->data.data(), t->data.size());
				t->data.clear();
			}
	}
	int collect(const std::function<void(BlobReceiver &, const TransferEnd &)> &ended) override {
		int n = 0;
		while (!live.empty()) {
			std::unique_ptr<T> t = std::move(live.front());
			live.erase(live.begin());
			ended(*t->rx, t->end);
			n++;
		}
		return n;
	}
	void wait(int max_ms) override { std::this_thread::sleep_for(std::chrono::milliseconds(std::min(max_ms, 2))); }
	void wake() override {}

private:
	struct T final : SourceTransfer {
		BlobReceiver *rx = nullptr;
		std::string data;
		TransferEnd end{TransferEnd::Kind::complete, true, {}, 0};
	};
	std::vector<std::unique_ptr<T>> live;
};

TransferEnd answer(const std::string &etag, int64_t size) {
	TransferEnd e;
	e.kind = TransferEnd::Kind::complete;
	e.http_status = 302;
	e.remote_etag = etag;
	e.remote_size = size;
	return e;
}

TransferEnd status(int code, long pause_s = 0) {
	TransferEnd e;
	e.kind = code == 429 ? TransferEnd::Kind::retry : TransferEnd::Kind::fail;
	e.http_status = code;
	e.host_pause_s = pause_s;
	e.why = "HTTP " + std::to_string(code) + " from x";
	return e;
}

struct JobRun {
	std::unique_ptr<Job> job;
	FakeSource *fake = nullptr;
	Progress progress;
	bool finished = false;
};

// A job over d with the rows, against a fake source set up by prepare.
JobRun run_job(const std::string &dir, FetchMemory *memory, const std::vector<Row> &rows,
			const std::function<void(FakeSource &)> &prepare, int max_steps = 500, int max_parallel = 4) {
	JobRun r;
	auto src = std::make_unique<FakeSource>();
	src->content = {{kHelloBlob, kHello}, {kAbcBlob, kAbc}};
	prepare(*src);
	r.fake = src.get();
	Options o;
	o.cache_root = dir;
	o.endpoint = kEndpoint;
	o.backoff_base_ms = 1;
	o.backoff_max_ms = 5;
	o.max_parallel = max_parallel;
	o.memory = memory;
	auto job = Job::create(o, std::move(src));
	EXPECT_TRUE(job) << job.error().message;
	r.job = std::move(*job);
	for (const Row &x : rows) EXPECT_FALSE(r.job->add_row(x));
	EXPECT_FALSE(r.job->plan());
	for (int i = 0; i < max_steps && !r.finished; ++i) {
		auto s = r.job->step(20, &r.progress);
		EXPECT_TRUE(s);
		r.finished = s && *s;
	}
	return r;
}

QueueEntry entry(const Job &job, const std::string &blob) {
	QueueEntry e;
	for (int i = 0; job.queue_item(i, &e); ++i)
		if (e.blob == blob) return e;
	ADD_FAILURE() << "no queue entry for " << blob;
	return {};
}

// The key the job gives the row (job_memory.cpp): a hold set up by a test.
FetchMemory::HoldKey key_of(const Row &r) {
	FetchMemory::HoldKey k;
	k.source = FetchMemory::source_key(kEndpoint, "");
	k.folder = "models--org--m";
	k.blob = r.blob;
	k.revision = r.revision;
	k.path = r.path;
	k.size = r.size;
	return k;
}

int count_starts(const FakeSource &f, const std::string &blob) {
	int n = 0;
	for (auto &s : f.starts) n += s.first == blob;
	return n;
}

}  // namespace

TEST(Quarantine, WrongBytesAreDownloadedOnceThenHeldWhileTheOthersArrive) {
	TempDir d;
	FetchMemory memory;
	std::vector<Row> rows = {row("hello.txt", kHelloBlob, 6), row("abc.txt", kAbcBlob, 3)};
	JobRun r = run_job(d.path, &memory, rows, [](FakeSource &f) {
		f.content[kAbcBlob] = "abd";  // never its name
		f.probe_answers[kAbcBlob] = answer("the-etag", 3);
	});
	ASSERT_TRUE(r.finished);
	EXPECT_EQ(count_starts(*r.fake, kAbcBlob), 1);
	EXPECT_EQ(r.progress.files_done, 1);
	EXPECT_EQ(r.progress.files_failed, 1);
	EXPECT_EQ(r.progress.files_held, 1);
	QueueEntry e = entry(*r.job, kAbcBlob);
	EXPECT_EQ(e.state, BlobState::held);
	EXPECT_NE(e.last_error.find("checksum mismatch"), std::string::npos) << e.last_error;
	EXPECT_GT(e.next_try_ms, 50000);
	EXPECT_LE(e.next_try_ms, 60000);
	EXPECT_FALSE(fs::exists(d.path + "/models--org--m/blobs/" + kAbcBlob));
	EXPECT_TRUE(fs::exists(d.path + "/models--org--m/blobs/" + kHelloBlob));
	EXPECT_EQ(memory.hold_count(), 1u);

	// The next jobs neither download nor ask while the hold lasts.
	for (int cycle = 0; cycle < 3; ++cycle) {
		JobRun next = run_job(d.path, &memory, rows, [](FakeSource &f) { f.content[kAbcBlob] = "abd"; });
		ASSERT_TRUE(next.finished);
		EXPECT_TRUE(next.fake->starts.empty());
		EXPECT_TRUE(next.fake->probes.empty());
		EXPECT_EQ(entry(*next.job, kAbcBlob).state, BlobState::held);
		EXPECT_NE(entry(*next.job, kAbcBlob).last_error.find("checksum mismatch"), std::string::npos);
	}
}

TEST(Quarantine, ADueHoldAsksFirstAndStaysHeldWithTwiceTheDelayWhenNothingChanged) {
	TempDir d;
	FetchMemory memory;
	Row abc = row("abc.txt", kAbcBlob, 3);
	memory.hold(key_of(abc), FetchMemory::HoldKind::checksum, "checksum mismatch: x", "the-etag", 3, Clock::now() - minutes(2));
	JobRun r = run_job(d.path, &memory, {abc}, [](FakeSource &f) { f.probe_answers[kAbcBlob] = answer("the-etag", 3); });
	ASSERT_TRUE(r.finished);
	EXPECT_EQ(r.fake->probes.size(), 1u);
	EXPECT_TRUE(r.fake->starts.empty());
	QueueEntry e = entry(*r.job, kAbcBlob);
	EXPECT_EQ(e.state, BlobState::held);
	EXPECT_GT(e.next_try_ms, 110000);  // 2 minutes now
	const FetchMemory::Hold *h = memory.held(key_of(abc));
	ASSERT_NE(h, nullptr);
	EXPECT_EQ(h->count, 2);
	EXPECT_EQ(h->delay, Clock::duration(minutes(2)));
}

TEST(Quarantine, AChangedAnswerReleasesAndDownloads) {
	TempDir d;
	FetchMemory memory;
	Row abc = row("abc.txt", kAbcBlob, 3);
	memory.hold(key_of(abc), FetchMemory::HoldKind::checksum, "checksum mismatch: x", "old-etag", 3, Clock::now() - minutes(2));
	JobRun r = run_job(d.path, &memory, {abc}, [](FakeSource &f) { f.probe_answers[kAbcBlob] = answer("new-etag", 3); });
	ASSERT_TRUE(r.finished);
	EXPECT_EQ(r.fake->probes.size(), 1u);
	EXPECT_EQ(count_starts(*r.fake, kAbcBlob), 1);
	EXPECT_EQ(r.progress.files_done, 1);
	EXPECT_EQ(memory.hold_count(), 0u);
}

TEST(Quarantine, AChangedRowReleasesAndTheOldHoldIsForgotten) {
	TempDir d;
	FetchMemory memory;
	Row old_row = row("abc.txt", kAbcBlob, 3);
	old_row.revision = std::string(40, '2');
	memory.hold(key_of(old_row), FetchMemory::HoldKind::checksum, "checksum mismatch: x", "e", 3, Clock::now());
	JobRun r = run_job(d.path, &memory, {row("abc.txt", kAbcBlob, 3)}, [](FakeSource &) {});
	ASSERT_TRUE(r.finished);
	EXPECT_TRUE(r.fake->probes.empty());
	EXPECT_EQ(count_starts(*r.fake, kAbcBlob), 1);
	EXPECT_EQ(r.progress.files_done, 1);
	EXPECT_EQ(memory.hold_count(), 0u);  // the old row left the manifest
}

TEST(Quarantine, AnotherTokenReleases) {
	TempDir d;
	FetchMemory memory;
	Row abc = row("abc.txt", kAbcBlob, 3);
	FetchMemory::HoldKey k = key_of(abc);
	k.source = FetchMemory::source_key(kEndpoint, "hf_old_token");
	memory.hold(k, FetchMemory::HoldKind::answer, "HTTP 401 from x", "", -1, Clock::now());
	JobRun r = run_job(d.path, &memory, {abc}, [](FakeSource &) {});  // anonymous now
	ASSERT_TRUE(r.finished);
	EXPECT_EQ(r.progress.files_done, 1);
	EXPECT_EQ(memory.hold_count(), 0u);
}

TEST(Quarantine, AtTheLongestDelayTheFileIsDownloadedAgain) {
	TempDir d;
	FetchMemory memory;
	Row abc = row("abc.txt", kAbcBlob, 3);
	Clock::time_point past = Clock::now() - hours(2);
	for (int i = 0; i < 7; ++i) memory.hold(key_of(abc), FetchMemory::HoldKind::checksum, "checksum mismatch: x", "e", 3, past);
	ASSERT_EQ(memory.held(key_of(abc))->delay, Clock::duration(FetchMemory::kMaxHold));
	JobRun r = run_job(d.path, &memory, {abc}, [](FakeSource &f) { f.probe_answers[kAbcBlob] = answer("e", 3); });
	ASSERT_TRUE(r.finished);
	EXPECT_TRUE(r.fake->probes.empty());
	EXPECT_EQ(count_starts(*r.fake, kAbcBlob), 1);
	EXPECT_EQ(r.progress.files_done, 1);  // the bytes are right now
	EXPECT_EQ(memory.hold_count(), 0u);
}

TEST(Quarantine, ASourceThatCannotAskDownloadsWhenDue) {
	TempDir d;
	FetchMemory memory;
	Row abc = row("abc.txt", kAbcBlob, 3);
	memory.hold(key_of(abc), FetchMemory::HoldKind::checksum, "checksum mismatch: x", "e", 3, Clock::now() - minutes(2));
	JobRun r = run_job(d.path, &memory, {abc}, [](FakeSource &f) {
		f.can_probe = false;
		f.content[kAbcBlob] = "abd";
	});
	ASSERT_TRUE(r.finished);
	EXPECT_EQ(count_starts(*r.fake, kAbcBlob), 1);
	const FetchMemory::Hold *h = memory.held(key_of(abc));
	ASSERT_NE(h, nullptr);
	EXPECT_EQ(h->count, 2);  // wrong again: held twice as long
}

TEST(Quarantine, PermanentAnswersAreHeldAndAskedAgainWhenDue) {
	for (int code : {401, 403, 404, 410}) {
		TempDir d;
		FetchMemory memory;
		Row abc = row("abc.txt", kAbcBlob, 3);
		JobRun r = run_job(d.path, &memory, {abc}, [code](FakeSource &f) { f.scripts[kAbcBlob] = {status(code)}; });
		ASSERT_TRUE(r.finished);
		EXPECT_EQ(count_starts(*r.fake, kAbcBlob), 1) << code;
		QueueEntry e = entry(*r.job, kAbcBlob);
		EXPECT_EQ(e.state, BlobState::held) << code;
		EXPECT_NE(e.last_error.find("HTTP " + std::to_string(code)), std::string::npos) << e.last_error;
		JobRun again = run_job(d.path, &memory, {abc}, [](FakeSource &) {});
		EXPECT_TRUE(again.fake->starts.empty()) << code;
		// Due: the request itself is asked again (no probe first), and a success releases.
		memory.hold(key_of(abc), FetchMemory::HoldKind::answer, "HTTP x", "", -1, Clock::now() - hours(3));
		JobRun due = run_job(d.path, &memory, {abc}, [](FakeSource &) {});
		EXPECT_TRUE(due.fake->probes.empty());
		EXPECT_EQ(due.progress.files_done, 1) << code;
		EXPECT_EQ(memory.hold_count(), 0u);
	}
}

TEST(Quarantine, WithoutAMemoryTheJobHoldsForItselfOnly) {
	TempDir d;
	std::vector<Row> rows = {row("abc.txt", kAbcBlob, 3)};
	JobRun r = run_job(d.path, nullptr, rows, [](FakeSource &f) { f.content[kAbcBlob] = "abd"; });
	ASSERT_TRUE(r.finished);
	EXPECT_EQ(count_starts(*r.fake, kAbcBlob), 1);
	EXPECT_EQ(entry(*r.job, kAbcBlob).state, BlobState::held);
	JobRun next = run_job(d.path, nullptr, rows, [](FakeSource &f) { f.content[kAbcBlob] = "abd"; });
	EXPECT_EQ(count_starts(*next.fake, kAbcBlob), 1);
}

TEST(HostPause, A429StopsEveryRequestUntilTheWindowEnds) {
	TempDir d;
	FetchMemory memory;
	std::vector<Row> rows = {row("abc.txt", kAbcBlob, 3), row("hello.txt", kHelloBlob, 6)};
	JobRun r = run_job(d.path, &memory, rows, [](FakeSource &f) { f.scripts[kAbcBlob] = {status(429, 1)}; }, 500, 1);
	ASSERT_TRUE(r.finished);
	EXPECT_EQ(r.progress.files_done, 2);
	EXPECT_EQ(r.progress.files_failed, 0);
	// abc (429) and, after the window, abc again; hello before or after the
	// 429 (the set-up threads decide which blob is ready first).
	const auto &starts = r.fake->starts;
	ASSERT_EQ(starts.size(), 3u);
	auto limited = std::find_if(starts.begin(), starts.end(), [](const auto &s) { return s.first == kAbcBlob; });
	ASSERT_NE(limited, starts.end());
	EXPECT_EQ(std::count_if(starts.begin(), starts.end(), [](const auto &s) { return s.first == kAbcBlob; }), 2);
	for (auto it = limited + 1; it != starts.end(); ++it)
		EXPECT_GE(it->second - limited->second, Clock::duration(seconds(1))) << "a request inside the window";
}

TEST(HostPause, ThePauseOutlivesTheJobAndShowsInTheProgress) {
	TempDir d;
	FetchMemory memory;
	std::vector<Row> rows = {row("abc.txt", kAbcBlob, 3)};
	JobRun first = run_job(d.path, &memory, rows, [](FakeSource &f) { f.scripts[kAbcBlob] = {status(429, 600)}; }, 5);
	EXPECT_FALSE(first.finished);  // waits for the window
	EXPECT_GT(first.progress.paused_ms, 590000);
	first.job->cancel();
	first.job.reset();
	JobRun second = run_job(d.path, &memory, rows, [](FakeSource &) {}, 5);
	EXPECT_FALSE(second.finished);
	EXPECT_TRUE(second.fake->starts.empty());
	EXPECT_TRUE(second.fake->probes.empty());
	EXPECT_GT(second.progress.paused_ms, 590000);
	// Another endpoint is another host: not paused.
	FetchMemory::Clock::time_point now = Clock::now();
	EXPECT_EQ(memory.paused_until("http://127.0.0.1:10", now), Clock::time_point{});
	EXPECT_GT(memory.paused_until(kEndpoint, now), now);
}

TEST(HostPause, A429WithoutHeadersFallsBackToThePerFileBackoff) {
	TempDir d;
	FetchMemory memory;
	JobRun r = run_job(d.path, &memory, {row("abc.txt", kAbcBlob, 3)}, [](FakeSource &f) {
		f.scripts[kAbcBlob] = {status(429, 0), status(429, 0)};
	});
	ASSERT_TRUE(r.finished);
	EXPECT_EQ(r.progress.files_done, 1);
	EXPECT_EQ(count_starts(*r.fake, kAbcBlob), 3);
	EXPECT_EQ(memory.paused_until(kEndpoint, Clock::now()), Clock::time_point{});
}

// An upstream at its max_blob_readers answers "busy" (53300): the file
// waits its turn however often that happens, where as many failures would
// have given up (max_retries is 5).
TEST(HostPause, BusyAnswersDoNotCountAgainstTheRetries) {
	TempDir d;
	for (bool busy : {true, false}) {
		std::string dir = d.path + (busy ? "/busy" : "/failing");
		std::filesystem::create_directories(dir);
		JobRun r = run_job(dir, nullptr, {row("abc.txt", kAbcBlob, 3)},
						   [busy](FakeSource &f) {
							   TransferEnd e;
							   e.kind = TransferEnd::Kind::retry;
							   e.why = "upstream 127.0.0.1:5432: too many blob readers (max_blob_readers)";
							   e.busy = busy;
							   f.scripts[kAbcBlob] = std::vector<TransferEnd>(8, e);
						   });
		ASSERT_TRUE(r.finished);
		EXPECT_EQ(r.progress.files_done, busy ? 1 : 0) << (busy ? "busy" : "failing");
		EXPECT_EQ(count_starts(*r.fake, kAbcBlob), busy ? 9 : 6) << (busy ? "busy" : "failing");
	}
}

TEST(HostPause, AnExhaustedQuotaOnASuccessPausesTheNextRequests) {
	TempDir d;
	FetchMemory memory;
	TransferEnd ok_but_exhausted{TransferEnd::Kind::complete, true, {}, 0};
	ok_but_exhausted.host_pause_s = 600;
	JobRun r = run_job(d.path, &memory, {row("abc.txt", kAbcBlob, 3)}, [&](FakeSource &f) {
		f.scripts[kAbcBlob] = {ok_but_exhausted};  // a scripted end brings no bytes: held for its size
	}, 5);
	EXPECT_EQ(count_starts(*r.fake, kAbcBlob), 1);
	EXPECT_GT(memory.paused_until(kEndpoint, Clock::now()), Clock::now() + seconds(500));
	// The next request to that host, in the next job, waits for the window.
	JobRun next = run_job(d.path, &memory, {row("hello.txt", kHelloBlob, 6)}, [](FakeSource &) {}, 5);
	EXPECT_FALSE(next.finished);
	EXPECT_TRUE(next.fake->starts.empty());
	EXPECT_GT(next.progress.paused_ms, 0);
}

// The source's whole answer has another size than the manifest's: it can
// never match the name, so it is held like wrong bytes instead of being
// downloaded again and again (a longer body is refused as it arrives).
TEST(Quarantine, AWholeAnswerOfAnotherSizeIsHeldNotFetchedAgain) {
	for (const std::string body : {"abcd", "ab"}) {
		SCOPED_TRACE(body);
		TempDir d;
		FetchMemory memory;
		std::vector<Row> rows = {row("abc.txt", kAbcBlob, 3)};
		JobRun r = run_job(d.path, &memory, rows, [&](FakeSource &f) { f.content[kAbcBlob] = body; });
		ASSERT_TRUE(r.finished);
		EXPECT_EQ(count_starts(*r.fake, kAbcBlob), 1);
		QueueEntry e = entry(*r.job, kAbcBlob);
		EXPECT_EQ(e.state, BlobState::held);
		EXPECT_NE(e.last_error.find("size mismatch"), std::string::npos) << e.last_error;
		EXPECT_GT(e.next_try_ms, 50000);
		EXPECT_FALSE(fs::exists(d.path + "/models--org--m/blobs/" + kAbcBlob));
		EXPECT_TRUE(fs::is_empty(d.path + "/models--org--m/blobs"));

		JobRun next = run_job(d.path, &memory, rows, [&](FakeSource &f) { f.content[kAbcBlob] = body; });
		ASSERT_TRUE(next.finished);
		EXPECT_TRUE(next.fake->starts.empty());
	}
}

// Every transfer takes the open "sync epoch" (a descriptor on the cache
// root, durable_batch.hpp) of the batch it will join. A finished transfer
// must let go of it: one kept per finished file piled up one descriptor per
// flush, and a worker at the usual limit of 1,024 ran out of them on a slow
// Hub ("Too many open files" after about 2,000 small files).
TEST(JobDescriptors, FinishedFilesDoNotKeepTheCacheRootOpen) {
	TempDir d;
	std::vector<Row> rows;
	std::map<std::string, std::string> content;
	for (int i = 0; i < 300; ++i) {
		std::string bytes = "file " + std::to_string(i) + "\n";
		std::string blob = pgmlr::hf::sha256_hex(bytes);
		content[blob] = bytes;
		rows.push_back(row("f" + std::to_string(i) + ".txt", blob, static_cast<int64_t>(bytes.size())));
	}
	JobRun r = run_job(d.path, nullptr, rows, [&](FakeSource &f) { f.content = content; }, 5000);
	ASSERT_TRUE(r.finished);
	EXPECT_EQ(r.progress.files_done, 300);
	int root_fds = 0;
	for (const auto &e : fs::directory_iterator("/proc/self/fd")) {
		std::error_code ec;
		if (fs::read_symlink(e.path(), ec) == fs::path(d.path)) root_fds++;
	}
	EXPECT_LE(root_fds, 1) << "descriptors on the cache root still open after the job finished";
}
