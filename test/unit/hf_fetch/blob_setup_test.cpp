// The per-blob set-up that runs ahead of a transfer (lock, present test,
// partial file) and the free-space gate's reading policy.
#include "hf_fetch/blob_setup.hpp"
#include "temp_files.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace pgmlr::hf_fetch;

namespace {

const std::string kAbc = "abc";
const std::string kAbcBlob = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

using test_files::TempDir;

BlobSetupArgs args_in(const std::string &dir) {
	BlobSetupArgs a;
	a.lock_path = dir + "/" + kAbcBlob + ".lock";
	a.final_path = dir + "/" + kAbcBlob;
	a.partial_path = a.final_path + kPartialSuffix;
	a.blob = kAbcBlob;
	a.size = 3;
	return a;
}

void write(const std::string &p, const std::string &content) { std::ofstream(p, std::ios::binary) << content; }

}  // namespace

TEST(BlobSetup, ReadyHoldsTheLockAndResumesTheKeptPrefix) {
	TempDir d;
	BlobSetupArgs a = args_in(d.path);
	write(a.partial_path, "ab");
	BlobLock lock;
	PartialFile file;
	BlobSetupOutcome o = setup_blob(a, lock, file);
	EXPECT_EQ(o.kind, BlobSetupOutcome::Kind::ready) << o.why;
	EXPECT_TRUE(lock.held());
	EXPECT_TRUE(file.is_open());
	EXPECT_EQ(file.on_disk(), 2);
	// Another process cannot take the lock meanwhile.
	int fd = open(a.lock_path.c_str(), O_RDWR);
	ASSERT_GE(fd, 0);
	EXPECT_NE(flock(fd, LOCK_EX | LOCK_NB), 0);
	close(fd);
	file.drop();
}

TEST(BlobSetup, BusyWhenAnotherProcessHoldsTheLockAndTouchesNothing) {
	TempDir d;
	BlobSetupArgs a = args_in(d.path);
	int fd = open(a.lock_path.c_str(), O_RDWR | O_CREAT, 0644);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(flock(fd, LOCK_EX | LOCK_NB), 0);
	BlobLock lock;
	PartialFile file;
	EXPECT_EQ(setup_blob(a, lock, file).kind, BlobSetupOutcome::Kind::busy);
	EXPECT_FALSE(lock.held());
	EXPECT_FALSE(file.is_open());
	EXPECT_FALSE(fs::exists(a.partial_path));
	close(fd);
}

TEST(BlobSetup, PresentWhenAnotherWriterFinishedTheBlob) {
	TempDir d;
	BlobSetupArgs a = args_in(d.path);
	write(a.final_path, kAbc);
	write(a.partial_path, "a");  // our leftover
	BlobLock lock;
	PartialFile file;
	EXPECT_EQ(setup_blob(a, lock, file).kind, BlobSetupOutcome::Kind::present);
	EXPECT_FALSE(lock.held());
	EXPECT_FALSE(fs::exists(a.partial_path));
	// With verify_present, a same-size blob with the wrong bytes is not taken as done.
	write(a.final_path, "xyz");
	a.verify_present = true;
	BlobSetupOutcome o = setup_blob(a, lock, file);
	EXPECT_EQ(o.kind, BlobSetupOutcome::Kind::ready) << o.why;
	file.drop();
}

TEST(BlobSetup, FailsWhenThePartialFileCannotBeCreated) {
	TempDir d;
	BlobSetupArgs a = args_in(d.path);
	a.partial_path = d.path + "/missing/dir/x" + kPartialSuffix;
	BlobLock lock;
	PartialFile file;
	BlobSetupOutcome o = setup_blob(a, lock, file);
	EXPECT_EQ(o.kind, BlobSetupOutcome::Kind::failed);
	EXPECT_NE(o.why.find("could not create a temporary file"), std::string::npos) << o.why;
}

TEST(FreeSpaceGate, ReadsOncePerFileSystemWithinTheSlack) {
	TempDir d;
	fs::create_directories(d.path + "/a");
	fs::create_directories(d.path + "/b");
	FreeSpaceGate gate(0);
	for (int i = 0; i < 100; ++i) {
		EXPECT_EQ(gate.reserve(d.path + "/a", 1000), "");
		EXPECT_EQ(gate.reserve(d.path + "/b", 1000), "");
	}
	// One reading per folder to learn its file system, none per file.
	EXPECT_EQ(gate.readings(), 2);
	// Beyond the slack the next reservation reads again.
	EXPECT_EQ(gate.reserve(d.path + "/a", FreeSpaceGate::kSlackBytes), "");
	EXPECT_EQ(gate.readings(), 3);
}

TEST(FreeSpaceGate, RefusesOnlyOnAFreshReading) {
	TempDir d;
	FreeSpaceGate gate(int64_t{1} << 62);  // more than any disk: always refused
	EXPECT_NE(gate.reserve(d.path, 1).find("not enough free disk space"), std::string::npos);
	int before = gate.readings();
	EXPECT_NE(gate.reserve(d.path, 1).find("not enough free disk space"), std::string::npos);
	EXPECT_EQ(gate.readings(), before + 1);  // the refusal rests on a new reading
	EXPECT_NE(gate.reserve(d.path + "/missing", 1).find("could not read free disk space"), std::string::npos);
}
