/*
 * pgml_repl/fetch_sources.h — where a replica's worker fetches blobs from:
 * the pgml_replication.hf_sources list, the upstream server's conninfo built
 * from primary_conninfo, and a quick question whether that server answers.
 *
 * Plain C, seen by the shim and by src/core/hf_fetch/api_sources.cpp only.
 * Rules: pgml_repl/status.h.
 */
#ifndef PGML_REPL_FETCH_SOURCES_H
#define PGML_REPL_FETCH_SOURCES_H

#include <signal.h>
#include "pgml_repl/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum pgmlr_fetch_source_kind
{
	PGMLR_SOURCE_UPSTREAM = 1,	/* the server of primary_conninfo (or upstream_conninfo) */
	PGMLR_SOURCE_HUB = 2		/* the HuggingFace Hub (HF_ENDPOINT) */
} pgmlr_fetch_source_kind;

#define PGMLR_MAX_FETCH_SOURCES 2

typedef struct pgmlr_fetch_source_list
{
	int			count;			/* 1..PGMLR_MAX_FETCH_SOURCES */
	pgmlr_fetch_source_kind kinds[PGMLR_MAX_FETCH_SOURCES];	/* in the order they are tried */
} pgmlr_fetch_source_list;

/*
 * Parses pgml_replication.hf_sources: a comma-separated list of "upstream"
 * and "hub" (case-insensitive, spaces around items ignored), each at most
 * once, at least one. Anything else sets *status (INVALID_PARAMETER, with
 * a hint naming the accepted values) and returns false.
 */
bool		pgmlr_fetch_sources_parse(const char *text, pgmlr_fetch_source_list *out, pgmlr_status *status);

/*
 * The conninfo a replica uses to fetch blobs from the server it replicates
 * from, built from that server's primary_conninfo (a libpq conninfo string
 * or URI): host, hostaddr, port, user, password, passfile, the ssl*, gss*
 * and krbsrvname settings, channel_binding, target_session_attrs,
 * connect_timeout, the keepalives* and tcp_user_timeout settings are kept;
 * dbname becomes database, application_name becomes application_name, and
 * everything else (replication, options, service, ...) is dropped. Returns
 * a key=value conninfo, values single-quoted (malloc'd; pgmlr_free), or NULL
 * with *status set (INVALID_PARAMETER) when primary_conninfo is empty, does
 * not parse (the message never quotes it: it may hold a password) or names
 * neither host nor hostaddr, or database is empty. application_name NULL or
 * "": none.
 */
char	   *pgmlr_upstream_conninfo_from_primary(const char *primary_conninfo, const char *database,
												 const char *application_name, pgmlr_status *status);

/*
 * "upstream HOST:PORT" for messages and status (never the password); ""
 * (with *status still OK) when conninfo does not parse. malloc'd;
 * pgmlr_free; NULL only when out of memory.
 */
char	   *pgmlr_upstream_label(const char *conninfo, pgmlr_status *status);

/*
 * Does the upstream answer? Connects (non-blocking, at most timeout_ms,
 * checking *abort_flag at least every 100 ms) and checks that the role may
 * run pgml_repl.hf_blob_read_rows there. true when it may; false with *status
 * set otherwise: the message names the upstream (its label) and says why
 * (connection refused, authentication, no such database, the extension
 * missing there, no privilege), the hint what to do. CANCELED when
 * *abort_flag was set (NULL: no flag). timeout_ms <= 0 means 10 s. libpq
 * looks a host name up with a blocking getaddrinfo(), which neither bound
 * covers (hostaddr avoids the lookup).
 */
bool		pgmlr_upstream_ping(const char *conninfo, int timeout_ms, volatile sig_atomic_t *abort_flag,
								pgmlr_status *status);

#ifdef __cplusplus
}
#endif

#endif							/* PGML_REPL_FETCH_SOURCES_H */
