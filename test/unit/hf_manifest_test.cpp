#include "hf_cache_fixture.hpp"
#include "hf_manifest.hpp"
#include "pgml_repl_core.h"

#include <gtest/gtest.h>

using namespace pgmlr::hf;

namespace {

ManifestRow row(const std::string &path, const std::string &blob, int64_t size,
				std::vector<std::string> refs = {"main"}) {
	return ManifestRow{"model", "org/m", std::string(40, '1'), std::move(refs), path, blob, size};
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
	FileRow ok;
	ok.repo_type = "model";
	ok.repo_id = "gpt2";
	ok.revision = std::string(40, 'a');
	ok.path = "config.json";
	ok.blob = std::string(40, 'b');
	ok.size = 10;
	ok.status = kOk;
	s.files.push_back(ok);
	for (const char *bad : {kBrokenSymlink, kMissingBlob, kNotASymlink, kIncomplete, kOutside, kCorrupt}) {
		FileRow f = ok;
		f.status = bad;
		s.files.push_back(f);
	}
	size_t unhealthy = 0;
	auto rows = healthy_rows(s, &unhealthy);
	ASSERT_EQ(rows.size(), 1u);
	EXPECT_EQ(rows[0].path, "config.json");
	EXPECT_EQ(unhealthy, 6u);
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
