// The serving side's listing of the cache extras (hf_cache/extras.hpp):
// trees and .no_exist markers of a repo folder, and what a hostile cache
// gets skipped (links, odd names, oversized trees, deep folders).
#include "hf_cache/extras.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "../temp_files.hpp"

using namespace pgmlr;
using namespace pgmlr::hf;
namespace fs = std::filesystem;

namespace {

const std::string kC1 = std::string(40, '1');
const std::string kC2 = std::string(40, '2');

void put(const std::string &path, const std::string &data) {
	fs::create_directories(fs::path(path).parent_path());
	std::ofstream(path, std::ios::binary) << data;
}

struct Cache {
	test_files::TempDir dir{"pgml_repl_extras"};
	std::string repo() const { return dir.path + "/models--org--m"; }
};

}  // namespace

TEST(ExtraNames, RulesOfBothKinds) {
	EXPECT_FALSE(extra_name_problem(ExtraKind::tree, kC1));
	EXPECT_TRUE(extra_name_problem(ExtraKind::tree, kC1 + ".json"));
	EXPECT_TRUE(extra_name_problem(ExtraKind::tree, std::string(40, 'A')));
	EXPECT_FALSE(extra_name_problem(ExtraKind::no_exist, kC1 + "/a/b.json"));
	EXPECT_TRUE(extra_name_problem(ExtraKind::no_exist, kC1));
	EXPECT_TRUE(extra_name_problem(ExtraKind::no_exist, kC1 + "/../x"));
	EXPECT_TRUE(extra_name_problem(ExtraKind::no_exist, kC1 + "//x"));
	EXPECT_TRUE(extra_name_problem(ExtraKind::no_exist, kC1 + "/.git/config"));
	EXPECT_TRUE(extra_name_problem(ExtraKind::no_exist, "main/x"));
	EXPECT_EQ(extra_rel_path(ExtraKind::tree, kC1), "trees/" + kC1 + ".json");
	EXPECT_EQ(extra_rel_path(ExtraKind::no_exist, kC1 + "/a/b"), ".no_exist/" + kC1 + "/a/b");
	EXPECT_EQ(parse_extra_kind("tree"), ExtraKind::tree);
	EXPECT_EQ(parse_extra_kind("no_exist"), ExtraKind::no_exist);
	EXPECT_FALSE(parse_extra_kind("blob"));
}

TEST(ListExtras, TreesAndMarkers) {
	Cache c;
	put(c.repo() + "/trees/" + kC1 + ".json", "[{\"path\":\"a\"}]");
	put(c.repo() + "/trees/" + kC2 + ".json", "[]");
	put(c.repo() + "/trees/." + kC2 + ".json.pgml.123.tmp", "[");  // ignored without a warning
	put(c.repo() + "/.no_exist/" + kC1 + "/tokenizer.json", "");
	put(c.repo() + "/.no_exist/" + kC1 + "/sub/dir/x.txt", "");
	Result<RepoExtras> r = list_repo_extras(c.dir.path, "model", "org/m");
	ASSERT_TRUE(r) << r.error().message;
	ASSERT_EQ(r->items.size(), 4u);
	EXPECT_EQ(r->items[0].kind, ExtraKind::tree);
	EXPECT_EQ(r->items[0].name, kC1);
	EXPECT_EQ(r->items[0].content, "[{\"path\":\"a\"}]");
	EXPECT_EQ(r->items[1].name, kC2);
	EXPECT_EQ(r->items[2].kind, ExtraKind::no_exist);
	EXPECT_EQ(r->items[2].name, kC1 + "/sub/dir/x.txt");
	EXPECT_EQ(r->items[3].name, kC1 + "/tokenizer.json");
	EXPECT_TRUE(r->warnings.empty());
}

TEST(ListExtras, MissingRepoIsEmpty) {
	Cache c;
	Result<RepoExtras> r = list_repo_extras(c.dir.path, "model", "org/m");
	ASSERT_TRUE(r);
	EXPECT_TRUE(r->items.empty());
	Result<RepoExtras> none = list_repo_extras(c.dir.path + "/nowhere", "model", "org/m");
	ASSERT_TRUE(none);
	EXPECT_TRUE(none->items.empty());
}

TEST(ListExtras, RefusesBadNamesAndRelativeRoot) {
	Cache c;
	EXPECT_EQ(list_repo_extras(c.dir.path, "model", "../x").error().code, ErrCode::InvalidParameter);
	EXPECT_EQ(list_repo_extras(c.dir.path, "kernel", "org/m").error().code, ErrCode::InvalidParameter);
	EXPECT_EQ(list_repo_extras("relative", "model", "org/m").error().code, ErrCode::ConfigFile);
}

TEST(ListExtras, HostileCacheIsSkipped) {
	Cache c;
	test_files::TempDir outside{"pgml_repl_extras_out"};
	put(outside.path + "/secret.json", "secret");
	fs::create_directories(c.repo() + "/trees");
	// A link to a file outside, an odd name, an oversized tree, a folder.
	ASSERT_EQ(symlink((outside.path + "/secret.json").c_str(), (c.repo() + "/trees/" + kC1 + ".json").c_str()), 0);
	put(c.repo() + "/trees/notes.txt", "x");
	{
		std::ofstream big(c.repo() + "/trees/" + kC2 + ".json", std::ios::binary);
		big.seekp(kMaxTreeFileBytes);
		big.put('x');
	}
	// Markers: a linked commit folder, a linked marker, a bad path, too deep.
	ASSERT_EQ(symlink(outside.path.c_str(), (c.repo() + "/.no_exist").c_str()) == 0 ? 0 : 1, 0);
	Result<RepoExtras> r = list_repo_extras(c.dir.path, "model", "org/m");
	ASSERT_TRUE(r) << r.error().message;
	EXPECT_TRUE(r->items.empty());
	std::string all;
	for (auto &w : r->warnings) all += w + "\n";
	EXPECT_NE(all.find("is a link or not a regular file"), std::string::npos) << all;
	EXPECT_NE(all.find("larger than 16 MiB"), std::string::npos) << all;
	EXPECT_NE(all.find("<40-hex commit>.json"), std::string::npos) << all;
	EXPECT_NE(all.find(".no_exist"), std::string::npos) << all;

	fs::remove(c.repo() + "/.no_exist");
	const std::string top = c.repo() + "/.no_exist/" + kC1;
	put(top + "/ok.txt", "");
	fs::create_directories(top + "/.git");
	put(top + "/.git/config", "");
	ASSERT_EQ(symlink((outside.path + "/secret.json").c_str(), (top + "/linked.txt").c_str()), 0);
	std::string deep = top;
	for (int i = 0; i < kMaxMarkerDepth + 1; ++i) deep += "/d";
	put(deep + "/x.txt", "");
	put(c.repo() + "/.no_exist/main/x.txt", "");
	r = list_repo_extras(c.dir.path, "model", "org/m");
	ASSERT_TRUE(r);
	ASSERT_EQ(r->items.size(), 1u);
	EXPECT_EQ(r->items[0].name, kC1 + "/ok.txt");
	all.clear();
	for (auto &w : r->warnings) all += w + "\n";
	EXPECT_NE(all.find("never serves"), std::string::npos) << all;
	EXPECT_NE(all.find("folders deep"), std::string::npos) << all;
	EXPECT_NE(all.find("40-hex commit"), std::string::npos) << all;
}

TEST(ListExtras, LinkedRepoFolderIsRefused) {
	Cache c;
	test_files::TempDir outside{"pgml_repl_extras_out"};
	ASSERT_EQ(symlink(outside.path.c_str(), c.repo().c_str()), 0);
	Result<RepoExtras> r = list_repo_extras(c.dir.path, "model", "org/m");
	ASSERT_FALSE(r);
	EXPECT_EQ(r.error().code, ErrCode::Permission);
}

TEST(ListExtras, UnreadableEntriesAreSkippedNotFatal) {
	if (geteuid() == 0) GTEST_SKIP() << "root reads files of mode 000";
	Cache c;
	put(c.repo() + "/trees/" + kC1 + ".json", "[]");
	put(c.repo() + "/trees/" + kC2 + ".json", "[1]");
	fs::permissions(c.repo() + "/trees/" + kC1 + ".json", fs::perms::none);
	put(c.repo() + "/.no_exist/" + kC1 + "/locked/x.txt", "");
	fs::permissions(c.repo() + "/.no_exist/" + kC1 + "/locked", fs::perms::none);
	Result<RepoExtras> r = list_repo_extras(c.dir.path, "model", "org/m");
	fs::permissions(c.repo() + "/.no_exist/" + kC1 + "/locked", fs::perms::owner_all);
	ASSERT_TRUE(r) << r.error().message;
	ASSERT_EQ(r->items.size(), 1u);
	EXPECT_EQ(r->items[0].name, kC2);
	std::string all;
	for (auto &w : r->warnings) all += w + "\n";
	EXPECT_NE(all.find("could not be read"), std::string::npos) << all;
}
