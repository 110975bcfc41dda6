#include "hf_cache_fixture.hpp"
#include "hf_cache/manifest.hpp"
#include "pgml_repl/hf_cache.h"

#include <gtest/gtest.h>

using namespace pgmlr::hf;

namespace {

ManifestRow row(const std::string &path, const std::string &blob, int64_t size,
				std::vector<std::string> refs = {"main"}) {
	return ManifestRow{"model", "org/m", std::string(40, '1'), std::move(refs), path, blob, size};
}

// A healthy scan row of config.json.
FileRow ok_file(const std::string &repo_id) {
	FileRow f;
	f.repo_type = "model";
	f.repo_id = repo_id;
	f.revision = std::string(40, 'a');
	f.path = "config.json";
	f.blob = std::string(40, 'b');
	f.size = 10;
	f.status = kOk;
	return f;
}

}  // namespace

TEST(HfManifestDiff, EmptyTableGetsEveryRow) {
	auto d = diff_manifest({}, {row("a", "x", 1), row("b", "y", 2)});
	EXPECT_EQ(d.inserts.size(), 2u);
	EXPECT_TRUE(d.updates.empty());
	EXPECT_TRUE(d.deletes.empty());
	EXPECT_EQ(d.unchanged, 0u);
}

TEST(HfManifestDiff, UnchangedCacheChangesNothing) {
	std::vector<ManifestRow> rows = {row("a", "x", 1, {"v1", "main"}), row("b", "y", 2)};
	std::vector<ManifestRow> same = {row("b", "y", 2), row("a", "x", 1, {"main", "v1"})};
	auto d = diff_manifest(rows, same);
	EXPECT_TRUE(d.inserts.empty());
	EXPECT_TRUE(d.updates.empty());
	EXPECT_TRUE(d.deletes.empty());
	EXPECT_EQ(d.unchanged, 2u);
}

TEST(HfManifestDiff, ChangesAreMinimal) {
	std::vector<ManifestRow> published = {row("a", "x", 1), row("b", "y", 2), row("c", "z", 3), row("d", "w", 4)};
	std::vector<ManifestRow> wanted = {row("a", "x", 1), row("b", "y2", 2), row("c", "z", 3, {}), row("e", "v", 5)};
	auto d = diff_manifest(published, wanted);
	ASSERT_EQ(d.updates.size(), 2u);
	EXPECT_EQ(d.updates[0].path, "b");
	EXPECT_EQ(d.updates[0].blob, "y2");
	EXPECT_EQ(d.updates[1].path, "c");
	ASSERT_EQ(d.deletes.size(), 1u);
	EXPECT_EQ(d.deletes[0].path, "d");
	ASSERT_EQ(d.inserts.size(), 1u);
	EXPECT_EQ(d.inserts[0].path, "e");
	EXPECT_EQ(d.unchanged, 1u);
}

TEST(HfManifestDiff, KeyIncludesTypeRepoAndRevision) {
	ManifestRow other_rev = row("a", "x", 1);
	other_rev.revision = std::string(40, '2');
	ManifestRow other_type = row("a", "x", 1);
	other_type.repo_type = "dataset";
	auto d = diff_manifest({row("a", "x", 1)}, {other_rev, other_type});
	EXPECT_EQ(d.inserts.size(), 2u);
	EXPECT_EQ(d.deletes.size(), 1u);
}

TEST(HfManifestHealthy, OnlyOkRowsArePublished) {
	Scan s;
	FileRow ok = ok_file("gpt2");
	s.files.push_back(ok);
	for (const char *bad : {kBrokenSymlink, kMissingBlob, kNotASymlink, kIncomplete, kOutside, kCorrupt}) {
		FileRow f = ok;
		f.status = bad;
		s.files.push_back(f);
	}
	size_t unhealthy = 0;
	std::vector<RefusedEntry> refused;
	auto rows = healthy_rows(s, &unhealthy, &refused);
	ASSERT_EQ(rows.size(), 1u);
	EXPECT_EQ(rows[0].path, "config.json");
	EXPECT_EQ(unhealthy, 6u);
	EXPECT_TRUE(refused.empty());
}

// Rows (and folders) whose names break the Hub's rules are refused with a
// reason naming the column, whatever the scan's status says.
TEST(HfManifestHealthy, RowsBreakingTheRulesAreRefusedWithTheirReason) {
	Scan s;
	FileRow ok = ok_file("org/m");
	FileRow bad_path = ok;
	bad_path.path = "a\\b.txt";
	bad_path.status = kInvalidName;
	FileRow bad_ref = ok;
	bad_ref.path = "x.txt";
	bad_ref.refs = {"main", "a..b"};
	FileRow bad_id = ok;
	bad_id.repo_id = "orgbars-/m1";  // a scan never makes one; publishing refuses it anyway
	s.files = {ok, bad_path, bad_ref, bad_id};
	s.refused_folders.push_back(RefusedFolder{"models--orgaa---dstet_1.0", "model", "repo id ..."});
	size_t unhealthy = 0;
	std::vector<RefusedEntry> refused;
	auto rows = healthy_rows(s, &unhealthy, &refused);
	ASSERT_EQ(rows.size(), 1u);
	EXPECT_EQ(unhealthy, 0u);
	ASSERT_EQ(refused.size(), 4u);
	EXPECT_TRUE(refused[0].folder);
	EXPECT_EQ(refused[0].row.repo_id, "models--orgaa---dstet_1.0");
	EXPECT_EQ(refused[0].reason, "not a valid repo folder name: repo id ...");
	EXPECT_EQ(refused[1].reason, "path contains a backslash");
	EXPECT_EQ(refused[2].reason, "ref contains \"..\" or \"@{\" (\"a..b\")");
	EXPECT_EQ(refused[3].reason, "repo_id has a namespace or name that starts or ends with \"-\" or \".\"");
	EXPECT_FALSE(manifest_row_problem(rows[0]));
}

// check()'s numbers keep the semantics of the SQL EXCEPT they replace: a
// file is its place and blob (refs aside), every ok scan row counts.
TEST(HfManifestCompare, CountsAsTheSqlExceptDid) {
	Scan s;
	FileRow same = ok_file("org/m");
	same.revision = std::string(40, '1');
	same.blob = "b1";
	FileRow other_blob = same;  // same place, other content: on both sides
	other_blob.path = "w.bin";
	other_blob.blob = "b2";
	FileRow only_cache = same;
	only_cache.path = "new.txt";
	FileRow stray = same;  // ok without a revision: counted, never matched
	stray.revision.reset();
	stray.path.reset();
	FileRow twice = only_cache;  // equal files count once in a difference
	FileRow broken = same;
	broken.status = kBrokenSymlink;
	FileRow invalid = same;
	invalid.status = kInvalidName;
	s.files = {same, other_blob, only_cache, stray, twice, broken, invalid};
	std::vector<ManifestRow> table = {row("config.json", "b1", 10, {"other"}), row("w.bin", "b1", 10),
									  row("gone.txt", "b3", 1)};
	CacheComparison c = compare_with_cache(table, s);
	EXPECT_EQ(c.manifest_files, 3u);
	EXPECT_EQ(c.cache_files, 5u);
	EXPECT_EQ(c.manifest_not_in_cache, 2u);  // w.bin (other blob), gone.txt
	EXPECT_EQ(c.cache_not_in_manifest, 3u);  // w.bin, new.txt, the stray
	EXPECT_EQ(c.cache_invalid_names, 1u);
}

TEST(HfManifestApi, DiffCountsThroughTheCBoundary) {
	hf_fixture::Cache c;
	const std::string m = "models--gpt2";
	const std::string r = hf_fixture::commit("counts");
	std::string a = c.file(m, r, "a.txt", "a", false);
	c.file(m, r, "b.txt", "b", false);
	pgmlr_status st;
	pgmlr_hf_scan *scan = pgmlr_hf_scan_cache(c.root.c_str(), &st);
	ASSERT_EQ(st.code, PGMLR_OK);
	const char *refs[] = {"main"};
	pgmlr_hf_manifest_row rows[] = {{"model", "gpt2", r.c_str(), refs, 1, "a.txt", a.c_str(), 1},
									{"model", "gpt2", r.c_str(), nullptr, 0, "old.txt", a.c_str(), 1}};
	pgmlr_hf_diff_counts_out out;
	pgmlr_hf_diff_counts(rows, 2, scan, &out, &st);
	ASSERT_EQ(st.code, PGMLR_OK) << st.message;
	EXPECT_EQ(out.manifest_files, 2);
	EXPECT_EQ(out.cache_files, 2);
	EXPECT_EQ(out.manifest_not_in_cache, 1);
	EXPECT_EQ(out.cache_not_in_manifest, 1);
	EXPECT_EQ(out.cache_invalid_names, 0);
	pgmlr_hf_scan_free(scan);
}

TEST(HfManifestApi, DiffThroughTheCBoundary) {
	hf_fixture::Cache c;
	const std::string m = "models--gpt2";
	const std::string r = hf_fixture::commit("api");
	std::string a = c.file(m, r, "a.txt", "a", false);
	std::string b = c.file(m, r, "b.txt", "b", false);
	c.ref(m, "main", r);
	pgmlr_status st;
	pgmlr_hf_scan *scan = pgmlr_hf_scan_cache(c.root.c_str(), &st);
	ASSERT_EQ(st.code, PGMLR_OK);
	pgmlr_hf_diff *diff = pgmlr_hf_diff_new(&st);
	const char *refs[] = {"main"};
	pgmlr_hf_manifest_row same = {"model", "gpt2", r.c_str(), refs, 1, "a.txt", a.c_str(), 1};
	pgmlr_hf_manifest_row stale = {"model", "gpt2", r.c_str(), refs, 1, "old.txt", a.c_str(), 1};
	pgmlr_hf_diff_add_published(diff, &same, &st);
	pgmlr_hf_diff_add_published(diff, &stale, &st);
	pgmlr_hf_diff_compute(diff, scan, &st);
	ASSERT_EQ(st.code, PGMLR_OK);
	EXPECT_EQ(pgmlr_hf_diff_unchanged(diff), 1u);
	ASSERT_EQ(pgmlr_hf_diff_count(diff, PGMLR_HF_INSERT), 1u);
	const pgmlr_hf_manifest_row *ins = pgmlr_hf_diff_row(diff, PGMLR_HF_INSERT, 0);
	EXPECT_STREQ(ins->path, "b.txt");
	EXPECT_STREQ(ins->blob, b.c_str());
	ASSERT_EQ(ins->nrefs, 1);
	EXPECT_STREQ(ins->refs[0], "main");
	ASSERT_EQ(pgmlr_hf_diff_count(diff, PGMLR_HF_DELETE), 1u);
	EXPECT_STREQ(pgmlr_hf_diff_row(diff, PGMLR_HF_DELETE, 0)->path, "old.txt");
	EXPECT_EQ(pgmlr_hf_diff_count(diff, PGMLR_HF_UPDATE), 0u);
	pgmlr_hf_diff_free(diff);
	pgmlr_hf_scan_free(scan);
}

// A cache holding a misread-prone folder and a file no Hub repo can hold:
// the scan marks them, the diff refuses them with reasons, nothing of them
// is inserted.
TEST(HfManifestApi, RefusalsThroughTheCBoundary) {
	hf_fixture::Cache c;
	const std::string r = hf_fixture::commit("refusals");
	c.file("models--gpt2", r, "config.json", "{}", false);
	c.file("models--gpt2", r, ".git/config", "[core]", false);
	c.file("models--orgaa---dstet_1.0", r, "x.txt", "x", false);
	pgmlr_status st;
	pgmlr_hf_scan *scan = pgmlr_hf_scan_cache(c.root.c_str(), &st);
	ASSERT_EQ(st.code, PGMLR_OK);
	bool invalid_row = false;
	for (size_t i = 0; i < pgmlr_hf_scan_file_count(scan); ++i) {
		const pgmlr_hf_file_row *f = pgmlr_hf_scan_file(scan, i);
		EXPECT_STRNE(f->repo_id, "orgaa/-dstet_1.0") << "the folder was misread";
		if (std::string(f->path ? f->path : "") == ".git/config") {
			EXPECT_STREQ(f->status, "invalid_name");
			invalid_row = true;
		}
	}
	EXPECT_TRUE(invalid_row);
	pgmlr_hf_diff *diff = pgmlr_hf_diff_new(&st);
	pgmlr_hf_diff_compute(diff, scan, &st);
	ASSERT_EQ(st.code, PGMLR_OK);
	ASSERT_EQ(pgmlr_hf_diff_count(diff, PGMLR_HF_INSERT), 1u);
	EXPECT_STREQ(pgmlr_hf_diff_row(diff, PGMLR_HF_INSERT, 0)->path, "config.json");
	ASSERT_EQ(pgmlr_hf_diff_refused_count(diff), 2u);
	pgmlr_hf_refused_entry e;
	ASSERT_TRUE(pgmlr_hf_diff_refused(diff, 0, &e));
	EXPECT_TRUE(e.folder);
	EXPECT_STREQ(e.repo_id, "models--orgaa---dstet_1.0");
	EXPECT_EQ(e.path, nullptr);
	ASSERT_TRUE(pgmlr_hf_diff_refused(diff, 1, &e));
	EXPECT_FALSE(e.folder);
	EXPECT_STREQ(e.repo_id, "gpt2");
	EXPECT_STREQ(e.path, ".git/config");
	EXPECT_STREQ(e.reason, "path has a \".git\" segment, which no git repository holds");
	EXPECT_FALSE(pgmlr_hf_diff_refused(diff, 2, &e));
	pgmlr_hf_diff_free(diff);
	pgmlr_hf_scan_free(scan);
}

TEST(HfManifestApi, NameProblemsForTheCheckConstraints) {
	pgmlr_status st;
	EXPECT_EQ(pgmlr_hf_name_problem(PGMLR_HF_REPO_ID, "org/name", &st), nullptr);
	EXPECT_EQ(st.code, PGMLR_OK);
	char *p = pgmlr_hf_name_problem(PGMLR_HF_REPO_ID, "orgbars/m5--x", &st);
	ASSERT_NE(p, nullptr);
	EXPECT_STREQ(p, "repo_id contains \"--\" or \"..\"");
	pgmlr_free(p);
	p = pgmlr_hf_name_problem(PGMLR_HF_REF, "refs/pr/1", &st);
	EXPECT_EQ(p, nullptr);
	p = pgmlr_hf_name_problem(PGMLR_HF_PATH, "../x", &st);
	ASSERT_NE(p, nullptr);
	pgmlr_free(p);
	// An unknown kind (7: inside the enum's range of values, so UBSan agrees
	// it is a value of the type) is an internal error, not "no problem".
	p = pgmlr_hf_name_problem(static_cast<pgmlr_hf_name_kind>(7), "x", &st);
	EXPECT_EQ(p, nullptr);
	EXPECT_EQ(st.code, PGMLR_ERR_INTERNAL);
}
