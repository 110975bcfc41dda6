// Implements hf_fetch/upstream_answer.hpp: the upstream's name, chunk
// planning and the mapping of its answers to a TransferEnd.
#include "common/core_only.hpp"
#include "hf_fetch/upstream_answer.hpp"

#include <algorithm>
#include <memory>

#include <libpq-fe.h>

namespace pgmlr::hf_fetch {

namespace {

struct OptionsFree {
	void operator()(PQconninfoOption *o) const { PQconninfoFree(o); }
};

std::string first_of_list(const char *v) {
	std::string s = v ? v : "";
	return s.substr(0, s.find(','));
}

const char kGrantHint[] =
	" (hint: on the primary, SELECT pgml_repl.allow_blob_fetch(<address>, <role>) grants EXECUTE on "
	"pgml_repl.hf_blob_read_rows and adds the pg_hba.conf line for this database)";

TransferEnd make(TransferEnd::Kind kind, bool keep, std::string why) {
	TransferEnd e;
	e.kind = kind;
	e.keep_bytes = keep;
	e.why = std::move(why);
	return e;
}

}  // namespace

std::string trimmed_message(std::string s) {
	while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r' || s.back() == '\t')) s.pop_back();
	return s;
}

bool upstream_label(const std::string &conninfo, std::string *label, std::string *why) {
	char *err = nullptr;
	std::unique_ptr<PQconninfoOption, OptionsFree> opts(PQconninfoParse(conninfo.c_str(), &err));
	if (!opts) {
		// libpq's message names the offending keyword, not the values.
		*why = err ? trimmed_message(err) : std::string("out of memory");
		if (err) PQfreemem(err);
		return false;
	}
	std::string host, hostaddr, port;
	for (PQconninfoOption *o = opts.get(); o->keyword; ++o) {
		std::string k = o->keyword;
		if (k == "host") host = first_of_list(o->val);
		else if (k == "hostaddr") hostaddr = first_of_list(o->val);
		else if (k == "port") port = first_of_list(o->val);
	}
	if (host.empty()) host = hostaddr;
	if (host.empty()) host = "localhost";
	if (port.empty()) port = "5432";
	*label = "upstream " + host + ":" + port;
	return true;
}

int64_t next_chunk_length(int64_t next, int64_t end, int64_t chunk) {
	if (next >= end || chunk <= 0) return 0;
	return std::min(chunk, end - next);
}

TransferEnd upstream_error_end(const std::string &label, const std::string &blob, const std::string &sqlstate,
							   const std::string &message) {
	std::string msg = trimmed_message(message);
	std::string prefix = label + ": ";
	if (sqlstate == "58P01")
		return make(TransferEnd::Kind::retry, true, prefix + "blob " + blob + " is not (yet) in its cache");
	if (sqlstate == "53300") {
		TransferEnd e = make(TransferEnd::Kind::retry, true, prefix + "too many blob readers (max_blob_readers)");
		e.retry_after_s = kUpstreamBusyRetryS;
		e.busy = true;
		return e;
	}
	if (sqlstate == "42704")
		return make(TransferEnd::Kind::fail, true, prefix + "blob " + blob + " is not in its pgml_repl.hf_manifest");
	if (sqlstate == "42501" || sqlstate == "28000" || sqlstate == "28P01")
		return make(TransferEnd::Kind::fail, true, prefix + "not allowed to fetch blobs: " + msg + kGrantHint);
	if (sqlstate == "42883" || sqlstate == "3F000")
		return make(TransferEnd::Kind::fail, true,
					prefix + "no pgml_repl.hf_blob_read_rows() there (pgml_replication 0.3.0 or later serves blobs): " + msg);
	if (sqlstate == "22023")
		return make(TransferEnd::Kind::fail, true, prefix + "refused the request: " + msg);
	// Connection class, cancels (statement_timeout), shutdowns, lack of
	// resources and anything unknown: worth another attempt.
	return make(TransferEnd::Kind::retry, true, prefix + (sqlstate.empty() ? "" : sqlstate + ": ") + msg);
}

TransferEnd upstream_connection_end(const std::string &label, const std::string &message) {
	std::string msg = trimmed_message(message);
	std::string prefix = label + ": ";
	for (const char *refused : {"no pg_hba.conf entry", "authentication failed", "does not exist",
								"permission denied", "password is required", "pg_hba.conf rejects"})
		if (msg.find(refused) != std::string::npos)
			return make(TransferEnd::Kind::fail, true, prefix + "login refused: " + msg + kGrantHint);
	return make(TransferEnd::Kind::retry, true, prefix + "connection failed: " + msg);
}

}  // namespace pgmlr::hf_fetch
