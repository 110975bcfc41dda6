#include "hf_cache_fixture.hpp"
#include "hf_cache/checksum.hpp"
#include "pgml_repl/hf_cache.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <utility>

using namespace pgmlr::hf;
using hf_fixture::Cache;

namespace {
// A sparse file of zeros that costs no disk but minutes to hash (256 GiB at
// a few GB/s at best), so a cancel that works is told apart from one that
// waits for the hash even under the generous time limit below.
constexpr long long kHugeSparse = 256LL << 30;
// Generous: a loaded machine (two cores, sanitizers) still stops a hash in
// far less; a hash that ran to its end would take minutes.
constexpr long long kCancelLimitMs = 30000;
}  // namespace

TEST(HfHash, KnownVectors) {
	EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	EXPECT_EQ(git_blob_sha1_hex(""), "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
	EXPECT_EQ(git_blob_sha1_hex("hello world\n"), "3b18e512dba79e4c8300dd08aeb37f8e728b8dad");
	HashKind k;
	EXPECT_TRUE(hash_kind_for_blob(std::string(64, 'a'), &k));
	EXPECT_EQ(k, HashKind::sha256);
	EXPECT_TRUE(hash_kind_for_blob(std::string(40, '0'), &k));
	EXPECT_EQ(k, HashKind::git_sha1);
	EXPECT_FALSE(hash_kind_for_blob(std::string(41, '0'), &k));
	EXPECT_FALSE(hash_kind_for_blob(std::string(64, 'A'), &k));
}

TEST(HfHash, FileIsStreamedAcrossChunks) {
	Cache c;
	std::string data;
	for (size_t i = 0; i < 3 * kHashChunk + 7; ++i) data.push_back(static_cast<char>(i * 131 % 251));
	c.write("big", data);
	auto s = hash_file(c.abs("big"), HashKind::sha256, nullptr);
	ASSERT_TRUE(s.ok());
	EXPECT_EQ(*s, hf_fixture::sha256(data));
	auto g = hash_file(c.abs("big"), HashKind::git_sha1, nullptr);
	ASSERT_TRUE(g.ok());
	EXPECT_EQ(*g, hf_fixture::git_sha1(data));
}

TEST(HfHash, RefusesSymlinksAndMissingFiles) {
	Cache c;
	c.write("f", "x");
	c.symlink("l", "f");
	EXPECT_FALSE(hash_file(c.abs("l"), HashKind::sha256, nullptr).ok());
	EXPECT_FALSE(hash_file(c.abs("missing"), HashKind::sha256, nullptr).ok());
}

TEST(HfHash, BlobHasherKnownDigests) {
	// git hash-object of an empty file / of "hello\n"
	for (auto [content, digest] : {std::pair<std::string, std::string>{"", "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"},
								   {"hello\n", "ce013625030ba8dba906f756967f9e9ca394464a"}}) {
		BlobHasher g(std::string(40, '0'), static_cast<int64_t>(content.size()));
		g.update(content.data(), content.size());
		EXPECT_EQ(g.hex_digest(), digest);
	}
	BlobHasher s(std::string(64, '0'), 3);
	s.update("abc", 3);
	EXPECT_EQ(s.hex_digest(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(HfHash, RehashOfAKeptPrefixMatchesStreaming) {
	Cache d;
	std::string content(3 << 20, 'q');
	content[12345] = 'z';
	d.write("part", content);
	int fd = open(d.abs("part").c_str(), O_RDONLY);
	ASSERT_GE(fd, 0);
	BlobHasher from_disk(std::string(40, '0'), 5 << 20), streamed(std::string(40, '0'), 5 << 20);
	ASSERT_FALSE(hash_fd_prefix(fd, 2 << 20, from_disk));
	EXPECT_EQ(from_disk.bytes(), 2 << 20);
	EXPECT_TRUE(hash_fd_prefix(fd, 4 << 20, from_disk));  // the file is shorter: an error, not garbage
	close(fd);
	from_disk.reset();
	fd = open(d.abs("part").c_str(), O_RDONLY);
	ASSERT_FALSE(hash_fd_prefix(fd, 2 << 20, from_disk));
	close(fd);
	streamed.update(content.data(), 2 << 20);
	EXPECT_EQ(from_disk.hex_digest(), streamed.hex_digest());
}

TEST(HfVerifier, MatchesMismatchesAndUnreadable) {
	Cache c;
	std::vector<VerifyJob> jobs;
	std::string a = "alpha", b = "beta";
	c.write("a", a);
	c.write("b", b);
	jobs.push_back({c.abs("a"), hf_fixture::sha256(a), 5});
	jobs.push_back({c.abs("b"), hf_fixture::git_sha1(b), 4});
	jobs.push_back({c.abs("b"), hf_fixture::sha256("not beta"), 4});
	jobs.push_back({c.abs("nope"), hf_fixture::sha256(""), 0});
	Verifier v(jobs, 2);
	v.start();
	EXPECT_EQ(v.thread_count(), 2u);
	bool done = false;
	for (int i = 0; i < 600 && !done; ++i) done = v.wait(100);  // up to a minute
	ASSERT_TRUE(done);
	int match = 0, mismatch = 0, unreadable = 0;
	for (size_t i = 0; i < v.jobs().size(); ++i) {
		switch (v.results()[i].outcome) {
			case VerifyOutcome::match: ++match; break;
			case VerifyOutcome::mismatch:
				++mismatch;
				EXPECT_EQ(v.results()[i].actual, hf_fixture::sha256(b));
				break;
			case VerifyOutcome::unreadable: ++unreadable; break;
			default: ADD_FAILURE() << "unexpected outcome";
		}
	}
	EXPECT_EQ(match, 2);
	EXPECT_EQ(mismatch, 1);
	EXPECT_EQ(unreadable, 1);
}

TEST(HfVerifier, CancelStopsAHugeFileQuickly) {
	Cache c;
	c.write("huge", "");
	ASSERT_EQ(truncate(c.abs("huge").c_str(), kHugeSparse), 0);
	Verifier v({{c.abs("huge"), std::string(64, '0'), kHugeSparse}}, 2);
	v.start();
	EXPECT_EQ(v.thread_count(), 1u);
	EXPECT_FALSE(v.wait(50));
	auto t0 = std::chrono::steady_clock::now();
	v.cancel();
	bool done = false;
	for (int i = 0; i < kCancelLimitMs / 100 && !done; ++i) done = v.wait(100);
	auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
	ASSERT_TRUE(done) << "not stopped within " << kCancelLimitMs << " ms";
	EXPECT_LT(ms, kCancelLimitMs);
	EXPECT_EQ(v.results()[0].outcome, VerifyOutcome::canceled);
}

TEST(HfVerifier, DestructorCancelsAndJoins) {
	Cache c;
	c.write("huge", "");
	ASSERT_EQ(truncate(c.abs("huge").c_str(), kHugeSparse), 0);
	auto t0 = std::chrono::steady_clock::now();
	{
		Verifier v({{c.abs("huge"), std::string(64, '0'), kHugeSparse}}, 2);
		v.start();
	}
	auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
	EXPECT_LT(ms, kCancelLimitMs);
}

TEST(HfVerifyApi, ScanRowsBecomeVerifiedOrCorrupt) {
	Cache c;
	const std::string m = "models--org--v";
	const std::string r1 = hf_fixture::commit("v1"), r2 = hf_fixture::commit("v2");
	std::string w = c.file(m, r1, "w.bin", std::string(2 * kHashChunk + 3, 'q'), true);
	c.link(m, r2, "w.bin", w);  // shared blob
	c.file(m, r1, "cfg.json", "{}", false);
	std::string bad = c.file(m, r1, "bad.txt", "original", false);
	c.write(m + "/blobs/" + bad, "tampered");
	c.write(m + "/snapshots/" + r1 + "/real.txt", "no symlink");

	pgmlr_status st;
	pgmlr_hf_scan *scan = pgmlr_hf_scan_cache(c.root.c_str(), &st);
	ASSERT_EQ(st.code, PGMLR_OK) << st.message;
	pgmlr_hf_verify_start(scan, &st);
	ASSERT_EQ(st.code, PGMLR_OK) << st.message;
	bool done = false;
	for (int i = 0; i < 1200 && !done; ++i) done = pgmlr_hf_verify_wait(scan, 50);  // up to a minute
	ASSERT_TRUE(done);
	ASSERT_EQ(pgmlr_hf_scan_file_count(scan), 5u);
	for (size_t i = 0; i < pgmlr_hf_scan_file_count(scan); ++i) {
		const pgmlr_hf_file_row *row = pgmlr_hf_scan_file(scan, i);
		std::string path = row->path;
		if (path == "bad.txt") {
			EXPECT_STREQ(row->status, "corrupt");
			EXPECT_FALSE(row->verified);
		} else if (path == "real.txt") {
			EXPECT_STREQ(row->status, "not_a_symlink");
			EXPECT_FALSE(row->verified);
		} else {
			EXPECT_STREQ(row->status, "ok") << path;
			EXPECT_TRUE(row->verified) << path;
		}
	}
	pgmlr_hf_scan_free(scan);
}

TEST(HfVerifyApi, FreeWhileHashingCancels) {
	Cache c;
	const std::string m = "models--org--big";
	const std::string r = hf_fixture::commit("big");
	c.write(m + "/blobs/" + std::string(64, 'c'), "");
	ASSERT_EQ(truncate(c.abs(m + "/blobs/" + std::string(64, 'c')).c_str(), kHugeSparse), 0);
	c.link(m, r, "huge.bin", std::string(64, 'c'));
	pgmlr_status st;
	pgmlr_hf_scan *scan = pgmlr_hf_scan_cache(c.root.c_str(), &st);
	ASSERT_EQ(st.code, PGMLR_OK);
	pgmlr_hf_verify_start(scan, &st);
	EXPECT_FALSE(pgmlr_hf_verify_wait(scan, 20));
	auto t0 = std::chrono::steady_clock::now();
	pgmlr_hf_scan_free(scan);
	auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
	EXPECT_LT(ms, kCancelLimitMs);
}
