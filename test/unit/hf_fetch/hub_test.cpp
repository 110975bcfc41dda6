// Integration tests against test/hub/hub_server.py on 127.0.0.1. Skipped
// (GTEST_SKIP) only when no python3 is installed; with python3 present, a
// test Hub that does not start (or a certificate that cannot be made) is a
// failure of every test that needs it.
#include "hf_cache/checksum.hpp"
#include "hf_fetch/hub_source.hpp"
#include "pgml_repl/hf_fetch.h"
#include "temp_files.hpp"
#include "test_hub_process.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <curl/curl.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

namespace fs = std::filesystem;
using pgmlr::hf::BlobHasher;

namespace {

using Clock = std::chrono::steady_clock;

struct File {
	std::string path;
	std::string content;
	bool lfs;
};

struct Repo {
	std::string type, id, commit, ref;
	std::vector<File> files;
};

std::string digest(const std::string &content, bool lfs) {
	BlobHasher h(lfs ? std::string(64, '0') : std::string(40, '0'), static_cast<int64_t>(content.size()));
	h.update(content.data(), content.size());
	return h.hex_digest();
}

std::string random_bytes(size_t n, unsigned seed) {
	std::mt19937 rng(seed);
	std::string s(n, '\0');
	for (auto &c : s) c = static_cast<char>(rng());
	return s;
}

std::string folder_of(const Repo &r) {
	std::string f = r.type + "s--";
	for (char c : r.id) f += c == '/' ? std::string("--") : std::string(1, c);
	return f;
}

void write_file(const std::string &p, const std::string &content) {
	fs::create_directories(fs::path(p).parent_path());
	std::ofstream(p, std::ios::binary) << content;
}

using test_files::read_file;

// Writes a repo the way huggingface_hub does: blobs, relative links, refs.
void build_repo(const std::string &cache, const Repo &r) {
	std::string base = cache + "/" + folder_of(r);
	for (const File &f : r.files) {
		std::string blob = digest(f.content, f.lfs);
		write_file(base + "/blobs/" + blob, f.content);
		std::string link = base + "/snapshots/" + r.commit + "/" + f.path;
		fs::create_directories(fs::path(link).parent_path());
		std::string target = "../../";
		for (char c : f.path)
			if (c == '/') target += "../";
		fs::create_symlink(target + "blobs/" + blob, link);
	}
	if (!r.ref.empty()) write_file(base + "/refs/" + r.ref, r.commit);
}

// Relative path -> "L:<target>" | "F:<content>" | "D", without .locks.
std::map<std::string, std::string> tree_of(const std::string &root) {
	std::map<std::string, std::string> out;
	for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
		std::string rel = fs::relative(it->path(), root).string();
		if (rel == ".locks" || rel.rfind(".locks/", 0) == 0) continue;
		if (it->is_symlink())
			out[rel] = "L:" + fs::read_symlink(it->path()).string();
		else if (it->is_directory())
			out[rel] = "D";
		else
			out[rel] = "F:" + read_file(it->path().string());
	}
	return out;
}

size_t count_matching(const std::string &root, const std::string &needle) {
	size_t n = 0;
	if (!fs::exists(root)) return 0;
	for (auto &e : fs::recursive_directory_iterator(root))
		n += e.path().filename().string().find(needle) != std::string::npos;
	return n;
}

using test_hub::http;

std::string find_python() {
	for (const char *p : {"/usr/bin/python3", "/usr/local/bin/python3"})
		if (access(p, X_OK) == 0) return p;
	return {};
}

const std::string kSecret = "hf_secret_token";


struct Rows {
	std::vector<std::string> store;  // keeps the c strings alive
	std::vector<const char *> refs;  // one slot per repo: its ref
	std::vector<pgmlr_hf_manifest_row> rows;
};

// The manifest rows of the given repos' files, blob names computed.
Rows rows_of(const std::vector<const Repo *> &repos) {
	Rows out;
	out.store.reserve(1000);
	out.refs.reserve(repos.size());
	for (const Repo *r : repos) {
		out.refs.push_back(r->ref.c_str());
		for (const File &f : r->files) {
			out.store.push_back(digest(f.content, f.lfs));
			out.rows.push_back(pgmlr_hf_manifest_row{r->type.c_str(), r->id.c_str(), r->commit.c_str(),
													 &out.refs.back(), r->ref.empty() ? 0 : 1, f.path.c_str(),
													 out.store.back().c_str(), static_cast<int64_t>(f.content.size())});
		}
	}
	return out;
}

struct Outcome {
	bool finished = false;
	pgmlr_status st{};
	pgmlr_fetch_progress progress{};
	std::vector<pgmlr_fetch_queue_entry> queue;
	double seconds = 0;
};

// Runs one fetch job over rows to its end (or budget_ms); with a flag, sets
// it once bytes arrive and times how long the job takes to stop.
Outcome fetch(const Rows &rows, pgmlr_fetch_options o, int budget_ms = 30000,
			  volatile sig_atomic_t *abort_after_bytes_flag = nullptr) {
	Outcome out;
	pgmlr_fetch_job *job = pgmlr_fetch_new(&o, &out.st);
	EXPECT_NE(job, nullptr) << out.st.message;
	if (!job) return out;
	for (auto &r : rows.rows) EXPECT_TRUE(pgmlr_fetch_add_row(job, &r, &out.st)) << out.st.message;
	pgmlr_fetch_plan(job, &out.st);
	EXPECT_EQ(out.st.code, PGMLR_OK) << out.st.message;
	auto t0 = Clock::now();
	while (!out.finished && Clock::now() - t0 < std::chrono::milliseconds(budget_ms)) {
		out.finished = pgmlr_fetch_step(job, 100, &out.progress, &out.st);
		if (abort_after_bytes_flag && out.progress.bytes_received > 0 && !*abort_after_bytes_flag) {
			*abort_after_bytes_flag = 1;
			auto a0 = Clock::now();
			out.finished = pgmlr_fetch_step(job, 15000, &out.progress, &out.st);
			out.seconds = std::chrono::duration<double>(Clock::now() - a0).count();
			break;
		}
	}
	if (!abort_after_bytes_flag) out.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
	for (int i = 0; i < pgmlr_fetch_queue_count(job); ++i) {
		pgmlr_fetch_queue_entry e;
		if (pgmlr_fetch_queue_item(job, i, &e)) out.queue.push_back(e);
	}
	pgmlr_fetch_free(job);
	return out;
}

class HubTest : public ::testing::Test {
protected:
	static inline pid_t pid_ = -1;
	static inline int port_ = 0;
	static inline std::string src_;
	static inline std::vector<Repo> repos_;
	static inline bool have_python_ = false;

	static void SetUpTestSuite() {
		pgmlr_status st;
		pgmlr_fetch_global_init(&st);
		std::string python = find_python();
		have_python_ = !python.empty();
		if (python.empty()) return;
		char tmpl[] = "/tmp/hf_fetch_src_XXXXXX";
		src_ = mkdtemp(tmpl);
		std::string c1(40, 'c'), c2(40, 'd');
		std::string weights = random_bytes(5 << 20, 1);
		repos_ = {
			Repo{"model", "org/model", c1, "main",
				 {{"model.safetensors", weights, true},
				  {"config.json", "{\"hidden\": 384}", false},
				  {"1_Pooling/config.json", "{\"pooling\": \"mean\"}", false},
				  {"empty.txt", "", false}}},
			// a second revision sharing the weights blob, under a PR ref
			Repo{"model", "org/model", c2, "refs/pr/1", {{"model.safetensors", weights, true}, {"config.json", "{}", false}}},
			Repo{"dataset", "squad", c1, "main", {{"data/train.parquet", random_bytes(300000, 2), true}}},
			Repo{"model", "org/gated", c1, "main",
				 {{"weights.bin", random_bytes(400000, 3), true}, {"README.md", "# gated\n", false}}},
		};
		for (auto &r : repos_) build_repo(src_, r);

		pid_ = test_hub::spawn_hub(python, {"--cache", src_, "--port", "0", "--gated", "org/gated", "--token", kSecret}, &port_);
	}

	static void TearDownTestSuite() {
		test_hub::stop_hub(pid_);
		if (!src_.empty()) fs::remove_all(src_);
	}

	std::string dest_;

	void SetUp() override {
		if (!have_python_) GTEST_SKIP() << "python3 is not installed";
		ASSERT_NE(port_, 0) << "python3 is installed but the test hub (test/hub/hub_server.py) did not start";
		char tmpl[] = "/tmp/hf_fetch_dst_XXXXXX";
		dest_ = mkdtemp(tmpl);
		std::string empty;
		http(base() + "/_control/reset", &empty);
	}
	void TearDown() override {
		if (!dest_.empty()) fs::remove_all(dest_);
	}

	static std::string base() { return "http://127.0.0.1:" + std::to_string(port_); }
	static void faults(const std::string &json) { http(base() + "/_control/faults", &json); }
	static std::string log() { return http(base() + "/_control/log", nullptr); }
	static void reset_hub() {
		std::string empty;
		http(base() + "/_control/reset", &empty);  // a POST
	}

	static Rows rows_for(const std::vector<size_t> &which) {
		std::vector<const Repo *> repos;
		for (size_t i : which) repos.push_back(&repos_[i]);
		return rows_of(repos);
	}


	pgmlr_fetch_options options(const char *token = kSecret.c_str()) {
		pgmlr_fetch_options o;
		pgmlr_fetch_options_init(&o);
		o.cache_root = dest_.c_str();
		o.endpoint = endpoint_.c_str();
		o.token = token;
		o.backoff_base_ms = 50;
		o.backoff_max_ms = 400;
		o.connect_timeout_ms = 2000;
		o.low_speed_limit = 1000;
		o.low_speed_time_s = 2;
		o.max_retries = 3;
		return o;
	}
	std::string endpoint_ = "";


	Outcome fetch_all(pgmlr_fetch_options o) { return fetch(rows_for({0, 1, 2, 3}), o); }

	void expect_identical() {
		auto a = tree_of(src_), b = tree_of(dest_);
		EXPECT_EQ(a.size(), b.size());
		for (auto &[k, v] : a) {
			auto it = b.find(k);
			if (it == b.end()) {
				ADD_FAILURE() << "missing in the fetched cache: " << k;
				continue;
			}
			EXPECT_TRUE(it->second == v) << "differs: " << k;
		}
		for (auto &[k, v] : b)
			if (!a.count(k)) ADD_FAILURE() << "extra in the fetched cache: " << k;
	}

	std::string blob_path(size_t repo, size_t file) {
		const Repo &r = repos_[repo];
		return dest_ + "/" + folder_of(r) + "/blobs/" + digest(r.files[file].content, r.files[file].lfs);
	}
};

#define SETUP_ENDPOINT() endpoint_ = base() + "/"

TEST_F(HubTest, FetchesAByteIdenticalCache) {
	SETUP_ENDPOINT();
	auto out = fetch_all(options());
	ASSERT_TRUE(out.finished);
	EXPECT_EQ(out.st.code, PGMLR_OK) << out.st.message;
	EXPECT_EQ(out.progress.files_failed, 0);
	// the shared weights blob is downloaded once
	EXPECT_EQ(out.progress.files_wanted, 8);
	EXPECT_EQ(out.progress.files_done, 8);
	EXPECT_EQ(out.queue.size(), 0u);
	expect_identical();
	EXPECT_EQ(count_matching(dest_, ".incomplete"), 0u);
	EXPECT_EQ(count_matching(dest_, ".pgml.tmp"), 0u);
	// the huggingface_hub lock files exist
	EXPECT_TRUE(fs::exists(dest_ + "/.locks/models--org--model"));
	// a second run finds nothing to do and sends no request
	std::string empty;
	http(base() + "/_control/reset", &empty);
	auto again = fetch_all(options());
	EXPECT_TRUE(again.finished);
	EXPECT_EQ(again.progress.files_wanted, 0);
	EXPECT_EQ(log(), "[]");
}

TEST_F(HubTest, TokenReachesTheHubButNeverTheCdn) {
	SETUP_ENDPOINT();
	auto out = fetch(rows_for({3}), options());
	ASSERT_TRUE(out.finished);
	EXPECT_EQ(out.progress.files_done, 2);
	std::string l = log();
	EXPECT_TRUE(std::regex_search(l, std::regex("\"listener\": \"hub\", \"method\": \"GET\", \"path\": \"/org/gated/resolve/[^\"]*/weights.bin\", \"range\": null, \"auth\": true")))
		<< l;
	EXPECT_TRUE(std::regex_search(l, std::regex("\"listener\": \"cdn\"[^}]*\"auth\": false"))) << l;
	EXPECT_FALSE(std::regex_search(l, std::regex("\"listener\": \"cdn\"[^}]*\"auth\": true"))) << l;
}

TEST_F(HubTest, RateLimitHoldsTheWholeJobUnderIt) {
	SETUP_ENDPOINT();
	// about 5.7 MB over four transfers; at 2 MB/s for the job as a whole it
	// cannot finish in less than ~2.6 s after the first 256 KiB burst.
	pgmlr_fetch_options o = options();
	o.max_bytes_per_second = 2'000'000;
	o.max_parallel = 4;
	auto out = fetch(rows_for({0, 2, 3}), o);
	ASSERT_TRUE(out.finished);
	EXPECT_EQ(out.progress.files_failed, 0);
	double bytes = static_cast<double>(out.progress.bytes_received);
	EXPECT_GT(bytes, 5.5e6);
	EXPECT_GE(out.seconds, (bytes - 256.0 * 1024.0) / 2e6 * 0.9) << "the limit was not applied";
	// every file still arrives byte for byte
	for (size_t f = 0; f < repos_[0].files.size(); ++f) EXPECT_TRUE(fs::exists(blob_path(0, f)));
}

TEST_F(HubTest, NegativeRateLimitIsRefused) {
	SETUP_ENDPOINT();
	pgmlr_fetch_options o = options();
	o.max_bytes_per_second = -1;
	pgmlr_status st;
	EXPECT_EQ(pgmlr_fetch_new(&o, &st), nullptr);
	EXPECT_EQ(st.code, PGMLR_ERR_INVALID_PARAMETER);
}

TEST_F(HubTest, GatedRepoWithoutTokenFailsWithoutRetrying) {
	SETUP_ENDPOINT();
	auto out = fetch(rows_for({3}), options(nullptr));
	ASSERT_TRUE(out.finished);
	EXPECT_EQ(out.progress.files_failed, 2);
	ASSERT_EQ(out.queue.size(), 2u);
	EXPECT_EQ(out.queue[0].state, PGMLR_FETCH_HELD);  // a permanent answer: held back, not asked every cycle
	EXPECT_GT(out.queue[0].next_try_ms, 0);
	EXPECT_EQ(out.queue[0].attempts, 1);
	EXPECT_NE(std::string(out.queue[0].last_error).find("HTTP 401"), std::string::npos) << out.queue[0].last_error;
	EXPECT_FALSE(fs::exists(dest_ + "/models--org--gated/refs/main"));
	EXPECT_FALSE(fs::exists(dest_ + "/models--org--gated/snapshots"));
	EXPECT_EQ(count_matching(dest_, ".incomplete"), 0u);
}

TEST_F(HubTest, DroppedConnectionResumesWithRange) {
	SETUP_ENDPOINT();
	faults(R"([{"match": "model.safetensors", "kind": "drop_after", "n": 3000000, "times": 1}])");
	auto out = fetch(rows_for({0}), options());
	ASSERT_TRUE(out.finished);
	EXPECT_EQ(out.progress.files_failed, 0);
	EXPECT_EQ(read_file(blob_path(0, 0)), repos_[0].files[0].content);
	std::string l = log();
	EXPECT_TRUE(std::regex_search(l, std::regex("\"listener\": \"cdn\"[^}]*\"range\": \"bytes=[1-9][0-9]*-\""))) << l;
	// the resume did not fetch the file again from the start
	EXPECT_LT(out.progress.bytes_received, static_cast<int64_t>(repos_[0].files[0].content.size()) + 3000000);
}

TEST_F(HubTest, ServerErrorsAreRetriedWithBackoff) {
	SETUP_ENDPOINT();
	faults(R"([{"match": "/config.json", "kind": "status", "code": 500, "times": 2},
	           {"match": "empty.txt", "kind": "status", "code": 429, "times": 1, "retry_after": 1}])");
	auto out = fetch(rows_for({0}), options());
	ASSERT_TRUE(out.finished);
	EXPECT_EQ(out.progress.files_failed, 0);
	EXPECT_EQ(out.progress.files_done, 4);
	EXPECT_GE(out.seconds, 0.9);  // Retry-After: 1 honoured
	EXPECT_EQ(read_file(blob_path(0, 1)), repos_[0].files[1].content);
}

TEST_F(HubTest, WrongBytesAreNeverPublished) {
	SETUP_ENDPOINT();
	faults(R"([{"match": "model.safetensors", "kind": "wrong_bytes"}])");
	auto out = fetch(rows_for({0}), options());
	ASSERT_TRUE(out.finished);
	EXPECT_EQ(out.progress.files_failed, 1);
	ASSERT_EQ(out.queue.size(), 1u);
	EXPECT_NE(std::string(out.queue[0].last_error).find("checksum mismatch"), std::string::npos) << out.queue[0].last_error;
	EXPECT_EQ(out.queue[0].attempts, 1);  // the whole file was wrong: downloaded once, then held back
	EXPECT_EQ(out.queue[0].state, PGMLR_FETCH_HELD);
	EXPECT_FALSE(fs::exists(blob_path(0, 0)));
	EXPECT_EQ(count_matching(dest_, ".incomplete"), 0u);
	// the other files of the revision arrive, but the ref is not written
	EXPECT_TRUE(fs::exists(blob_path(0, 1)));
	EXPECT_FALSE(fs::exists(dest_ + "/models--org--model/snapshots/" + repos_[0].commit + "/model.safetensors"));
	EXPECT_FALSE(fs::exists(dest_ + "/models--org--model/refs/main"));
}

TEST_F(HubTest, StallBeyondLowSpeedLimitIsRetried) {
	SETUP_ENDPOINT();
	// the Hub's longest stall; low_speed_time_s is 2
	faults(R"([{"match": "train.parquet", "kind": "stall", "seconds": 30, "after": 100000, "times": 1}])");
	auto out = fetch(rows_for({2}), options());
	ASSERT_TRUE(out.finished);
	EXPECT_EQ(out.progress.files_failed, 0);
	EXPECT_LT(out.seconds, 20.0);  // gave up on the stalled response, did not wait it out
	EXPECT_EQ(read_file(blob_path(2, 0)), repos_[2].files[0].content);
	EXPECT_TRUE(std::regex_search(log(), std::regex("\"range\": \"bytes=100000-\"")));
}

TEST_F(HubTest, RedirectLoopIsAnError) {
	SETUP_ENDPOINT();
	faults(R"([{"match": "README.md", "kind": "redirect_loop"}])");
	auto out = fetch(rows_for({3}), options());
	ASSERT_TRUE(out.finished);
	EXPECT_EQ(out.progress.files_failed, 1);
	ASSERT_EQ(out.queue.size(), 1u);
	EXPECT_NE(std::string(out.queue[0].last_error).find("redirect"), std::string::npos) << out.queue[0].last_error;
}

TEST_F(HubTest, RedirectToAnotherHostDropsTheToken) {
	SETUP_ENDPOINT();
	faults(R"([{"match": "README.md", "kind": "redirect_other_host", "times": 1}])");
	auto out = fetch(rows_for({3}), options());
	ASSERT_TRUE(out.finished);
	// the gated hub refuses the token-less request that arrives under "localhost"
	std::string l = log();
	EXPECT_TRUE(std::regex_search(l, std::regex("\"auth\": false, \"host\": \"localhost:"))) << l;
	EXPECT_FALSE(std::regex_search(l, std::regex("\"auth\": true, \"host\": \"localhost:"))) << l;
}

TEST_F(HubTest, MinFreeDiskRefusesAndLeavesNothing) {
	SETUP_ENDPOINT();
	auto o = options();
	o.min_free_disk = int64_t{1} << 60;
	auto out = fetch(rows_for({2}), o);
	ASSERT_TRUE(out.finished);
	EXPECT_EQ(out.progress.files_failed, 1);
	EXPECT_NE(std::string(out.queue[0].last_error).find("free disk"), std::string::npos);
	EXPECT_EQ(count_matching(dest_, ".incomplete"), 0u);
	EXPECT_EQ(log(), "[]");
}

TEST_F(HubTest, AbortFlagStopsPromptly) {
	SETUP_ENDPOINT();
	faults(R"([{"match": "model.safetensors", "kind": "stall", "seconds": 30, "after": 1000000}])");
	static volatile sig_atomic_t flag = 0;
	flag = 0;
	auto o = options();
	o.abort_flag = &flag;
	o.low_speed_time_s = 60;
	auto out = fetch(rows_for({0}), o, 30000, &flag);
	EXPECT_TRUE(out.finished) << "the job did not end within one step after the flag was set";
	EXPECT_EQ(out.st.code, PGMLR_ERR_CANCELED);
	EXPECT_TRUE(out.progress.canceled);
	EXPECT_LT(out.seconds, 15.0);  // far less than the 30 s stall it would otherwise sit in
	EXPECT_FALSE(fs::exists(blob_path(0, 0)));
	// the bytes so far are kept for the next job, under the one name it looks for
	EXPECT_EQ(count_matching(dest_, ".incomplete"), 1u);
	EXPECT_EQ(fs::file_size(blob_path(0, 0) + ".pgml.incomplete"), 1000000u);
	EXPECT_FALSE(fs::exists(dest_ + "/models--org--model/refs/main"));
}

// Aborts mid-transfer, then a new job: it re-hashes the kept prefix and asks
// only for the rest.
TEST_F(HubTest, AbortedTransferIsResumedByTheNextJob) {
	SETUP_ENDPOINT();
	faults(R"([{"match": "model.safetensors", "kind": "stall", "seconds": 20, "after": 1500000, "times": 1}])");
	static volatile sig_atomic_t flag = 0;
	flag = 0;
	auto o = options();
	o.abort_flag = &flag;
	o.low_speed_time_s = 60;
	auto first = fetch(rows_for({0}), o, 30000, &flag);
	EXPECT_EQ(first.st.code, PGMLR_ERR_CANCELED);
	std::string partial = blob_path(0, 0) + ".pgml.incomplete";
	ASSERT_TRUE(fs::exists(partial));
	auto kept = fs::file_size(partial);
	EXPECT_EQ(kept, 1500000u);
	EXPECT_FALSE(fs::exists(blob_path(0, 0)));
	reset_hub();
	auto second = fetch(rows_for({0}), options());
	ASSERT_TRUE(second.finished);
	EXPECT_EQ(second.progress.files_failed, 0);
	EXPECT_EQ(read_file(blob_path(0, 0)), repos_[0].files[0].content);
	std::string l = log();
	EXPECT_TRUE(std::regex_search(l, std::regex("\"listener\": \"cdn\"[^}]*\"range\": \"bytes=" + std::to_string(kept) + "-\""))) << l;
	// the rest of the weights plus the small files of the revision, not the kept prefix again
	EXPECT_LT(second.progress.bytes_received, static_cast<int64_t>(repos_[0].files[0].content.size() - kept + 1000));
	EXPECT_EQ(count_matching(dest_, ".incomplete"), 0u);
}

// A job that gives up on a file for network reasons keeps its partial file.
TEST_F(HubTest, GivingUpOnTheServerKeepsThePartialFile) {
	SETUP_ENDPOINT();
	const std::string &content = repos_[0].files[0].content;
	std::string partial = blob_path(0, 0) + ".pgml.incomplete";
	write_file(partial, content.substr(0, 2000000));
	faults(R"([{"match": "/cdn/", "kind": "status", "code": 500}])");
	auto o = options();
	o.max_retries = 1;
	auto out = fetch(rows_for({0}), o);
	ASSERT_TRUE(out.finished);
	EXPECT_EQ(out.progress.files_failed, 1);
	EXPECT_FALSE(fs::exists(blob_path(0, 0)));
	ASSERT_TRUE(fs::exists(partial));
	EXPECT_EQ(fs::file_size(partial), 2000000u);
	reset_hub();
	auto again = fetch(rows_for({0}), options());
	EXPECT_EQ(again.progress.files_failed, 0);
	EXPECT_EQ(read_file(blob_path(0, 0)), content);
	EXPECT_TRUE(std::regex_search(log(), std::regex("\"range\": \"bytes=2000000-\"")));
}

// What a kill -9 leaves: the partial file and no lock (the kernel drops it).
TEST_F(HubTest, PartialFileLeftByACrashIsResumed) {
	SETUP_ENDPOINT();
	const std::string &content = repos_[0].files[0].content;
	write_file(blob_path(0, 0) + ".pgml.incomplete", content.substr(0, 2000000));
	auto out = fetch(rows_for({0}), options());
	ASSERT_TRUE(out.finished);
	EXPECT_EQ(out.progress.files_failed, 0);
	EXPECT_EQ(read_file(blob_path(0, 0)), content);
	EXPECT_TRUE(std::regex_search(log(), std::regex("\"range\": \"bytes=2000000-\"")));
	EXPECT_EQ(count_matching(dest_, ".incomplete"), 0u);
}

TEST_F(HubTest, PartialFileLongerThanTheBlobIsDiscarded) {
	SETUP_ENDPOINT();
	const std::string &content = repos_[0].files[0].content;
	write_file(blob_path(0, 0) + ".pgml.incomplete", content + "trailing garbage");
	auto out = fetch(rows_for({0}), options());
	ASSERT_TRUE(out.finished);
	EXPECT_EQ(out.progress.files_failed, 0);
	EXPECT_EQ(read_file(blob_path(0, 0)), content);
	EXPECT_FALSE(std::regex_search(log(), std::regex("\"range\": \"bytes=")));
	EXPECT_EQ(count_matching(dest_, ".incomplete"), 0u);
}

// A prefix whose bytes are wrong: the checksum refuses the result, the job
// starts over from zero and publishes the right file.
TEST_F(HubTest, PartialFileWithWrongBytesEndsInARestartFromZero) {
	SETUP_ENDPOINT();
	const std::string &content = repos_[0].files[0].content;
	write_file(blob_path(0, 0) + ".pgml.incomplete", std::string(1000000, 'x'));
	auto out = fetch(rows_for({0}), options());
	ASSERT_TRUE(out.finished);
	EXPECT_EQ(out.progress.files_failed, 0);
	EXPECT_EQ(read_file(blob_path(0, 0)), content);
	std::string l = log();
	EXPECT_TRUE(std::regex_search(l, std::regex("\"range\": \"bytes=1000000-\""))) << l;
	EXPECT_TRUE(std::regex_search(l, std::regex("\"listener\": \"cdn\"[^}]*\"range\": null"))) << l;
	EXPECT_EQ(count_matching(dest_, ".incomplete"), 0u);
}

TEST_F(HubTest, ServerIgnoringRangeStartsOver) {
	SETUP_ENDPOINT();
	const std::string &content = repos_[0].files[0].content;
	write_file(blob_path(0, 0) + ".pgml.incomplete", content.substr(0, 2000000));
	faults(R"([{"match": "model.safetensors", "kind": "ignore_range"}])");
	auto out = fetch(rows_for({0}), options());
	ASSERT_TRUE(out.finished);
	EXPECT_EQ(out.progress.files_failed, 0);
	EXPECT_EQ(read_file(blob_path(0, 0)), content);
	// the whole file once (plus the revision's small files), the kept prefix thrown away
	EXPECT_GE(out.progress.bytes_received, static_cast<int64_t>(content.size()));
	EXPECT_LT(out.progress.bytes_received, static_cast<int64_t>(content.size() + 1000));
	EXPECT_TRUE(std::regex_search(log(), std::regex("\"range\": \"bytes=2000000-\"")));
}

TEST_F(HubTest, UnreadablePartialFileIsDiscarded) {
	SETUP_ENDPOINT();
	if (geteuid() == 0) GTEST_SKIP() << "root reads a mode-000 file";
	const std::string &content = repos_[0].files[0].content;
	std::string partial = blob_path(0, 0) + ".pgml.incomplete";
	write_file(partial, content.substr(0, 2000000));
	chmod(partial.c_str(), 0);
	auto out = fetch(rows_for({0}), options());
	ASSERT_TRUE(out.finished);
	EXPECT_EQ(out.progress.files_failed, 0);
	EXPECT_EQ(read_file(blob_path(0, 0)), content);
	EXPECT_FALSE(std::regex_search(log(), std::regex("\"range\": \"bytes=")));
}

TEST_F(HubTest, ForeignSymlinkInTheCacheIsRefused) {
	SETUP_ENDPOINT();
	char tmpl[] = "/tmp/hf_fetch_outside_XXXXXX";
	std::string outside = mkdtemp(tmpl);
	fs::create_directories(dest_ + "/datasets--squad");
	fs::create_symlink(outside, dest_ + "/datasets--squad/blobs");
	auto out = fetch(rows_for({2}), options());
	ASSERT_TRUE(out.finished);
	EXPECT_EQ(out.progress.files_failed, 1);
	EXPECT_NE(std::string(out.queue[0].last_error).find("outside the cache"), std::string::npos) << out.queue[0].last_error;
	EXPECT_TRUE(fs::is_empty(outside));
	fs::remove_all(outside);
}

TEST_F(HubTest, SnapshotFolderLeadingOutsideIsRecorded) {
	SETUP_ENDPOINT();
	char tmpl[] = "/tmp/hf_fetch_outside_XXXXXX";
	std::string outside = mkdtemp(tmpl);
	fs::create_directories(dest_ + "/datasets--squad");
	fs::create_symlink(outside, dest_ + "/datasets--squad/snapshots");
	auto out = fetch(rows_for({2}), options());
	ASSERT_TRUE(out.finished);
	EXPECT_EQ(out.progress.files_done, 1);  // the blob itself is fine
	EXPECT_EQ(out.progress.links_failed, 1);
	EXPECT_NE(std::string(out.progress.last_publish_error).find("outside the cache"), std::string::npos);
	EXPECT_FALSE(fs::exists(dest_ + "/datasets--squad/refs/main"));  // the ref waits for its links
	EXPECT_TRUE(fs::is_empty(outside));
	fs::remove_all(outside);
}

TEST_F(HubTest, BusyBlobLockIsWaitedForThenRecorded) {
	SETUP_ENDPOINT();
	const Repo &r = repos_[2];
	std::string blob = digest(r.files[0].content, true);
	fs::create_directories(dest_ + "/.locks/" + folder_of(r));
	int fd = open((dest_ + "/.locks/" + folder_of(r) + "/" + blob + ".lock").c_str(), O_RDWR | O_CREAT, 0644);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(flock(fd, LOCK_EX | LOCK_NB), 0);  // another writer, as huggingface_hub would hold it
	auto o = options();
	o.lock_wait_ms = 300;
	auto out = fetch(rows_for({2}), o);
	close(fd);
	ASSERT_TRUE(out.finished);
	EXPECT_EQ(out.progress.files_failed, 1);
	ASSERT_EQ(out.queue.size(), 1u);
	EXPECT_NE(std::string(out.queue[0].last_error).find("blob lock"), std::string::npos) << out.queue[0].last_error;
	EXPECT_GE(out.seconds, 0.3);
	EXPECT_EQ(log(), "[]");
	// released: the next job gets it
	auto again = fetch(rows_for({2}), options());
	EXPECT_EQ(again.progress.files_done, 1);
}

TEST_F(HubTest, MissingEntryIsRecordedWithoutRetrying) {
	SETUP_ENDPOINT();
	Rows rows = rows_for({2});
	rows.rows[0].path = "data/missing.parquet";
	auto out = fetch(rows, options());
	ASSERT_TRUE(out.finished);
	ASSERT_EQ(out.queue.size(), 1u);
	EXPECT_EQ(out.queue[0].attempts, 1);
	EXPECT_NE(std::string(out.queue[0].last_error).find("HTTP 404"), std::string::npos) << out.queue[0].last_error;
}

// The Hub's 429 with only the RateLimit draft headers: no request until
// the window (t=2) ends, then the file arrives; the pause is in the memory.
TEST_F(HubTest, RateLimitHeadersPauseTheHostUntilTheWindowEnds) {
	SETUP_ENDPOINT();
	std::string settings = R"({"resolve_429_first": 1, "resolve_429_reset": 2})";
	http(base() + "/_control/settings", &settings);
	pgmlr_status st;
	pgmlr_fetch_memory *memory = pgmlr_fetch_memory_new(&st);
	pgmlr_fetch_options o = options();
	o.memory = memory;
	auto out = fetch(rows_for({2}), o);
	pgmlr_fetch_memory_free(memory);
	ASSERT_TRUE(out.finished);
	EXPECT_EQ(out.progress.files_done, 1);
	EXPECT_GE(out.seconds, 1.9);  // no retry inside the window
	std::string l = log();
	EXPECT_TRUE(std::regex_search(l, std::regex("\"status\": 429"))) << l;
	EXPECT_EQ(std::count(l.begin(), l.end(), '{'), 3) << l;  // 429, then resolve and CDN
}

// The quarantine's cheap question: a HEAD on the resolve URL, no redirect
// followed, answered by X-Linked-Etag and X-Linked-Size.
TEST_F(HubTest, ProbeAsksTheResolveHostWithoutTheBytes) {
	SETUP_ENDPOINT();
	struct Rx final : pgmlr::hf_fetch::BlobReceiver {
		Take take(const char *, size_t) override { return Take::refuse; }
		bool restart() override { return false; }
	} rx;
	const Repo &r = repos_[0];
	pgmlr::hf_fetch::BlobTask task;
	task.folder = folder_of(r);
	task.blob = digest(r.files[0].content, true);
	task.size = static_cast<int64_t>(r.files[0].content.size());
	task.source.repo_type = "model";
	task.source.repo_id = r.id;
	task.source.revision = r.commit;
	task.source.path = r.files[0].path;
	pgmlr::hf_fetch::HubOptions ho;
	ho.endpoint = base();
	auto source = pgmlr::hf_fetch::HubSource::create(ho);
	ASSERT_TRUE(source);
	std::string why;
	ASSERT_NE((*source)->probe(task, rx, &why), nullptr) << why;
	pgmlr::hf_fetch::TransferEnd end;
	int ended = 0;
	for (int i = 0; i < 200 && ended == 0; ++i) {
		(*source)->run();
		ended = (*source)->collect([&](pgmlr::hf_fetch::BlobReceiver &, const pgmlr::hf_fetch::TransferEnd &e) { end = e; });
		if (ended == 0) (*source)->wait(50);
	}
	ASSERT_EQ(ended, 1);
	EXPECT_EQ(end.kind, pgmlr::hf_fetch::TransferEnd::Kind::complete);
	EXPECT_EQ(end.http_status, 302);
	EXPECT_EQ(end.remote_etag, task.blob);
	EXPECT_EQ(end.remote_size, task.size);
	std::string l = log();
	EXPECT_TRUE(std::regex_search(l, std::regex("\"method\": \"HEAD\""))) << l;
	EXPECT_EQ(l.find("\"listener\": \"cdn\""), std::string::npos) << l;
}

// The Hub over HTTPS with a self-signed certificate: refused unless the
// certificate is configured as the CA file (pgml_replication.hf_ca_file).
class TlsHubTest : public ::testing::Test {
protected:
	static inline pid_t pid_ = -1;
	static inline int port_ = 0;
	static inline std::string dir_;
	static inline Repo repo_;
	static inline bool have_python_ = false;
	static inline std::string why_;

	static void SetUpTestSuite() {
		pgmlr_status st;
		pgmlr_fetch_global_init(&st);
		std::string python = find_python();
		have_python_ = !python.empty();
		if (python.empty()) return;
		char tmpl[] = "/tmp/hf_fetch_tls_XXXXXX";
		dir_ = mkdtemp(tmpl);
		std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 "
						  "-addext subjectAltName=IP:127.0.0.1 -keyout " + dir_ + "/key.pem -out " + dir_ +
						  "/cert.pem >/dev/null 2>&1";
		if (std::system(cmd.c_str()) != 0) {
			why_ = "openssl could not make a self-signed certificate (scripts/install-deps installs openssl)";
			return;
		}
		repo_ = Repo{"model", "org/tls", std::string(40, 'e'), "main",
					 {{"model.safetensors", random_bytes(200000, 7), true}, {"config.json", "{}", false}}};
		build_repo(dir_ + "/src", repo_);
		pid_ = test_hub::spawn_hub(python, {"--cache", dir_ + "/src", "--port", "0", "--tls-cert", dir_ + "/cert.pem",
								  "--tls-key", dir_ + "/key.pem"}, &port_);
	}
	static void TearDownTestSuite() {
		test_hub::stop_hub(pid_);
		if (!dir_.empty()) fs::remove_all(dir_);
	}
	void SetUp() override {
		if (!have_python_) GTEST_SKIP() << "python3 is not installed";
		ASSERT_NE(port_, 0) << (why_.empty() ? "python3 is installed but the test hub did not start over TLS" : why_);
	}

	// Fetches repo_ into a fresh cache; returns (files done, first error).
	std::pair<int64_t, std::string> fetch_repo(const char *ca_file, const std::string &dest) {
		std::string endpoint = "https://127.0.0.1:" + std::to_string(port_);
		fs::create_directories(dest);
		pgmlr_fetch_options o;
		pgmlr_fetch_options_init(&o);
		o.cache_root = dest.c_str();
		o.endpoint = endpoint.c_str();
		o.ca_file = ca_file;
		o.max_retries = 1;
		o.backoff_base_ms = 50;
		o.connect_timeout_ms = 2000;
		Outcome out = fetch(rows_of({&repo_}), o);
		EXPECT_TRUE(out.finished);
		return {out.progress.files_done, out.queue.empty() ? std::string() : out.queue[0].last_error};
	}
};

TEST_F(TlsHubTest, UntrustedCertificateIsRefused) {
	std::string dest = dir_ + "/untrusted";
	auto [done, error] = fetch_repo(nullptr, dest);
	EXPECT_EQ(done, 0);
	EXPECT_NE(error.find("certificate"), std::string::npos) << error;
	// (.locks may hold the empty flock file, as huggingface_hub leaves it)
	EXPECT_EQ(count_matching(dest + "/" + folder_of(repo_) + "/blobs", digest(repo_.files[0].content, true)), 0u)
		<< "nothing may land in the cache";
	EXPECT_FALSE(fs::exists(dest + "/" + folder_of(repo_) + "/snapshots")) << "no snapshot link without a blob";
}

TEST_F(TlsHubTest, ConfiguredCaFileIsTrusted) {
	std::string dest = dir_ + "/trusted";
	std::string ca = dir_ + "/cert.pem";
	auto [done, error] = fetch_repo(ca.c_str(), dest);
	EXPECT_EQ(done, 2) << error;
	for (const File &f : repo_.files)
		EXPECT_TRUE(read_file(dest + "/" + folder_of(repo_) + "/snapshots/" + repo_.commit + "/" + f.path) == f.content)
			<< f.path << " differs";
}

}  // namespace
