// The replica's side of the cache extras (hf_fetch/extras_write.hpp): every
// row checked as untrusted input, the paths built from the Hub's rules, and
// files written only when absent or different, never through a link.
#include "hf_fetch/extras_write.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "../temp_files.hpp"

using namespace pgmlr;
using namespace pgmlr::hf_fetch;
namespace fs = std::filesystem;

namespace {
const std::string kC1 = std::string(40, 'a');
}

TEST(CheckExtraRow, AcceptsAndBuildsPaths) {
	Result<ExtraTarget> t = check_extra_row("model", "org/m", "tree", kC1, false, 10);
	ASSERT_TRUE(t) << t.error().message;
	EXPECT_EQ(t->repo_folder, "models--org--m");
	EXPECT_EQ(t->rel, "trees/" + kC1 + ".json");
	t = check_extra_row("dataset", "gpt2", "no_exist", kC1 + "/a/b.json", true, 0);
	ASSERT_TRUE(t);
	EXPECT_EQ(t->repo_folder, "datasets--gpt2");
	EXPECT_EQ(t->rel, ".no_exist/" + kC1 + "/a/b.json");
}

TEST(CheckExtraRow, RefusesHostileRows) {
	auto bad = [](std::string_view type, std::string_view id, std::string_view kind, std::string_view name,
				  bool null, size_t len) {
		Result<ExtraTarget> t = check_extra_row(type, id, kind, name, null, len);
		return !t && t.error().code == ErrCode::InvalidParameter;
	};
	EXPECT_TRUE(bad("kernel", "org/m", "tree", kC1, false, 1));
	EXPECT_TRUE(bad("model", "../../etc", "tree", kC1, false, 1));
	EXPECT_TRUE(bad("model", "org--x/m", "tree", kC1, false, 1));
	EXPECT_TRUE(bad("model", "org/m", "blob", kC1, false, 1));
	EXPECT_TRUE(bad("model", "org/m", "tree", "../" + kC1, false, 1));
	EXPECT_TRUE(bad("model", "org/m", "tree", kC1 + "/x", false, 1));
	EXPECT_TRUE(bad("model", "org/m", "tree", kC1, true, 0));
	EXPECT_TRUE(bad("model", "org/m", "tree", kC1, false, size_t(hf::kMaxTreeFileBytes) + 1));
	EXPECT_TRUE(bad("model", "org/m", "no_exist", kC1 + "/../../x", true, 0));
	EXPECT_TRUE(bad("model", "org/m", "no_exist", kC1 + "//x", true, 0));
	EXPECT_TRUE(bad("model", "org/m", "no_exist", kC1 + "/\\x", true, 0));
	EXPECT_TRUE(bad("model", "org/m", "no_exist", "/etc/passwd", true, 0));
	EXPECT_TRUE(bad("model", "org/m", "no_exist", kC1 + "/x", false, 0));
	EXPECT_TRUE(bad("model", "org/m", "no_exist", kC1, true, 0));
}

TEST(WriteExtra, WritesOnlyWhenAbsentOrDifferent) {
	test_files::TempDir d{"pgml_repl_extras_w"};
	ExtraTarget tree = *check_extra_row("model", "org/m", "tree", kC1, false, 2);
	ExtraTarget marker = *check_extra_row("model", "org/m", "no_exist", kC1 + "/sub/x.txt", true, 0);
	const std::string tree_path = d.path + "/models--org--m/trees/" + kC1 + ".json";
	const std::string marker_path = d.path + "/models--org--m/.no_exist/" + kC1 + "/sub/x.txt";

	EXPECT_EQ(*write_extra(d.path, tree, "[]"), WriteOutcome::written);
	EXPECT_EQ(test_files::read_file(tree_path), "[]");
	EXPECT_EQ(*write_extra(d.path, tree, "[]"), WriteOutcome::unchanged);
	EXPECT_EQ(*write_extra(d.path, tree, "[1]"), WriteOutcome::written);
	EXPECT_EQ(test_files::read_file(tree_path), "[1]");
	EXPECT_EQ(*write_extra(d.path, marker, ""), WriteOutcome::written);
	EXPECT_TRUE(fs::is_regular_file(marker_path));
	EXPECT_EQ(fs::file_size(marker_path), 0u);
	EXPECT_EQ(*write_extra(d.path, marker, ""), WriteOutcome::unchanged);
	// No temp file left behind.
	int files = 0;
	for (auto &e : fs::directory_iterator(d.path + "/models--org--m/trees")) files += e.is_regular_file();
	EXPECT_EQ(files, 1);
}

TEST(WriteExtra, NeverWritesThroughALink) {
	test_files::TempDir d{"pgml_repl_extras_w"};
	test_files::TempDir outside{"pgml_repl_extras_out"};
	fs::create_directories(d.path + "/models--org--m");
	ASSERT_EQ(symlink(outside.path.c_str(), (d.path + "/models--org--m/trees").c_str()), 0);
	ASSERT_EQ(symlink(outside.path.c_str(), (d.path + "/models--org--m/.no_exist").c_str()), 0);
	ExtraTarget tree = *check_extra_row("model", "org/m", "tree", kC1, false, 2);
	ExtraTarget marker = *check_extra_row("model", "org/m", "no_exist", kC1 + "/x.txt", true, 0);
	Result<WriteOutcome> w = write_extra(d.path, tree, "[]");
	ASSERT_FALSE(w);
	EXPECT_EQ(w.error().code, ErrCode::Permission);
	w = write_extra(d.path, marker, "");
	ASSERT_FALSE(w);
	EXPECT_EQ(w.error().code, ErrCode::Permission);
	EXPECT_TRUE(fs::is_empty(outside.path));

	// A link where the tree file goes is replaced, not followed.
	fs::remove(d.path + "/models--org--m/trees");
	fs::create_directories(d.path + "/models--org--m/trees");
	const std::string victim = outside.path + "/victim";
	std::ofstream(victim) << "keep";
	const std::string tree_path = d.path + "/models--org--m/trees/" + kC1 + ".json";
	ASSERT_EQ(symlink(victim.c_str(), tree_path.c_str()), 0);
	EXPECT_EQ(*write_extra(d.path, tree, "[]"), WriteOutcome::written);
	EXPECT_EQ(test_files::read_file(victim), "keep");
	EXPECT_FALSE(fs::is_symlink(tree_path));
	EXPECT_EQ(test_files::read_file(tree_path), "[]");

	// A linked marker is refused, its target untouched.
	fs::remove(d.path + "/models--org--m/.no_exist");
	fs::create_directories(d.path + "/models--org--m/.no_exist/" + kC1);
	ASSERT_EQ(symlink(victim.c_str(), (d.path + "/models--org--m/.no_exist/" + kC1 + "/x.txt").c_str()), 0);
	w = write_extra(d.path, marker, "");
	ASSERT_FALSE(w);
	EXPECT_EQ(w.error().code, ErrCode::Permission);
	EXPECT_EQ(test_files::read_file(victim), "keep");
}
