// Implements replication/pgcat_config.hpp; what it is for is said at the top of that header.
#include "common/core_only.hpp"
#include "replication/pgcat_config.hpp"

#include <set>

#include "common/shell_quote.hpp"
#include "replication/standby_setup.hpp"
#include "common/text.hpp"
#include "pgml_repl/replication.h"

namespace pgmlr {

namespace {

Result<int> parse_port(std::string_view entry, std::string_view digits) {
	long v = 0;
	bool ok = !digits.empty() && digits.size() <= 5;
	for (char c : digits) {
		if (c < '0' || c > '9') ok = false;
		else v = v * 10 + (c - '0');
	}
	if (!ok || v < 1 || v > 65535)
		return make_error(ErrCode::InvalidParameter, "invalid port in server entry \"" + std::string(entry) + "\"",
		                  "A port is a number between 1 and 65535.", "Write entries as host or host:port, IPv6 as [addr]:port.");
	return static_cast<int>(v);
}

}  // namespace

Result<PgcatServer> parse_server_entry(std::string_view entry, int default_port, std::string_view param) {
	PgcatServer s;
	s.port = default_port;
	std::string_view host = entry;
	if (!entry.empty() && entry.front() == '[') {
		size_t close = entry.find(']');
		if (close == std::string_view::npos)
			return make_error(ErrCode::InvalidParameter, "invalid server entry: missing ']'", {},
			                  "Write IPv6 addresses as [addr] or [addr]:port.");
		host = entry.substr(1, close - 1);
		std::string_view rest = entry.substr(close + 1);
		if (!rest.empty()) {
			if (rest.front() != ':')
				return make_error(ErrCode::InvalidParameter, "invalid server entry: text after ']'", {},
				                  "Write IPv6 addresses as [addr] or [addr]:port.");
			Result<int> port = parse_port(entry, rest.substr(1));
			if (!port) return port.error();
			s.port = *port;
		}
	} else {
		size_t colon = entry.find(':');
		if (colon != std::string_view::npos && entry.find(':', colon + 1) == std::string_view::npos) {
			host = entry.substr(0, colon);
			Result<int> port = parse_port(entry, entry.substr(colon + 1));
			if (!port) return port.error();
			s.port = *port;
		}
	}
	if (Status st = validate_host(param, host)) return *st;
	s.host = std::string(host);
	return s;
}

std::string default_primary_host(std::string_view server_addr, std::string_view listen_addresses) {
	if (!server_addr.empty()) return std::string(server_addr);
	// listen_addresses is a comma-separated list; '*', '0.0.0.0' and '::'
	// mean "all interfaces" and name no host a client could use.
	std::string_view rest = listen_addresses;
	while (!rest.empty()) {
		size_t comma = rest.find(',');
		std::string_view item = trim(rest.substr(0, comma));
		rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
		if (item.empty() || item == "*" || item == "0.0.0.0" || item == "::") continue;
		if (!validate_host("listen address", item)) return std::string(item);
	}
	return "localhost";
}

namespace {

// An application_name for a TOML comment: the server already replaces
// non-ASCII bytes with '?'; control bytes are replaced here too, so nothing
// can end the comment.
std::string printable_name(std::string_view name) {
	std::string out;
	for (char c : name.substr(0, 63)) {
		unsigned char u = static_cast<unsigned char>(c);
		out += (u < 0x20 || u >= 0x7f) ? '?' : c;
	}
	return out;
}

}  // namespace

Result<PgcatRendered> render_pgcat_config(const PgcatPool &p) {
	if (p.pool.empty() || has_control_chars(p.pool) || !is_valid_utf8(p.pool))
		return make_error(ErrCode::InvalidParameter, "invalid pool name", "A pool name is non-empty printable UTF-8.",
		                  "Use a name such as postgresml.");
	if (Status st = validate_port("port", p.port)) return *st;
	for (const std::string *v : {&p.database, &p.user_name})
		if (v->empty() || !is_valid_utf8(*v) || has_control_chars(*v))
			return make_error(ErrCode::InvalidParameter,
			                  v == &p.database ? "invalid database name" : "invalid user_name",
			                  "Names are non-empty printable UTF-8.", {});

	PgcatRendered out;
	std::vector<PgcatServer> servers;
	std::vector<std::string> comments;  // one per server, "" for none
	Result<PgcatServer> primary = parse_server_entry(p.primary_host, p.port, "primary_host");
	if (!primary) return primary.error();
	servers.push_back(*primary);
	comments.emplace_back();
	std::set<std::pair<std::string, int>> seen{{primary->host, primary->port}};
	for (const std::string &r : p.replicas) {
		Result<PgcatServer> s = parse_server_entry(r, p.port);
		if (!s) return s.error();
		if (seen.insert({s->host, s->port}).second) {
			servers.push_back(*s);
			comments.emplace_back();
		}
	}
	// A connected standby is never dropped: one on the primary's host (or
	// two on one host) shares an address with another server, and only its
	// port, which pg_stat_replication does not show, tells them apart.
	for (const ConnectedStandby &c : p.connected) {
		PgcatServer s{c.host.empty() ? primary->host : c.host, p.port};
		if (Status st = validate_host("standby address", s.host)) return *st;
		std::string name = printable_name(c.name);
		std::string comment = "# " + (name.empty() ? std::string("(no application_name)") : name);
		if (!seen.insert({s.host, s.port}).second) {
			comment += ": same address as another server; its port is not known here, set it";
			out.unknown_ports.push_back(name);
		}
		servers.push_back(s);
		comments.push_back(comment);
	}

	const std::string key = "pools." + toml_key(p.pool);
	std::string o;
	o += "# PgCat pool for PostgresML, generated by pgml_repl.pgcat_config().\n"
		 "# query_parser_enabled lets PgCat send SELECTs to replicas and writes to\n"
		 "# the primary; default_role = \"any\" spreads reads over every server and\n"
		 "# primary_reads_enabled keeps the primary among them.\n";
	o += "[" + key + "]\n";
	o += "pool_mode = \"transaction\"\n"
		 "default_role = \"any\"\n"
		 "query_parser_enabled = true\n"
		 "primary_reads_enabled = true\n"
		 "sharding_function = \"pg_bigint_hash\"\n"
		 "\n";
	o += "[" + key + ".users.0]\n";
	o += "username = " + toml_string(p.user_name) + "\n";
	o += "# Fill in the role's password: PgCat logs in to the servers with it.\n"
		 "password = \"\"\n"
		 "pool_size = 20\n"
		 "\n";
	o += "[" + key + ".shards.0]\n";
	o += "servers = [\n";
	for (size_t i = 0; i < servers.size(); ++i)
		o += "  [" + toml_string(servers[i].host) + ", " + std::to_string(servers[i].port) + ", " +
		     (i == 0 ? "\"primary\"" : "\"replica\"") + "]," + (comments[i].empty() ? "" : "  " + comments[i]) +
		     "\n";
	o += "]\n";
	o += "database = " + toml_string(p.database) + "\n";
	out.toml = std::move(o);
	return out;
}

}  // namespace pgmlr
