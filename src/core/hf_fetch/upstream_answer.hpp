// The pure parts of the upstream source (upstream_source.hpp), separate for
// the unit tests: the name of the upstream in every message (host and port
// from the conninfo, never its password), the next chunk of a range to ask
// hf_blob_read() for, and what an upstream's answer means for the transfer
// (SQLSTATEs of the serving side, connection failures) as a TransferEnd.
#pragma once
#include "common/core_only.hpp"

#include <algorithm>
#include <cstdint>
#include <string>

#include "hf_fetch/source.hpp"

namespace pgmlr::hf_fetch {

// Bytes asked per hf_blob_read() call: bounded memory on both sides (the
// serving side caps a call at 64 MiB).
constexpr int64_t kUpstreamChunk = int64_t{64} << 20;
// Streams per file from an upstream: each is a backend on the upstream, which
// is also a database server (often the primary). On a 2-core loopback set-up
// 16 streams a file were slower than 4 (the backends compete for the CPU the
// bytes need); a real link's latency is covered by 4 and max_parallel.
constexpr int kUpstreamStreamsPerFile = 4;
inline int upstream_streams_per_file(int configured) { return std::min(configured, kUpstreamStreamsPerFile); }
// A server at max_blob_readers (53300) is asked again after this long.
constexpr long kUpstreamBusyRetryS = 3;

// "upstream HOST:PORT" from a conninfo (host or hostaddr, the first of a
// list; port 5432 unless given; a socket folder stays a path). false with
// *why when libpq's PQconninfoParse rejects it; *why never quotes the text.
bool upstream_label(const std::string &conninfo, std::string *label, std::string *why);

// How many bytes to ask next: at most chunk, never past end.
// A libpq or server message without its trailing newline and spaces.
std::string trimmed_message(std::string s);

int64_t next_chunk_length(int64_t next, int64_t end, int64_t chunk = kUpstreamChunk);

// A query of hf_blob_read() for blob ended with an ERROR (sqlstate, message).
TransferEnd upstream_error_end(const std::string &label, const std::string &blob, const std::string &sqlstate,
							   const std::string &message);

// The connection could not be made, or broke (libpq's message). Refused
// logins (no pg_hba.conf line, a wrong password, no such role) fail with a
// hint; anything else is retried and the bytes so far are kept.
TransferEnd upstream_connection_end(const std::string &label, const std::string &message);

}  // namespace pgmlr::hf_fetch
