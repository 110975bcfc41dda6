// A scratch folder removed with its contents at the end of a test, and a
// whole file read into a string: what most file-system unit tests need.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace test_files {

struct TempDir {
	std::string path;
	explicit TempDir(const std::string &prefix = "pgml_repl_unit") {
		std::string tmpl = "/tmp/" + prefix + "_XXXXXX";
		if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp " + tmpl);
		path = tmpl;
	}
	~TempDir() {
		std::error_code ec;
		std::filesystem::remove_all(path, ec);
	}
	TempDir(const TempDir &) = delete;
	TempDir &operator=(const TempDir &) = delete;
};

inline std::string read_file(const std::string &p) {
	std::ifstream f(p, std::ios::binary);
	std::stringstream s;
	s << f.rdbuf();
	return s.str();
}

}  // namespace test_files
