#include "hf_fetch/rows.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace pgmlr::hf_fetch;

namespace {

Row good_row() {
	Row r;
	r.repo_type = "model";
	r.repo_id = "sentence-transformers/all-MiniLM-L6-v2";
	r.revision = std::string(40, 'a');
	r.refs = {"main"};
	r.path = "1_Pooling/config.json";
	r.blob = std::string(64, 'b');
	r.size = 190;
	return r;
}

// The refusal must name the column.
void expect_refused(const pgmlr::Status &st, const std::string &column) {
	ASSERT_TRUE(st.has_value()) << "accepted, expected a refusal naming " << column;
	EXPECT_NE(st->message.find(column), std::string::npos) << st->message;
	EXPECT_EQ(st->code, pgmlr::ErrCode::InvalidParameter);
}

}  // namespace

TEST(HfFetchRows, GoodRowPasses) {
	EXPECT_FALSE(validate_row(good_row()));
	Row r = good_row();
	r.repo_id = "gpt2";
	r.repo_type = "dataset";
	r.refs = {"refs/pr/1", "v1.0"};
	r.blob = std::string(40, 'c');
	r.size = 0;
	EXPECT_FALSE(validate_row(r));
	r.refs = {""};  // no ref
	EXPECT_FALSE(validate_row(r));
	r.path = "dir/\xc3\xa9t\xc3\xa9.txt";  // UTF-8 is fine
	EXPECT_FALSE(validate_row(r));
}

TEST(HfFetchRows, RepoTypeAndId) {
	for (const char *t : {"", "models", "Model", "kernel", "model\n"}) expect_refused(validate_repo_type(t), "repo_type");
	for (std::string id : {std::string(""), std::string("a--b"), std::string("org/../x"), std::string("a/b/c"),
						   std::string("/abs"), std::string("org/"), std::string(".hidden"), std::string("org/-x"),
						   std::string("org/na me"), std::string("org\\name"), std::string(97, 'a'),
						   std::string("org/") + std::string(97, 'x'), std::string("a..b"), std::string("org/na\nme")})
		expect_refused(validate_repo_id(id), "repo_id");
	EXPECT_FALSE(validate_repo_id(std::string(96, 'a') + "/" + std::string(96, 'b')));
}

TEST(HfFetchRows, RevisionAndBlob) {
	expect_refused(validate_revision("main"), "revision");
	expect_refused(validate_revision(std::string(40, 'A')), "revision");
	expect_refused(validate_revision(std::string(39, 'a')), "revision");
	expect_refused(validate_revision(std::string(39, 'a') + "g"), "revision");
	expect_refused(validate_blob(std::string(63, 'a')), "blob");
	expect_refused(validate_blob(std::string(64, 'A')), "blob");
	expect_refused(validate_blob(std::string(63, 'a') + "z"), "blob");
	expect_refused(validate_blob("../../etc/passwd"), "blob");
	expect_refused(validate_blob(""), "blob");
}

TEST(HfFetchRows, HostileRefs) {
	for (std::string ref : {std::string("/main"), std::string("main/"), std::string("a/../b"), std::string(".."),
							std::string("a\\b"), std::string("a\x01"), std::string("a\0b", 3), std::string("a b"),
							std::string("a//b"), std::string(".hidden"), std::string("x.lock"), std::string("a@{1}"),
							std::string(300, 'r'), std::string("\xff\xfe")})
		expect_refused(validate_ref(ref), "ref");
	EXPECT_FALSE(validate_ref("refs/pr/12"));
	EXPECT_FALSE(validate_ref("v1.0"));
}

TEST(HfFetchRows, HostilePaths) {
	for (std::string p : {std::string(""), std::string("/etc/passwd"), std::string("../x"), std::string("a/../../x"),
						  std::string("a/./b"), std::string("."), std::string("a//b"), std::string("a/"),
						  std::string("a\\..\\b"), std::string("a\0b", 3), std::string("a\nb"), std::string("a\x7f"),
						  std::string("\xc3\x28"), std::string("\xed\xa0\x80"), std::string("\xc0\xaf"),
						  std::string(10000, 'x'), std::string(256, 'y'), std::string("d/") + std::string(256, 'z')})
		expect_refused(validate_path(p), "path");
	EXPECT_FALSE(validate_path(std::string(255, 'x')));
	EXPECT_FALSE(validate_path("..a/b..c/.d"));  // dots inside names are names
}

TEST(HfFetchRows, Sizes) {
	expect_refused(validate_size(-1), "size");
	expect_refused(validate_size(kMaxFileSize + 1), "size");
	EXPECT_FALSE(validate_size(0));
}

TEST(HfFetchRows, RefusalDetailEscapesControlBytes) {
	auto st = validate_path(std::string("a\nFAKE LOG LINE"));
	ASSERT_TRUE(st);
	EXPECT_EQ(st->detail.find('\n'), std::string::npos);
	EXPECT_NE(st->detail.find("\\x0a"), std::string::npos);
	auto big = validate_path(std::string(10000, 'x'));
	ASSERT_TRUE(big);
	EXPECT_LT(big->detail.size(), 200u);
}

TEST(HfFetchRows, FolderNames) {
	Row r = good_row();
	EXPECT_EQ(repo_folder_name(r), "models--sentence-transformers--all-MiniLM-L6-v2");
	r.repo_type = "dataset";
	r.repo_id = "squad";
	EXPECT_EQ(repo_folder_name(r), "datasets--squad");
	r.repo_type = "space";
	r.repo_id = "a/b";
	EXPECT_EQ(repo_folder_name(r), "spaces--a--b");
}

TEST(HfFetchRows, Urls) {
	Row r = good_row();
	EXPECT_EQ(resolve_url("https://huggingface.co/", r),
			  "https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2/resolve/" + r.revision +
				  "/1_Pooling/config.json");
	r.repo_type = "dataset";
	r.repo_id = "org/data";
	r.revision = "refs/pr/1";  // URL building also serves ref names
	r.path = "dir with space/ü#?%.txt";
	EXPECT_EQ(resolve_url("http://127.0.0.1:8080//", r),
			  "http://127.0.0.1:8080/datasets/org/data/resolve/refs%2Fpr%2F1/dir%20with%20space/%C3%BC%23%3F%25.txt");
	r.repo_type = "space";
	EXPECT_EQ(resolve_url("http://h", r).rfind("http://h/spaces/org/data/resolve/", 0), 0u);
	EXPECT_EQ(percent_encode("a~b-c_d.e/f", ""), "a~b-c_d.e%2Ff");
}

TEST(HfFetchRows, SymlinkTargets) {
	EXPECT_EQ(symlink_target("config.json", "ab"), "../../blobs/ab");
	EXPECT_EQ(symlink_target("1_Pooling/config.json", "ab"), "../../../blobs/ab");
	EXPECT_EQ(symlink_target("a/b/c/d.bin", "ab"), "../../../../../blobs/ab");
}
