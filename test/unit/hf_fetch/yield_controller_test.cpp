// The yield controller: when the worker slows down for the replica's
// queries, how far, and when (and how fast) it comes back.
#include "hf_fetch/yield_controller.hpp"

#include <gtest/gtest.h>

using namespace pgmlr::hf_fetch;

namespace {

constexpr int64_t kMB = 1 << 20;

// Samples 200 ms apart (the worker's step), the job receiving `bps` meanwhile.
struct Feed {
	YieldController c;
	YieldSettings s;
	int64_t now = 0;
	int64_t bytes = 0;

	YieldDecision sample(double readers_cpu, double node_cpu, int64_t bps = 0, int busy = -1) {
		now += 200;
		bytes += bps / 5;
		LoadSample x;
		x.at_ms = now;
		x.busy_backends = busy >= 0 ? busy : (readers_cpu > 0 ? 2 : 0);
		x.readers_cpu = readers_cpu;
		x.node_cpu = node_cpu;
		x.bytes_received = bytes;
		return c.update(s, x);
	}
	// Repeats a sample for ms; returns the last decision.
	YieldDecision hold(int64_t ms, double readers_cpu, double node_cpu, int64_t bps = 0) {
		YieldDecision d;
		for (int64_t t = 0; t < ms; t += 200) d = sample(readers_cpu, node_cpu, bps);
		return d;
	}
};

}  // namespace

TEST(YieldController, NoReadersNoLimit) {
	Feed f;
	YieldDecision d = f.hold(5000, 0.0, 1.0, 400 * kMB);  // the download alone makes the CPU busy
	EXPECT_FALSE(d.yielding);
	EXPECT_FALSE(d.readers);
	EXPECT_EQ(d.rate_bps, 0);
	f.s.cap_bps = 50 * kMB;
	EXPECT_EQ(f.sample(0.0, 1.0).rate_bps, 50 * kMB);  // the cap alone
}

TEST(YieldController, MonitoringQueriesAreNotReaders) {
	Feed f;
	// A backend polling prefetch_status() runs, but uses almost no CPU.
	YieldDecision d = f.hold(3000, 0.01, 1.0, 400 * kMB);
	EXPECT_FALSE(d.readers);
	EXPECT_FALSE(d.yielding);
}

TEST(YieldController, CrowdedReadersDropToTheFloorAtOnce) {
	Feed f;
	f.hold(1000, 0.0, 0.9, 400 * kMB);
	YieldDecision d = f.sample(1.2, 0.99);
	EXPECT_TRUE(d.readers);
	EXPECT_TRUE(d.yielding);
	EXPECT_EQ(d.rate_bps, f.s.floor_bps);
	d = f.hold(5000, 1.2, 0.99, 10 * kMB);
	EXPECT_TRUE(d.yielding);
	EXPECT_EQ(d.rate_bps, f.s.floor_bps);  // never below the floor
}

TEST(YieldController, ReadersOnIdleCoresDoNotSlowIt) {
	Feed f;
	// 2 busy readers on a 64-core node: 5 % of the CPU in use.
	YieldDecision d = f.hold(5000, 2.0, 0.05, 400 * kMB);
	EXPECT_TRUE(d.readers);
	EXPECT_FALSE(d.yielding);
	EXPECT_EQ(d.rate_bps, 0);
}

TEST(YieldController, ComesBackAfterTheReadersStopWithHysteresis) {
	Feed f;
	f.hold(1000, 0.0, 0.9, 400 * kMB);
	f.hold(2000, 1.5, 1.0, 10 * kMB);
	// Readers gone: not at once (a pause between two queries is not the end)...
	YieldDecision d = f.hold(YieldController::kHoldMs - 200, 0.0, 0.3);
	EXPECT_TRUE(d.yielding);
	EXPECT_EQ(d.rate_bps, f.s.floor_bps);
	// ...a reader back in between restarts the wait...
	EXPECT_TRUE(f.sample(1.5, 1.0).yielding);
	d = f.hold(YieldController::kHoldMs - 200, 0.0, 0.3);
	EXPECT_TRUE(d.yielding);
	// ...and after kHoldMs of quiet the limit is gone.
	d = f.hold(400, 0.0, 0.3);
	EXPECT_FALSE(d.yielding);
	EXPECT_EQ(d.rate_bps, 0);
}

TEST(YieldController, TheCapStaysAHardCap) {
	Feed f;
	f.s.cap_bps = 4 * kMB;  // below the floor: the floor is the cap
	YieldDecision d = f.sample(1.0, 1.0);
	EXPECT_TRUE(d.yielding);
	EXPECT_EQ(d.rate_bps, 4 * kMB);
	f.s.cap_bps = 100 * kMB;
	f.s.floor_bps = 2 * kMB;
	d = f.hold(2000, 1.0, 1.0);
	EXPECT_EQ(d.rate_bps, 2 * kMB);  // halved down to the new floor
	d = f.hold(2000, 0.0, 0.2);
	EXPECT_FALSE(d.yielding);
	EXPECT_EQ(d.rate_bps, 100 * kMB);  // back to the cap, not above
}

TEST(YieldController, ProbesUpWhileReadersLeaveRoomAndHalvesWhenCrowded) {
	Feed f;
	f.hold(1000, 0.0, 0.5, 100 * kMB);  // the fastest unhindered: 100 MB/s
	EXPECT_EQ(f.sample(1.0, 0.95).rate_bps, f.s.floor_bps);
	// Readers stay but leave room: hold, then x1.5 per sample.
	YieldDecision d = f.hold(YieldController::kHoldMs, 1.0, 0.4);  // samples at 0 .. kHoldMs - 200
	EXPECT_EQ(d.rate_bps, f.s.floor_bps);
	d = f.sample(1.0, 0.4);
	EXPECT_EQ(d.rate_bps, f.s.floor_bps * 3 / 2);
	d = f.sample(1.0, 0.4);
	EXPECT_EQ(d.rate_bps, f.s.floor_bps * 9 / 4);
	// In between (0.6 .. 0.85): the rate holds.
	EXPECT_EQ(f.hold(2000, 1.0, 0.7).rate_bps, f.s.floor_bps * 9 / 4);
	// Crowded again: halved, not straight to the floor.
	d = f.sample(1.0, 0.9);
	EXPECT_EQ(d.rate_bps, f.s.floor_bps * 9 / 8);
	EXPECT_TRUE(d.yielding);
	// Room for long: it climbs past twice the unhindered rate and stops yielding.
	d = f.hold(10000, 1.0, 0.3);
	EXPECT_FALSE(d.yielding);
	EXPECT_EQ(d.rate_bps, 0);
}

TEST(YieldController, OffMeansTheCapOnly) {
	Feed f;
	f.s.cap_bps = 30 * kMB;
	EXPECT_TRUE(f.sample(1.0, 1.0).yielding);
	f.s.enabled = false;
	YieldDecision d = f.sample(1.0, 1.0);
	EXPECT_FALSE(d.yielding);
	EXPECT_EQ(d.rate_bps, 30 * kMB);
	f.s.enabled = true;
	EXPECT_EQ(f.sample(1.0, 1.0).rate_bps, f.s.floor_bps);  // and back on: at once
}

TEST(YieldController, WithoutProcTheBusyBackendsDecide) {
	Feed f;
	YieldDecision d = f.sample(-1, -1, 0, 0);
	EXPECT_FALSE(d.yielding);
	d = f.sample(-1, -1, 0, 1);
	EXPECT_TRUE(d.readers);
	EXPECT_TRUE(d.yielding);  // node CPU unknown: treated as crowded
	EXPECT_EQ(d.rate_bps, f.s.floor_bps);
}

TEST(YieldController, ResetForgetsTheLastJob) {
	Feed f;
	EXPECT_TRUE(f.sample(1.0, 1.0).yielding);
	f.c.reset();
	EXPECT_FALSE(f.c.decision().yielding);
	EXPECT_FALSE(f.sample(0.0, 1.0).yielding);
}
