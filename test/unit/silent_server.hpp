// A TCP port on 127.0.0.1 that listens and never accepts: the kernel
// completes the handshake from its backlog and the "server" never says a
// word, so a libpq client waits for its first answer (the upstream's
// timeouts and abort flags are tested against it).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

struct SilentServer {
	int fd = -1;
	int port = 0;  // 0: the socket could not be set up
	SilentServer() {
		fd = socket(AF_INET, SOCK_STREAM, 0);
		sockaddr_in a{};
		a.sin_family = AF_INET;
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (fd < 0 || bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0 || listen(fd, 8) != 0) return;
		socklen_t len = sizeof a;
		getsockname(fd, reinterpret_cast<sockaddr *>(&a), &len);
		port = ntohs(a.sin_port);
	}
	~SilentServer() {
		if (fd >= 0) close(fd);
	}
	SilentServer(const SilentServer &) = delete;
	SilentServer &operator=(const SilentServer &) = delete;
	std::string conninfo(const std::string &password = "sekrit") const {
		return "host=127.0.0.1 port=" + std::to_string(port) + " user=u password=" + password + " dbname=postgres";
	}
};
