// A declared model resolved against test/hub/hub_server.py on 127.0.0.1
// through the C entry points the worker calls (pgml_repl/hf_models.h):
// branches, tags, commits, datasets, gated and unknown repos, pages, a 429,
// the tree file written and then reused instead of asking again, and the
// ends a worker must survive (abort, silence, garbage). Skipped only when
// no python3 is installed.
#include "hf_cache_fixture.hpp"
#include "hf_fetch/hub_api.hpp"
#include "hf_fetch/model_listing.hpp"
#include "pgml_repl/hf_fetch.h"
#include "pgml_repl/hf_models.h"
#include "temp_files.hpp"
#include "test_hub_process.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <curl/curl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

const std::string kToken = "hf_model_api_secret";

using test_hub::http;


size_t count(const std::string &hay, const std::string &needle) {
	size_t n = 0;
	for (size_t p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
	return n;
}

// A listener that accepts connections and then says nothing (or, with
// answer set, sends it and closes): a Hub that hangs, or one that talks garbage.
struct RawServer {
	int fd = -1;
	int port = 0;
	std::string answer;
	std::atomic<bool> stop{false};
	std::thread thread;

	explicit RawServer(std::string answer_ = {}) : answer(std::move(answer_)) {
		fd = socket(AF_INET, SOCK_STREAM, 0);
		sockaddr_in a{};
		a.sin_family = AF_INET;
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a);
		listen(fd, 16);
		socklen_t len = sizeof a;
		getsockname(fd, reinterpret_cast<sockaddr *>(&a), &len);
		port = ntohs(a.sin_port);
		thread = std::thread([this] {
			std::vector<int> held;
			while (!stop) {
				pollfd p{fd, POLLIN, 0};
				if (poll(&p, 1, 50) <= 0) continue;
				int c = accept(fd, nullptr, nullptr);
				if (c < 0) continue;
				if (answer.empty()) {
					held.push_back(c);
					continue;
				}
				char buf[4096];
				(void)!read(c, buf, sizeof buf);
				(void)!write(c, answer.data(), answer.size());
				close(c);
			}
			for (int c : held) close(c);
		});
	}
	~RawServer() {
		stop = true;
		thread.join();
		close(fd);
	}
	std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
};

struct Resolved {
	pgmlr_model_resolution res{};
	pgmlr_status st{};
	pgmlr_model_listing *listing = nullptr;
	~Resolved() { pgmlr_model_listing_free(listing); }
};

}  // namespace

class HubApiTest : public ::testing::Test {
protected:
	static inline pid_t pid_ = -1;
	static inline int port_ = 0;
	static inline hf_fixture::Cache *src_ = nullptr;
	static inline std::string c1_, c2_, c3_;
	static inline bool have_python_ = false;

	static void SetUpTestSuite() {
		pgmlr_status st;
		pgmlr_fetch_global_init(&st);
		have_python_ = access("/usr/bin/python3", X_OK) == 0;
		if (!have_python_) return;
		src_ = new hf_fixture::Cache();
		c1_ = hf_fixture::commit("model-1");
		c2_ = hf_fixture::commit("model-pr");
		c3_ = hf_fixture::commit("dataset-1");
		const std::string m = "models--org--model";
		src_->file(m, c1_, "config.json", "{\"hidden\": 384}", false);
		src_->file(m, c1_, "model.safetensors", std::string(300000, 'w'), true);
		src_->file(m, c1_, "1_Pooling/config.json", "{\"pooling\": \"mean\"}", false);
		src_->file(m, c1_, "donn\xC3\xA9" "es/\xF0\x9F\x98\x80.txt", "unicode", false);
		src_->file(m, c1_, "README.md", "# model\n", false);
		src_->ref(m, "main", c1_);
		src_->ref(m, "v1.0", c1_);
		src_->file(m, c2_, "config.json", "{}", false);
		src_->ref(m, "refs/pr/1", c2_);
		src_->file("datasets--squad", c3_, "data/train.parquet", std::string(1000, 'p'), true);
		src_->ref("datasets--squad", "main", c3_);
		src_->file("models--org--gated", c1_, "weights.bin", std::string(100, 'g'), true);
		src_->ref("models--org--gated", "main", c1_);
		pid_ = test_hub::spawn_hub("/usr/bin/python3", {"--cache", src_->root, "--port", "0", "--gated", "org/gated", "--token", kToken,
						  "--tree-page-size", "2"},
						 &port_);
	}
	static void TearDownTestSuite() {
		test_hub::stop_hub(pid_);
		delete src_;
		src_ = nullptr;
	}

	void SetUp() override {
		if (!have_python_) GTEST_SKIP() << "python3 is not installed";
		ASSERT_NE(port_, 0) << "the test hub (test/hub/hub_server.py) did not start";
		std::string empty;
		http(base() + "/_control/reset", &empty);
	}

	static std::string base() { return "http://127.0.0.1:" + std::to_string(port_); }
	static std::string log() { return http(base() + "/_control/log", nullptr); }
	static void faults(const std::string &json) { http(base() + "/_control/faults", &json); }

	hf_fixture::Cache dest_;
	std::string endpoint_ = base();
	volatile sig_atomic_t abort_ = 0;

	pgmlr_hub_api_options options(const char *token = nullptr, const char *cache_root = nullptr, int timeout_ms = 20000) {
		pgmlr_hub_api_options o{};
		o.endpoint = endpoint_.c_str();
		o.token = token;
		o.cache_root = cache_root;
		o.timeout_ms = timeout_ms;
		o.abort_flag = &abort_;
		return o;
	}

	void resolve(Resolved *r, const char *type, const char *id, const char *rev, const pgmlr_hub_api_options &o,
				 const char *const *allow = nullptr, int n_allow = 0, const char *const *ignore = nullptr, int n_ignore = 0) {
		pgmlr_model_request req{type, id, rev, allow, n_allow, ignore, n_ignore};
		r->listing = pgmlr_model_resolve(&req, &o, &r->res, &r->st);
	}
};

TEST_F(HubApiTest, ResolvesABranchOverEveryPage) {
	Resolved r;
	resolve(&r, "model", "org/model", "main", options());
	ASSERT_EQ(r.st.code, PGMLR_OK) << r.st.message;
	ASSERT_EQ(r.res.outcome, PGMLR_MODEL_RESOLVED) << r.res.detail;
	EXPECT_EQ(r.res.commit, c1_);
	EXPECT_FALSE(r.res.tree_from_cache);
	ASSERT_NE(r.listing, nullptr);
	ASSERT_EQ(pgmlr_model_listing_count(r.listing), 5);
	EXPECT_EQ(pgmlr_model_listing_bytes(r.listing), 15 + 300000 + 19 + 7 + 8);
	bool saw_lfs = false, saw_unicode = false;
	for (int i = 0; i < 5; ++i) {
		pgmlr_hf_manifest_row row;
		ASSERT_TRUE(pgmlr_model_listing_row(r.listing, i, &row));
		EXPECT_STREQ(row.repo_type, "model");
		EXPECT_STREQ(row.repo_id, "org/model");
		EXPECT_EQ(row.revision, c1_);
		ASSERT_EQ(row.nrefs, 1);
		EXPECT_STREQ(row.refs[0], "main");
		if (std::string(row.path) == "model.safetensors") {
			saw_lfs = true;
			EXPECT_EQ(row.blob, hf_fixture::sha256(std::string(300000, 'w')));  // the LFS SHA-256, not the pointer's id
			EXPECT_EQ(row.size, 300000);
		}
		if (std::string(row.path) == "donn\xC3\xA9" "es/\xF0\x9F\x98\x80.txt") {
			saw_unicode = true;
			EXPECT_EQ(row.blob, hf_fixture::git_sha1("unicode"));
		}
	}
	EXPECT_TRUE(saw_lfs);
	EXPECT_TRUE(saw_unicode);
	pgmlr_hf_manifest_row row;
	EXPECT_FALSE(pgmlr_model_listing_row(r.listing, 5, &row));
	EXPECT_FALSE(pgmlr_model_listing_row(r.listing, -1, &row));
	const std::string l = log();
	EXPECT_EQ(count(l, "/api/models/org/model/revision/main"), 1u);
	// 5 files and 2 folders in pages of 2: 4 pages, each asked once.
	EXPECT_EQ(count(l, "/api/models/org/model/tree/" + c1_), 4u) << l;
	EXPECT_EQ(count(l, "&cursor="), 3u) << l;  // pages 2 to 4: the Link header's URLs
}

TEST_F(HubApiTest, ResolvesATagAPrRefAndADataset) {
	Resolved tag;
	resolve(&tag, "model", "org/model", "v1.0", options());
	ASSERT_EQ(tag.res.outcome, PGMLR_MODEL_RESOLVED) << tag.res.detail;
	EXPECT_EQ(tag.res.commit, c1_);
	pgmlr_hf_manifest_row row;
	ASSERT_TRUE(pgmlr_model_listing_row(tag.listing, 0, &row));
	ASSERT_EQ(row.nrefs, 1);
	EXPECT_STREQ(row.refs[0], "v1.0");

	Resolved pr;
	resolve(&pr, "model", "org/model", "refs/pr/1", options());
	ASSERT_EQ(pr.res.outcome, PGMLR_MODEL_RESOLVED) << pr.res.detail;
	EXPECT_EQ(pr.res.commit, c2_);
	EXPECT_EQ(pgmlr_model_listing_count(pr.listing), 1);
	EXPECT_EQ(count(log(), "/revision/refs%2Fpr%2F1"), 1u);  // no safe character

	Resolved ds;
	resolve(&ds, "dataset", "squad", "main", options());
	ASSERT_EQ(ds.res.outcome, PGMLR_MODEL_RESOLVED) << ds.res.detail;
	EXPECT_EQ(ds.res.commit, c3_);
	ASSERT_TRUE(pgmlr_model_listing_row(ds.listing, 0, &row));
	EXPECT_STREQ(row.repo_type, "dataset");
	EXPECT_STREQ(row.path, "data/train.parquet");
	EXPECT_EQ(count(log(), "/api/datasets/squad/revision/main"), 1u);
}

TEST_F(HubApiTest, ACommitIsListedWithoutAskingForIt) {
	Resolved r;
	resolve(&r, "model", "org/model", c1_.c_str(), options());
	ASSERT_EQ(r.res.outcome, PGMLR_MODEL_RESOLVED) << r.res.detail;
	EXPECT_EQ(r.res.commit, c1_);
	pgmlr_hf_manifest_row row;
	ASSERT_TRUE(pgmlr_model_listing_row(r.listing, 0, &row));
	EXPECT_EQ(row.nrefs, 0);  // a commit is no ref
	EXPECT_EQ(count(log(), "/revision/"), 0u);
}

TEST_F(HubApiTest, PatternsChooseTheRows) {
	const char *allow[] = {"*.json", "donn\xC3\xA9" "es/"};
	const char *ignore[] = {"1_Pooling/*"};
	Resolved r;
	resolve(&r, "model", "org/model", "main", options(), allow, 2, ignore, 1);
	ASSERT_EQ(r.res.outcome, PGMLR_MODEL_RESOLVED) << r.res.detail;
	ASSERT_EQ(pgmlr_model_listing_count(r.listing), 2);
	pgmlr_hf_manifest_row a, b;
	ASSERT_TRUE(pgmlr_model_listing_row(r.listing, 0, &a));
	ASSERT_TRUE(pgmlr_model_listing_row(r.listing, 1, &b));
	EXPECT_STREQ(a.path, "config.json");
	EXPECT_STREQ(b.path, "donn\xC3\xA9" "es/\xF0\x9F\x98\x80.txt");
	EXPECT_EQ(pgmlr_model_listing_bytes(r.listing), 15 + 7);

	Resolved none;
	resolve(&none, "model", "org/model", "main", options(), allow, 0);  // an empty allow list keeps nothing
	ASSERT_EQ(none.res.outcome, PGMLR_MODEL_RESOLVED);
	EXPECT_EQ(pgmlr_model_listing_count(none.listing), 0);
}

TEST_F(HubApiTest, AGatedRepoSaysWhetherATokenWasSent) {
	Resolved anon;
	resolve(&anon, "model", "org/gated", "main", options());
	EXPECT_EQ(anon.st.code, PGMLR_OK);
	EXPECT_EQ(anon.res.outcome, PGMLR_MODEL_GATED);
	EXPECT_EQ(anon.listing, nullptr);
	EXPECT_EQ(anon.res.http_status, 401);
	EXPECT_STREQ(anon.res.hub_error, "GatedRepo");
	EXPECT_NE(std::string(anon.res.detail).find("no token was sent"), std::string::npos) << anon.res.detail;

	Resolved wrong;
	resolve(&wrong, "model", "org/gated", "main", options("hf_wrong"));
	EXPECT_EQ(wrong.res.outcome, PGMLR_MODEL_GATED);
	EXPECT_NE(std::string(wrong.res.detail).find("a token was sent"), std::string::npos) << wrong.res.detail;
	EXPECT_EQ(std::string(wrong.res.detail).find("hf_wrong"), std::string::npos);

	Resolved ok;
	resolve(&ok, "model", "org/gated", "main", options(kToken.c_str()));
	ASSERT_EQ(ok.res.outcome, PGMLR_MODEL_RESOLVED) << ok.res.detail;
	EXPECT_EQ(pgmlr_model_listing_count(ok.listing), 1);
}

TEST_F(HubApiTest, TheTokenDoesNotFollowARedirectToAnotherHost) {
	faults("[{\"kind\": \"redirect_other_host\", \"match\": \"/api/models/org/gated/revision\", \"times\": 1}]");
	Resolved r;
	resolve(&r, "model", "org/gated", "main", options(kToken.c_str()));
	EXPECT_EQ(r.res.outcome, PGMLR_MODEL_GATED) << r.res.detail;  // localhost is not 127.0.0.1
	const std::string l = log();
	EXPECT_NE(l.find("\"auth\": false, \"host\": \"localhost"), std::string::npos) << l;
}

TEST_F(HubApiTest, UnknownRepoAndRevision) {
	Resolved repo;
	resolve(&repo, "model", "org/nope", "main", options());
	EXPECT_EQ(repo.res.outcome, PGMLR_MODEL_REPO_NOT_FOUND);
	EXPECT_EQ(repo.res.http_status, 404);
	EXPECT_STREQ(repo.res.hub_error, "RepoNotFound");
	EXPECT_EQ(std::string(repo.res.detail).rfind("the Hub answered 404 RepoNotFound for models/org/nope", 0), 0u)
		<< repo.res.detail;

	Resolved rev;
	resolve(&rev, "model", "org/model", "v9", options());
	EXPECT_EQ(rev.res.outcome, PGMLR_MODEL_REVISION_NOT_FOUND);
	EXPECT_STREQ(rev.res.hub_error, "RevisionNotFound");
	EXPECT_EQ(std::string(rev.res.detail), "the Hub answered 404 RevisionNotFound for revision \"v9\" of models/org/model");

	Resolved commit;  // a commit the repo does not have: the tree's answer
	resolve(&commit, "model", "org/model", std::string(40, 'e').c_str(), options());
	EXPECT_EQ(commit.res.outcome, PGMLR_MODEL_REVISION_NOT_FOUND) << commit.res.detail;
}

TEST_F(HubApiTest, A429IsRateLimitedWithItsWait) {
	faults("[{\"kind\": \"status\", \"code\": 429, \"retry_after\": 7, \"match\": \"/tree/\", \"times\": 1}]");
	Resolved r;
	resolve(&r, "model", "org/model", "main", options());
	EXPECT_EQ(r.res.outcome, PGMLR_MODEL_RATE_LIMITED) << r.res.detail;
	EXPECT_EQ(r.res.http_status, 429);
	EXPECT_EQ(r.res.retry_after_ms, 7000);
	EXPECT_EQ(r.listing, nullptr);

	faults("[{\"kind\": \"status\", \"code\": 503, \"match\": \"/revision/\", \"times\": 1}]");
	Resolved down;
	resolve(&down, "model", "org/model", "main", options());
	EXPECT_EQ(down.res.outcome, PGMLR_MODEL_UNREACHABLE) << down.res.detail;
	EXPECT_EQ(down.res.retry_after_ms, 0);
}

TEST_F(HubApiTest, TheTreeFileIsWrittenThenReused) {
	Resolved first;
	resolve(&first, "model", "org/model", "main", options(nullptr, dest_.root.c_str()));
	ASSERT_EQ(first.res.outcome, PGMLR_MODEL_RESOLVED) << first.res.detail;
	EXPECT_FALSE(first.res.tree_from_cache);
	pgmlr_status st;
	ASSERT_TRUE(pgmlr_model_listing_write_tree(first.listing, dest_.root.c_str(), &st)) << st.message;
	const std::string path = dest_.root + "/models--org--model/trees/" + c1_ + ".json";
	const std::string content = test_files::read_file(path);
	EXPECT_NE(content.find("\"donn\\u00e9es/\\ud83d\\ude00.txt\": {"), std::string::npos) << content;
	EXPECT_EQ(content.rfind("{\n \"format_version\": 1,\n \"files\": {\n  \"1_Pooling/config.json\": {", 0), 0u);
	struct stat before {};
	ASSERT_EQ(stat(path.c_str(), &before), 0);
	ASSERT_TRUE(pgmlr_model_listing_write_tree(first.listing, dest_.root.c_str(), &st)) << st.message;
	struct stat after {};
	ASSERT_EQ(stat(path.c_str(), &after), 0);
	EXPECT_EQ(before.st_ino, after.st_ino);  // the same bytes are not written again

	std::string empty;
	http(base() + "/_control/reset", &empty);
	Resolved second;
	resolve(&second, "model", "org/model", "main", options(nullptr, dest_.root.c_str()));
	ASSERT_EQ(second.res.outcome, PGMLR_MODEL_RESOLVED) << second.res.detail;
	EXPECT_TRUE(second.res.tree_from_cache);
	EXPECT_EQ(pgmlr_model_listing_count(second.listing), 5);
	const std::string l = log();
	EXPECT_EQ(count(l, "/tree/"), 0u) << l;
	EXPECT_EQ(count(l, "/revision/main"), 1u);  // a branch still moves: asked every time

	dest_.write("models--org--model/trees/" + c1_ + ".json", "{\"format_version\": 2, \"files\": {}}");
	Resolved third;  // a file of another format is ignored, as huggingface_hub ignores it
	resolve(&third, "model", "org/model", "main", options(nullptr, dest_.root.c_str()));
	ASSERT_EQ(third.res.outcome, PGMLR_MODEL_RESOLVED);
	EXPECT_FALSE(third.res.tree_from_cache);
	EXPECT_EQ(pgmlr_model_listing_count(third.listing), 5);
}

TEST_F(HubApiTest, PresentCountsSnapshotFilesOfTheListedSize) {
	Resolved r;
	resolve(&r, "model", "org/model", "main", options());
	ASSERT_EQ(r.res.outcome, PGMLR_MODEL_RESOLVED) << r.res.detail;
	const std::string m = "models--org--model";
	dest_.file(m, c1_, "config.json", "{\"hidden\": 384}", false);
	dest_.file(m, c1_, "README.md", "# wrong size\n", false);                 // not the listed size
	dest_.symlink(m + "/snapshots/" + c1_ + "/1_Pooling/config.json", "../../../blobs/missing");  // dangling
	int64_t files = -1, bytes = -1;
	pgmlr_status st;
	pgmlr_model_listing_present(r.listing, dest_.root.c_str(), &files, &bytes, &st);
	ASSERT_EQ(st.code, PGMLR_OK) << st.message;
	EXPECT_EQ(files, 1);
	EXPECT_EQ(bytes, 15);
	pgmlr_model_listing_present(r.listing, "relative/path", &files, &bytes, &st);
	EXPECT_NE(st.code, PGMLR_OK);
}

TEST_F(HubApiTest, AbortSilenceAndGarbage) {
	abort_ = 1;
	Resolved pre;
	resolve(&pre, "model", "org/model", "main", options());
	EXPECT_EQ(pre.res.outcome, PGMLR_MODEL_CANCELED);
	abort_ = 0;

	RawServer silent;
	endpoint_ = silent.url();
	std::thread setter([this] {
		std::this_thread::sleep_for(std::chrono::milliseconds(300));
		abort_ = 1;
	});
	auto t0 = Clock::now();
	Resolved aborted;
	resolve(&aborted, "model", "org/model", "main", options(nullptr, nullptr, 60000));
	setter.join();
	EXPECT_EQ(aborted.res.outcome, PGMLR_MODEL_CANCELED) << aborted.res.detail;
	EXPECT_LT(Clock::now() - t0, std::chrono::seconds(5));
	abort_ = 0;

	t0 = Clock::now();
	Resolved slow;
	resolve(&slow, "model", "org/model", "main", options(nullptr, nullptr, 500));
	EXPECT_EQ(slow.res.outcome, PGMLR_MODEL_UNREACHABLE) << slow.res.detail;
	EXPECT_NE(std::string(slow.res.detail).find("within 500 ms"), std::string::npos) << slow.res.detail;
	EXPECT_LT(Clock::now() - t0, std::chrono::seconds(5));

	RawServer garbage("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5\r\nConnection: close\r\n\r\nnope!");
	endpoint_ = garbage.url();
	Resolved bad;
	resolve(&bad, "model", "org/model", "main", options());
	EXPECT_EQ(bad.res.outcome, PGMLR_MODEL_BAD_ANSWER);
	EXPECT_NE(std::string(bad.res.detail).find("revision answer"), std::string::npos) << bad.res.detail;

	int closed = socket(AF_INET, SOCK_STREAM, 0);  // a port nobody listens on
	sockaddr_in a{};
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(closed, reinterpret_cast<sockaddr *>(&a), sizeof a);
	socklen_t len = sizeof a;
	getsockname(closed, reinterpret_cast<sockaddr *>(&a), &len);
	endpoint_ = "http://127.0.0.1:" + std::to_string(ntohs(a.sin_port));
	Resolved refused;
	resolve(&refused, "model", "org/model", "main", options());
	close(closed);
	EXPECT_EQ(refused.res.outcome, PGMLR_MODEL_UNREACHABLE);
	EXPECT_NE(std::string(refused.res.detail).find("could not reach"), std::string::npos) << refused.res.detail;
}

TEST_F(HubApiTest, TheRealHubsOtherAnswers) {
	// The Hub's own 429 for the API: the draft RateLimit header, no Retry-After.
	RawServer limited("HTTP/1.1 429 Too Many Requests\r\nRateLimit: \"api\";r=0;t=42\r\n"
					  "RateLimit-Policy: \"fixed window\";\"api\";q=500;w=300\r\nContent-Length: 0\r\n"
					  "Connection: close\r\n\r\n");
	endpoint_ = limited.url();
	Resolved r;
	resolve(&r, "model", "org/model", "main", options());
	EXPECT_EQ(r.res.outcome, PGMLR_MODEL_RATE_LIMITED) << r.res.detail;
	EXPECT_EQ(r.res.retry_after_ms, 42000);
	EXPECT_NE(std::string(r.res.detail).find("retry in 42 s"), std::string::npos) << r.res.detail;

	// An unknown (or private) repo asked without a token: 401 RepoNotFound.
	RawServer hidden("HTTP/1.1 401 Unauthorized\r\nX-Error-Code: RepoNotFound\r\nContent-Length: 0\r\n"
					 "Connection: close\r\n\r\n");
	endpoint_ = hidden.url();
	Resolved h;
	resolve(&h, "model", "org/private", "main", options());
	EXPECT_EQ(h.res.outcome, PGMLR_MODEL_REPO_NOT_FOUND) << h.res.detail;
	EXPECT_EQ(h.res.http_status, 401);
	EXPECT_NE(std::string(h.res.detail).find("no token was sent"), std::string::npos) << h.res.detail;

	// A tree page that is not a list of entries, for a commit (no revision call).
	RawServer garbage("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}");
	endpoint_ = garbage.url();
	Resolved g;
	resolve(&g, "model", "org/model", std::string(40, 'a').c_str(), options());
	EXPECT_EQ(g.res.outcome, PGMLR_MODEL_BAD_ANSWER);
	EXPECT_EQ(std::string(g.res.detail), "the Hub's tree listing for models/org/model is not valid: a tree page is not a JSON array");
}

TEST_F(HubApiTest, BadArgumentsAreAStatus) {
	Resolved r;
	resolve(&r, "model", "org/../x", "main", options());
	EXPECT_EQ(r.st.code, PGMLR_ERR_INVALID_PARAMETER);
	EXPECT_EQ(r.res.outcome, PGMLR_MODEL_BAD_ANSWER);
	EXPECT_EQ(r.listing, nullptr);
	const char *allow[] = {"*.json", nullptr};
	Resolved n;
	resolve(&n, "model", "org/model", "main", options(), allow, 2);
	EXPECT_EQ(n.st.code, PGMLR_ERR_INVALID_PARAMETER);
	EXPECT_NE(std::string(n.st.message).find("allow_patterns[2]"), std::string::npos) << n.st.message;
	Resolved t;
	resolve(&t, "bucket", "org/model", "main", options());
	EXPECT_EQ(t.st.code, PGMLR_ERR_INVALID_PARAMETER);
	EXPECT_EQ(count(log(), "/api/"), 0u);
}

TEST(HubApi, LinkNextIsTheNextPage) {
	using pgmlr::hf_fetch::link_next;
	const std::string ep = "https://hub.example";
	EXPECT_EQ(link_next("<https://hub.example/api/x?cursor=a>; rel=\"next\"", ep), "https://hub.example/api/x?cursor=a");
	EXPECT_EQ(link_next("<https://h/p1>; rel=\"prev\", <https://h/p3>; rel=next", ep), "https://h/p3");
	EXPECT_EQ(link_next("<https://h/last>; rel=\"last next\"", ep), "https://h/last");
	EXPECT_EQ(link_next("</api/x?cursor=b>; rel=\"next\"", ep), "https://hub.example/api/x?cursor=b");
	EXPECT_EQ(link_next("<https://h/p1>; rel=\"prev\"", ep), "");
	EXPECT_EQ(link_next("<file:///etc/passwd>; rel=\"next\"", ep), "");
	EXPECT_EQ(link_next("<//evil.example/x>; rel=\"next\"", ep), "");
	EXPECT_EQ(link_next("<https://h/a b>; rel=\"next\"", ep), "");
	EXPECT_EQ(link_next("garbage; rel=next", ep), "");
	EXPECT_EQ(link_next("", ep), "");
}
