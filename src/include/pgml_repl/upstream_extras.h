/*
 * pgml_repl/upstream_extras.h — a replica's copy of what huggingface_hub
 * wrote on its upstream besides blobs, snapshots and refs: the
 * trees/<commit>.json files and .no_exist/<commit>/<path> markers that
 * pgml_repl.hf_cache_extras() serves there (issue 12). The worker calls it
 * after fetching blobs from the upstream; hf_fetch_cli --extras too.
 *
 * Plain C, implemented in src/core/hf_fetch/api_upstream_extras.cpp.
 * Rules: pgml_repl/status.h.
 */
#ifndef PGML_REPL_UPSTREAM_EXTRAS_H
#define PGML_REPL_UPSTREAM_EXTRAS_H

#include <signal.h>
#include "pgml_repl/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pgmlr_extras_result
{
	int64_t		trees_written;	/* tree files created or replaced */
	int64_t		markers_written;	/* .no_exist markers created */
	int64_t		unchanged;		/* rows the local cache already held */
	int64_t		refused;		/* rows that break the rules (names, kinds, sizes) or could not be written */
	char		first_refusal[512]; /* why the first was refused; "" when none */
} pgmlr_extras_result;

/*
 * Connects to the upstream (conninfo: a libpq conninfo naming the database
 * the extension is in; the connection and the query together take at most
 * timeout_ms, and *abort_flag, when not NULL, is read every 100 ms), runs
 * SELECT ... FROM pgml_repl.hf_cache_extras(), checks every row as untrusted
 * input and writes it under cache_root (absolute) when absent or different.
 * True when the query completed (refused rows are counted in *out, not
 * failures); false with *status otherwise: INVALID_PARAMETER (a conninfo
 * libpq rejects), PERMISSION (login refused, or no EXECUTE on the function:
 * the hint names allow_blob_fetch), NOT_FOUND (the upstream has no
 * hf_cache_extras, an older pgml_replication), CANCELED (*abort_flag),
 * IO (connection failure, timeout, a write that failed). Messages name
 * the upstream as "upstream HOST:PORT", never the password.
 */
bool		pgmlr_upstream_extras_sync(const char *cache_root, const char *conninfo, int timeout_ms,
									   volatile sig_atomic_t *abort_flag, pgmlr_extras_result *out,
									   pgmlr_status *status);

#ifdef __cplusplus
}
#endif

#endif							/* PGML_REPL_UPSTREAM_EXTRAS_H */
