// Durable batches and the publisher's order: a blob's bytes are synced
// before its rename, the renames before its snapshot links, the links
// before the batch reports, and a ref is written only after every link of
// its revision is durable; failures leave no wrong blob under its name.
#include "hf_fetch/durable_batch.hpp"
#include "hf_fetch/publisher.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>

#include <fcntl.h>
#include <unistd.h>

#include "hf_cache/checksum.hpp"
#include "hf_fetch/fs.hpp"
#include "temp_files.hpp"

namespace fs = std::filesystem;
using namespace pgmlr::hf_fetch;
using pgmlr::WorkPool;

namespace {

const std::string kRev = std::string(40, '2');

using test_files::read_file;
using test_files::TempDir;

std::string sha256_of(const std::string &content) {
	pgmlr::hf::BlobHasher h(std::string(64, '0'), static_cast<int64_t>(content.size()));
	h.update(content.data(), content.size());
	return h.hex_digest();
}

// A verified temp file: open fd and path.
int temp_file(const std::string &path, const std::string &content) {
	int fd = open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	EXPECT_GE(fd, 0);
	EXPECT_EQ(write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
	return fd;
}

// Steps as traced, thread-safe.
struct Trace {
	std::mutex m;
	std::vector<std::string> steps;
	std::function<void(const std::string &)> fn() {
		return [this](const std::string &s) {
			std::lock_guard<std::mutex> lk(m);
			steps.push_back(s);
		};
	}
	long at(const std::string &s) {
		auto it = std::find(steps.begin(), steps.end(), s);
		return it == steps.end() ? -1 : it - steps.begin();
	}
	long first_with(const std::string &prefix) {
		for (size_t i = 0; i < steps.size(); ++i)
			if (steps[i].rfind(prefix, 0) == 0) return static_cast<long>(i);
		return -1;
	}
	long last_with(const std::string &prefix) {
		long last = -1;
		for (size_t i = 0; i < steps.size(); ++i)
			if (steps[i].rfind(prefix, 0) == 0) last = static_cast<long>(i);
		return last;
	}
};

DurableBatch three_blobs(const std::string &root, std::vector<std::string> *contents) {
	DurableBatch batch;
	batch.root = root;
	const char *folders[] = {"models--a--x", "models--a--x", "models--b--y"};
	for (int i = 0; i < 3; ++i) {
		std::string content = "content " + std::to_string(i);
		std::string blob = sha256_of(content);
		std::string folder = folders[i];
		fs::create_directories(root + "/" + folder + "/blobs");
		fs::create_directories(root + "/" + folder + "/snapshots/" + kRev);
		BatchBlob b;
		b.index = static_cast<size_t>(i);
		b.rel = folder + "/blobs/" + blob;
		b.temp = root + "/" + b.rel + ".pgml.incomplete";
		b.fd = temp_file(b.temp, content);
		BatchLink l;
		l.rel_dir = folder + "/snapshots/" + kRev;
		l.dir = root + "/" + l.rel_dir;
		l.name = "f" + std::to_string(i);
		l.target = "../../blobs/" + blob;
		b.links.push_back(l);
		batch.blobs.push_back(std::move(b));
		contents->push_back(content);
	}
	return batch;
}

void expect_published(const std::string &root, const DurableBatch &batch, const std::vector<std::string> &contents) {
	for (size_t i = 0; i < batch.blobs.size(); ++i) {
		const BatchBlob &b = batch.blobs[i];
		EXPECT_FALSE(b.result) << b.result->message;
		EXPECT_EQ(b.fd, -1);
		EXPECT_FALSE(fs::exists(b.temp));
		EXPECT_EQ(read_file(root + "/" + b.rel), contents[i]);
		for (const BatchLink &l : b.links) {
			EXPECT_FALSE(l.result);
			EXPECT_TRUE(l.created);
			EXPECT_EQ(read_file(l.dir + "/" + l.name), contents[i]);  // through the link
		}
	}
}

void expect_order(Trace &t, size_t blobs) {
	long data = t.at("sync-data"), renames = t.at("sync-renames"), links = t.at("sync-links");
	ASSERT_GE(data, 0);
	EXPECT_GT(t.first_with("rename "), data);
	EXPECT_LT(t.last_with("rename "), renames);
	EXPECT_GT(t.first_with("link "), renames);
	EXPECT_LT(t.last_with("link "), links);
	long n = 0;
	for (auto &s : t.steps) n += s.rfind("rename ", 0) == 0;
	EXPECT_EQ(n, static_cast<long>(blobs));
}

}  // namespace

TEST(DurableBatch, SyncsDataThenRenamesThenLinksWithSyncfs) {
	TempDir d;
	std::vector<std::string> contents;
	DurableBatch batch = three_blobs(d.path, &contents);
	auto epoch = std::make_shared<SyncEpoch>(d.path);
	for (BatchBlob &b : batch.blobs) b.epoch = epoch;
	batch.use_syncfs = true;
	Trace t;
	batch.trace = t.fn();
	batch.run();
	expect_published(d.path, batch, contents);
	expect_order(t, 3);
}

TEST(DurableBatch, SyncsFileByFileAndFolderByFolderWithoutSyncfs) {
	TempDir d;
	std::vector<std::string> contents;
	DurableBatch batch = three_blobs(d.path, &contents);
	batch.use_syncfs = false;
	Trace t;
	batch.trace = t.fn();
	batch.run();
	expect_published(d.path, batch, contents);
	expect_order(t, 3);
}

TEST(DurableBatch, AFailedSyncRenamesNothingAndRemovesTheTempFiles) {
	TempDir d;
	std::vector<std::string> contents;
	DurableBatch batch = three_blobs(d.path, &contents);
	auto broken = std::make_shared<SyncEpoch>(d.path + "/no-such-folder");  // its sync always fails
	for (BatchBlob &b : batch.blobs) b.epoch = broken;
	batch.use_syncfs = true;
	Trace t;
	batch.trace = t.fn();
	batch.run();
	for (const BatchBlob &b : batch.blobs) {
		ASSERT_TRUE(b.result);
		EXPECT_FALSE(fs::exists(b.temp));
		EXPECT_FALSE(fs::exists(d.path + "/" + b.rel));
		EXPECT_FALSE(fs::exists(b.links[0].dir + "/" + b.links[0].name));
	}
	EXPECT_EQ(t.first_with("rename "), -1);
	EXPECT_EQ(t.first_with("link "), -1);
}

TEST(DurableBatch, AnEpochThatFailedOnceStaysFailed) {
	TempDir d;
	SyncEpoch good(d.path);
	EXPECT_FALSE(good.sync());
	EXPECT_FALSE(good.sync());
	SyncEpoch bad(d.path + "/missing");
	EXPECT_TRUE(bad.sync());
	EXPECT_TRUE(bad.sync());
}

TEST(DurableBatch, LinksIntoAFolderLeadingOutsideAreRefusedTheBlobStays) {
	TempDir d, outside;
	std::vector<std::string> contents;
	DurableBatch batch = three_blobs(d.path, &contents);
	batch.use_syncfs = false;
	// The first blob's snapshot folder becomes a link out of the cache.
	fs::remove_all(batch.blobs[0].links[0].dir);
	fs::create_directory_symlink(outside.path, batch.blobs[0].links[0].dir);
	batch.run();
	EXPECT_FALSE(batch.blobs[0].result);
	EXPECT_EQ(read_file(d.path + "/" + batch.blobs[0].rel), contents[0]);
	ASSERT_TRUE(batch.blobs[0].links[0].result);
	EXPECT_TRUE(fs::is_empty(outside.path));
	EXPECT_TRUE(batch.blobs[1].links[0].result);  // the same folder
	EXPECT_FALSE(batch.blobs[2].links[0].result);
}

TEST(DurableBatch, ASymlinkAlreadyThereIsLeftAlone) {
	TempDir d;
	bool created = true;
	ASSERT_FALSE(create_symlink_once(d.path, "l", "../../blobs/x", &created));
	EXPECT_TRUE(created);
	ASSERT_FALSE(create_symlink_once(d.path, "l", "../../blobs/other", &created));
	EXPECT_FALSE(created);
	EXPECT_EQ(fs::read_symlink(d.path + "/l").string(), "../../blobs/x");
	EXPECT_TRUE(create_symlink_once(d.path + "/missing", "l", "x", &created));
}

// Through the publisher: many blobs of two revisions, published as they
// are verified; each revision's ref comes after every one of its links was
// synced, and every link after its blob's rename was synced.
TEST(Publisher, RefsComeAfterTheSyncedLinksOfTheirRevision) {
	for (bool use_syncfs : {true, false}) {
		TempDir d;
		std::vector<Row> rows;
		std::vector<std::string> contents;
		for (int i = 0; i < 40; ++i) {
			Row r;
			r.repo_type = "model";
			r.repo_id = i % 2 ? "org/odd" : "org/even";
			r.revision = kRev;
			r.refs = {"main"};
			r.path = "dir/f" + std::to_string(i);
			contents.push_back("file " + std::to_string(i));
			r.blob = sha256_of(contents.back());
			r.size = static_cast<int64_t>(contents.back().size());
			rows.push_back(r);
		}
		auto plan = make_plan(rows, d.path, false);
		ASSERT_TRUE(plan);
		WorkPool pool(4, [] {});
		Publisher pub(d.path, *plan, pool, use_syncfs);
		Trace t;
		pub.set_trace(t.fn());
		int done = 0;
		for (size_t bi = 0; bi < plan->blobs.size(); ++bi) {
			const BlobTask &b = plan->blobs[bi];
			ASSERT_FALSE(pub.ensure_dir(b.folder + "/blobs"));
			std::string temp = d.path + "/" + b.folder + "/blobs/" + b.blob + ".pgml.incomplete";
			int fd = temp_file(temp, contents[bi]);
			pub.publish_verified(bi, fd, temp, pub.epoch(), [&done](pgmlr::Status st) {
				EXPECT_FALSE(st);
				done++;
			});
			if (bi % 7 == 0) pub.flush();  // batches of different sizes, some while others run
			pool.collect();
		}
		for (int round = 0; round < 1000 && (pool.in_flight() > 0 || !pub.idle()); ++round) {
			pub.flush();
			pool.wait_idle();
		}
		EXPECT_EQ(done, 40);
		EXPECT_EQ(pub.links_created(), 40);
		EXPECT_EQ(pub.refs_written(), 2);
		for (const char *repo : {"models--org--even", "models--org--odd"}) {
			std::string ref = std::string("ref ") + repo + "/refs/main";
			long ref_at = t.at(ref);
			ASSERT_GE(ref_at, 0) << ref;
			long last_link = t.last_with(std::string("link ") + repo + "/");
			ASSERT_GE(last_link, 0);
			// The sync of the batch holding the revision's last link precedes the ref.
			long synced = -1;
			for (size_t i = static_cast<size_t>(last_link); i < t.steps.size(); ++i)
				if (t.steps[i] == "sync-links") {
					synced = static_cast<long>(i);
					break;
				}
			EXPECT_GT(synced, last_link);
			EXPECT_GT(ref_at, synced);
			EXPECT_EQ(read_file(d.path + "/" + repo + "/refs/main"), kRev);
		}
		// Every link's blob was renamed, and that rename synced, before the link.
		for (size_t i = 0; i < t.steps.size(); ++i) {
			if (t.steps[i].rfind("link ", 0) != 0) continue;
			long renames_synced = -1;
			for (size_t k = 0; k < i; ++k)
				if (t.steps[k] == "sync-renames") renames_synced = static_cast<long>(k);
			EXPECT_GE(renames_synced, 0) << t.steps[i];
		}
		for (size_t i = 0; i < rows.size(); ++i) {
			std::string folder = i % 2 ? "models--org--odd" : "models--org--even";
			EXPECT_EQ(read_file(d.path + "/" + folder + "/snapshots/" + kRev + "/dir/f" + std::to_string(i)), contents[i]);
		}
	}
}
