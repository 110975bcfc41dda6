// Starting and stopping test/hub/hub_server.py for the unit tests that talk
// to a Hub over HTTP (hub_test.cpp, hub_api_test.cpp): one way to read its
// READY line, bounded, one way to stop it, and one way to ask it things.
#pragma once

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>

namespace test_hub {

// Starts hub_server.py with args under python; returns its pid and sets
// *port from its "READY <port> <cdn_port>" line (0 when it did not come up
// within 15 s).
inline pid_t spawn_hub(const std::string &python, const std::vector<std::string> &args, int *port) {
	*port = 0;
	int fds[2];
	if (pipe(fds) != 0) return -1;
	const std::string script =
		(std::filesystem::path(__FILE__).parent_path().parent_path() / "hub" / "hub_server.py").string();
	std::vector<std::string> store = {python, script};
	store.insert(store.end(), args.begin(), args.end());
	pid_t pid = fork();
	if (pid == 0) {
		std::vector<char *> argv;
		for (auto &a : store) argv.push_back(const_cast<char *>(a.c_str()));
		argv.push_back(nullptr);
		dup2(fds[1], 1);
		close(fds[0]);
		execv(argv[0], argv.data());
		_exit(127);
	}
	close(fds[1]);
	std::string line;
	auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
	while (line.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline) {
		pollfd p{fds[0], POLLIN, 0};
		if (poll(&p, 1, 200) <= 0) continue;
		char buf[128];
		ssize_t n = read(fds[0], buf, sizeof buf);
		if (n <= 0) break;
		line.append(buf, static_cast<size_t>(n));
	}
	close(fds[0]);
	int cdn = 0;
	if (sscanf(line.c_str(), "READY %d %d", port, &cdn) != 2) *port = 0;
	return pid;
}

// SIGTERM, then SIGKILL after 5 s.
inline void stop_hub(pid_t pid) {
	if (pid <= 0) return;
	kill(pid, SIGTERM);
	int status;
	for (int i = 0; i < 50 && waitpid(pid, &status, WNOHANG) == 0; ++i) usleep(100000);
	if (waitpid(pid, &status, WNOHANG) == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
}

// A plain GET (or a JSON POST when post_body is given) of the test Hub's
// control and API endpoints, 10 s at most; the body, "" on failure.
inline size_t append_body(char *p, size_t s, size_t n, void *ud) {
	static_cast<std::string *>(ud)->append(p, s * n);
	return s * n;
}

inline std::string http(const std::string &url, const std::string *post_body = nullptr) {
	std::string out;
	CURL *e = curl_easy_init();
	curl_easy_setopt(e, CURLOPT_URL, url.c_str());
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, append_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &out);
	curl_slist *h = curl_slist_append(nullptr, "Content-Type: application/json");
	if (post_body) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, post_body->c_str());
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	}
	curl_easy_perform(e);
	curl_easy_cleanup(e);
	curl_slist_free_all(h);
	return out;
}

}  // namespace test_hub
