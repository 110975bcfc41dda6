// The conninfo a replica's worker fetches blobs with, derived from the
// server's primary_conninfo (libpq keyword/value text or a postgresql:// URI,
// both parsed by libpq's PQconninfoParse): where to connect and how to log in
// are kept, the database and application_name are replaced, the rest
// (replication=..., options=...) is dropped. Messages never quote the input:
// it may hold a password. The ping (is the upstream there, may we read
// blobs?) is upstream_ping.hpp.
#pragma once
#include "common/core_only.hpp"

#include <string>

#include "common/error.hpp"

namespace pgmlr::hf_fetch {

// Is this libpq keyword carried over from primary_conninfo? host, hostaddr,
// port, user, password, passfile, ssl*, gss*, krbsrvname, channel_binding,
// target_session_attrs, connect_timeout, keepalives*, tcp_user_timeout.
bool kept_from_primary(const std::string &keyword);

// A value for a key=value conninfo: single-quoted, with ' and \ escaped by
// a backslash, as libpq reads it.
std::string conninfo_quote(const std::string &value);

// The blob-fetching conninfo: the kept settings of primary_conninfo (host,
// hostaddr, port and user first, the others in libpq's order), then
// dbname=database and (when not empty)
// application_name. InvalidParameter when primary_conninfo is empty, does
// not parse, or names neither host nor hostaddr, or database is empty.
Result<std::string> upstream_conninfo_from_primary(const std::string &primary_conninfo, const std::string &database,
												   const std::string &application_name);

// libpq's message about a conninfo it rejected, made safe to log: a quoted
// piece of it is kept only when it is a libpq keyword or a punctuation mark,
// or (when the text has no password in it) a bare word; any other is shown
// as "...". Trailing newlines go.
std::string scrub_conninfo_error(const std::string &libpq_message, const std::string &conninfo);

}  // namespace pgmlr::hf_fetch
