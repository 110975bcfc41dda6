#include "hf_fetch/fs.hpp"
#include "hf_cache/checksum.hpp"
#include "hf_fetch/plan.hpp"
#include "hf_fetch/sweep.hpp"
#include "pgml_repl/hf_fetch.h"
#include "temp_files.hpp"

#include <gtest/gtest.h>

#include <climits>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <sys/stat.h>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace pgmlr::hf_fetch;
using pgmlr::hf::BlobHasher;

namespace {

const std::string kRev = std::string(40, '1');
const std::string kRev2 = std::string(40, '2');

using test_files::TempDir;

std::string git_blob(const std::string &content) {
	BlobHasher h(std::string(40, '0'), static_cast<int64_t>(content.size()));
	h.update(content.data(), content.size());
	return h.hex_digest();
}

using test_files::read_file;

void write_file(const std::string &p, const std::string &content) {
	fs::create_directories(fs::path(p).parent_path());
	std::ofstream(p, std::ios::binary) << content;
}

Row row(const std::string &rev, const std::string &ref, const std::string &path, const std::string &blob, int64_t size) {
	Row r;
	r.repo_type = "model";
	r.repo_id = "org/m";
	r.revision = rev;
	if (!ref.empty()) r.refs = {ref};
	r.path = path;
	r.blob = blob;
	r.size = size;
	return r;
}

}  // namespace

TEST(HfFetchPlan, DedupesSharedBlobs) {
	TempDir d;
	std::string big(64, 'e'), cfg = git_blob("{}");
	std::vector<Row> rows = {row(kRev, "main", "model.bin", big, 10), row(kRev, "main", "copy/model.bin", big, 10),
							 row(kRev2, "refs/pr/1", "model.bin", big, 10), row(kRev, "main", "config.json", cfg, 2),
							 row(kRev, "main", "config.json", cfg, 2)};
	auto p = make_plan(rows, d.path, false);
	ASSERT_TRUE(p) << p.error().message;
	ASSERT_EQ(p->blobs.size(), 2u);
	EXPECT_EQ(p->blobs[0].links.size(), 3u);
	EXPECT_EQ(p->links.size(), 4u);  // the duplicate row adds nothing
	EXPECT_EQ(p->groups.size(), 2u);
	EXPECT_EQ(p->refs.size(), 2u);
	EXPECT_EQ(p->links[1].target, "../../../blobs/" + big);
	EXPECT_EQ(p->links[1].dir, "models--org--m/snapshots/" + kRev + "/copy");
}

// A file listed twice with another ref each: every ref counts.
TEST(HfFetchPlan, EveryRefOfARepeatedFileIsPlanned) {
	TempDir d;
	std::string cfg = git_blob("{}");
	auto p = make_plan({row(kRev, "refs/pr/1", "config.json", cfg, 2), row(kRev, "v1.0", "config.json", cfg, 2)}, d.path,
					   false);
	ASSERT_TRUE(p) << p.error().message;
	EXPECT_EQ(p->links.size(), 1u);
	ASSERT_EQ(p->refs.size(), 2u);
	EXPECT_EQ(p->refs[0].ref, "refs/pr/1");
	EXPECT_EQ(p->refs[1].ref, "v1.0");
}

// The table's row lists every ref of its revision: each is planned once.
TEST(HfFetchPlan, EveryRefOfARowIsPlanned) {
	TempDir d;
	std::string cfg = git_blob("{}");
	Row r = row(kRev, "refs/pr/1", "config.json", cfg, 2);
	r.refs = {"refs/pr/1", "", "v1.0", "refs/pr/1"};  // "" is no ref; a repeat adds nothing
	auto p = make_plan({r}, d.path, false);
	ASSERT_TRUE(p) << p.error().message;
	EXPECT_EQ(p->links.size(), 1u);
	ASSERT_EQ(p->refs.size(), 2u);
	EXPECT_EQ(p->refs[0].ref, "refs/pr/1");
	EXPECT_EQ(p->refs[1].ref, "v1.0");
}

TEST(HfFetchPlan, PresentBlobsAndExistingLinksAreKept) {
	TempDir d;
	std::string content = "{}", blob = git_blob(content);
	write_file(d.path + "/models--org--m/blobs/" + blob, content);
	write_file(d.path + "/models--org--m/refs/main", kRev);
	fs::create_directories(d.path + "/models--org--m/snapshots/" + kRev);
	fs::create_symlink("../../blobs/" + blob, d.path + "/models--org--m/snapshots/" + kRev + "/config.json");
	std::string wrong_size = git_blob("xyz");
	write_file(d.path + "/models--org--m/blobs/" + wrong_size, "xy");
	auto p = make_plan({row(kRev, "main", "config.json", blob, 2), row(kRev, "", "other.txt", wrong_size, 3)}, d.path, true);
	ASSERT_TRUE(p);
	EXPECT_TRUE(p->blobs[0].present);
	EXPECT_FALSE(p->blobs[1].present);  // wrong size: download again
	EXPECT_TRUE(p->refs.empty());       // already right
	EXPECT_EQ(p->links.size(), 1u);     // only other.txt
	// verify_present catches a right-sized blob with wrong content
	write_file(d.path + "/models--org--m/blobs/" + wrong_size, "abc");
	auto q = make_plan({row(kRev, "", "other.txt", wrong_size, 3)}, d.path, true);
	ASSERT_TRUE(q);
	EXPECT_FALSE(q->blobs[0].present);
	auto r = make_plan({row(kRev, "", "other.txt", wrong_size, 3)}, d.path, false);
	EXPECT_TRUE(r->blobs[0].present);
}

// A contradiction refuses its own repo, each row listed with the reason;
// the other repo's rows are planned as if it were not there.
TEST(HfFetchPlan, ContradictionsRefuseOnlyTheirRepo) {
	TempDir d;
	std::string a(64, 'a'), b(64, 'b'), c(64, 'c');
	auto other = [&](const std::string &path, const std::string &blob) {
		Row r = row(kRev, "main", path, blob, 1);
		r.repo_id = "org/healthy";
		return r;
	};
	struct Case {
		std::vector<Row> bad;
		std::string why;
	};
	std::vector<Case> cases = {
		{{row(kRev, "", "x", a, 1), row(kRev, "", "x", b, 1)}, "path \"x\" of revision " + kRev + " names two blobs"},
		{{row(kRev, "", "x", a, 1), row(kRev, "", "y", a, 2)}, "blob " + a + " has two sizes"},
		{{row(kRev, "main", "x", a, 1), row(kRev2, "main", "y", b, 1)},
		 "ref \"main\" names two commits, " + kRev + " and " + kRev2},
	};
	for (const Case &k : cases) {
		std::vector<Row> rows = {other("keep.txt", c)};
		rows.insert(rows.end(), k.bad.begin(), k.bad.end());
		rows.push_back(other("also.txt", c));
		auto p = make_plan(rows, d.path, false);
		ASSERT_TRUE(p) << p.error().message;
		ASSERT_EQ(p->refused.size(), 2u) << k.why;
		for (const RefusedRow &r : p->refused) {
			EXPECT_EQ(r.row.repo_id, "org/m");
			EXPECT_EQ(r.reason, "conflicting manifest rows: " + k.why + "; every row of this repo is refused");
		}
		ASSERT_EQ(p->blobs.size(), 1u) << k.why;
		EXPECT_EQ(p->blobs[0].folder, "models--org--healthy");
		EXPECT_EQ(p->links.size(), 2u);
		ASSERT_EQ(p->refs.size(), 1u);
		EXPECT_EQ(p->refs[0].folder, "models--org--healthy");
	}
}

// Through the C boundary: validation refusals and conflicts are listed once
// per file, with the row and the reason, and the healthy repo still arrives.
TEST(HfFetchJob, RefusedRowsAreListedWithTheirReason) {
	TempDir d;
	std::string content = "{}", blob = git_blob(content);
	write_file(d.path + "/models--org--ok/blobs/" + blob, content);
	pgmlr_status st;
	pgmlr_fetch_options o;
	pgmlr_fetch_options_init(&o);
	o.cache_root = d.path.c_str();
	o.endpoint = "http://127.0.0.1:9";
	pgmlr_fetch_job *job = pgmlr_fetch_new(&o, &st);
	ASSERT_NE(job, nullptr) << st.message;
	std::string a(64, 'a');
	const char *main_ref[] = {"main"};
	const char *v1_ref[] = {"v1"};
	pgmlr_hf_manifest_row ok = {"model", "org/ok", kRev.c_str(), main_ref, 1, "config.json", blob.c_str(), 2};
	pgmlr_hf_manifest_row bad_id = {"model", "orgbars-/m1", kRev.c_str(), main_ref, 1, "x.txt", blob.c_str(), 2};
	pgmlr_hf_manifest_row bad_id_again = bad_id;  // the same file under another ref
	bad_id_again.refs = v1_ref;
	pgmlr_hf_manifest_row ref1 = {"model", "org/two", kRev.c_str(), main_ref, 1, "a.txt", a.c_str(), 1};
	pgmlr_hf_manifest_row ref2 = {"model", "org/two", kRev2.c_str(), main_ref, 1, "b.txt", a.c_str(), 1};
	EXPECT_TRUE(pgmlr_fetch_add_row(job, &ok, &st));
	EXPECT_FALSE(pgmlr_fetch_add_row(job, &bad_id, &st));
	EXPECT_FALSE(pgmlr_fetch_add_row(job, &bad_id_again, &st));
	EXPECT_TRUE(pgmlr_fetch_add_row(job, &ref1, &st));
	EXPECT_TRUE(pgmlr_fetch_add_row(job, &ref2, &st));
	pgmlr_fetch_plan(job, &st);
	ASSERT_EQ(st.code, PGMLR_OK) << st.message;
	ASSERT_EQ(pgmlr_fetch_refused_count(job), 3);
	pgmlr_fetch_refusal r;
	ASSERT_TRUE(pgmlr_fetch_refused_item(job, 0, &r));
	EXPECT_STREQ(r.repo_id, "orgbars-/m1");
	EXPECT_STREQ(r.path, "x.txt");
	EXPECT_STREQ(r.revision, kRev.c_str());
	EXPECT_STREQ(r.reason, "invalid manifest repo_id: has a namespace or name that starts or ends with \"-\" or \".\"");
	ASSERT_TRUE(pgmlr_fetch_refused_item(job, 1, &r));
	EXPECT_STREQ(r.repo_id, "org/two");
	EXPECT_STREQ(r.path, "a.txt");
	EXPECT_NE(std::string(r.reason).find("names two commits"), std::string::npos) << r.reason;
	ASSERT_TRUE(pgmlr_fetch_refused_item(job, 2, &r));
	EXPECT_STREQ(r.path, "b.txt");
	EXPECT_FALSE(pgmlr_fetch_refused_item(job, 3, &r));
	pgmlr_fetch_progress progress;
	EXPECT_TRUE(pgmlr_fetch_step(job, 1000, &progress, &st));
	EXPECT_EQ(progress.links_created, 1);
	EXPECT_EQ(pgmlr_fetch_queue_count(job), 0);
	pgmlr_fetch_free(job);
	EXPECT_TRUE(fs::is_symlink(d.path + "/models--org--ok/snapshots/" + kRev + "/config.json"));
	EXPECT_FALSE(fs::exists(d.path + "/models--org--two"));
	EXPECT_FALSE(fs::exists(d.path + "/models--orgbars---m1"));
}

// Partial files of ours for blobs no transfer wants go; everything else
// stays: wanted partials, huggingface_hub's own, foreign names, folders that
// are not valid repo folders, and a partial whose lock another holder has.
TEST(HfFetchSweep, RemovesOnlyOurStalePartials) {
	TempDir d;
	std::string gone(64, 'a'), kept(64, 'b'), locked(40, 'c');
	const std::string blobs = d.path + "/models--org--m/blobs/";
	write_file(blobs + gone + ".pgml.incomplete", "half");
	write_file(blobs + kept + ".pgml.incomplete", "half");
	write_file(blobs + locked + ".pgml.incomplete", "half");
	write_file(blobs + gone + ".incomplete", "huggingface_hub's");
	write_file(blobs + gone + ".0a1b2c3d.incomplete", "huggingface_hub 1.x");
	write_file(blobs + "notablob.pgml.incomplete", "not a blob name");
	write_file(blobs + gone, "a finished blob");
	fs::create_directories(blobs + std::string(64, 'd') + ".pgml.incomplete");
	write_file(d.path + "/models--orgaa---dstet_1.0/blobs/" + gone + ".pgml.incomplete", "invalid folder");
	fs::create_directories(d.path + "/.locks/models--org--m");
	BlobLock other;
	bool busy = false;
	ASSERT_FALSE(other.try_acquire(d.path + "/.locks/models--org--m/" + locked + ".lock", &busy));
	ASSERT_FALSE(busy);

	std::set<std::pair<std::string, std::string>> wanted = {{"models--org--m", kept}};
	EXPECT_EQ(remove_stale_partials(d.path, wanted, ".pgml.incomplete"), 1);
	EXPECT_FALSE(fs::exists(blobs + gone + ".pgml.incomplete"));
	for (std::string still : {kept + ".pgml.incomplete", locked + ".pgml.incomplete", gone + ".incomplete",
							  gone + ".0a1b2c3d.incomplete", std::string("notablob.pgml.incomplete"), gone,
							  std::string(64, 'd') + ".pgml.incomplete"})
		EXPECT_TRUE(fs::exists(blobs + still)) << still;
	EXPECT_TRUE(fs::exists(d.path + "/models--orgaa---dstet_1.0/blobs/" + gone + ".pgml.incomplete"));
	other.release();
	EXPECT_EQ(remove_stale_partials(d.path, wanted, ".pgml.incomplete"), 1);  // the lock is free now
	EXPECT_FALSE(fs::exists(blobs + locked + ".pgml.incomplete"));
}

// A blobs folder reached through a link is never swept.
TEST(HfFetchSweep, NeverFollowsLinks) {
	TempDir d, outside;
	std::string gone(64, 'a');
	write_file(outside.path + "/blobs/" + gone + ".pgml.incomplete", "not ours to remove");
	fs::create_directories(d.path + "/models--org--a");
	fs::create_directory_symlink(outside.path + "/blobs", d.path + "/models--org--a/blobs");
	fs::create_directory_symlink(outside.path, d.path + "/models--org--b");
	EXPECT_EQ(remove_stale_partials(d.path, {}, ".pgml.incomplete"), 0);
	EXPECT_TRUE(fs::exists(outside.path + "/blobs/" + gone + ".pgml.incomplete"));
}

TEST(HfFetchFs, AtomicFilesAndLinks) {
	TempDir d;
	ASSERT_FALSE(write_file_atomic(d.path, "main", kRev));
	EXPECT_EQ(read_file(d.path + "/main"), kRev);  // no trailing newline
	bool created = false;
	ASSERT_FALSE(create_symlink_atomic(d.path, "l", "../../blobs/x", &created));
	EXPECT_TRUE(created);
	EXPECT_EQ(fs::read_symlink(d.path + "/l").string(), "../../blobs/x");
	ASSERT_FALSE(create_symlink_atomic(d.path, "l", "../../blobs/other", &created));
	EXPECT_FALSE(created);  // never replaced
	EXPECT_EQ(fs::read_symlink(d.path + "/l").string(), "../../blobs/x");
	size_t entries = 0;
	for (auto &e : fs::directory_iterator(d.path)) entries += e.path().string().find(".pgml.tmp") == std::string::npos;
	EXPECT_EQ(entries, 2u);
}

TEST(HfFetchFs, ContainmentRefusesLinksLeadingOutside) {
	TempDir d, outside;
	fs::create_directories(d.path + "/models--org--m");
	fs::create_symlink(outside.path, d.path + "/models--org--m/blobs");
	auto st = check_contained(d.path, "models--org--m/blobs/abc", false);
	ASSERT_TRUE(st);
	EXPECT_EQ(st->code, pgmlr::ErrCode::Permission);
	EXPECT_TRUE(make_dirs(d.path, "models--org--m/blobs"));
	// A link that stays inside the cache is fine.
	fs::create_directories(d.path + "/store");
	fs::create_symlink(d.path + "/store", d.path + "/models--org--m/snapshots");
	EXPECT_FALSE(check_contained(d.path, "models--org--m/snapshots/x", false));
	// A file where a folder is needed is refused.
	write_file(d.path + "/models--org--n", "x");
	EXPECT_TRUE(make_dirs(d.path, "models--org--n/blobs"));
	EXPECT_TRUE(fs::is_empty(outside.path));
}

TEST(HfFetchJob, PublishesPresentBlobsLinksThenRefsWithoutNetwork) {
	TempDir d;
	std::string content = "{\"a\": 1}", blob = git_blob(content);
	write_file(d.path + "/models--org--m/blobs/" + blob, content);
	pgmlr_status st;
	pgmlr_fetch_options o;
	pgmlr_fetch_options_init(&o);
	o.cache_root = d.path.c_str();
	o.endpoint = "http://127.0.0.1:9";  // never contacted: nothing is missing
	pgmlr_fetch_job *job = pgmlr_fetch_new(&o, &st);
	ASSERT_NE(job, nullptr) << st.message;
	std::string pr = "refs/pr/3";
	const char *refs[] = {pr.c_str()};
	pgmlr_hf_manifest_row r = {"model", "org/m", kRev.c_str(), refs, 1, "sub/dir/config.json", blob.c_str(), 8};
	EXPECT_TRUE(pgmlr_fetch_add_row(job, &r, &st)) << st.message;
	pgmlr_hf_manifest_row bad = r;
	bad.path = "../../../etc/passwd";
	EXPECT_FALSE(pgmlr_fetch_add_row(job, &bad, &st));
	EXPECT_EQ(st.code, PGMLR_ERR_INVALID_PARAMETER);
	EXPECT_NE(std::string(st.message).find("path"), std::string::npos);
	pgmlr_fetch_plan(job, &st);
	ASSERT_EQ(st.code, PGMLR_OK) << st.message;
	pgmlr_fetch_progress pr_out;
	EXPECT_TRUE(pgmlr_fetch_step(job, 1000, &pr_out, &st));
	EXPECT_EQ(st.code, PGMLR_OK);
	EXPECT_EQ(pr_out.files_wanted, 0);
	EXPECT_EQ(pr_out.links_created, 1);
	EXPECT_EQ(pr_out.refs_written, 1);
	EXPECT_EQ(pgmlr_fetch_queue_count(job), 0);
	pgmlr_fetch_free(job);
	std::string link = d.path + "/models--org--m/snapshots/" + kRev + "/sub/dir/config.json";
	EXPECT_EQ(fs::read_symlink(link).string(), "../../../../blobs/" + blob);
	EXPECT_EQ(read_file(link), content);
	EXPECT_EQ(read_file(d.path + "/models--org--m/refs/refs/pr/3"), kRev);
}

TEST(HfFetchJob, BadOptionsAreRefused) {
	pgmlr_status st;
	pgmlr_fetch_options o;
	pgmlr_fetch_options_init(&o);
	o.cache_root = "/tmp";
	o.endpoint = "file:///etc";
	EXPECT_EQ(pgmlr_fetch_new(&o, &st), nullptr);
	EXPECT_EQ(st.code, PGMLR_ERR_INVALID_PARAMETER);
	o.endpoint = "http://x";
	o.max_parallel = 0;
	EXPECT_EQ(pgmlr_fetch_new(&o, &st), nullptr);
	o.max_parallel = 2;
	o.cache_root = "/nonexistent/cache";
	EXPECT_EQ(pgmlr_fetch_new(&o, &st), nullptr);
	EXPECT_EQ(st.code, PGMLR_ERR_IO);
}

#include "hf_fetch/sink.hpp"

#include <fcntl.h>

TEST(HfFetchSink, WritesAndHashesEverythingInOrder) {
	TempDir d;
	std::string content;
	for (int i = 0; i < 700000; ++i) content += static_cast<char>('a' + (i * 7919LL) % 26);
	std::string p = d.path + "/out";
	int fd = open(p.c_str(), O_WRONLY | O_CREAT, 0644);
	ASSERT_GE(fd, 0);
	BlobHasher h(std::string(64, '0'), static_cast<int64_t>(content.size()));
	{
		BlockSink sink(fd, &h, 64 * 1024, 2);
		size_t off = 0, piece = 1;
		while (off < content.size()) {  // odd piece sizes, like curl's callbacks
			size_t n = std::min(piece, content.size() - off);
			ASSERT_TRUE(sink.append(content.data() + off, n));
			off += n;
			piece = piece * 3 % 16411 + 1;
		}
		ASSERT_TRUE(sink.drain());
		EXPECT_EQ(sink.written(), static_cast<int64_t>(content.size()));
	}
	close(fd);
	EXPECT_EQ(read_file(p), content);
	BlobHasher ref(std::string(64, '0'), static_cast<int64_t>(content.size()));
	ref.update(content.data(), content.size());
	EXPECT_EQ(h.hex_digest(), ref.hex_digest());
}

TEST(HfFetchSink, ReportsWriteErrors) {
	int fd = open("/dev/full", O_WRONLY);
	if (fd < 0) GTEST_SKIP() << "no /dev/full";
	BlobHasher h(std::string(64, '0'), 0);
	BlockSink sink(fd, &h, 4096, 1);
	std::string block(4096, 'x');
	bool ok = true;
	for (int i = 0; i < 10 && ok; ++i) ok = sink.append(block.data(), block.size());
	EXPECT_FALSE(sink.drain());
	EXPECT_NE(sink.error().find("could not write"), std::string::npos) << sink.error();
	close(fd);
}
