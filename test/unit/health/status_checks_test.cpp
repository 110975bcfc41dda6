#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "health/status_checks.hpp"
#include "pgml_repl/health.h"

namespace {

constexpr int64_t kSecond = 1000000;

pgmlr_archive_facts archiving_on() {
	pgmlr_archive_facts f{};
	f.archive_mode = "on";
	f.ready_warning = 16;
	f.ready_error = 128;
	f.now = 1000 * kSecond;
	return f;
}

pgmlr_replication_facts primary_row(uint64_t current, uint64_t replay) {
	pgmlr_replication_facts f{};
	f.is_standby = false;
	f.state = "streaming";
	f.peer = "replica1";
	f.has_source_lsn = true;
	f.source_lsn = current;
	f.has_replay_lsn = true;
	f.replay_lsn = replay;
	f.lag_warning_bytes = 16 * 1024 * 1024;
	f.lag_error_bytes = 1024LL * 1024 * 1024;
	return f;
}

pgmlr_replication_facts standby_row(uint64_t received, uint64_t replayed) {
	pgmlr_replication_facts f = primary_row(received, replayed);
	f.is_standby = true;
	f.peer = "127.0.0.1";
	f.now = 5000 * kSecond;
	return f;
}

bool contains(const std::string &s, const std::string &part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST(HealthStateName, AllStates) {
	EXPECT_STREQ(pgmlr_health_state_name(PGMLR_HEALTH_OK), "ok");
	EXPECT_STREQ(pgmlr_health_state_name(PGMLR_HEALTH_WARNING), "warning");
	EXPECT_STREQ(pgmlr_health_state_name(PGMLR_HEALTH_ERROR), "error");
	EXPECT_STREQ(pgmlr_health_state_name(PGMLR_HEALTH_DISABLED), "disabled");
}

TEST(FormatDuration, HoursMinutesSeconds) {
	EXPECT_EQ(pgmlr::format_duration(0), "00:00:00");
	EXPECT_EQ(pgmlr::format_duration(250 * kSecond + 999999), "00:04:10");
	EXPECT_EQ(pgmlr::format_duration(27 * 3600 * kSecond + 3 * 60 * kSecond), "27:03:00");
	EXPECT_EQ(pgmlr::format_duration(-5 * kSecond), "00:00:00");
}

TEST(ArchiveClassify, DisabledWhenArchiveModeOff) {
	pgmlr_archive_facts f = archiving_on();
	f.archive_mode = "off";
	f.ready_count = 500;  // leftovers do not matter while archiving is off
	auto v = pgmlr::classify_archive(f);
	EXPECT_EQ(v.state, pgmlr::HealthState::Disabled);
	EXPECT_EQ(v.detail, "archive_mode is off, so this server does not archive WAL.");
}

TEST(ArchiveClassify, MissingModeCountsAsOff) {
	pgmlr_archive_facts f = archiving_on();
	f.archive_mode = nullptr;
	EXPECT_EQ(pgmlr::classify_archive(f).state, pgmlr::HealthState::Disabled);
}

TEST(ArchiveClassify, StandbyWithModeOnLeavesArchivingToThePrimary) {
	pgmlr_archive_facts f = archiving_on();
	f.in_recovery = true;
	auto v = pgmlr::classify_archive(f);
	EXPECT_EQ(v.state, pgmlr::HealthState::Disabled);
	EXPECT_TRUE(contains(v.detail, "standby")) << v.detail;
	EXPECT_TRUE(contains(v.detail, "primary archives")) << v.detail;
	EXPECT_TRUE(contains(v.detail, "archive_mode = always")) << v.detail;
}

TEST(ArchiveClassify, StandbyWithModeAlwaysIsClassified) {
	pgmlr_archive_facts f = archiving_on();
	f.in_recovery = true;
	f.archive_mode = "always";
	f.ready_count = 20;
	EXPECT_EQ(pgmlr::classify_archive(f).state, pgmlr::HealthState::Warning);
}

TEST(ArchiveClassify, OkWithNothingWaitingAndNoHistory) {
	auto v = pgmlr::classify_archive(archiving_on());
	EXPECT_EQ(v.state, pgmlr::HealthState::Ok);
	EXPECT_EQ(v.detail,
			  "Archiving is keeping up: no WAL segment waiting; nothing archived since the statistics were reset.");
	EXPECT_FALSE(v.has_oldest_ready_age);
}

TEST(ArchiveClassify, WarningBoundary) {
	pgmlr_archive_facts f = archiving_on();
	f.ready_count = 15;
	EXPECT_EQ(pgmlr::classify_archive(f).state, pgmlr::HealthState::Ok);
	f.ready_count = 16;
	EXPECT_EQ(pgmlr::classify_archive(f).state, pgmlr::HealthState::Warning);
	f.ready_count = 127;
	EXPECT_EQ(pgmlr::classify_archive(f).state, pgmlr::HealthState::Warning);
}

TEST(ArchiveClassify, ErrorBoundary) {
	pgmlr_archive_facts f = archiving_on();
	f.ready_count = 128;
	auto v = pgmlr::classify_archive(f);
	EXPECT_EQ(v.state, pgmlr::HealthState::Error);
	EXPECT_TRUE(contains(v.detail, "error threshold of 128")) << v.detail;
}

TEST(ArchiveClassify, DetailCarriesMeasuredValues) {
	pgmlr_archive_facts f = archiving_on();
	f.ready_warning = 10;
	f.ready_count = 12;
	f.oldest_ready_wal = "000000010000000000000003";
	f.has_oldest_ready_at = true;
	f.oldest_ready_at = f.now - 250 * kSecond;
	f.archived_count = 2;
	f.last_archived_wal = "000000010000000000000002";
	f.has_last_archived_at = true;
	f.last_archived_at = f.now - 300 * kSecond;
	f.last_archived_at_text = "2026-01-01 10:00:00+00";
	auto v = pgmlr::classify_archive(f);
	EXPECT_EQ(v.state, pgmlr::HealthState::Warning);
	EXPECT_TRUE(v.has_oldest_ready_age);
	EXPECT_EQ(v.oldest_ready_age, 250 * kSecond);
	EXPECT_EQ(v.detail,
			  "The archive backlog reached the warning threshold of 10: 12 WAL segments waiting, oldest "
			  "000000010000000000000003 for 00:04:10; last archived 000000010000000000000002 at "
			  "2026-01-01 10:00:00+00.");
}

TEST(ArchiveClassify, FailureNewerThanSuccessIsError) {
	pgmlr_archive_facts f = archiving_on();
	f.ready_count = 1;
	f.archived_count = 5;
	f.last_archived_wal = "000000010000000000000002";
	f.has_last_archived_at = true;
	f.last_archived_at = 100 * kSecond;
	f.failed_count = 3;
	f.last_failed_wal = "000000010000000000000003";
	f.has_last_failed_at = true;
	f.last_failed_at = 101 * kSecond;
	f.last_failed_at_text = "T1";
	auto v = pgmlr::classify_archive(f);
	EXPECT_EQ(v.state, pgmlr::HealthState::Error);
	EXPECT_TRUE(contains(v.detail, "The last archive attempt failed")) << v.detail;
	EXPECT_TRUE(contains(v.detail, "last failure 000000010000000000000003 at T1 (3 failures in total)")) << v.detail;
}

TEST(ArchiveClassify, FailureOlderThanSuccessIsOk) {
	pgmlr_archive_facts f = archiving_on();
	f.archived_count = 5;
	f.last_archived_wal = "000000010000000000000004";
	f.has_last_archived_at = true;
	f.last_archived_at = 200 * kSecond;
	f.failed_count = 1;
	f.last_failed_wal = "000000010000000000000003";
	f.has_last_failed_at = true;
	f.last_failed_at = 100 * kSecond;
	auto v = pgmlr::classify_archive(f);
	EXPECT_EQ(v.state, pgmlr::HealthState::Ok);
	EXPECT_TRUE(contains(v.detail, "(1 failure in total)")) << v.detail;
}

TEST(ArchiveClassify, FailureAtTheSameTimeAsSuccessIsOk) {
	pgmlr_archive_facts f = archiving_on();
	f.has_last_archived_at = f.has_last_failed_at = true;
	f.last_archived_at = f.last_failed_at = 100 * kSecond;
	f.archived_count = f.failed_count = 1;
	EXPECT_EQ(pgmlr::classify_archive(f).state, pgmlr::HealthState::Ok);
}

TEST(ArchiveClassify, FailuresWithoutAnySuccessIsError) {
	pgmlr_archive_facts f = archiving_on();
	f.failed_count = 2;
	f.last_failed_wal = "000000010000000000000001";
	f.has_last_failed_at = true;
	f.last_failed_at = 10 * kSecond;
	EXPECT_EQ(pgmlr::classify_archive(f).state, pgmlr::HealthState::Error);
	// Even with the failure time unknown, failures and no success is an error.
	f.has_last_failed_at = false;
	EXPECT_EQ(pgmlr::classify_archive(f).state, pgmlr::HealthState::Error);
}

TEST(ArchiveClassify, ErrorThresholdBelowWarningIsRaisedAndExplained) {
	pgmlr_archive_facts f = archiving_on();
	f.ready_warning = 20;
	f.ready_error = 5;
	f.ready_count = 10;
	auto v = pgmlr::classify_archive(f);
	EXPECT_EQ(v.state, pgmlr::HealthState::Ok);
	EXPECT_TRUE(contains(v.detail, "pgml_replication.archive_ready_error (5) is below "
								   "pgml_replication.archive_ready_warning (20), so 20 is used for both."))
		<< v.detail;
	f.ready_count = 20;
	EXPECT_EQ(pgmlr::classify_archive(f).state, pgmlr::HealthState::Error);
}

TEST(ArchiveClassify, AgeNeverNegative) {
	pgmlr_archive_facts f = archiving_on();
	f.ready_count = 1;
	f.has_oldest_ready_at = true;
	f.oldest_ready_at = f.now + 10 * kSecond;  // clock skew with the file system
	auto v = pgmlr::classify_archive(f);
	EXPECT_TRUE(v.has_oldest_ready_age);
	EXPECT_EQ(v.oldest_ready_age, 0);
}

TEST(ArchiveClassify, CApiReturnsMallocDetail) {
	pgmlr_archive_facts f = archiving_on();
	f.ready_count = 16;
	pgmlr_archive_verdict v;
	pgmlr_status st;
	pgmlr_archive_classify(&f, &v, &st);
	ASSERT_EQ(st.code, PGMLR_OK);
	EXPECT_EQ(v.state, PGMLR_HEALTH_WARNING);
	ASSERT_NE(v.detail, nullptr);
	EXPECT_TRUE(contains(v.detail, "16 WAL segments waiting"));
	pgmlr_free(v.detail);
}

TEST(ReplicationClassify, PrimaryCaughtUpIsOk) {
	auto v = pgmlr::classify_replication(primary_row(0x3000000, 0x3000000));
	EXPECT_EQ(v.state, pgmlr::HealthState::Ok);
	EXPECT_TRUE(v.has_lag_bytes);
	EXPECT_EQ(v.lag_bytes, 0);
	EXPECT_FALSE(v.has_replay_delay);
	EXPECT_EQ(v.detail, "Standby \"replica1\" is streaming; replay is 0 bytes behind the primary.");
}

TEST(ReplicationClassify, PrimaryLagBoundaries) {
	const uint64_t base = 0x10000000;
	const int64_t warn = 16 * 1024 * 1024, err = 1024LL * 1024 * 1024;
	EXPECT_EQ(pgmlr::classify_replication(primary_row(base + warn - 1, base)).state, pgmlr::HealthState::Ok);
	EXPECT_EQ(pgmlr::classify_replication(primary_row(base + warn, base)).state, pgmlr::HealthState::Warning);
	EXPECT_EQ(pgmlr::classify_replication(primary_row(base + err - 1, base)).state, pgmlr::HealthState::Warning);
	auto v = pgmlr::classify_replication(primary_row(base + err, base));
	EXPECT_EQ(v.state, pgmlr::HealthState::Error);
	EXPECT_EQ(v.lag_bytes, err);
	EXPECT_TRUE(contains(v.detail, "1.0 GB behind the primary (error threshold 1.0 GB)")) << v.detail;
}

TEST(ReplicationClassify, PrimaryStandbyNotStreamingYetIsWarning) {
	pgmlr_replication_facts f = primary_row(100, 100);
	f.state = "catchup";
	auto v = pgmlr::classify_replication(f);
	EXPECT_EQ(v.state, pgmlr::HealthState::Warning);
	EXPECT_TRUE(contains(v.detail, "catchup")) << v.detail;
}

TEST(ReplicationClassify, PrimaryWithoutReplayPositionIsWarning) {
	pgmlr_replication_facts f = primary_row(100, 0);
	f.has_replay_lsn = false;
	auto v = pgmlr::classify_replication(f);
	EXPECT_EQ(v.state, pgmlr::HealthState::Warning);
	EXPECT_FALSE(v.has_lag_bytes);
}

TEST(ReplicationClassify, PrimaryBaseBackupConnectionIsOk) {
	pgmlr_replication_facts f = primary_row(100, 0);
	f.state = "backup";
	f.has_replay_lsn = false;
	f.peer = "pg_basebackup";
	auto v = pgmlr::classify_replication(f);
	EXPECT_EQ(v.state, pgmlr::HealthState::Ok);
	EXPECT_TRUE(contains(v.detail, "base backup")) << v.detail;
}

TEST(ReplicationClassify, StandbyWithoutReceiverIsError) {
	pgmlr_replication_facts f = standby_row(0, 100);
	f.state = nullptr;
	f.has_source_lsn = false;
	auto v = pgmlr::classify_replication(f);
	EXPECT_EQ(v.state, pgmlr::HealthState::Error);
	EXPECT_FALSE(v.has_lag_bytes);
	EXPECT_FALSE(v.has_replay_delay);
	EXPECT_TRUE(contains(v.detail, "No WAL receiver")) << v.detail;
}

TEST(ReplicationClassify, StandbyReceiverNotStreamingIsError) {
	pgmlr_replication_facts f = standby_row(100, 100);
	f.state = "waiting";
	auto v = pgmlr::classify_replication(f);
	EXPECT_EQ(v.state, pgmlr::HealthState::Error);
	EXPECT_EQ(v.detail, "The WAL receiver is waiting, not streaming from 127.0.0.1.");
}

TEST(ReplicationClassify, StandbyNothingPendingHasZeroReplayDelay) {
	pgmlr_replication_facts f = standby_row(0x5000000, 0x5000000);
	f.has_last_replay_at = true;
	f.last_replay_at = f.now - 3600 * kSecond;  // the primary has been idle for an hour
	auto v = pgmlr::classify_replication(f);
	EXPECT_EQ(v.state, pgmlr::HealthState::Ok);
	EXPECT_TRUE(v.has_replay_delay);
	EXPECT_EQ(v.replay_delay, 0);
	EXPECT_EQ(v.detail, "The WAL receiver is streaming; replay is 0 bytes behind the received WAL, replay delay 00:00:00.");
}

TEST(ReplicationClassify, StandbyNothingPendingOnFreshStandbyHasZeroDelay) {
	pgmlr_replication_facts f = standby_row(0x5000000, 0x5000000);
	f.has_last_replay_at = false;  // no transaction replayed yet
	auto v = pgmlr::classify_replication(f);
	EXPECT_TRUE(v.has_replay_delay);
	EXPECT_EQ(v.replay_delay, 0);
}

TEST(ReplicationClassify, StandbyReplayAheadOfReceiverCountsAsNothingPending) {
	auto v = pgmlr::classify_replication(standby_row(0x5000000, 0x5000100));
	EXPECT_EQ(v.lag_bytes, 0);
	EXPECT_EQ(v.replay_delay, 0);
	EXPECT_EQ(v.state, pgmlr::HealthState::Ok);
}

TEST(ReplicationClassify, StandbyPendingWalMeasuresDelayFromLastReplayedTransaction) {
	pgmlr_replication_facts f = standby_row(0x5001000, 0x5000000);
	f.has_last_replay_at = true;
	f.last_replay_at = f.now - 7 * kSecond;
	auto v = pgmlr::classify_replication(f);
	EXPECT_EQ(v.lag_bytes, 0x1000);
	EXPECT_TRUE(v.has_replay_delay);
	EXPECT_EQ(v.replay_delay, 7 * kSecond);
	EXPECT_EQ(v.state, pgmlr::HealthState::Ok);
}

TEST(ReplicationClassify, StandbyPendingWalWithoutReplayTimestampHasUnknownDelay) {
	pgmlr_replication_facts f = standby_row(0x5001000, 0x5000000);
	auto v = pgmlr::classify_replication(f);
	EXPECT_FALSE(v.has_replay_delay);
}

TEST(ReplicationClassify, StandbyLagThresholds) {
	const int64_t warn = 16 * 1024 * 1024, err = 1024LL * 1024 * 1024;
	EXPECT_EQ(pgmlr::classify_replication(standby_row(warn - 1, 0)).state, pgmlr::HealthState::Ok);
	EXPECT_EQ(pgmlr::classify_replication(standby_row(warn, 0)).state, pgmlr::HealthState::Warning);
	EXPECT_EQ(pgmlr::classify_replication(standby_row(err, 0)).state, pgmlr::HealthState::Error);
}

TEST(ReplicationClassify, LagErrorBelowWarningIsRaisedAndExplained) {
	pgmlr_replication_facts f = primary_row(2000, 1000);
	f.lag_warning_bytes = 1500;
	f.lag_error_bytes = 500;
	auto v = pgmlr::classify_replication(f);
	EXPECT_EQ(v.state, pgmlr::HealthState::Ok);
	EXPECT_TRUE(contains(v.detail, "pgml_replication.replication_lag_error (500 bytes) is below")) << v.detail;
	f.source_lsn = 2500;
	EXPECT_EQ(pgmlr::classify_replication(f).state, pgmlr::HealthState::Error);
}

TEST(ReplicationClassify, CApiFillsVerdict) {
	pgmlr_replication_facts f = standby_row(200, 100);
	f.has_last_replay_at = true;
	f.last_replay_at = f.now - kSecond;
	pgmlr_replication_verdict v;
	pgmlr_status st;
	pgmlr_replication_classify(&f, &v, &st);
	ASSERT_EQ(st.code, PGMLR_OK);
	EXPECT_EQ(v.state, PGMLR_HEALTH_OK);
	EXPECT_TRUE(v.has_lag_bytes);
	EXPECT_EQ(v.lag_bytes, 100);
	EXPECT_EQ(v.replay_delay, kSecond);
	ASSERT_NE(v.detail, nullptr);
	pgmlr_free(v.detail);
}
