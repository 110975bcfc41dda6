// Does the upstream answer, and may this role read blobs there? One
// non-blocking libpq connection (at most timeout_ms, the abort flag looked at
// every 100 ms or sooner) and one query of has_function_privilege on
// pgml_repl.hf_blob_read_rows. Failures are Errors whose message names the
// upstream by its label (never the password) and whose hint says what to do;
// the classification of libpq's answers is pure and tested on its own.
#pragma once
#include "common/core_only.hpp"

#include <csignal>
#include <string>

#include "common/error.hpp"

namespace pgmlr::hf_fetch {

// The query the ping sends: true when the role may EXECUTE hf_blob_read_rows.
extern const char kPingQuery[];

// nullopt when the upstream of conninfo let its role run hf_blob_read_rows;
// Canceled when *abort_flag was set; otherwise an Error naming the upstream.
// timeout_ms <= 0 means 10 s.
Status upstream_ping(const std::string &conninfo, int timeout_ms, volatile sig_atomic_t *abort_flag);

// The connection failed with libpq's message: a refused login (no
// pg_hba.conf line, a wrong password, no such role) is Permission, a
// missing database NotFound, anything else (refused, unreachable, timed out)
// Io. role is the user libpq logged in as, for the hint.
Error ping_connection_error(const std::string &label, const std::string &role, const std::string &message);

// The ping's query answered an ERROR (sqlstate, message): no hf_blob_read_rows
// there (42883 undefined_function, 3F000 invalid_schema_name) means the
// extension is missing in that database (or older than 0.3.0).
Error ping_query_error(const std::string &label, const std::string &sqlstate, const std::string &message);

// The query answered false: role may not run hf_blob_read_rows.
Error ping_no_privilege(const std::string &label, const std::string &role);

}  // namespace pgmlr::hf_fetch
