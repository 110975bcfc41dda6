// A scripted PostgreSQL server on 127.0.0.1 for the upstream source's tests:
// enough of protocol 3 for libpq (startup without a password, then the
// extended query PQsendQueryParams sends: Parse, Bind, Describe, Execute,
// Sync). Every query is answered by script(blob, offset, length): data rows
// of one binary bytea column, then either the end of the result or an
// ERROR with a SQLSTATE. A thread per connection; the test owns the
// object, whose destructor closes the listener and joins the threads.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

struct FakePgServer {
	struct Answer {
		std::vector<std::string> rows;
		std::string error_sqlstate;  // non-empty: an ERROR after the rows
		std::string error_message = "scripted error";
		static Answer ok(std::vector<std::string> rows) { return Answer{std::move(rows), "", ""}; }
		static Answer error(std::vector<std::string> rows, std::string sqlstate, std::string message) {
			return Answer{std::move(rows), std::move(sqlstate), std::move(message)};
		}
	};
	using Script = std::function<Answer(const std::string &blob, int64_t offset, int64_t length)>;

	int port = 0;  // 0: the socket could not be set up

	explicit FakePgServer(Script script) : script_(std::move(script)) {
		fd_ = socket(AF_INET, SOCK_STREAM, 0);
		sockaddr_in a{};
		a.sin_family = AF_INET;
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0 || listen(fd_, 16) != 0) return;
		socklen_t len = sizeof a;
		getsockname(fd_, reinterpret_cast<sockaddr *>(&a), &len);
		port = ntohs(a.sin_port);
		acceptor_ = std::thread([this] { accept_loop(); });
	}
	~FakePgServer() {
		stopping_ = true;
		if (fd_ >= 0) shutdown(fd_, SHUT_RDWR);
		if (acceptor_.joinable()) acceptor_.join();
		{
			std::lock_guard<std::mutex> g(m_);
			for (int c : client_fds_) shutdown(c, SHUT_RDWR);
		}
		for (auto &t : workers_) t.join();
		if (fd_ >= 0) close(fd_);
	}
	FakePgServer(const FakePgServer &) = delete;
	FakePgServer &operator=(const FakePgServer &) = delete;

	std::string conninfo() const {
		return "host=127.0.0.1 port=" + std::to_string(port) +
			   " user=u dbname=postgres sslmode=disable gssencmode=disable connect_timeout=10";
	}

private:
	Script script_;
	int fd_ = -1;
	std::atomic<bool> stopping_{false};
	std::thread acceptor_;
	std::mutex m_;
	std::vector<std::thread> workers_;
	std::vector<int> client_fds_;

	void accept_loop() {
		for (int i = 0; i < 64 && !stopping_; ++i) {  // bounded: a test opens a few
			int c = accept(fd_, nullptr, nullptr);
			if (c < 0) return;
			std::lock_guard<std::mutex> g(m_);
			client_fds_.push_back(c);
			workers_.emplace_back([this, c] {
				serve(c);
				close(c);
			});
		}
	}

	static bool read_n(int fd, char *buf, size_t n) {
		for (size_t got = 0; got < n;) {
			ssize_t r = recv(fd, buf + got, n - got, 0);
			if (r <= 0) return false;
			got += static_cast<size_t>(r);
		}
		return true;
	}
	static bool write_all(int fd, const std::string &s) {
		for (size_t sent = 0; sent < s.size();) {
			ssize_t w = send(fd, s.data() + sent, s.size() - sent, MSG_NOSIGNAL);
			if (w <= 0) return false;
			sent += static_cast<size_t>(w);
		}
		return true;
	}
	static void put32(std::string &s, uint32_t v) {
		for (int shift = 24; shift >= 0; shift -= 8) s.push_back(static_cast<char>((v >> shift) & 0xff));
	}
	static void put16(std::string &s, uint16_t v) {
		s.push_back(static_cast<char>(v >> 8));
		s.push_back(static_cast<char>(v & 0xff));
	}
	static uint32_t get32(const char *p) {
		return (uint32_t(uint8_t(p[0])) << 24) | (uint32_t(uint8_t(p[1])) << 16) | (uint32_t(uint8_t(p[2])) << 8) |
			   uint32_t(uint8_t(p[3]));
	}
	static std::string message(char type, const std::string &body) {
		std::string m(1, type);
		put32(m, static_cast<uint32_t>(body.size() + 4));
		return m + body;
	}
	static std::string cstr(const std::string &s) { return s + std::string(1, '\0'); }

	// Bind's parameters (text format): blob, offset, length.
	static std::vector<std::string> bind_params(const std::string &b) {
		std::vector<std::string> out;
		size_t p = b.find('\0');                 // portal
		p = b.find('\0', p + 1) + 1;             // statement
		if (p == 0 || p + 2 > b.size()) return out;
		uint16_t nformats = static_cast<uint16_t>((uint8_t(b[p]) << 8) | uint8_t(b[p + 1]));
		p += 2 + 2 * size_t(nformats);
		if (p + 2 > b.size()) return out;
		uint16_t nparams = static_cast<uint16_t>((uint8_t(b[p]) << 8) | uint8_t(b[p + 1]));
		p += 2;
		for (int i = 0; i < nparams && p + 4 <= b.size(); ++i) {
			uint32_t len = get32(b.data() + p);
			p += 4;
			if (len == 0xffffffffu || p + len > b.size()) return out;
			out.emplace_back(b.substr(p, len));
			p += len;
		}
		return out;
	}

	std::string answer(const std::vector<std::string> &params) {
		std::string out;
		out += message('1', "");
		out += message('2', "");
		std::string desc;
		put16(desc, 1);
		desc += cstr("hf_blob_read_rows");
		put32(desc, 0);
		put16(desc, 0);
		put32(desc, 17);  // bytea
		put16(desc, 0xffff);
		put32(desc, 0xffffffffu);
		put16(desc, 1);  // binary
		out += message('T', desc);
		Answer a = params.size() == 3 ? script_(params[0], std::stoll(params[1]), std::stoll(params[2]))
									  : Answer::error({}, "08P01", "bad parameters");
		for (const auto &r : a.rows) {
			std::string row;
			put16(row, 1);
			put32(row, static_cast<uint32_t>(r.size()));
			out += message('D', row + r);
		}
		if (a.error_sqlstate.empty()) {
			out += message('C', cstr("SELECT " + std::to_string(a.rows.size())));
		} else {
			out += message('E', "SERROR" + std::string(1, '\0') + "VERROR" + std::string(1, '\0') + "C" +
									cstr(a.error_sqlstate) + "M" + cstr(a.error_message) + std::string(1, '\0'));
		}
		return out;
	}

	void serve(int c) {
		char head[8];
		if (!read_n(c, head, 4)) return;
		std::string startup(get32(head) - 4, '\0');
		if (!read_n(c, startup.data(), startup.size())) return;
		std::string hello = message('R', std::string(4, '\0'));  // AuthenticationOk
		hello += message('S', cstr("server_version") + cstr("15.0"));
		hello += message('S', cstr("client_encoding") + cstr("UTF8"));
		hello += message('S', cstr("standard_conforming_strings") + cstr("on"));
		hello += message('S', cstr("integer_datetimes") + cstr("on"));
		std::string key;
		put32(key, 1);
		put32(key, 2);
		hello += message('K', key);
		hello += message('Z', "I");
		if (!write_all(c, hello)) return;
		std::string pending;
		while (!stopping_) {
			if (!read_n(c, head, 5)) return;
			std::string body(get32(head + 1) - 4, '\0');
			if (!body.empty() && !read_n(c, body.data(), body.size())) return;
			switch (head[0]) {
			case 'B': pending = answer(bind_params(body)); break;
			case 'S':
				pending += message('Z', "I");
				if (!write_all(c, pending)) return;
				pending.clear();
				break;
			case 'X': return;
			default: break;  // Parse, Describe, Execute: answered with Bind's batch at Sync
			}
		}
	}
};
