// The PgCat pool block for a primary and its replicas.
#pragma once
#include "core_only.hpp"

#include <string>
#include <string_view>
#include <vector>

#include "status.hpp"

namespace pgmlr {

struct PgcatServer {
	std::string host;
	int port = 0;
};

// "host", "host:port", "[v6]", "[v6]:port" or a bare IPv6 address; the
// default port applies when none is given.
Result<PgcatServer> parse_server_entry(std::string_view entry, int default_port,
                                       std::string_view param = "replica host");

struct PgcatPool {
	std::string pool = "postgresml";
	int port = 5432;
	std::string primary_host;
	std::vector<std::string> replicas;
	std::string database;
	std::string user_name;
};

Result<std::string> render_pgcat_config(const PgcatPool &p);

std::string default_primary_host(std::string_view server_addr, std::string_view listen_addresses);

}  // namespace pgmlr
