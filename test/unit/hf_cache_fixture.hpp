// Builds HuggingFace hub caches byte by byte for the unit tests: real blob
// contents with their real SHA-256 / git blob SHA-1 names, relative symlinks
// laid out as huggingface_hub lays them out, refs without a newline. The
// hashes come straight from OpenSSL, not from the code under test.
#pragma once

#include <ftw.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>

namespace hf_fixture {

inline std::string hex_digest(const EVP_MD *md, const std::string &data) {
	unsigned char out[EVP_MAX_MD_SIZE];
	unsigned n = 0;
	if (EVP_Digest(data.data(), data.size(), out, &n, md, nullptr) != 1) throw std::runtime_error("digest");
	static const char d[] = "0123456789abcdef";
	std::string s;
	for (unsigned i = 0; i < n; ++i) {
		s += d[out[i] >> 4];
		s += d[out[i] & 15];
	}
	return s;
}

inline std::string sha256(const std::string &data) { return hex_digest(EVP_sha256(), data); }
inline std::string git_sha1(const std::string &data) {
	std::string obj = "blob " + std::to_string(data.size());
	obj.push_back('\0');
	return hex_digest(EVP_sha1(), obj + data);
}

// 40-hex commit made from a seed, so tests can name revisions.
inline std::string commit(const std::string &seed) { return hex_digest(EVP_sha1(), "commit " + seed); }

inline int rm_entry(const char *p, const struct stat *, int, struct FTW *) { return ::remove(p); }

class Cache {
public:
	Cache() {
		const char *tmp = std::getenv("TMPDIR");
		std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/hf_fixture.XXXXXX";
		if (!mkdtemp(templ.data())) throw std::runtime_error("mkdtemp");
		base = templ;
		root = base + "/hub";
		mkdirs("");
	}
	~Cache() {
		// Restore permissions a test may have taken away, then remove.
		chmod(root.c_str(), 0755);
		nftw(base.c_str(), rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	}
	Cache(const Cache &) = delete;
	Cache &operator=(const Cache &) = delete;

	std::string base;  // holds root and room for things outside it
	std::string root;  // the hub cache folder

	std::string abs(const std::string &rel) const { return rel.empty() ? root : root + "/" + rel; }

	void mkdirs(const std::string &rel) const {
		std::string p = abs(rel);
		for (size_t i = 1; i <= p.size(); ++i)
			if (i == p.size() || p[i] == '/') ::mkdir(p.substr(0, i).c_str(), 0755);
	}

	void write(const std::string &rel, const std::string &content) const {
		size_t slash = rel.rfind('/');
		if (slash != std::string::npos) mkdirs(rel.substr(0, slash));
		std::ofstream f(abs(rel), std::ios::binary | std::ios::trunc);
		f << content;
		if (!f) throw std::runtime_error("write " + rel);
	}

	void symlink(const std::string &rel, const std::string &target) const {
		size_t slash = rel.rfind('/');
		if (slash != std::string::npos) mkdirs(rel.substr(0, slash));
		if (::symlink(target.c_str(), abs(rel).c_str()) != 0) throw std::runtime_error("symlink " + rel);
	}

	// repo/blobs/<name>; LFS files are named by SHA-256, others by git SHA-1.
	std::string blob(const std::string &repo, const std::string &content, bool lfs) const {
		std::string name = lfs ? sha256(content) : git_sha1(content);
		write(repo + "/blobs/" + name, content);
		return name;
	}

	// snapshots/<commit>/<path> -> ../../blobs/<blob>, one more ../ per folder.
	void link(const std::string &repo, const std::string &rev, const std::string &path, const std::string &blob_name) const {
		std::string up = "../../";
		for (char c : path)
			if (c == '/') up += "../";
		symlink(repo + "/snapshots/" + rev + "/" + path, up + "blobs/" + blob_name);
	}

	std::string file(const std::string &repo, const std::string &rev, const std::string &path,
					 const std::string &content, bool lfs) const {
		std::string name = blob(repo, content, lfs);
		link(repo, rev, path, name);
		return name;
	}

	void ref(const std::string &repo, const std::string &name, const std::string &rev) const {
		write(repo + "/refs/" + name, rev);
	}
};

}  // namespace hf_fixture
