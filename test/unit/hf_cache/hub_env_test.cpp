// The HuggingFace environment (hf_cache/hub_env.hpp): cache folder, token
// and endpoint fallbacks, the token file, and the one endpoint validator,
// through the pure functions and through the C API with real variables.
#include "hf_cache/hub_env.hpp"

#include "pgml_repl/hf_cache.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <unistd.h>

using namespace pgmlr::hf;

namespace {

EnvLookup env_of(std::map<std::string, std::string> m) {
	return [m](const char *name) -> std::optional<std::string> {
		auto it = m.find(name);
		if (it == m.end()) return std::nullopt;
		return it->second;
	};
}

const char *const kHubVars[] = {"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH", "HF_HOME",
								"XDG_CACHE_HOME", "HOME", "HF_ENDPOINT"};

// Sets the process's HF variables for one test and restores them after.
class ProcessEnv : public ::testing::Test {
protected:
	void SetUp() override {
		for (const char *name : kHubVars) {
			const char *v = std::getenv(name);
			if (v) saved_[name] = v;
			unsetenv(name);
		}
		char tmpl[] = "/tmp/pgmlr_hub_env_XXXXXX";
		ASSERT_NE(mkdtemp(tmpl), nullptr);
		dir_ = tmpl;
	}
	void TearDown() override {
		for (const char *name : kHubVars) {
			auto it = saved_.find(name);
			if (it != saved_.end())
				setenv(name, it->second.c_str(), 1);
			else
				unsetenv(name);
		}
		for (const char *f : {"/token", "/other_token"}) std::remove((dir_ + f).c_str());
		rmdir(dir_.c_str());
	}
	void write_file(const std::string &path, const std::string &content) {
		std::FILE *f = std::fopen(path.c_str(), "w");
		ASSERT_NE(f, nullptr);
		std::fputs(content.c_str(), f);
		std::fclose(f);
	}
	// The C API's answer, copied and freed; "<none>" for NULL.
	static std::string c_token(const char *configured) {
		pgmlr_status st;
		char *t = pgmlr_hf_hub_token(configured, &st);
		EXPECT_EQ(st.code, PGMLR_OK) << st.message;
		std::string out = t ? t : "<none>";
		pgmlr_free(t);
		return out;
	}

	std::string dir_;
	std::map<std::string, std::string> saved_;
};

}  // namespace

TEST(HubEnvCacheDir, ExpandsHomeInEveryVariable) {
	auto env = env_of({{"HOME", "/h"}, {"HF_HOME", "~/hf"}});
	EXPECT_EQ(default_cache_dir("", env), "/h/hf/hub");
	EXPECT_EQ(default_cache_dir("~/c", env), "/h/c");
	EXPECT_EQ(default_cache_dir("", env_of({})), "");
}

TEST(HubEnvToken, SettingThenVariablesThenFile) {
	auto env = env_of({{"HF_TOKEN", "a"}, {"HUGGING_FACE_HUB_TOKEN", "b"}});
	EXPECT_EQ(hub_token("set", env), "set");
	EXPECT_EQ(hub_token("", env), "a");
	EXPECT_EQ(hub_token("", env_of({{"HUGGING_FACE_HUB_TOKEN", "b"}})), "b");
	EXPECT_EQ(hub_token("", env_of({})), std::nullopt);
}

TEST(HubEnvToken, FilePathFollowsHuggingfaceHub) {
	std::map<std::string, std::string> all = {
		{"HF_TOKEN_PATH", "/p/tok"}, {"HF_HOME", "/hf"}, {"XDG_CACHE_HOME", "/x"}, {"HOME", "/h"}};
	EXPECT_EQ(token_file_path(env_of(all)), "/p/tok");
	all.erase("HF_TOKEN_PATH");
	EXPECT_EQ(token_file_path(env_of(all)), "/hf/token");
	all.erase("HF_HOME");
	EXPECT_EQ(token_file_path(env_of(all)), "/x/huggingface/token");
	all.erase("XDG_CACHE_HOME");
	EXPECT_EQ(token_file_path(env_of(all)), "/h/.cache/huggingface/token");
	all.erase("HOME");
	EXPECT_EQ(token_file_path(env_of(all)), std::nullopt);
	EXPECT_EQ(token_file_path(env_of({{"HOME", "/h"}, {"HF_TOKEN_PATH", "~/t"}})), "/h/t");
}

TEST(HubEnvToken, PrintableIsWhatAHeaderCarries) {
	EXPECT_TRUE(token_is_printable("hf_abcXYZ019-_."));
	EXPECT_TRUE(token_is_printable(""));
	EXPECT_FALSE(token_is_printable("hf abc"));
	EXPECT_FALSE(token_is_printable("hf\nabc"));
	EXPECT_FALSE(token_is_printable("hf\x7f"));
	EXPECT_FALSE(token_is_printable("h\xc3\xa9"));
	EXPECT_TRUE(pgmlr_hf_token_printable("hf_x"));
	EXPECT_FALSE(pgmlr_hf_token_printable("hf x"));
}

TEST(HubEnvEndpoint, OneValidator) {
	EXPECT_EQ(endpoint_problem(""), std::nullopt);
	EXPECT_EQ(endpoint_problem("https://huggingface.co"), std::nullopt);
	EXPECT_EQ(endpoint_problem("http://127.0.0.1:8080/mirror/"), std::nullopt);
	for (const char *bad : {"ftp://mirror.example", "huggingface.co", "https://", "https:///x", "https://:80",
							"https://h?q", "https://h#f", "https://h x", "https://h\"", "https://h'", "https://h\\",
							"https://h\xc3\xa9"})
		EXPECT_NE(endpoint_problem(bad), std::nullopt) << bad;
	EXPECT_NE(endpoint_problem("ftp://x")->find("http:// or https://"), std::string::npos);

	pgmlr_status st;
	EXPECT_TRUE(pgmlr_hf_endpoint_valid("https://huggingface.co", &st));
	EXPECT_EQ(st.code, PGMLR_OK);
	EXPECT_TRUE(pgmlr_hf_endpoint_valid(nullptr, &st));
	EXPECT_FALSE(pgmlr_hf_endpoint_valid("https://h x", &st));
	EXPECT_EQ(st.code, PGMLR_ERR_INVALID_PARAMETER);
	EXPECT_STREQ(st.detail, "The endpoint must not contain spaces, quotes, backslashes or non-ASCII bytes.");
}

TEST(HubEnvEndpoint, SettingThenVariableThenHub) {
	EXPECT_EQ(*hub_endpoint("http://m:1", env_of({{"HF_ENDPOINT", "http://e"}})), "http://m:1");
	EXPECT_EQ(*hub_endpoint("", env_of({{"HF_ENDPOINT", "http://e"}})), "http://e");
	EXPECT_EQ(*hub_endpoint("", env_of({})), "https://huggingface.co");
	auto bad = hub_endpoint("", env_of({{"HF_ENDPOINT", "ftp://e"}}));
	ASSERT_FALSE(bad);
	EXPECT_NE(bad.error().message.find("HF_ENDPOINT"), std::string::npos);
	EXPECT_FALSE(hub_endpoint("ftp://m", env_of({})));
}

TEST_F(ProcessEnv, TokenFromVariablesThenFiles) {
	EXPECT_EQ(c_token(nullptr), "<none>");
	EXPECT_EQ(c_token("from_setting"), "from_setting");

	setenv("HOME", dir_.c_str(), 1);
	EXPECT_EQ(c_token(""), "<none>") << "no token file under $HOME/.cache";

	setenv("HF_HOME", dir_.c_str(), 1);
	write_file(dir_ + "/token", "hf_file_token\r\n \n");
	EXPECT_EQ(c_token(""), "hf_file_token") << "trailing line breaks and spaces dropped";
	write_file(dir_ + "/token", "\n");
	EXPECT_EQ(c_token(""), "<none>") << "an empty file is no token";

	write_file(dir_ + "/other_token", "hf_path_token\n");
	setenv("HF_TOKEN_PATH", (dir_ + "/other_token").c_str(), 1);
	EXPECT_EQ(c_token(""), "hf_path_token");
	setenv("HF_TOKEN_PATH", (dir_ + "/missing").c_str(), 1);
	EXPECT_EQ(c_token(""), "<none>") << "a missing file is no token, and no error";

	setenv("HUGGING_FACE_HUB_TOKEN", "hf_legacy", 1);
	EXPECT_EQ(c_token(""), "hf_legacy");
	setenv("HF_TOKEN", "", 1);
	EXPECT_EQ(c_token(""), "hf_legacy") << "an empty HF_TOKEN counts as unset";
	setenv("HF_TOKEN", "hf_env", 1);
	EXPECT_EQ(c_token(""), "hf_env");
	EXPECT_EQ(c_token("from_setting"), "from_setting");
}

TEST_F(ProcessEnv, EndpointFromVariable) {
	pgmlr_status st;
	char *e = pgmlr_hf_hub_endpoint("", &st);
	ASSERT_NE(e, nullptr);
	EXPECT_STREQ(e, "https://huggingface.co");
	pgmlr_free(e);

	setenv("HF_ENDPOINT", "http://127.0.0.1:9", 1);
	e = pgmlr_hf_hub_endpoint(nullptr, &st);
	ASSERT_NE(e, nullptr);
	EXPECT_STREQ(e, "http://127.0.0.1:9");
	pgmlr_free(e);

	setenv("HF_ENDPOINT", "ftp://mirror.example", 1);
	EXPECT_EQ(pgmlr_hf_hub_endpoint(nullptr, &st), nullptr);
	EXPECT_EQ(st.code, PGMLR_ERR_INVALID_PARAMETER);
	e = pgmlr_hf_hub_endpoint("https://h", &st);
	EXPECT_STREQ(e, "https://h") << "the setting wins over a bad HF_ENDPOINT";
	pgmlr_free(e);
}
