// Counting probe for ctest: 2 passing, 1 failing and 1 skipped test.
#include <gtest/gtest.h>

TEST(Probe, Pass1) { EXPECT_EQ(1, 1); }
TEST(Probe, Pass2) { EXPECT_TRUE(true); }
TEST(Probe, Fail) { EXPECT_EQ(1, 2) << "the probe fails on purpose"; }
TEST(Probe, Skip) { GTEST_SKIP() << "the probe skips"; }
