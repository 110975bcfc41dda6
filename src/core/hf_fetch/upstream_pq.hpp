// Owned libpq handles for the upstream's files (upstream_*.cpp): a
// connection is PQfinish'ed and a result PQclear'ed on every path out,
// early returns included. The only header besides those files that
// includes libpq-fe.h (house-check).
#pragma once
#include "common/core_only.hpp"

#include <memory>

#include <libpq-fe.h>

namespace pgmlr::hf_fetch {

struct PqConnFree {
	void operator()(PGconn *c) const { PQfinish(c); }
};
struct PqResultFree {
	void operator()(PGresult *r) const { PQclear(r); }
};
using PqConn = std::unique_ptr<PGconn, PqConnFree>;
using PqResult = std::unique_ptr<PGresult, PqResultFree>;

}  // namespace pgmlr::hf_fetch
