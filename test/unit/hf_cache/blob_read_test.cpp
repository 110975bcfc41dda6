// The serving side's file reader (hf_cache/blob_read.hpp): the range rules,
// and every way a hostile cache or argument could make it read something
// else than a complete blob inside the cache.
#include "hf_cache/blob_read.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "../temp_files.hpp"

using namespace pgmlr;
using namespace pgmlr::hf;
namespace fs = std::filesystem;

namespace {

const std::string kBlob = std::string(40, 'a');
const std::string kOther = std::string(64, 'b');

struct Cache {
	test_files::TempDir dir{"pgml_repl_blob_read"};
	std::string blobs() const { return dir.path + "/models--org--m/blobs"; }
	void put(const std::string &name, const std::string &bytes) const {
		fs::create_directories(blobs());
		std::ofstream(blobs() + "/" + name, std::ios::binary) << bytes;
	}
};

ErrCode open_code(const Cache &c, const std::string &blob, int64_t size, std::string_view id = "org/m") {
	Result<BlobFile> f = BlobFile::open(c.dir.path, "model", id, blob, size);
	EXPECT_FALSE(f.ok());
	return f.ok() ? ErrCode::Ok : f.error().code;
}

}  // namespace

TEST(BlobReadSpan, RangesInsideTheBlobAreClampedAtItsEnd) {
	EXPECT_EQ(*blob_read_span(10, 0, 10), 10);
	EXPECT_EQ(*blob_read_span(10, 4, 100), 6);
	EXPECT_EQ(*blob_read_span(10, 9, 1), 1);
	EXPECT_EQ(*blob_read_span(0, 0, 5), 0);  // an empty blob reads as empty
	EXPECT_EQ(*blob_read_span(kMaxBlobReadLength * 2, 0, kMaxBlobReadLength), kMaxBlobReadLength);
}

TEST(BlobReadSpan, OffsetAndLengthOutOfBoundsAreRefused) {
	for (auto [size, offset, length] : std::vector<std::tuple<int64_t, int64_t, int64_t>>{
			 {10, -1, 1}, {10, 10, 1}, {10, 11, 1}, {0, 1, 1}, {10, 0, 0}, {10, 0, -5},
			 {10, 0, kMaxBlobReadLength + 1}}) {
		Result<int64_t> r = blob_read_span(size, offset, length);
		ASSERT_FALSE(r.ok()) << size << " " << offset << " " << length;
		EXPECT_EQ(r.error().code, ErrCode::InvalidParameter);
		EXPECT_FALSE(r.error().hint.empty());
	}
}

TEST(BlobFile, ReadsRangesOfACompleteBlob) {
	Cache c;
	c.put(kBlob, "0123456789");
	Result<BlobFile> f = BlobFile::open(c.dir.path, "model", "org/m", kBlob, 10);
	ASSERT_TRUE(f.ok()) << f.error().message;
	EXPECT_EQ(f->size(), 10);
	char buf[4] = {};
	EXPECT_FALSE(f->read_at(3, buf, 4));
	EXPECT_EQ(std::string(buf, 4), "3456");
	Status past = f->read_at(8, buf, 4);  // the file ends before len bytes
	ASSERT_TRUE(past);
	EXPECT_EQ(past->code, ErrCode::Io);
}

TEST(BlobFile, MalformedNamesNeverReachThePath) {
	Cache c;
	c.put(kBlob, "x");
	for (std::string bad : {std::string("../../etc/passwd"), kBlob + "/", "A" + kBlob.substr(1), std::string(""),
							kBlob.substr(1), kBlob + ".incomplete"})
		EXPECT_EQ(open_code(c, bad, 1), ErrCode::InvalidParameter) << bad;
	EXPECT_EQ(open_code(c, kBlob, 1, "../org/m"), ErrCode::InvalidParameter);
	EXPECT_EQ(open_code(c, kBlob, 1, "org--x/m"), ErrCode::InvalidParameter);
}

TEST(BlobFile, MissingOrIncompleteBlobsAreNotFound) {
	Cache c;
	EXPECT_EQ(open_code(c, kBlob, 1), ErrCode::NotFound);  // no repo folder
	c.put(kOther, "y");
	EXPECT_EQ(open_code(c, kBlob, 1), ErrCode::NotFound);  // no such blob
	c.put(kBlob, "12345");
	EXPECT_EQ(open_code(c, kBlob, 6), ErrCode::NotFound);  // shorter than the manifest says
	EXPECT_EQ(open_code(c, kBlob, 4), ErrCode::NotFound);  // longer
}

TEST(BlobFile, LinksAndOtherFilesAreRefused) {
	Cache c;
	c.put(kOther, "secret");
	test_files::TempDir outside{"pgml_repl_blob_outside"};
	std::ofstream(outside.path + "/f", std::ios::binary) << "secret";

	// The blob itself a link, to a file inside or outside the cache.
	fs::create_symlink(outside.path + "/f", c.blobs() + "/" + kBlob);
	EXPECT_EQ(open_code(c, kBlob, 6), ErrCode::Permission);
	fs::remove(c.blobs() + "/" + kBlob);
	fs::create_symlink(kOther, c.blobs() + "/" + kBlob);
	EXPECT_EQ(open_code(c, kBlob, 6), ErrCode::Permission);
	fs::remove(c.blobs() + "/" + kBlob);

	// A folder or a FIFO under the blob's name (the FIFO must not hang the open).
	fs::create_directory(c.blobs() + "/" + kBlob);
	EXPECT_EQ(open_code(c, kBlob, 6), ErrCode::Permission);
	fs::remove(c.blobs() + "/" + kBlob);
	ASSERT_EQ(mkfifo((c.blobs() + "/" + kBlob).c_str(), 0600), 0);
	EXPECT_EQ(open_code(c, kBlob, 0), ErrCode::Permission);
	fs::remove(c.blobs() + "/" + kBlob);

	// blobs/ or the repo folder a link out of the cache.
	fs::create_directories(outside.path + "/blobs");
	std::ofstream(outside.path + "/blobs/" + kBlob, std::ios::binary) << "secret";
	fs::create_directories(c.dir.path + "/models--org--n");
	fs::create_directory_symlink(outside.path + "/blobs", c.dir.path + "/models--org--n/blobs");
	EXPECT_EQ(open_code(c, kBlob, 6, "org/n"), ErrCode::Permission);
	fs::create_directory_symlink(outside.path, c.dir.path + "/models--org--o");
	EXPECT_EQ(open_code(c, kBlob, 6, "org/o"), ErrCode::Permission);
}

TEST(BlobFile, TheCacheRootMustBeAbsolute) {
	Result<BlobFile> f = BlobFile::open("relative/cache", "model", "org/m", kBlob, 1);
	ASSERT_FALSE(f.ok());
	EXPECT_EQ(f.error().code, ErrCode::ConfigFile);
}
