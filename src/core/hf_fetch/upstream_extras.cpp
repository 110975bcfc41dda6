// Implements hf_fetch/upstream_extras.hpp: the connection, the query of
// pgml_repl.hf_cache_extras() and the loop over its rows. Every libpq call
// returns a value checked here; nothing blocks past the deadline or the
// abort flag (the socket is polled in 100 ms steps).
#include "common/core_only.hpp"
#include "hf_fetch/upstream_extras.hpp"

#include <chrono>
#include <memory>
#include <string_view>

#include <poll.h>

#include "hf_fetch/extras_write.hpp"
#include "hf_fetch/upstream_answer.hpp"
#include "hf_fetch/upstream_pq.hpp"

namespace pgmlr::hf_fetch {

namespace {

using Clock = std::chrono::steady_clock;


constexpr char kQuery[] = "SELECT repo_type, repo_id, kind, name, content FROM pgml_repl.hf_cache_extras()";
constexpr char kApplicationName[] = "pgml_replication fetch";
constexpr char kGrantHint[] =
	"On the upstream, SELECT * FROM pgml_repl.allow_blob_fetch('<replica address>', '<role>'); grants EXECUTE on "
	"hf_blob_read and hf_cache_extras and adds the pg_hba.conf line.";


class Session {
public:
	Session(std::string label, int timeout_ms, volatile sig_atomic_t *abort_flag)
		: label_(std::move(label)), abort_(abort_flag),
		  deadline_(Clock::now() + std::chrono::milliseconds(timeout_ms > 0 ? timeout_ms : 1)), timeout_ms_(timeout_ms) {}

	Status connect(const std::string &conninfo) {
		const char *keys[] = {"dbname", "application_name", nullptr};
		const char *values[] = {conninfo.c_str(), kApplicationName, nullptr};
		pg_.reset(PQconnectStartParams(keys, values, 1));
		if (!pg_ || PQstatus(pg_.get()) == CONNECTION_BAD) return connection_error();
		PQsetNoticeProcessor(pg_.get(), [](void *, const char *) {}, nullptr);
		switch (pq_connect_bounded(pg_.get(), deadline_, abort_)) {
		case PqConnect::ok: break;
		case PqConnect::failed: return connection_error();
		case PqConnect::timed_out: return timed_out();
		case PqConnect::aborted: return canceled();
		}
		if (PQsetnonblocking(pg_.get(), 1) != 0) return connection_error();
		return {};
	}

	// Runs the query; each row goes to on_row (a PGresult of one row).
	template <class OnRow>
	Status query(OnRow &&on_row) {
		if (!PQsendQueryParams(pg_.get(), kQuery, 0, nullptr, nullptr, nullptr, nullptr, 1))
			return connection_error();
		if (!PQsetSingleRowMode(pg_.get())) return connection_error();
		Status failure;
		while (true) {
			int f = PQflush(pg_.get());
			if (f < 0) return connection_error();
			if (!PQconsumeInput(pg_.get())) return connection_error();
			while (!PQisBusy(pg_.get())) {
				PqResult r(PQgetResult(pg_.get()));
				if (!r) return failure;
				ExecStatusType st = PQresultStatus(r.get());
				if (st == PGRES_SINGLE_TUPLE && !failure) {
					if (Status s = on_row(r.get())) failure = s;
				} else if (st != PGRES_SINGLE_TUPLE && st != PGRES_TUPLES_OK && !failure) {
					failure = query_error(r.get());
				}
			}
			Result<bool> ready = wait(f == 1 ? (POLLIN | POLLOUT) : POLLIN);
			if (!ready) return ready.error();
		}
	}

private:
	// Waits up to one poll step for the socket; false when nothing came yet.
	Result<bool> wait(short events) {
		switch (pq_wait(PQsocket(pg_.get()), events, deadline_, abort_)) {
		case PqWait::aborted: return canceled();
		case PqWait::timed_out: return timed_out();
		case PqWait::idle: return false;
		case PqWait::ready: break;
		}
		return true;
	}

	Error canceled() const { return make_error(ErrCode::Canceled, label_ + ": canceled"); }

	Error timed_out() const {
		return make_error(ErrCode::Io, label_ + ": timed out after " + std::to_string(timeout_ms_) + " ms",
						  "The connection and the query of pgml_repl.hf_cache_extras() took longer.",
						  "Retry later; a slow or unreachable upstream is tried again on the next cycle.");
	}

	Error connection_error() {
		TransferEnd e = upstream_connection_end(label_, pq_message(pg_.get()));
		if (e.kind == TransferEnd::Kind::fail) {
			std::string why = e.why.substr(0, e.why.find(" (hint:"));
			return make_error(ErrCode::Permission, why, {}, kGrantHint);
		}
		return make_error(ErrCode::Io, e.why, {}, "Retry later.");
	}

	Error query_error(PGresult *r) {
		const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
		const std::string sqlstate = state ? state : "";
		const std::string text = msg ? msg : trimmed_message(PQresultErrorMessage(r));
		if (sqlstate == "42501")
			return make_error(ErrCode::Permission, label_ + ": not allowed to read the cache extras: " + text,
							  "The role needs EXECUTE on pgml_repl.hf_cache_extras() and SELECT on pgml_repl.hf_manifest.",
							  kGrantHint);
		if (sqlstate == "42883" || sqlstate == "3F000" || sqlstate == "42P01")
			return make_error(ErrCode::NotFound, label_ + ": has no pgml_repl.hf_cache_extras(): " + text,
							  "The upstream runs a pgml_replication older than 0.3.0, or not in this database.",
							  "Run ALTER EXTENSION pgml_replication UPDATE on the upstream's primary.");
		return make_error(ErrCode::Io, label_ + ": the query of pgml_repl.hf_cache_extras() failed: " + text,
						  "SQLSTATE " + sqlstate + ".");
	}

	std::string label_;
	volatile sig_atomic_t *abort_;
	Clock::time_point deadline_;
	int timeout_ms_;
	PqConn pg_;
};

std::string_view field(PGresult *r, int col) {
	return std::string_view(PQgetvalue(r, 0, col), static_cast<size_t>(PQgetlength(r, 0, col)));
}

}  // namespace

Status sync_upstream_extras(const std::string &cache_root, const std::string &conninfo, int timeout_ms,
							volatile sig_atomic_t *abort_flag, ExtrasCounts *out) {
	std::string label, why;
	if (!upstream_label(conninfo, &label, &why))
		return make_error(ErrCode::InvalidParameter, "invalid upstream conninfo", why,
						  "Give a libpq connection string, e.g. host=primary port=5432 user=fetcher dbname=postgres.");
	if (cache_root.empty() || cache_root[0] != '/')
		return make_error(ErrCode::ConfigFile, "the cache folder is not an absolute path");
	Session s(label, timeout_ms, abort_flag);
	if (Status st = s.connect(conninfo)) return st;
	auto refuse = [&](const std::string &reason) {
		if (out->refused++ == 0) out->first_refusal = label + ": " + reason;
	};
	return s.query([&](PGresult *r) -> Status {
		if (PQnfields(r) != 5) return make_error(ErrCode::Io, label + ": hf_cache_extras() answered " +
																   std::to_string(PQnfields(r)) + " columns, not 5");
		for (int c = 0; c < 4; ++c)
			if (PQgetisnull(r, 0, c)) {
				refuse("a row with a NULL name");
				return {};
			}
		const bool content_null = PQgetisnull(r, 0, 4);
		Result<ExtraTarget> t = check_extra_row(field(r, 0), field(r, 1), field(r, 2), field(r, 3), content_null,
												content_null ? 0 : static_cast<size_t>(PQgetlength(r, 0, 4)));
		if (!t) {
			refuse(t.error().message + ": " + t.error().detail);
			return {};
		}
		Result<WriteOutcome> w = write_extra(cache_root, *t, content_null ? std::string_view() : field(r, 4));
		if (!w) {
			if (w.error().code != ErrCode::Permission) return w.error();  // a disk problem stops the sync
			refuse(w.error().message);
			return {};
		}
		if (*w == WriteOutcome::unchanged)
			++out->unchanged;
		else if (t->kind == hf::ExtraKind::tree)
			++out->trees_written;
		else
			++out->markers_written;
		return {};
	});
}

}  // namespace pgmlr::hf_fetch
