// want_model()'s checks (hf_fetch/model_request.hpp and the C entry point
// pgmlr_model_request_check): what is accepted, that every refusal names its
// argument and carries a hint, the pattern bounds at their edges, and the C
// contract's NULLs (SQL NULL lists, NULL elements, NULL strings).
#include "hf_fetch/model_request.hpp"
#include "pgml_repl/hf_models.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace pgmlr::hf_fetch;

namespace {

bool starts(const std::string &s, const std::string &prefix) { return s.rfind(prefix, 0) == 0; }

ModelRequest req(std::string id, std::string rev = "main", std::string type = "model") {
	return ModelRequest{std::move(type), std::move(id), std::move(rev), std::nullopt, std::nullopt};
}

PatternList patterns(std::vector<std::optional<std::string>> v) { return PatternList{std::move(v)}; }

// The refusal's message, or "" when accepted; every refusal is checked for
// the house shape on the way.
std::string refused(const ModelRequest &r) {
	pgmlr::Status st = check_model_request(r);
	if (!st) return "";
	EXPECT_EQ(st->code, pgmlr::ErrCode::InvalidParameter) << st->message;
	EXPECT_FALSE(st->hint.empty()) << st->message;
	EXPECT_NE(st->message.back(), '.') << st->message;
	return st->message;
}

TEST(ModelRequest, AcceptsHubIdsAndRevisions) {
	for (const char *id : {"gpt2", "bert-base-uncased", "sentence-transformers/all-MiniLM-L6-v2", "org_1/x.y-z",
						   "a/b", "Qwen/Qwen2.5-0.5B-Instruct"})
		EXPECT_EQ(refused(req(id)), "") << id;
	for (const char *rev : {"main", "v1.0", "refs/pr/1", "refs/convert/parquet",
							"0123456789abcdef0123456789abcdef01234567", "my-branch"})
		EXPECT_EQ(refused(req("gpt2", rev)), "") << rev;
	for (const char *type : {"model", "dataset", "space"}) EXPECT_EQ(refused(req("gpt2", "main", type)), "") << type;
}

TEST(ModelRequest, RefusesBadRepoIds) {
	const std::string too_long(97, 'a');
	for (const std::string &id : {std::string(""), std::string("a--b"), std::string("../x"), std::string("a/b/c"),
								  std::string("-a"), std::string("a."), std::string("a..b"), std::string("x.git"),
								  std::string("a b"), std::string("a\nb"), std::string("/x"), std::string("x/"),
								  std::string("caf\xc3\xa9"), too_long, "org/" + too_long})
		EXPECT_TRUE(starts(refused(req(id)), "repo_id ")) << id;
	EXPECT_EQ(refused(req("a--b")), "repo_id contains \"--\" or \"..\"");
	EXPECT_EQ(refused(req("")), "repo_id is empty");
	EXPECT_EQ(refused(req(std::string(96, 'a'))), "");
}

TEST(ModelRequest, RefusesBadRevisionsAndTypes) {
	for (const std::string &rev : {std::string(""), std::string("a..b"), std::string("a b"), std::string("x~1"),
								   std::string("/main"), std::string("main/"), std::string("a//b"),
								   std::string(".hidden"), std::string("x.lock"), std::string("@"),
								   std::string("a\tb"), std::string(256, 'a')})
		EXPECT_TRUE(starts(refused(req("gpt2", rev)), "revision ")) << rev;
	EXPECT_EQ(refused(req("gpt2", "")), "revision is empty");
	for (const char *type : {"models", "Model", "", "repo"})
		EXPECT_EQ(refused(req("gpt2", "main", type)), "repo_type must be model, dataset or space") << type;
}

TEST(ModelRequest, NullArgumentsAreRefusedByName) {
	ModelRequest r = req("gpt2");
	r.repo_id.reset();
	EXPECT_EQ(refused(r), "repo_id must not be NULL");
	r = req("gpt2");
	r.revision.reset();
	EXPECT_EQ(refused(r), "revision must not be NULL");
	r = req("gpt2");
	r.repo_type.reset();
	EXPECT_EQ(refused(r), "repo_type must not be NULL");
}

TEST(ModelRequest, ArgumentOrderDecidesWhichRefusalComesFirst) {
	EXPECT_EQ(refused(req("a--b", "", "x")), "repo_id contains \"--\" or \"..\"");
	EXPECT_EQ(refused(req("gpt2", "", "x")), "revision is empty");
}

TEST(ModelRequest, Patterns) {
	ModelRequest r = req("gpt2");
	r.allow_patterns = patterns({"*.safetensors", "config.json", "onnx/*", "[a-z]*.txt"});
	r.ignore_patterns = patterns({"*.bin"});
	EXPECT_EQ(refused(r), "");

	r.allow_patterns = patterns({"*.json", ""});
	EXPECT_EQ(refused(r), "allow_patterns[2] is empty");
	r.allow_patterns = patterns({std::nullopt});
	EXPECT_EQ(refused(r), "allow_patterns[1] is NULL");
	r.allow_patterns = patterns({"a\x01"});
	EXPECT_EQ(refused(r), "allow_patterns[1] contains control characters");
	r.allow_patterns = patterns({std::string(1024, 'x')});
	EXPECT_EQ(refused(r), "");
	r.allow_patterns = patterns({std::string(1025, 'x')});
	EXPECT_EQ(refused(r), "allow_patterns[1] is longer than 1024 bytes");
	r.allow_patterns = patterns({});
	EXPECT_EQ(refused(r), "allow_patterns is an empty array");

	r.allow_patterns.reset();
	r.ignore_patterns = patterns({});
	EXPECT_EQ(refused(r), "") << "an empty ignore list ignores nothing";
	r.ignore_patterns = patterns({"*.bin", "x", "\x7f"});
	EXPECT_EQ(refused(r), "ignore_patterns[3] contains control characters");

	std::vector<std::optional<std::string>> many(256, std::string("*"));
	r.ignore_patterns = patterns(many);
	EXPECT_EQ(refused(r), "");
	many.push_back(std::string("*"));
	r.ignore_patterns = patterns(many);
	EXPECT_EQ(refused(r), "ignore_patterns has more than 256 patterns");
}

TEST(ModelRequest, RefusalsShowTheValueQuoted) {
	pgmlr::Status st = check_model_request(req("a\"--b"));
	ASSERT_TRUE(st);
	EXPECT_NE(st->detail.find("\\x22"), std::string::npos) << st->detail;
	EXPECT_NE(st->hint.find("sentence-transformers/all-MiniLM-L6-v2"), std::string::npos);
}

TEST(ModelRequest, CEntryPoint) {
	pgmlr_status st;
	const char *allow[] = {"*.json", nullptr};
	pgmlr_model_request r{"model", "gpt2", "main", nullptr, 0, nullptr, 0};
	EXPECT_TRUE(pgmlr_model_request_check(&r, &st));
	EXPECT_EQ(st.code, PGMLR_OK);

	r.allow_patterns = allow;
	r.n_allow = 1;
	EXPECT_TRUE(pgmlr_model_request_check(&r, &st));
	r.n_allow = 2;
	EXPECT_FALSE(pgmlr_model_request_check(&r, &st));
	EXPECT_EQ(st.code, PGMLR_ERR_INVALID_PARAMETER);
	EXPECT_STREQ(st.message, "allow_patterns[2] is NULL");
	EXPECT_NE(st.hint[0], '\0');

	r.n_allow = 0;
	EXPECT_FALSE(pgmlr_model_request_check(&r, &st)) << "a non-NULL list of 0 is an empty array";
	EXPECT_STREQ(st.message, "allow_patterns is an empty array");

	r.allow_patterns = nullptr;
	r.n_allow = 0;
	r.repo_id = nullptr;
	EXPECT_FALSE(pgmlr_model_request_check(&r, &st));
	EXPECT_STREQ(st.message, "repo_id must not be NULL");

	r.repo_id = "gpt2";
	r.n_ignore = 3;  // no array: broken caller, not a user mistake
	EXPECT_FALSE(pgmlr_model_request_check(&r, &st));
	EXPECT_EQ(st.code, PGMLR_ERR_INTERNAL);

	EXPECT_FALSE(pgmlr_model_request_check(nullptr, &st));
	EXPECT_EQ(st.code, PGMLR_ERR_INTERNAL);
}

}  // namespace
