// Test helper: writes text to a temporary file, runs `command <file>` through
// the shell and returns what it printed (stdout and stderr). Lets a real
// interpreter (bash, Python's tomllib) judge what the core rendered.
#pragma once

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include <unistd.h>

inline std::string run_on_file(const std::string &command, const std::string &text) {
	char path[] = "/tmp/pgmlr_unit_XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0) return "mkstemp failed";
	{
		std::ofstream f(path);
		f << text;
	}
	std::string cmd = command + " " + path + " 2>&1";
	std::string out;
	if (FILE *p = popen(cmd.c_str(), "r")) {
		std::array<char, 4096> buf;
		size_t n;
		while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
		pclose(p);
	}
	close(fd);
	unlink(path);
	return out;
}
