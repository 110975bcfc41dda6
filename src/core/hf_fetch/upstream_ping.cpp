// Implements hf_fetch/upstream_ping.hpp: one non-blocking libpq connection
// (PQconnectStart, PQconnectPoll when poll() says the socket is ready) and
// one query sent with PQsendQuery and read with PQconsumeInput, both in
// slices of at most 100 ms so the abort flag and the deadline are seen;
// PQfinish always (the connection is owned by a unique_ptr). libpq calls
// return values and never throw; the messages come from libpq or the server
// and carry no password.
#include "common/core_only.hpp"
#include "hf_fetch/upstream_ping.hpp"

#include <chrono>

#include "hf_fetch/upstream_answer.hpp"
#include "hf_fetch/upstream_conninfo.hpp"
#include "hf_fetch/upstream_pq.hpp"

namespace pgmlr::hf_fetch {

const char kPingQuery[] =
	"SELECT pg_catalog.has_function_privilege('pgml_repl.hf_blob_read_rows(text,bigint,integer)', 'EXECUTE')";

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kDefaultTimeoutMs = 10000;

// A SQL literal for a hint the user copies.
std::string sql_literal(const std::string &s) {
	std::string out = "'";
	for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
	return out + "'";
}

std::string role_or_default(const std::string &role) { return role.empty() ? "replication_user" : role; }

Error canceled(const std::string &label) {
	return make_error(ErrCode::Canceled, label + ": the check was canceled");
}

Error timed_out(const std::string &label, int timeout_ms, const char *what) {
	return make_error(ErrCode::Io, label + ": no answer within " + std::to_string(timeout_ms) + " ms (" + what + ")", {},
					  "Check that the upstream server is running and reachable from this replica (a firewall may drop "
					  "the packets).");
}

}  // namespace

Error ping_connection_error(const std::string &label, const std::string &role, const std::string &message) {
	std::string msg = trimmed_message(message);
	auto says = [&msg](const char *part) { return msg.find(part) != std::string::npos; };
	if (says("authentication failed") || says("password is required"))
		return make_error(ErrCode::Permission, label + ": login refused", msg,
						  "The password of primary_conninfo (or its passfile) was refused; on the primary, "
						  "pgml_repl.create_replication_user() sets the role's password.");
	if ((says("role \"") && says("does not exist")) || says("no pg_hba.conf entry") || says("pg_hba.conf rejects") ||
		says("permission denied"))
		return make_error(ErrCode::Permission, label + ": login refused", msg,
						  "Fetching blobs needs a pg_hba.conf line for the database, not only the replication one: on "
						  "the primary, SELECT pgml_repl.allow_blob_fetch('<replica address>', " +
							  sql_literal(role_or_default(role)) +
							  ") adds it; pgml_repl.create_replication_user() makes the role.");
	if (msg.find("database \"") != std::string::npos && msg.find("does not exist") != std::string::npos)
		return make_error(ErrCode::NotFound, label + ": no such database", msg,
						  "Set pgml_replication.database to the database pgml_replication is installed in on the "
						  "primary.");
	return make_error(ErrCode::Io, label + ": connection failed", msg,
					  "Check that the upstream server is running and accepts TCP/IP connections on that host and "
					  "port (listen_addresses, port, a firewall).");
}

Error ping_query_error(const std::string &label, const std::string &sqlstate, const std::string &message) {
	std::string msg = trimmed_message(message);
	if (sqlstate == "42883" || sqlstate == "3F000")
		return make_error(ErrCode::NotFound, label + ": pgml_replication is not installed in that database", msg,
						  "On the primary, CREATE EXTENSION pgml_replication (0.3.0 or later serves blobs) in the "
						  "database pgml_replication.database names, or set that setting to the database it is in.");
	return make_error(ErrCode::Io, label + ": the check for pgml_repl.hf_blob_read_rows failed" +
									   (sqlstate.empty() ? std::string() : " (" + sqlstate + ")"),
					  msg);
}

Error ping_no_privilege(const std::string &label, const std::string &role) {
	std::string r = role_or_default(role);
	return make_error(ErrCode::Permission, label + ": role \"" + r + "\" may not run pgml_repl.hf_blob_read_rows", {},
					  "On the primary, SELECT pgml_repl.allow_blob_fetch(role_name => " + sql_literal(r) +
						  ") grants it (with an address first, it also adds the pg_hba.conf line).");
}

Status upstream_ping(const std::string &conninfo, int timeout_ms, volatile sig_atomic_t *abort_flag) {
	std::string label, why;
	if (!upstream_label(conninfo, &label, &why))
		return make_error(ErrCode::InvalidParameter, "invalid upstream conninfo", scrub_conninfo_error(why, conninfo),
						  "Give a libpq connection string, e.g. host=primary port=5432 user=fetcher dbname=postgres.");
	if (timeout_ms <= 0) timeout_ms = kDefaultTimeoutMs;
	if (abort_flag && *abort_flag) return canceled(label);
	const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);

	PqConn conn(PQconnectStart(conninfo.c_str()));
	PGconn *c = conn.get();
	if (!c) return make_error(ErrCode::OutOfMemory, label + ": out of memory for a connection");
	if (PQstatus(c) == CONNECTION_BAD) return ping_connection_error(label, PQuser(c) ? PQuser(c) : "", pq_message(c));
	PQsetNoticeProcessor(c, [](void *, const char *) {}, nullptr);
	const std::string role = PQuser(c) ? PQuser(c) : "";

	switch (pq_connect_bounded(c, deadline, abort_flag)) {
	case PqConnect::ok: break;
	case PqConnect::failed: return ping_connection_error(label, role, pq_message(c));
	case PqConnect::timed_out: return timed_out(label, timeout_ms, "connecting");
	case PqConnect::aborted: return canceled(label);
	}

	// The query, read without blocking.
	if (PQsetnonblocking(c, 1) != 0 || !PQsendQuery(c, kPingQuery))
		return ping_connection_error(label, role, pq_message(c));
	bool flushing = true;
	while (true) {
		if (flushing) {
			int f = PQflush(c);
			if (f < 0) return ping_connection_error(label, role, pq_message(c));
			flushing = f == 1;
		}
		if (!PQconsumeInput(c)) return ping_connection_error(label, role, pq_message(c));
		if (!PQisBusy(c)) break;
		int fd = PQsocket(c);
		if (fd < 0) return ping_connection_error(label, role, pq_message(c));
		switch (pq_wait(fd, static_cast<short>(POLLIN | (flushing ? POLLOUT : 0)), deadline, abort_flag)) {
		case PqWait::aborted: return canceled(label);
		case PqWait::timed_out: return timed_out(label, timeout_ms, "the check for pgml_repl.hf_blob_read_rows");
		case PqWait::idle:
		case PqWait::ready: break;
		}
	}
	// Not busy: the first result is there without waiting. The rest is
	// dropped with the connection.
	PqResult r(PQgetResult(c));
	if (!r) return ping_connection_error(label, role, pq_message(c));
	if (PQresultStatus(r.get()) != PGRES_TUPLES_OK) {
		const char *state = PQresultErrorField(r.get(), PG_DIAG_SQLSTATE);
		const char *msg = PQresultErrorMessage(r.get());
		return ping_query_error(label, state ? state : "", msg ? msg : "");
	}
	if (PQntuples(r.get()) != 1 || PQnfields(r.get()) != 1 || PQgetisnull(r.get(), 0, 0))
		return ping_query_error(label, "", "an unexpected answer to the check");
	if (std::string(PQgetvalue(r.get(), 0, 0)) != "t") return ping_no_privilege(label, role);
	return {};
}

}  // namespace pgmlr::hf_fetch
