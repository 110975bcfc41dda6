#include "hf_cache/names.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <regex>
#include <string>
#include <vector>

using namespace pgmlr::hf;

namespace {

// Verdicts of huggingface_hub 1.28.0's validate_repo_id (run against the
// vendored client, ../shared/vendor), and ours where we deliberately differ.
struct Case {
	std::string id;
	bool hub_client;
	bool ours;
};

const std::vector<Case> &client_cases() {
	static const std::vector<Case> cases = {
		{"gpt2", true, true},
		{"org/name", true, true},
		{"sentence-transformers/all-MiniLM-L6-v2", true, true},
		{"Foo-BAR_foo.bar123", true, true},
		{"123", true, true},
		{"_", true, true},
		{"_a_/_b_", true, true},
		{"1/2", true, true},
		{"a.b.c", true, true},
		{"a-.b", true, true},
		{"a_.b", true, true},
		{"x/a_", true, true},
		{"foo.gitx", true, true},
		{"a.GIT", true, true},
		{std::string(96, 'a'), true, true},
		{"o/" + std::string(96, 'a'), true, true},
		// The issue's ids and the client's own "not valid" examples.
		{"orgaa-/dstet_1.0", false, false},
		{"orgbars-/m1", false, false},
		{"-orgbars/m2", false, false},
		{"orgbars/m3.", false, false},
		{"orgbars/.m4", false, false},
		{"orgbars/m5--x", false, false},
		{"org..bars/m6", false, false},
		{"datasets/foo/bar", false, false},
		{".repo_id", false, false},
		{"foo--bar", false, false},
		{"foo.git", false, false},
		{"org/foo.git", false, false},
		{"", false, false},
		{"/", false, false},
		{"a/", false, false},
		{"/a", false, false},
		{"a//b", false, false},
		{"a b", false, false},
		{"a\\b", false, false},
		{"x/-", false, false},
		{"x/.", false, false},
		{"-", false, false},
		{".", false, false},
		{"a..b", false, false},
		{std::string(97, 'a'), false, false},
		{"o/" + std::string(97, 'a'), false, false},
		// Deliberate differences: Python's \w is Unicode and its "$" matches
		// before a final newline; the Hub creates neither. The client leaves
		// the namespace unbounded; we bound it like the name (NAME_MAX).
		{"gpt2\n", true, false},
		{"caf\xc3\xa9/mod\xc3\xa8le", true, false},
		{"a\xc2\xb2", true, false},
		{std::string(97, 'a') + "/b", true, false},
	};
	return cases;
}

// An independent reading of REPO_ID_REGEX with ECMAScript's ASCII \w and \b,
// plus the client's other checks and our namespace bound.
bool oracle_accepts(const std::string &id) {
	static const std::regex re(R"(^(\b[\w\-.]+\b/)?\b[\w\-.]{1,96}\b$)");
	if (std::count(id.begin(), id.end(), '/') > 1) return false;
	if (!std::regex_match(id, re)) return false;
	if (id.find("--") != std::string::npos || id.find("..") != std::string::npos) return false;
	if (id.size() >= 4 && id.compare(id.size() - 4, 4, ".git") == 0) return false;
	size_t slash = id.find('/');
	return slash == std::string::npos || slash <= kMaxRepoIdPart;
}

const char *const kTypes[] = {"model", "dataset", "space"};

// For every id: accepted exactly when the oracle accepts it; an accepted id
// round-trips through its folder name for every type; a rejected one has a
// reason, and its naive folder name never reads back as it.
void check_id(const std::string &id, size_t *accepted) {
	Problem p = repo_id_problem(id);
	ASSERT_EQ(!p.has_value(), oracle_accepts(id)) << "id \"" << id << "\"";
	if (p) {
		ASSERT_FALSE(p->empty()) << id;
		std::string folder = repo_folder_name("model", id);
		std::string why;
		auto back = parse_repo_folder(folder, &why);
		if (back) {
			ASSERT_NE(back->id, id) << folder;
			ASSERT_FALSE(repo_id_problem(back->id)) << folder;
			ASSERT_EQ(repo_folder_name(back->type, back->id), folder);
		} else {
			ASSERT_FALSE(why.empty()) << folder;
		}
		return;
	}
	++*accepted;
	for (const char *type : kTypes) {
		std::string folder = repo_folder_name(type, id);
		ASSERT_EQ(folder.find('/'), std::string::npos) << folder;
		ASSERT_LE(folder.size(), 255u) << folder;
		auto back = parse_repo_folder(folder);
		ASSERT_TRUE(back) << folder;
		ASSERT_EQ(back->type, type);
		ASSERT_EQ(back->id, id) << folder;
	}
}

const std::string kAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./";

}  // namespace

TEST(HfNames, RepoIdsAsTheHubClientJudgesThem) {
	size_t differences = 0;
	for (const Case &c : client_cases()) {
		Problem p = repo_id_problem(c.id);
		EXPECT_EQ(!p.has_value(), c.ours) << "id \"" << c.id << "\": " << p.value_or("accepted");
		EXPECT_EQ(oracle_accepts(c.id), c.ours) << c.id;
		differences += c.ours != c.hub_client;
	}
	EXPECT_EQ(differences, 4u);  // only the narrowings listed above
}

TEST(HfNames, TheIssuesIdsHaveReasons) {
	EXPECT_EQ(repo_id_problem("orgbars-/m1").value_or(""),
			  "has a namespace or name that starts or ends with \"-\" or \".\"");
	EXPECT_EQ(repo_id_problem("orgbars/m5--x").value_or(""), "contains \"--\" or \"..\"");
	EXPECT_EQ(repo_id_problem("org..bars/m6").value_or(""), "contains \"--\" or \"..\"");
	EXPECT_EQ(repo_id_problem("a/b/c").value_or(""), "has more than one \"/\"");
	EXPECT_EQ(repo_id_problem("org/na me").value_or(""),
			  "may contain only ASCII letters, digits, \"_\", \"-\", \".\" and one \"/\"");
}

// Every id of up to three characters over the alphabet (292 k ids).
TEST(HfNames, EveryShortIdRoundTripsOrIsRefused) {
	size_t accepted = 0, total = 0;
	std::string id;
	for (size_t len = 0; len <= 3; ++len) {
		std::vector<size_t> digits(len, 0);
		for (;;) {
			id.clear();
			for (size_t d : digits) id += kAlphabet[d];
			check_id(id, &accepted);
			if (HasFatalFailure()) return;
			++total;
			size_t k = 0;
			while (k < len && ++digits[k] == kAlphabet.size()) digits[k++] = 0;
			if (k == len) break;
		}
	}
	const size_t n = kAlphabet.size();  // 66
	EXPECT_EQ(total, 1 + n + n * n + n * n * n);
	EXPECT_GT(accepted, 100000u);  // the property covers many accepted ids, not a handful
}

// Longer ids from a fixed seed (the same ids on every run): mostly word
// characters with separators mixed in, so both verdicts are common.
TEST(HfNames, GeneratedIdsRoundTripOrAreRefused) {
	std::mt19937 gen(20240514);
	const std::string word = "abcXYZ019_";
	const std::string sep = "-./";
	size_t accepted = 0;
	for (int i = 0; i < 100000; ++i) {
		size_t len = 1 + gen() % 200;
		std::string id;
		for (size_t k = 0; k < len; ++k)
			id += (gen() % 6 == 0) ? sep[gen() % sep.size()] : word[gen() % word.size()];
		check_id(id, &accepted);
		if (HasFatalFailure()) return;
	}
	EXPECT_GT(accepted, 2000u);
}

// No folder name reads back as something it is not.
TEST(HfNames, EveryFolderNameParsesToItselfOrNothing) {
	std::mt19937 gen(7);
	const std::string chars = "ab-._/";
	for (int i = 0; i < 20000; ++i) {
		std::string name = std::string(kTypes[gen() % 3]) + "s--";
		size_t len = gen() % 12;
		for (size_t k = 0; k < len; ++k) name += chars[gen() % chars.size()];
		std::string why;
		auto back = parse_repo_folder(name, &why);
		if (back) {
			ASSERT_FALSE(repo_id_problem(back->id)) << name;
			ASSERT_EQ(repo_folder_name(back->type, back->id), name);
		} else {
			ASSERT_FALSE(why.empty()) << name;
		}
	}
}

TEST(HfNames, TheKnownMisreadFolderIsRefused) {
	std::string why;
	EXPECT_FALSE(parse_repo_folder("models--orgaa---dstet_1.0", &why));
	EXPECT_EQ(why, "repo id \"orgaa/-dstet_1.0\" has a namespace or name that starts or ends with \"-\" or \".\"");
	EXPECT_FALSE(parse_repo_folder("models--orgbars--m5--x"));
	EXPECT_FALSE(parse_repo_folder("models--orgbars--m3."));
	EXPECT_FALSE(parse_repo_folder("kernels--org--name", &why));
	EXPECT_EQ(why, "unknown repo type");
	auto ok = parse_repo_folder("datasets--org--name");
	ASSERT_TRUE(ok);
	EXPECT_EQ(ok->type, "dataset");
	EXPECT_EQ(ok->id, "org/name");
}

TEST(HfNames, RefsFollowGitRules) {
	for (const char *ok : {"main", "v1.0", "refs/pr/1", "refs/convert/parquet", "release-2024_05", "caf\xc3\xa9"})
		EXPECT_FALSE(ref_problem(ok)) << ok;
	for (std::string bad : {std::string(""), std::string("@"), std::string("a..b"), std::string("a@{1}"),
							std::string("main."), std::string("/main"), std::string("main/"), std::string("a//b"),
							std::string(".hidden"), std::string("a/.b"), std::string("x.lock"), std::string("a/x.lock/b"),
							std::string("a b"), std::string("a~1"), std::string("a^"), std::string("a:b"),
							std::string("a?"), std::string("a*"), std::string("a[b"), std::string("a\\b"),
							std::string("a\x7f"), std::string("a\tb"), std::string(256, 'r'), std::string("\xff")})
		EXPECT_TRUE(ref_problem(bad)) << bad;
}

TEST(HfNames, PathsAsTheHubHasThem) {
	for (const char *ok : {"config.json", "1_Pooling/config.json", "onnx/model_O4.onnx", ".gitattributes",
						   "a/.github/x", "d\xc3\xa9j\xc3\xa0 vu.txt", "..a/b..c/.d"})
		EXPECT_FALSE(path_problem(ok)) << ok;
	for (std::string bad : {std::string(""), std::string("/etc/passwd"), std::string("../x"), std::string("a/./b"),
							std::string("a//b"), std::string("a/"), std::string("a\\b"), std::string("a\0b", 3),
							std::string("a\nb"), std::string("\xc3\x28"), std::string(".git/config"),
							std::string("sub/.GIT/x"), std::string(1025, 'x'), std::string(256, 'y')})
		EXPECT_TRUE(path_problem(bad)) << bad;
}

TEST(HfNames, CommitsBlobsAndSizes) {
	EXPECT_FALSE(revision_problem(std::string(40, 'a')));
	EXPECT_TRUE(revision_problem("main"));
	EXPECT_TRUE(revision_problem(std::string(40, 'A')));
	EXPECT_FALSE(blob_problem(std::string(64, 'f')));
	EXPECT_TRUE(blob_problem(std::string(63, 'f')));
	EXPECT_FALSE(size_problem(0));
	EXPECT_TRUE(size_problem(-1));
	EXPECT_TRUE(size_problem(kMaxFileSize + 1));
}

TEST(HfNames, ShownEscapesAndCuts) {
	EXPECT_EQ(shown("a\nb\"c"), "\"a\\x0ab\\x22c\"");
	EXPECT_EQ(shown(std::string(100, 'x')).size(), 80u + 2u + 3u);
}
