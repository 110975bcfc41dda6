// The fetch memory on its own: host pauses (never shortened, bounded, per
// host) and the quarantine book (the delay doubles from a minute to an
// hour, a changed row or source is another key, retain forgets rows that
// left the manifest, the size is capped).
#include "hf_fetch/fetch_memory.hpp"

#include <gtest/gtest.h>

using namespace pgmlr::hf_fetch;
using Clock = FetchMemory::Clock;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

namespace {

FetchMemory::HoldKey key(const std::string &path, const std::string &source = "http://hub#anonymous") {
	FetchMemory::HoldKey k;
	k.source = source;
	k.folder = "models--org--m";
	k.blob = std::string(64, 'a');
	k.revision = std::string(40, '1');
	k.path = path;
	k.size = 10;
	return k;
}

}  // namespace

TEST(FetchMemoryPause, PausesTheHostUntilTheWindowEnds) {
	FetchMemory m;
	Clock::time_point t0 = Clock::now();
	EXPECT_EQ(m.paused_until("http://hub", t0), Clock::time_point{});
	m.pause_host("http://hub", seconds(20), t0);
	EXPECT_EQ(m.paused_until("http://hub", t0 + seconds(19)), t0 + seconds(20));
	EXPECT_EQ(m.paused_until("http://other", t0), Clock::time_point{});  // per host
	EXPECT_EQ(m.paused_until("http://hub", t0 + seconds(20)), Clock::time_point{});
	m.pause_host("http://hub", seconds(20), t0);
	m.pause_host("http://hub", seconds(5), t0 + seconds(1));  // a shorter answer never shortens it
	EXPECT_EQ(m.paused_until("http://hub", t0 + seconds(2)), t0 + seconds(20));
	m.pause_host("http://hub", seconds(30), t0 + seconds(1));
	EXPECT_EQ(m.paused_until("http://hub", t0 + seconds(2)), t0 + seconds(31));
}

TEST(FetchMemoryPause, BoundedInLengthAndHosts) {
	FetchMemory m;
	Clock::time_point t0 = Clock::now();
	m.pause_host("http://hub", hours(48), t0);
	EXPECT_EQ(m.paused_until("http://hub", t0), t0 + FetchMemory::kMaxPause);
	m.pause_host("http://zero", seconds(0), t0);
	EXPECT_EQ(m.paused_until("http://zero", t0), Clock::time_point{});
	for (int i = 0; i < 200; ++i) m.pause_host("http://h" + std::to_string(i), seconds(10 + i), t0);
	EXPECT_LE(m.host_count(), FetchMemory::kMaxHosts);
	EXPECT_NE(m.paused_until("http://h199", t0), Clock::time_point{});  // the longest pauses stay
	m.pause_host("http://late", seconds(1), t0 + hours(3));  // expired pauses go first
	EXPECT_EQ(m.host_count(), 1u);
}

TEST(FetchMemoryHold, DelayDoublesFromAMinuteUpToAnHour) {
	FetchMemory m;
	Clock::time_point now = Clock::now();
	std::vector<long> delays;
	for (int i = 0; i < 9; ++i) {
		const FetchMemory::Hold &h = m.hold(key("a"), FetchMemory::HoldKind::checksum, "checksum mismatch", "e", 10, now);
		delays.push_back(std::chrono::duration_cast<seconds>(h.delay).count());
		EXPECT_EQ(h.next_try, now + h.delay);
		EXPECT_EQ(h.count, i + 1);
	}
	EXPECT_EQ(delays, (std::vector<long>{60, 120, 240, 480, 960, 1920, 3600, 3600, 3600}));
}

TEST(FetchMemoryHold, ReleaseAndAChangedRowOrSourceAreNotHeld) {
	FetchMemory m;
	Clock::time_point now = Clock::now();
	m.hold(key("a"), FetchMemory::HoldKind::checksum, "x", "e", 10, now);
	ASSERT_NE(m.held(key("a")), nullptr);
	EXPECT_EQ(m.held(key("b")), nullptr);                             // another path
	EXPECT_EQ(m.held(key("a", "http://hub#123")), nullptr);           // another token
	EXPECT_EQ(m.held(key("a", "http://mirror#anonymous")), nullptr);  // another endpoint
	FetchMemory::HoldKey other_blob = key("a");
	other_blob.blob = std::string(64, 'b');
	EXPECT_EQ(m.held(other_blob), nullptr);
	FetchMemory::HoldKey other_size = key("a");
	other_size.size = 11;
	EXPECT_EQ(m.held(other_size), nullptr);
	m.release(key("a"));
	EXPECT_EQ(m.held(key("a")), nullptr);
	// Released, the next hold starts at a minute again.
	EXPECT_EQ(m.hold(key("a"), FetchMemory::HoldKind::answer, "HTTP 404", "", -1, now).delay, Clock::duration(seconds(60)));
}

TEST(FetchMemoryHold, TheRecordedAnswerDecidesWhetherItChanged) {
	FetchMemory m;
	Clock::time_point now = Clock::now();
	const FetchMemory::Hold &h = m.hold(key("a"), FetchMemory::HoldKind::checksum, "x", "etag1", 10, now);
	EXPECT_TRUE(FetchMemory::same_answer(h, "etag1", 10));
	EXPECT_FALSE(FetchMemory::same_answer(h, "etag2", 10));
	EXPECT_FALSE(FetchMemory::same_answer(h, "etag1", 11));
	EXPECT_FALSE(FetchMemory::same_answer(h, "", -1));
	// A later hold without an answer keeps the one known.
	EXPECT_TRUE(FetchMemory::same_answer(m.hold(key("a"), FetchMemory::HoldKind::checksum, "x", "", -1, now), "etag1", 10));
	const FetchMemory::Hold &unknown = m.hold(key("b"), FetchMemory::HoldKind::checksum, "x", "", -1, now);
	EXPECT_FALSE(FetchMemory::same_answer(unknown, "", -1));  // nothing recorded: it may have changed
	const FetchMemory::Hold &size_only = m.hold(key("c"), FetchMemory::HoldKind::checksum, "x", "", 10, now);
	EXPECT_TRUE(FetchMemory::same_answer(size_only, "anything", 10));
}

TEST(FetchMemoryHold, RetainForgetsRowsThatLeftTheManifestAndTheSizeIsCapped) {
	FetchMemory m;
	Clock::time_point now = Clock::now();
	m.hold(key("a"), FetchMemory::HoldKind::checksum, "x", "", -1, now);
	m.hold(key("b"), FetchMemory::HoldKind::answer, "y", "", -1, now);
	m.retain({key("b"), key("c")});
	EXPECT_EQ(m.held(key("a")), nullptr);
	EXPECT_NE(m.held(key("b")), nullptr);
	EXPECT_EQ(m.hold_count(), 1u);
	for (size_t i = 0; i < FetchMemory::kMaxHolds + 50; ++i)
		m.hold(key("f" + std::to_string(i)), FetchMemory::HoldKind::answer, "y", "", -1, now + seconds(i));
	EXPECT_EQ(m.hold_count(), FetchMemory::kMaxHolds);
	EXPECT_NE(m.held(key("f" + std::to_string(FetchMemory::kMaxHolds + 49))), nullptr);  // the newest stays
	EXPECT_EQ(m.held(key("b")), nullptr);                                               // the one due first went
}

TEST(FetchMemoryHold, SourceKeyKeepsNoTokenText) {
	std::string k = FetchMemory::source_key("https://hub", "hf_secret_token");
	EXPECT_EQ(k.find("hf_secret_token"), std::string::npos);
	EXPECT_NE(k, FetchMemory::source_key("https://hub", "hf_other"));
	EXPECT_NE(k, FetchMemory::source_key("https://mirror", "hf_secret_token"));
	EXPECT_EQ(FetchMemory::source_key("https://hub", ""), "https://hub#anonymous");
}
