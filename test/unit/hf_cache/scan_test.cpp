#include "hf_cache_fixture.hpp"
#include "hf_cache/layout.hpp"
#include "hf_cache/scan.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <fcntl.h>
#include <map>
#include <sys/stat.h>
#include <unistd.h>

using namespace pgmlr::hf;
using hf_fixture::Cache;

namespace {

const FileRow *find_row(const Scan &s, const std::string &repo_id, const std::string &rev, const std::string &path) {
	for (const auto &f : s.files)
		if (f.repo_id == repo_id && f.revision == rev && f.path == path) return &f;
	return nullptr;
}

const RepoRow *find_repo(const Scan &s, const std::string &type, const std::string &id) {
	for (const auto &r : s.repos)
		if (r.repo_type == type && r.repo_id == id) return &r;
	return nullptr;
}

bool has_notice(const Scan &s, const std::string &part) {
	for (const auto &n : s.notices)
		if (n.find(part) != std::string::npos) return true;
	return false;
}

Scan scan_ok(const Cache &c) {
	auto r = scan_cache(c.root);
	EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
	return r.ok() ? *r : Scan{};
}

// The scan resolves most links on a fast path of its own; every link row
// must say what the component-by-component resolver says.
void expect_rows_agree_with_resolver(const Cache &c, const Scan &s) {
	int links = 0;
	for (const auto &f : s.files) {
		if (!f.revision || !f.path) continue;
		std::string folder = (f.repo_type == "model" ? "models--" : f.repo_type == "dataset" ? "datasets--" : "spaces--");
		std::string id = f.repo_id;
		for (size_t i = id.find('/'); i != std::string::npos; i = id.find('/', i + 2)) id.replace(i, 1, "--");
		std::string rel = folder + id + "/snapshots/" + *f.revision + "/" + *f.path;
		struct stat st;
		if (lstat(c.abs(rel).c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) continue;
		++links;
		Resolved r = resolve_in_cache(s.root, rel, kMaxLinks);
		SCOPED_TRACE(rel);
		switch (r.result) {
			case Resolve::ok:
				if (S_ISREG(r.st.st_mode)) {
					EXPECT_TRUE(f.status == kOk || f.status == kBadBlobName) << f.status;
					EXPECT_EQ(f.content_rel, r.rel);
					EXPECT_EQ(f.size, static_cast<int64_t>(r.st.st_size));
				} else {
					EXPECT_EQ(f.status, kNotAFile);
				}
				break;
			case Resolve::missing: EXPECT_EQ(f.status, kMissingBlob); break;
			case Resolve::broken:
			case Resolve::too_many_links: EXPECT_EQ(f.status, kBrokenSymlink); break;
			case Resolve::outside: EXPECT_EQ(f.status, kOutside); break;
			case Resolve::unreadable: EXPECT_EQ(f.status, kUnreadable); break;
		}
	}
	EXPECT_GT(links, 0);
}

EnvLookup env_of(std::map<std::string, std::string> m) {
	return [m](const char *name) -> std::optional<std::string> {
		auto it = m.find(name);
		if (it == m.end()) return std::nullopt;
		return it->second;
	};
}

}  // namespace

TEST(HfRepoFolder, ParsesTypesAndIds) {
	auto m = parse_repo_folder("models--gpt2");
	ASSERT_TRUE(m);
	EXPECT_EQ(m->type, "model");
	EXPECT_EQ(m->id, "gpt2");
	auto d = parse_repo_folder("datasets--org--name");
	ASSERT_TRUE(d);
	EXPECT_EQ(d->type, "dataset");
	EXPECT_EQ(d->id, "org/name");
	auto s = parse_repo_folder("spaces--a--b-c");
	ASSERT_TRUE(s);
	EXPECT_EQ(s->id, "a/b-c");
	EXPECT_FALSE(parse_repo_folder("kernels--org--name"));
	EXPECT_FALSE(parse_repo_folder("models--"));
	EXPECT_FALSE(parse_repo_folder("models----x"));
	EXPECT_FALSE(parse_repo_folder("blobs"));
}

TEST(HfRepoFolder, TypeComesFromThePrefixAlone) {
	EXPECT_EQ(repo_folder_type("models--org---name"), std::optional<std::string>("model"));
	EXPECT_EQ(repo_folder_type("datasets--"), std::optional<std::string>("dataset"));
	EXPECT_EQ(repo_folder_type("spaces--a--b"), std::optional<std::string>("space"));
	EXPECT_FALSE(repo_folder_type("kernels--org--name"));
	EXPECT_FALSE(repo_folder_type("model--x"));
	EXPECT_FALSE(repo_folder_type("blobs"));
}

TEST(HfCacheDir, FollowsHuggingfaceHubOrder) {
	std::map<std::string, std::string> all = {{"HF_HUB_CACHE", "/a"},
											  {"HUGGINGFACE_HUB_CACHE", "/b"},
											  {"HF_HOME", "/c"},
											  {"XDG_CACHE_HOME", "/d"},
											  {"HOME", "/e"}};
	EXPECT_EQ(default_cache_dir("/conf", env_of(all)), "/conf");
	EXPECT_EQ(default_cache_dir("", env_of(all)), "/a");
	all.erase("HF_HUB_CACHE");
	EXPECT_EQ(default_cache_dir("", env_of(all)), "/b");
	all.erase("HUGGINGFACE_HUB_CACHE");
	EXPECT_EQ(default_cache_dir("", env_of(all)), "/c/hub");
	all.erase("HF_HOME");
	EXPECT_EQ(default_cache_dir("", env_of(all)), "/d/huggingface/hub");
	all.erase("XDG_CACHE_HOME");
	EXPECT_EQ(default_cache_dir("", env_of(all)), "/e/.cache/huggingface/hub");
	EXPECT_EQ(default_cache_dir("~/hf", env_of(all)), "/e/hf");
	EXPECT_EQ(default_cache_dir("", env_of({})), "");
}

TEST(HfResolve, StaysInsideTheRoot) {
	Cache c;
	c.write("a/file", "x");
	c.symlink("a/up", "../../outside");
	c.symlink("a/abs_in", c.root + "/a/file");
	c.symlink("a/abs_out", "/etc/hostname");
	c.symlink("a/loop1", "loop2");
	c.symlink("a/loop2", "loop1");
	c.symlink("a/ok", "./file");
	EXPECT_EQ(resolve_in_cache(c.root, "a/up", 3).result, Resolve::outside);
	EXPECT_EQ(resolve_in_cache(c.root, "a/abs_out", 3).result, Resolve::outside);
	auto in = resolve_in_cache(c.root, "a/abs_in", 3);
	EXPECT_EQ(in.result, Resolve::ok);
	EXPECT_EQ(in.rel, "a/file");
	EXPECT_EQ(resolve_in_cache(c.root, "a/loop1", 3).result, Resolve::too_many_links);
	auto ok = resolve_in_cache(c.root, "a/ok", 3);
	EXPECT_EQ(ok.result, Resolve::ok);
	EXPECT_EQ(ok.first_target, "./file");
	EXPECT_EQ(resolve_in_cache(c.root, "a/none", 3).result, Resolve::missing);
	EXPECT_EQ(resolve_in_cache(c.root, "a/file/x", 3).result, Resolve::broken);
}

TEST(HfPathBelow, OnlyPathsStrictlyUnderTheRoot) {
	EXPECT_EQ(path_below("/r", "/r/a/b"), std::optional<std::string_view>("a/b"));
	EXPECT_EQ(path_below("/r/", "/r/a"), std::optional<std::string_view>("a"));
	EXPECT_EQ(path_below("/r", "/r/"), std::optional<std::string_view>(""));
	EXPECT_EQ(path_below("/", "/x"), std::optional<std::string_view>("x"));
	EXPECT_FALSE(path_below("/r", "/r"));   // the root itself is not below it
	EXPECT_FALSE(path_below("/r", "/rx/a"));  // a sibling sharing the prefix
	EXPECT_FALSE(path_below("/r", "/"));
	EXPECT_FALSE(path_below("/r", "r/a"));
	EXPECT_FALSE(path_below("/r/a", "/r"));
}

TEST(HfLexicalTarget, LeadingDotDotClimbsTheLinksOwnFolders) {
	const std::string root = "/cache/hub";
	const std::string dir = "models--a/snapshots/c";
	EXPECT_EQ(lexical_link_target(root, dir, "../../blobs/x"), "models--a/blobs/x");
	EXPECT_EQ(lexical_link_target(root, dir + "/sub", "../../../blobs/x"), "models--a/blobs/x");
	EXPECT_EQ(lexical_link_target(root, dir, ".//..//../blobs//x"), "models--a/blobs/x");
	EXPECT_EQ(lexical_link_target(root, dir, "./x"), dir + "/x");
	EXPECT_EQ(lexical_link_target(root, dir, "x"), dir + "/x");
	EXPECT_EQ(lexical_link_target(root, dir, "../../../../x"), std::nullopt);  // one above the root
	EXPECT_EQ(lexical_link_target(root, dir, "../../../x"), "x");
	EXPECT_EQ(lexical_link_target(root, "", "x"), "x");
	EXPECT_EQ(lexical_link_target(root, "", "../hub/x"), std::nullopt);
}

TEST(HfLexicalTarget, UndecidableTargetsAreLeftToTheResolver) {
	const std::string root = "/cache/hub";
	const std::string dir = "models--a/snapshots/c";
	// Above the root, however it is spelled.
	EXPECT_EQ(lexical_link_target(root, dir, "../../../../../etc/passwd"), std::nullopt);
	EXPECT_EQ(lexical_link_target(root, dir, "../../blobs/../../../../etc/passwd"), std::nullopt);
	// ".." after an ordinary component: that component may be a link.
	EXPECT_EQ(lexical_link_target(root, dir, "../../blobs/../blobs/x"), std::nullopt);
	EXPECT_EQ(lexical_link_target(root, dir, "sub/../x"), std::nullopt);
	// A target naming a folder, or nothing.
	EXPECT_EQ(lexical_link_target(root, dir, ""), std::nullopt);
	EXPECT_EQ(lexical_link_target(root, dir, "../../blobs/"), std::nullopt);
	EXPECT_EQ(lexical_link_target(root, dir, "../../blobs/."), std::nullopt);
	EXPECT_EQ(lexical_link_target(root, dir, ".."), std::nullopt);
	EXPECT_EQ(lexical_link_target(root, dir, "."), std::nullopt);
}

TEST(HfLexicalTarget, AbsoluteTargetsOnlyUnderTheRoot) {
	const std::string root = "/cache/hub";
	const std::string dir = "models--a/snapshots/c";
	EXPECT_EQ(lexical_link_target(root, dir, "/cache/hub/models--a/blobs/x"), "models--a/blobs/x");
	EXPECT_EQ(lexical_link_target(root, dir, "/cache/hub//models--a/./blobs/x"), "models--a/blobs/x");
	EXPECT_EQ(lexical_link_target(root, dir, "/etc/hostname"), std::nullopt);
	EXPECT_EQ(lexical_link_target(root, dir, "/cache/hubx/models--a/blobs/x"), std::nullopt);  // a sibling
	EXPECT_EQ(lexical_link_target(root, dir, "/cache/hub"), std::nullopt);
	EXPECT_EQ(lexical_link_target(root, dir, "/cache/hub/"), std::nullopt);
	EXPECT_EQ(lexical_link_target(root, dir, "/cache/hub/../hub/x"), std::nullopt);
	EXPECT_EQ(lexical_link_target(root, dir, "/cache/hub/models--a/../../etc"), std::nullopt);
	EXPECT_EQ(lexical_link_target(root, dir, "/cache"), std::nullopt);
}

TEST(HfRealDirs, HandsOutOnlyRealFoldersInsideTheRoot) {
	Cache c;
	c.mkdirs("a/b");
	c.write("a/file", "x");
	c.symlink("link", "a");
	c.symlink("a/out", c.base);
	int root_fd = open(c.root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
	ASSERT_GE(root_fd, 0);
	{
		RealDirs dirs(root_fd);
		EXPECT_EQ(dirs.get(""), root_fd);
		int b = dirs.get("a/b");
		ASSERT_GE(b, 0);
		struct stat via_fd, via_path;
		ASSERT_EQ(fstat(b, &via_fd), 0);
		ASSERT_EQ(lstat(c.abs("a/b").c_str(), &via_path), 0);
		EXPECT_EQ(via_fd.st_ino, via_path.st_ino);
		EXPECT_EQ(dirs.get("a/b"), b);  // remembered
		EXPECT_EQ(dirs.get("link"), -1);
		EXPECT_EQ(dirs.get("link/b"), -1);
		EXPECT_EQ(dirs.get("a/out"), -1);
		EXPECT_EQ(dirs.get("a/file"), -1);
		EXPECT_EQ(dirs.get("a/missing"), -1);
		EXPECT_EQ(dirs.get("a/.."), -1);
		EXPECT_EQ(dirs.get("a/b/../.."), -1);
		// More folders than it keeps open: still right after closing them.
		for (int i = 0; i < 100; ++i) c.mkdirs("many/" + std::to_string(i));
		for (int i = 0; i < 100; ++i) EXPECT_GE(dirs.get("many/" + std::to_string(i)), 0) << i;
		EXPECT_GE(dirs.get("a/b"), 0);
	}
	close(root_fd);
}

TEST(HfScan, HealthyCacheListsEveryFileOfEverySnapshot) {
	Cache c;
	const std::string m = "models--sentence-transformers--all-MiniLM-L6-v2";
	const std::string r1 = hf_fixture::commit("r1"), r2 = hf_fixture::commit("r2");
	std::string weights = std::string(3000, 'w') + std::string("\0\1\2", 3);
	std::string w = c.file(m, r1, "model.safetensors", weights, true);
	std::string cfg = c.file(m, r1, "config.json", "{\"a\": 1}\n", false);
	std::string pool = c.file(m, r1, "1_Pooling/config.json", "{\"pooling\": true}\n", false);
	std::string spaced = c.file(m, r1, "dir with space/naïve – ü.txt", "unicode\n", false);
	// r2 shares the weights blob and changes the config.
	c.link(m, r2, "model.safetensors", w);
	std::string cfg2 = c.file(m, r2, "config.json", "{\"a\": 2}\n", false);
	c.ref(m, "main", r2);
	c.ref(m, "v1.0", r1);
	c.ref(m, "refs/pr/1", r1);
	const std::string d = "datasets--org--data";
	const std::string r3 = hf_fixture::commit("r3");
	c.file(d, r3, "train/part-0.parquet", "parquet bytes", true);
	c.ref(d, "main", r3);
	c.write(".locks/" + m + "/" + w + ".lock", "");
	c.write("CACHEDIR.TAG", "Signature: 8a477f597d28d172789f06886806bc55\n");
	c.write(m + "/.no_exist/" + r1 + "/tokenizer.json", "");
	c.write("version.txt", "1");

	Scan s = scan_ok(c);
	EXPECT_TRUE(s.notices.empty()) << s.notices.front();
	ASSERT_EQ(s.files.size(), 7u);
	for (const auto &f : s.files) EXPECT_EQ(f.status, kOk) << *f.path;

	const FileRow *row = find_row(s, "sentence-transformers/all-MiniLM-L6-v2", r1, "model.safetensors");
	ASSERT_TRUE(row);
	EXPECT_EQ(row->repo_type, "model");
	EXPECT_EQ(*row->blob, w);
	EXPECT_EQ(row->blob->size(), 64u);
	EXPECT_EQ(row->size, static_cast<int64_t>(weights.size()));
	EXPECT_EQ(row->refs, (std::vector<std::string>{"refs/pr/1", "v1.0"}));

	row = find_row(s, "sentence-transformers/all-MiniLM-L6-v2", r1, "1_Pooling/config.json");
	ASSERT_TRUE(row);
	EXPECT_EQ(*row->blob, pool);
	EXPECT_EQ(row->blob->size(), 40u);
	row = find_row(s, "sentence-transformers/all-MiniLM-L6-v2", r1, "dir with space/naïve – ü.txt");
	ASSERT_TRUE(row);
	EXPECT_EQ(*row->blob, spaced);
	row = find_row(s, "sentence-transformers/all-MiniLM-L6-v2", r2, "config.json");
	ASSERT_TRUE(row);
	EXPECT_EQ(*row->blob, cfg2);
	EXPECT_EQ(row->refs, std::vector<std::string>{"main"});
	ASSERT_TRUE(find_row(s, "org/data", r3, "train/part-0.parquet"));

	const RepoRow *repo = find_repo(s, "model", "sentence-transformers/all-MiniLM-L6-v2");
	ASSERT_TRUE(repo);
	EXPECT_EQ(repo->revisions, 2);
	EXPECT_EQ(repo->files, 5);  // weights counted once
	EXPECT_EQ(repo->size_on_disk, static_cast<int64_t>(weights.size() + 9 + 18 + 8 + 9));
	EXPECT_EQ(repo->refs, (std::vector<std::string>{"main", "refs/pr/1", "v1.0"}));
	EXPECT_TRUE(repo->last_modified.has_value());
	ASSERT_EQ(s.repos.size(), 2u);
	expect_rows_agree_with_resolver(c, s);
	(void) cfg;
}

TEST(HfScan, DamagedCacheGivesStatusesAndNotices) {
	Cache c;
	const std::string m = "models--gpt2";
	const std::string r = hf_fixture::commit("gpt2");
	std::string good = c.file(m, r, "good.txt", "good\n", false);
	// missing blob: link is fine, blob deleted (rsync of links only).
	std::string gone = c.file(m, r, "gone.bin", "gone", true);
	::unlink(c.abs(m + "/blobs/" + gone).c_str());
	// broken: the link names a folder that does not exist.
	c.symlink(m + "/snapshots/" + r + "/broken.txt", "../../nowhere/" + good);
	// no-symlink mode: a real file in the snapshot.
	c.write(m + "/snapshots/" + r + "/real.txt", "real content");
	// out of the cache, relative and absolute.
	c.write("../outside.txt", "secret");
	c.symlink(m + "/snapshots/" + r + "/escape.txt", "../../../../outside.txt");
	c.symlink(m + "/snapshots/" + r + "/abs.txt", c.base + "/outside.txt");
	// a link to something that is not a checksum-named blob
	c.write(m + "/blobs/notahash", "x");
	c.symlink(m + "/snapshots/" + r + "/odd.txt", "../../blobs/notahash");
	// a link to a folder
	c.symlink(m + "/snapshots/" + r + "/dirlink", "../../blobs");
	// stray downloads, 0.27 and 1.x names
	const std::string part = std::string(64, 'a');
	c.write(m + "/blobs/" + part + ".incomplete", "half");
	c.write(m + "/blobs/" + std::string(64, 'b') + ".0a1b2c3d.incomplete", "hal");
	// refs: good, to a missing snapshot, with a newline, garbage
	c.ref(m, "main", r);
	c.ref(m, "old", hf_fixture::commit("gone"));
	c.write(m + "/refs/nl", r + "\n");
	c.write(m + "/refs/junk", "not a commit");
	// unknown repo type, and a snapshot folder that is not a commit
	c.mkdirs("kernels--org--k/snapshots");
	c.mkdirs(m + "/snapshots/not-a-commit");

	Scan s = scan_ok(c);
	auto status = [&](const std::string &path) {
		const FileRow *f = find_row(s, "gpt2", r, path);
		return f ? f->status : std::string("<no row>");
	};
	EXPECT_EQ(status("good.txt"), kOk);
	EXPECT_EQ(status("gone.bin"), kMissingBlob);
	EXPECT_EQ(*find_row(s, "gpt2", r, "gone.bin")->blob, gone);
	EXPECT_EQ(status("broken.txt"), kBrokenSymlink);
	EXPECT_EQ(status("real.txt"), kNotASymlink);
	EXPECT_EQ(find_row(s, "gpt2", r, "real.txt")->size, 12);
	EXPECT_FALSE(find_row(s, "gpt2", r, "real.txt")->blob.has_value());
	EXPECT_EQ(status("escape.txt"), kOutside);
	EXPECT_EQ(status("abs.txt"), kOutside);
	EXPECT_EQ(find_row(s, "gpt2", r, "escape.txt")->content_rel, "");
	EXPECT_EQ(status("odd.txt"), kBadBlobName);
	EXPECT_EQ(status("dirlink"), kNotAFile);
	EXPECT_EQ(find_row(s, "gpt2", r, "good.txt")->refs, std::vector<std::string>{"main"});

	int incomplete = 0;
	for (const auto &f : s.files) {
		if (f.status != kIncomplete) continue;
		++incomplete;
		EXPECT_FALSE(f.revision.has_value());
		EXPECT_FALSE(f.path.has_value());
		EXPECT_TRUE(*f.blob == part || *f.blob == std::string(64, 'b')) << *f.blob;
		EXPECT_EQ(f.size, *f.blob == part ? 4 : 3);
	}
	EXPECT_EQ(incomplete, 2);

	EXPECT_TRUE(has_notice(s, "ref \"old\" of model gpt2 points to commit " + hf_fixture::commit("gone")));
	EXPECT_TRUE(has_notice(s, "ref \"nl\" of model gpt2: it ends with a newline"));
	EXPECT_TRUE(has_notice(s, "ref \"junk\" of model gpt2: it does not hold a 40-hex commit"));
	EXPECT_TRUE(has_notice(s, "kernels--org--k"));
	EXPECT_TRUE(has_notice(s, "not-a-commit"));
	ASSERT_EQ(s.repos.size(), 1u);
	EXPECT_EQ(s.repos[0].refs, std::vector<std::string>{"main"});
	expect_rows_agree_with_resolver(c, s);
}

TEST(HfScan, CrossRepoBlobStoreOfHubOneX) {
	Cache c;
	const std::string m = "models--org--xet";
	const std::string r = hf_fixture::commit("xet");
	std::string content(5000, 'z');
	std::string sha = hf_fixture::sha256(content);
	c.write("blobs/ab/abcdef0123", content);
	c.symlink(m + "/blobs/" + sha, "../../blobs/ab/abcdef0123");
	c.link(m, r, "model.safetensors", sha);
	c.ref(m, "main", r);
	// A repo blob link from the store that leaves the cache.
	c.write("../elsewhere", "x");
	c.symlink(m + "/blobs/" + std::string(64, 'e'), "../../../elsewhere");
	c.link(m, r, "leak.bin", std::string(64, 'e'));

	Scan s = scan_ok(c);
	const FileRow *f = find_row(s, "org/xet", r, "model.safetensors");
	ASSERT_TRUE(f);
	EXPECT_EQ(f->status, kOk);
	EXPECT_EQ(*f->blob, sha);
	EXPECT_EQ(f->size, 5000);
	EXPECT_EQ(f->content_rel, "blobs/ab/abcdef0123");
	EXPECT_EQ(find_row(s, "org/xet", r, "leak.bin")->status, kOutside);
	EXPECT_EQ(s.repos.size(), 1u);  // the top-level blobs/ is no repo
	expect_rows_agree_with_resolver(c, s);
}

TEST(HfScan, LinkTargetsThroughLinkedFoldersAreResolvedOnDisk) {
	Cache c;
	const std::string m = "models--org--twisty";
	const std::string r = hf_fixture::commit("twisty");
	// "sub" is a link, so "sub/.." is m/x, not m: only the disk knows.
	std::string physical = "physical";
	std::string name = hf_fixture::git_sha1(physical);
	c.write(m + "/x/y/.keep", "");
	c.write(m + "/x/blobs/" + name, physical);
	c.write(m + "/blobs/" + name, "lexical, and longer");
	c.symlink(m + "/sub", "x/y");
	c.symlink(m + "/snapshots/" + r + "/a.txt", "../../sub/../blobs/" + name);
	// An absolute target under the root, and one that climbs out after it.
	c.symlink(m + "/snapshots/" + r + "/abs.txt", c.root + "/" + m + "/blobs/" + name);
	c.symlink(m + "/snapshots/" + r + "/abs_up.txt", c.root + "/" + m + "/../../outside.txt");
	c.write("../outside.txt", "secret");
	// The repo blob link chain is longer than kMaxLinks allows.
	c.symlink(m + "/blobs/" + std::string(40, '1'), std::string(40, '2'));
	c.symlink(m + "/blobs/" + std::string(40, '2'), std::string(40, '3'));
	c.symlink(m + "/blobs/" + std::string(40, '3'), name);
	c.link(m, r, "chain.txt", std::string(40, '1'));

	Scan s = scan_ok(c);
	const FileRow *a = find_row(s, "org/twisty", r, "a.txt");
	ASSERT_TRUE(a);
	EXPECT_EQ(a->status, kOk);
	EXPECT_EQ(a->content_rel, m + "/x/blobs/" + name);
	EXPECT_EQ(a->size, static_cast<int64_t>(physical.size()));
	const FileRow *abs = find_row(s, "org/twisty", r, "abs.txt");
	ASSERT_TRUE(abs);
	EXPECT_EQ(abs->status, kOk);
	EXPECT_EQ(abs->content_rel, m + "/blobs/" + name);
	EXPECT_EQ(find_row(s, "org/twisty", r, "abs_up.txt")->status, kOutside);
	EXPECT_EQ(find_row(s, "org/twisty", r, "chain.txt")->status, kBrokenSymlink);
	expect_rows_agree_with_resolver(c, s);
}

TEST(HfScan, LinkedSnapshotsFolderIsResolvedOnDisk) {
	Cache c;
	const std::string m = "models--org--moved";
	const std::string r = hf_fixture::commit("moved");
	// snapshots -> ../elsewhere/snaps: from a snapshot, ../../blobs is
	// elsewhere/blobs on disk, though m/blobs when read as text.
	std::string content = "the real one";
	std::string name = hf_fixture::git_sha1(content);
	c.write("elsewhere/blobs/" + name, content);
	c.write(m + "/blobs/" + name, "a decoy");
	c.mkdirs(m);
	c.symlink(m + "/snapshots", "../elsewhere/snaps");
	c.symlink("elsewhere/snaps/" + r + "/f.txt", "../../blobs/" + name);
	Scan s = scan_ok(c);
	const FileRow *f = find_row(s, "org/moved", r, "f.txt");
	ASSERT_TRUE(f);
	// (Its blob name is taken from the first link followed, the snapshots
	// folder's, so the status says bad_blob_name; only the content is pinned.)
	EXPECT_EQ(f->content_rel, "elsewhere/blobs/" + name);
	EXPECT_EQ(f->size, static_cast<int64_t>(content.size()));
	expect_rows_agree_with_resolver(c, s);
}

TEST(HfScan, SymlinkedRepoBlobsFolderIsNotFollowedOut) {
	Cache c;
	const std::string m = "models--org--sneaky";
	const std::string r = hf_fixture::commit("sneaky");
	std::string content = "secret";
	std::string name = hf_fixture::git_sha1(content);
	c.write("../store/" + name, content);
	c.mkdirs(m);
	c.symlink(m + "/blobs", c.base + "/store");
	c.link(m, r, "a.txt", name);
	Scan s = scan_ok(c);
	ASSERT_EQ(s.files.size(), 1u);
	EXPECT_EQ(s.files[0].status, kOutside);
}

// Enough repo folders for the scan to split them over two threads: the
// result must be what one pass in folder order gives.
TEST(HfScan, ManyReposComeOutInFolderOrderWithNoticesInOrder) {
	Cache c;
	std::vector<std::string> ids;
	for (int i = 0; i < 40; ++i) {
		char id[16];
		std::snprintf(id, sizeof id, "m%02d", i);
		ids.push_back(std::string("org/") + id);
		const std::string folder = std::string("models--org--") + id, rev = hf_fixture::commit(id);
		c.file(folder, rev, "a.json", std::string("a of ") + id, false);
		c.file(folder, rev, "b.bin", std::string("b of ") + id, true);
		c.ref(folder, "main", rev);
		// 30 folders a notice each (an unknown type), spread through the listing
		if (i % 4 != 3) c.mkdirs(std::string("models--org--") + id + "-x/snapshots/not-a-commit");
	}
	Scan s = scan_ok(c);
	ASSERT_EQ(s.files.size(), 80u);
	ASSERT_EQ(s.repos.size(), 70u);  // 40 repos + 30 without a valid snapshot
	std::vector<std::string> seen;
	for (const auto &f : s.files)
		if (seen.empty() || seen.back() != f.repo_id) seen.push_back(f.repo_id);
	EXPECT_EQ(seen, ids) << "rows must follow the folder order, each repo once";
	for (size_t i = 1; i < s.repos.size(); ++i) EXPECT_LT(s.repos[i - 1].repo_id, s.repos[i].repo_id);
	std::vector<std::string> skipped;
	for (const auto &n : s.notices)
		if (n.find("skipped snapshot") != std::string::npos) skipped.push_back(n);
	ASSERT_EQ(skipped.size(), 30u);
	EXPECT_TRUE(std::is_sorted(skipped.begin(), skipped.end())) << "notices must follow the folder order";

	// Past the limit, the first notices in folder order are shown and the rest counted.
	for (int i = 0; i < 40; ++i) c.mkdirs("models--org--z" + std::to_string(100 + i) + "/snapshots/bad");
	Scan many = scan_ok(c);
	ASSERT_EQ(many.notices.size(), kMaxNotices + 1);
	EXPECT_EQ(std::vector<std::string>(many.notices.begin(), many.notices.begin() + 30), skipped);
	for (int i = 0; i < 20; ++i)
		EXPECT_EQ(many.notices[30 + i], "skipped snapshot \"bad\" of model org/z" + std::to_string(100 + i) +
											": not a 40-hex commit");
	EXPECT_EQ(many.notices.back(), "20 more notices about the cache were not shown");
}

TEST(HfScan, MissingFolderIsEmptyWithNotice) {
	Cache c;
	auto r = scan_cache(c.root + "/nope");
	ASSERT_TRUE(r.ok());
	EXPECT_FALSE(r->found);
	EXPECT_TRUE(r->files.empty());
	ASSERT_EQ(r->notices.size(), 1u);
	EXPECT_NE(r->notices[0].find("does not exist"), std::string::npos);
}

TEST(HfScan, BadFolderArgumentsAreErrors) {
	Cache c;
	auto rel = scan_cache("relative/hub");
	ASSERT_FALSE(rel.ok());
	EXPECT_EQ(rel.error().code, pgmlr::ErrCode::InvalidParameter);
	EXPECT_FALSE(rel.error().hint.empty());
	c.write("file", "x");
	auto file = scan_cache(c.abs("file"));
	ASSERT_FALSE(file.ok());
	EXPECT_EQ(file.error().code, pgmlr::ErrCode::InvalidParameter);
}

TEST(HfScan, UnreadableFolderIsAnErrorWithHint) {
	if (geteuid() == 0) GTEST_SKIP() << "root reads every folder";
	Cache c;
	chmod(c.root.c_str(), 0);
	auto r = scan_cache(c.root);
	chmod(c.root.c_str(), 0755);
	ASSERT_FALSE(r.ok());
	EXPECT_EQ(r.error().code, pgmlr::ErrCode::Permission);
	EXPECT_FALSE(r.error().hint.empty());
}

TEST(HfScan, TooManyNoticesAreSummarized) {
	Cache c;
	for (int i = 0; i < 60; ++i) c.mkdirs("kernels--x--" + std::to_string(i));
	Scan s = scan_ok(c);
	ASSERT_EQ(s.notices.size(), kMaxNotices + 1);
	EXPECT_NE(s.notices.back().find("10 more notices"), std::string::npos);
}
