// The pure half of a declared model's resolution (hf_fetch/model_listing.hpp):
// huggingface_hub's pattern rules checked against Python's own fnmatchcase,
// trees/<commit>.json checked byte for byte against Python's json.dump, and
// the Hub's answers refused when an entry breaks the Hub's rules.
#include "hf_fetch/model_listing.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

using namespace pgmlr::hf_fetch;

namespace {

// Generated once with Python 3.11 (Debian's /usr/bin/python3 3.11.2 gives the same):
//   from fnmatch import fnmatchcase
//   bits = "".join("1" if fnmatchcase(n, p) else "0" for n in names)
const std::vector<std::string> kNames = {
	"config.json",
	"data/sub/x.json",
	"data/x.json",
	"a.txt",
	"d.txt",
	"b.txt",
	"é.txt",
	"éa.txt",
	"ü.txt",
	"x",
	"",
	"[",
	"a[",
	"]",
	"^",
	"a",
	"-",
	"b",
	"c",
	"d",
	"e",
	"\\",
	"ab",
	"axxbyyc",
	"ab/cb",
	"*",
	"?",
	"ab[",
	"&",
	"/",
	"x/y",
	"xay",
	"ïx",
	"é/x",
	"😁",
	"🙐",
	"1_Pooling/config.json",
	"model.bin",
	"a/b.bin"};
// pattern, then for each of kNames whether fnmatchcase(name, pattern) is True
const std::vector<std::pair<std::string, std::string>> kPatterns = {
	{"*.json", "111000000000000000000000000000000000100"},
	{"data/*.json", "011000000000000000000000000000000000000"},
	{"?.txt", "000111101000000000000000000000000000000"},
	{"[abc].txt", "000101000000000000000000000000000000000"},
	{"[!abc].txt", "000010101000000000000000000000000000000"},
	{"[a-c].txt", "000101000000000000000000000000000000000"},
	{"[z-a].txt", "000000000000000000000000000000000000000"},
	{"[!z-a].txt", "000111101000000000000000000000000000000"},
	{"[", "000000000001000000000000000000000000000"},
	{"[abc", "000000000000000000000000000000000000000"},
	{"a[", "000000000000100000000000000000000000000"},
	{"[]]", "000000000000010000000000000000000000000"},
	{"[!]]", "000000000101001111111100011011000011000"},
	{"[!]", "000000000000000000000000000000000000000"},
	{"[-a]", "000000000000000110000000000000000000000"},
	{"[a-]", "000000000000000110000000000000000000000"},
	{"[a-c-e]", "000000000000000111101000000000000000000"},
	{"[\\x]", "000000000100000000000100000000000000000"},
	{"é?.txt", "000000010000000000000000000000000000000"},
	{"?.txt", "000111101000000000000000000000000000000"},
	{"[à-ü]x", "000000000000000000000000000000001000000"},
	{"*", "111111111111111111111111111111111111111"},
	{"**", "111111111111111111111111111111111111111"},
	{"a*b*c", "000000000000000000000001000000000000000"},
	{"a*b", "000000000000000000000010100000000000000"},
	{"[^a]", "000000000000001100000000000000000000000"},
	{"[&~|]", "000000000000000000000000000010000000000"},
	{"[*]", "000000000000000000000000010000000000000"},
	{"[?]", "000000000000000000000000001000000000000"},
	{"*[", "000000000001100000000000000100000000000"},
	{"[a-b-c]", "000000000000000111100000000000000000000"},
	{"[!-a]", "000000000101011001111100011011000011000"},
	{"[a--]", "000000000000000000000000000000000000000"},
	{"[--/]", "000000000000000010000000000001000000000"},
	{"*/*.bin", "000000000000000000000000000000000000001"},
	{"x[!/]y", "000000000000000000000000000000010000000"},
	{"[]-a]", "000000000000011100000000000000000000000"},
	{"[!a-c-e]", "000000000101011000010100011011000011000"},
	{"é*", "000000110000000000000000000000000100000"},
	{"[😀-🙏]", "000000000000000000000000000000000010000"},
};

const std::string kA40(40, 'a');
const std::string kB40(40, 'b');
const std::string kC64(64, 'c');

TreeFile file(std::string path, int64_t size, std::string blob_id, std::string lfs = {}, std::string xet = {}) {
	TreeFile f;
	f.path = std::move(path);
	f.size = size;
	f.blob_id = std::move(blob_id);
	if (!lfs.empty()) {
		f.lfs = true;
		f.lfs_sha256 = std::move(lfs);
		f.lfs_size = size;
	}
	f.xet_hash = std::move(xet);
	return f;
}

std::optional<std::vector<std::string>> list(std::vector<std::string> v) { return v; }

}  // namespace

TEST(ModelListing, FnmatchMatchesPythonFnmatchcase) {
	for (const auto &[pattern, bits] : kPatterns) {
		ASSERT_EQ(bits.size(), kNames.size()) << pattern;
		for (size_t i = 0; i < kNames.size(); ++i)
			EXPECT_EQ(fnmatch_case(kNames[i], pattern), bits[i] == '1')
				<< "pattern \"" << pattern << "\" name \"" << kNames[i] << "\"";
	}
}

TEST(ModelListing, PatternsFollowFilterRepoObjects) {
	const std::nullopt_t all = std::nullopt;
	EXPECT_TRUE(pattern_keeps("a/b.bin", all, all));                 // allow NULL: every file
	EXPECT_FALSE(pattern_keeps("a/b.bin", list({}), all));           // allow empty: none
	EXPECT_TRUE(pattern_keeps("a/b.bin", all, list({})));            // ignore empty: removes none
	EXPECT_TRUE(pattern_keeps("1_Pooling/config.json", list({"1_Pooling/"}), all));  // "dir/" is "dir/*"
	EXPECT_FALSE(pattern_keeps("1_Pooling", list({"1_Pooling/"}), all));
	EXPECT_TRUE(pattern_keeps("data/sub/x.json", list({"data/*.json"}), all));       // '*' crosses '/'
	EXPECT_TRUE(pattern_keeps("onnx/model.onnx", list({"onnx\\*"}), all));           // '\' is '/'
	EXPECT_TRUE(pattern_keeps("onnx/model.onnx", list({"onnx\\"}), all));            // "onnx\" is "onnx/*"
	EXPECT_TRUE(pattern_keeps("dir\\x.json", list({"dir/*"}), all));                 // in paths too
	EXPECT_FALSE(pattern_keeps("model.bin", list({"*.json", "*.bin"}), list({"model.*"})));  // ignore after allow
	EXPECT_TRUE(pattern_keeps("config.json", list({"*.json", "*.bin"}), list({"model.*"})));
	EXPECT_FALSE(pattern_keeps("README.md", all, list({"*.md"})));
	EXPECT_FALSE(pattern_keeps("Config.json", list({"config.*"}), all));  // case-sensitive
}

TEST(ModelListing, TreeJsonIsPythonsJsonDumpIndent1) {
	// Python 3.11: json.dump(data, f, indent=1) of these entries, sorted by
	// path, keys in TreeCacheEntry.to_json's order (ensure_ascii: \uXXXX,
	// surrogate pairs above U+FFFF, U+007F escaped, '"' and '\' escaped).
	const std::string expected = R"JSON({
 "format_version": 1,
 "files": {
  "1_Pooling/config.json": {
   "size": 0,
   "blob_id": "dddddddddddddddddddddddddddddddddddddddd"
  },
  "caf\u00e9/\u6a21\u578b.bin": {
   "size": 7,
   "blob_id": "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee",
   "lfs_sha256": "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
   "lfs_size": 7
  },
  "config.json": {
   "size": 15,
   "blob_id": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
  },
  "emoji/\ud83d\ude00.txt": {
   "size": 1,
   "blob_id": "1111111111111111111111111111111111111111"
  },
  "model.safetensors": {
   "size": 5242880,
   "blob_id": "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
   "lfs_sha256": "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc",
   "lfs_size": 5242880
  },
  "q\"b\\s\u007f.txt": {
   "size": 2,
   "blob_id": "2222222222222222222222222222222222222222"
  },
  "xet.bin": {
   "size": 9,
   "blob_id": "3333333333333333333333333333333333333333",
   "lfs_sha256": "4444444444444444444444444444444444444444444444444444444444444444",
   "lfs_size": 9,
   "xet_hash": "A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5"
  }
 }
})JSON";
	std::string a5;
	for (int i = 0; i < 32; ++i) a5 += "A5";
	// Given out of order: the renderer sorts.
	std::vector<TreeFile> files = {
		file("xet.bin", 9, std::string(40, '3'), std::string(64, '4'), a5),
		file("model.safetensors", 5242880, kB40, kC64),
		file("config.json", 15, kA40),
		file("q\"b\\s\x7f.txt", 2, std::string(40, '2')),
		file("emoji/\xF0\x9F\x98\x80.txt", 1, std::string(40, '1')),
		file("caf\xC3\xA9/\xE6\xA8\xA1\xE5\x9E\x8B.bin", 7, std::string(40, 'e'), std::string(64, 'f')),
		file("1_Pooling/config.json", 0, std::string(40, 'd')),
	};
	EXPECT_EQ(render_tree_json(files), expected);
	EXPECT_EQ(render_tree_json({}), "{\n \"format_version\": 1,\n \"files\": {}\n}");
}

TEST(ModelListing, PythonJsonStringEscapes) {
	EXPECT_EQ(python_json_string("a\tb\nc\rd\be\ff\x01"), "\"a\\tb\\nc\\rd\\be\\ff\\u0001\"");
	EXPECT_EQ(python_json_string("\xE2\x82\xAC"), "\"\\u20ac\"");  // lower-case hex, as Python
	EXPECT_EQ(python_json_string("/~ "), "\"/~ \"");             // '/' not escaped
}

TEST(ModelListing, TreeJsonReadsBackAndRefusesWhatPythonWouldNot) {
	std::vector<TreeFile> files = {file("config.json", 15, kA40), file("w/model.bin", 5, kB40, kC64),
								   file("caf\xC3\xA9.txt", 1, std::string(40, '1'))};
	auto back = parse_tree_json(render_tree_json(files));
	ASSERT_TRUE(back.has_value());
	ASSERT_EQ(back->size(), 3u);
	EXPECT_EQ(render_tree_json(*back), render_tree_json(files));
	EXPECT_EQ((*back)[2].blob(), kC64);  // sorted: "caf\xc3\xa9.txt" < "config.json" < "w/..."
	EXPECT_EQ((*back)[2].content_size(), 5);

	const std::string ok_entry = "{\"size\": 1, \"blob_id\": \"" + kA40 + "\"}";
	EXPECT_TRUE(parse_tree_json("{\"format_version\": 1, \"files\": {\"a\": " + ok_entry + "}}"));
	EXPECT_TRUE(parse_tree_json("{\"format_version\": 1, \"files\": {}}"));
	for (const std::string &bad : {
			 std::string("{\"format_version\": 2, \"files\": {}}"),
			 std::string("{\"files\": {}}"),
			 std::string("{\"format_version\": 1}"),
			 std::string("{\"format_version\": 1, \"files\": []}"),
			 std::string("not json"),
			 std::string("{\"format_version\": 1, \"files\": {\"../a\": ") + ok_entry + "}}",
			 std::string("{\"format_version\": 1, \"files\": {\"a\": {\"size\": 1, \"blob_id\": \"xyz\"}}}"),
			 std::string("{\"format_version\": 1, \"files\": {\"a\": {\"size\": -1, \"blob_id\": \"") + kA40 + "\"}}}",
			 std::string("{\"format_version\": 1, \"files\": {\"a\": {\"size\": 1.5, \"blob_id\": \"") + kA40 + "\"}}}",
			 std::string("{\"format_version\": 1, \"files\": {\"a\": {\"size\": 1, \"blob_id\": \"") + kA40 +
				 "\", \"lfs_sha256\": \"" + kC64 + "\"}}}",  // no lfs_size
			 std::string("{\"format_version\": 1, \"files\": {\"a\": {\"size\": 1, \"blob_id\": \"") + kA40 +
				 "\", \"xet_hash\": \"nothex\"}}}",  // huggingface_hub ignores such a file too
		 })
		EXPECT_FALSE(parse_tree_json(bad).has_value()) << bad;
}

TEST(ModelListing, RevisionAnswerGivesTheCommit) {
	const std::string sha(40, '7');
	auto r = parse_revision_answer("{\"id\": \"org/m\", \"sha\": \"" + sha + "\", \"siblings\": [{\"rfilename\": \"a\"}]}");
	ASSERT_TRUE(r.ok());
	EXPECT_EQ(*r, sha);
	EXPECT_FALSE(parse_revision_answer("{\"id\": \"org/m\"}").ok());
	EXPECT_FALSE(parse_revision_answer("{\"sha\": \"" + std::string(40, 'G') + "\"}").ok());
	EXPECT_FALSE(parse_revision_answer("{\"sha\": 7}").ok());
	EXPECT_FALSE(parse_revision_answer("[]").ok());
	EXPECT_FALSE(parse_revision_answer("{\"sha\": \"" + sha + "\"").ok());  // cut short
	// Deep nesting in a field not read costs nothing and is no error.
	std::string deep = "{\"cardData\": " + std::string(100000, '[') + std::string(100000, ']') + ", \"sha\": \"" + sha + "\"}";
	EXPECT_TRUE(parse_revision_answer(deep).ok());
}

TEST(ModelListing, TreePagesKeepFilesAndRefuseBadEntries) {
	const std::string page = "[{\"type\": \"directory\", \"oid\": \"" + kA40 + "\", \"size\": 0, \"path\": \"d\"},"
							 " {\"type\": \"file\", \"oid\": \"" + kA40 + "\", \"size\": 3, \"path\": \"d/x.json\","
							 " \"lastCommit\": {\"id\": \"" + kA40 + "\"}},"
							 " {\"type\": \"file\", \"oid\": \"" + kB40 + "\", \"size\": 9, \"path\": \"w.bin\","
							 " \"lfs\": {\"oid\": \"" + kC64 + "\", \"size\": 9, \"pointerSize\": 128}}]";
	std::vector<TreeFile> files;
	bool xet_ok = true;
	ASSERT_FALSE(parse_tree_page(page, &files, &xet_ok));
	ASSERT_EQ(files.size(), 2u);
	EXPECT_EQ(files[0].path, "d/x.json");
	EXPECT_EQ(files[0].blob(), kA40);
	EXPECT_FALSE(files[0].lfs);
	EXPECT_EQ(files[1].blob(), kC64);
	EXPECT_EQ(files[1].blob_id, kB40);
	EXPECT_TRUE(xet_ok);

	auto entry = [&](const std::string &fields) { return "[{\"type\": \"file\", " + fields + "}]"; };
	const std::string oid = "\"oid\": \"" + kA40 + "\"";
	for (const std::string &bad : {
			 std::string("{}"), std::string("[1]"), std::string("[{\"path\": \"a\"}]"), std::string("nope"),
			 entry("\"path\": \"../x\", \"size\": 1, " + oid),
			 entry("\"path\": \"a//b\", \"size\": 1, " + oid),
			 entry("\"path\": \"a\", \"size\": -1, " + oid),
			 entry("\"path\": \"a\", \"size\": \"1\", " + oid),
			 entry("\"path\": \"a\", \"size\": 1.0, " + oid),
			 entry("\"path\": \"a\", \"size\": 1, \"oid\": \"" + std::string(40, 'A') + "\""),
			 entry("\"path\": \"a\", \"size\": 1, \"oid\": \"" + kC64 + "\""),
			 entry("\"path\": \"a\", \"size\": 1, " + oid + ", \"lfs\": {\"oid\": \"" + kA40 + "\", \"size\": 1}"),
			 entry("\"path\": \"a\", \"size\": 1, " + oid + ", \"lfs\": {\"oid\": \"" + kC64 + "\"}"),
			 entry("\"path\": \"a\", \"size\": 1, " + oid + ", \"lfs\": 3"),
			 entry("\"path\": 5, \"size\": 1, " + oid),
		 }) {
		std::vector<TreeFile> out;
		bool ok = true;
		pgmlr::Status st = parse_tree_page(bad, &out, &ok);
		EXPECT_TRUE(st.has_value()) << bad;
	}
	// The entry is named: its index over the whole listing.
	std::vector<TreeFile> two(2);
	bool ok = true;
	auto st = parse_tree_page(entry("\"path\": \"../x\", \"size\": 1, " + oid), &two, &ok);
	ASSERT_TRUE(st.has_value());
	EXPECT_NE(st->message.find("tree entry 2 path \"../x\""), std::string::npos) << st->message;

	std::vector<TreeFile> x;
	bool xok = true;
	EXPECT_FALSE(parse_tree_page(entry("\"path\": \"a\", \"size\": 1, " + oid + ", \"xetHash\": \"zz\""), &x, &xok));
	EXPECT_FALSE(xok);  // kept, but no tree file is written for it
}

TEST(ModelListing, ListingSortsKeepsAndNamesTheRef) {
	ModelSpec spec{"model", "org/m", "main", list({"*.json"}), list({"skip/*"})};
	std::vector<TreeFile> files = {file("w.bin", 5, kB40, kC64), file("b.json", 1, kA40), file("B.json", 1, kA40),
								   file("skip/c.json", 1, kA40)};
	const std::string commit(40, '9');
	auto l = build_listing(spec, commit, files, true);
	ASSERT_TRUE(l.ok());
	ASSERT_EQ(l->files.size(), 4u);
	EXPECT_EQ(l->files[0].path, "B.json");  // byte order, as Python's sorted()
	ASSERT_EQ(l->kept.size(), 2u);
	EXPECT_EQ(l->files[l->kept[0]].path, "B.json");
	EXPECT_EQ(l->files[l->kept[1]].path, "b.json");
	EXPECT_EQ(listing_ref(*l).value_or("?"), "main");

	ModelSpec by_commit{"model", "org/m", commit, std::nullopt, std::nullopt};
	auto c = build_listing(by_commit, commit, files, true);
	ASSERT_TRUE(c.ok());
	EXPECT_EQ(c->kept.size(), 4u);
	EXPECT_FALSE(listing_ref(*c).has_value());  // a commit is no ref

	files.push_back(file("b.json", 2, kA40));
	EXPECT_FALSE(build_listing(spec, commit, files, true).ok());  // a path twice
}

TEST(ModelListing, UrlsAreTheOnesHuggingfaceHubAsks) {
	ModelSpec spec{"dataset", "org/d", "refs/pr/1", std::nullopt, std::nullopt};
	EXPECT_EQ(revision_url("https://hub.example", spec), "https://hub.example/api/datasets/org/d/revision/refs%2Fpr%2F1");
	EXPECT_EQ(tree_url("https://hub.example", spec, std::string(40, 'a')),
			  "https://hub.example/api/datasets/org/d/tree/" + std::string(40, 'a') + "?recursive=true&expand=false");
	EXPECT_EQ(repo_label("space", "s"), "spaces/s");
}
