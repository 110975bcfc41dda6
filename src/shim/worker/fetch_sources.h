/*
 * worker/fetch_sources.h — which sources a standby's prefetch cycle asks, in
 * order (pgml_replication.hf_sources), and the upstream server's conninfo:
 * pgml_replication.upstream_conninfo, else the server of primary_conninfo.
 * Also the descriptors a job's connections take from PostgreSQL's budget.
 */
#ifndef PGMLR_WORKER_FETCH_SOURCES_H
#define PGMLR_WORKER_FETCH_SOURCES_H

#include "postgres.h"

#include "pgml_repl/fetch_sources.h"
#include "worker/state.h"

typedef struct CycleSources
{
	pgmlr_fetch_source_list list;	/* in the order they are asked */
	char	   *upstream_conninfo;	/* palloc'd; NULL: no upstream this cycle */
	char		upstream_label[128];	/* "upstream HOST:PORT" ("" without one) */
	char		no_upstream[PREFETCH_ERROR_LEN];	/* listed but unusable: why */
} CycleSources;

/* Reads the settings as they are now (after a reload, the new ones). */
extern void pgmlr_cycle_sources(CycleSources *out);

/* "upstream" or "hub", for prefetch_queue().source and messages. */
extern const char *pgmlr_source_name(pgmlr_fetch_source_kind kind);

/*
 * Reserves up to want descriptors from max_files_per_process
 * (AcquireExternalFD), as PostgreSQL counts libpq's sockets in dblink and
 * postgres_fdw; returns how many it got (0: none free). Give them back with
 * pgmlr_release_fetch_fds.
 */
extern int	pgmlr_reserve_fetch_fds(int want);
extern void pgmlr_release_fetch_fds(int n);

#endif							/* PGMLR_WORKER_FETCH_SOURCES_H */
