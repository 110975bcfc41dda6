#include "common/core_only.hpp"
#include "common/work_pool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>

using pgmlr::Status;
using pgmlr::WorkPool;

TEST(WorkPool, CompletionsRunOnlyInCollectOnTheOwnersThread) {
	std::atomic<int> wakeups{0};
	WorkPool pool(4, [&] { wakeups++; });
	const auto owner = std::this_thread::get_id();
	std::atomic<int> worked{0};
	int completed = 0;
	bool all_on_owner = true;
	for (int i = 0; i < 50; ++i)
		pool.submit(
			[&]() -> Status {
				worked++;
				return {};
			},
			[&](Status st) {
				EXPECT_FALSE(st.has_value());
				completed++;
				all_on_owner = all_on_owner && std::this_thread::get_id() == owner;
			});
	EXPECT_EQ(pool.in_flight(), 50);
	pool.wait_idle();
	EXPECT_EQ(worked.load(), 50);
	EXPECT_EQ(completed, 50);
	EXPECT_TRUE(all_on_owner);
	EXPECT_EQ(pool.in_flight(), 0);
	EXPECT_EQ(wakeups.load(), 50);
	EXPECT_EQ(pool.collect(), 0);  // nothing twice
}

TEST(WorkPool, WorkRunsInParallel) {
	WorkPool pool(4, nullptr);
	std::atomic<int> running{0}, peak{0};
	for (int i = 0; i < 8; ++i)
		pool.submit(
			[&]() -> Status {
				int now = ++running;
				for (int p = peak.load(); now > p && !peak.compare_exchange_weak(p, now);) {
				}
				std::this_thread::sleep_for(std::chrono::milliseconds(50));
				running--;
				return {};
			},
			[](Status) {});
	pool.wait_idle();
	EXPECT_GT(peak.load(), 1);
	EXPECT_LE(peak.load(), 4);
}

TEST(WorkPool, ErrorsAndExceptionsReachTheCompletionAsStatus) {
	WorkPool pool(2, nullptr);
	Status a, b;
	pool.submit([]() -> Status { return pgmlr::make_error(pgmlr::ErrCode::Io, "disk said no"); }, [&](Status st) { a = st; });
	pool.submit([]() -> Status { throw std::runtime_error("boom"); }, [&](Status st) { b = st; });
	pool.wait_idle();
	ASSERT_TRUE(a.has_value());
	EXPECT_EQ(a->code, pgmlr::ErrCode::Io);
	ASSERT_TRUE(b.has_value());
	EXPECT_EQ(b->code, pgmlr::ErrCode::Internal);
	EXPECT_NE(b->message.find("boom"), std::string::npos);
}

TEST(WorkPool, CompletionMaySubmitMoreWork) {
	WorkPool pool(2, nullptr);
	int second = 0;
	pool.submit([]() -> Status { return {}; },
				[&](Status) { pool.submit([]() -> Status { return {}; }, [&](Status) { second++; }); });
	for (int i = 0; i < 10 && pool.in_flight() > 0; ++i) pool.wait_idle();
	EXPECT_EQ(second, 1);
	EXPECT_EQ(pool.in_flight(), 0);
}

TEST(WorkPool, DestructorWaitsForSubmittedWork) {
	std::atomic<int> worked{0};
	{
		WorkPool pool(2, nullptr);
		for (int i = 0; i < 6; ++i)
			pool.submit(
				[&]() -> Status {
					std::this_thread::sleep_for(std::chrono::milliseconds(10));
					worked++;
					return {};
				},
				[](Status) {});
	}
	EXPECT_EQ(worked.load(), 6);
}

TEST(WorkPool, EmptyPoolCollectsAndWaitsAtOnce) {
	WorkPool pool(8, nullptr);
	EXPECT_EQ(pool.in_flight(), 0);
	EXPECT_EQ(pool.collect(), 0);
	pool.wait_idle();  // returns at once with nothing submitted
}
