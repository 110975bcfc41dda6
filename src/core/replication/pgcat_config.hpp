// The PgCat pool block for a primary and its replicas.
#pragma once
#include "common/core_only.hpp"

#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace pgmlr {

struct PgcatServer {
	std::string host;
	int port = 0;
};

// "host", "host:port", "[v6]", "[v6]:port" or a bare IPv6 address; the
// default port applies when none is given.
Result<PgcatServer> parse_server_entry(std::string_view entry, int default_port,
                                       std::string_view param = "replica host");

// A standby connected now (a pg_stat_replication row): its address and
// application_name. Its own port is not known there.
struct ConnectedStandby {
	std::string host;  // empty: a Unix-socket connection, so the primary's host
	std::string name;
};

struct PgcatPool {
	std::string pool = "postgresml";
	int port = 5432;  // the primary's, and the replicas' without :port
	std::string primary_host;
	std::vector<std::string> replicas;       // given by the caller; duplicates dropped
	std::vector<ConnectedStandby> connected;  // each listed, whatever its address
	std::string database;
	std::string user_name;
};

struct PgcatRendered {
	std::string toml;
	// application_names of connected standbys listed with a port that is
	// only a guess: another server already has that address and port.
	std::vector<std::string> unknown_ports;
};

Result<PgcatRendered> render_pgcat_config(const PgcatPool &p);

std::string default_primary_host(std::string_view server_addr, std::string_view listen_addresses);

}  // namespace pgmlr
