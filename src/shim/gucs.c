/*
 * gucs.c — every pgml_replication.* setting, defined once (gucs.h lists the
 * variables). Values are checked with the core's rules (hf_endpoint and
 * hf_token through pgml_repl/hf_cache.h), so SET, ALTER SYSTEM and reload
 * refuse exactly what the worker could not use.
 *
 * hf_token is a secret: PGC_SIGHUP so only postgresql.conf / ALTER SYSTEM
 * (superusers) set it, and its check hook swaps the value the GUC machinery
 * stores for a mask, keeping the real token in the hook's "extra". So SHOW,
 * pg_settings (setting, reset_val) and error messages only ever see the mask,
 * even for pg_read_all_settings members. The mask is shown even when no token
 * is set: on reload the postmaster logs 'parameter changed to "<value as
 * written in the file>"' whenever the shown value changes, so a shown value
 * that differed between "unset" and "set" would put the token in the log.
 */
#include "gucs.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "miscadmin.h"
#include "utils/guc.h"
#include "pgml_repl/fetch_sources.h"
#include "pgml_repl/hf_cache.h"

#define HF_TOKEN_MASK "********"

int			pgmlr_archive_ready_warning = 16;
int			pgmlr_archive_ready_error = 128;
int			pgmlr_replication_lag_warning_kb = 16 * 1024;
int			pgmlr_replication_lag_error_kb = 1024 * 1024;
int			pgmlr_pgbackrest_info_ttl = 5;
int			pgmlr_pgbackrest_timeout = 30;
char	   *pgmlr_hf_cache_dir = NULL;
bool		pgmlr_prefetch_enabled = true;
char	   *pgmlr_prefetch_database = NULL;
int			pgmlr_prefetch_naptime = 10;
char	   *pgmlr_hf_endpoint = NULL;
int			pgmlr_max_parallel_downloads = 4;
int			pgmlr_min_free_disk_mb = 1024;
char	   *pgmlr_hf_ca_file = NULL;
int			pgmlr_max_download_rate_kb = 0;
int			pgmlr_download_range_size_kb = 16 * 1024;
int			pgmlr_max_streams_per_file = 16;
int			pgmlr_prefetch_nice = 10;
bool		pgmlr_yield_to_queries = true;
int			pgmlr_yield_download_rate_kb = 5 * 1024;
int			pgmlr_max_blob_readers = 4;
char	   *pgmlr_hf_sources = NULL;
char	   *pgmlr_upstream_conninfo = NULL;

static char *hf_token_masked = NULL;	/* what the GUC machinery holds */
static const char *hf_token_secret = NULL;	/* the "extra" of the current value */

static bool
check_hf_endpoint(char **newval, void **extra, GucSource source)
{
	pgmlr_status st;

	if (pgmlr_hf_endpoint_valid(*newval, &st))
		return true;
	if (st.code == PGMLR_ERR_INVALID_PARAMETER)
		GUC_check_errdetail("%s", st.detail);
	else
	{
		GUC_check_errcode(pgmlr_sqlstate(st.code));
		GUC_check_errdetail("%s", st.message);
	}
	return false;
}

static bool
check_hf_sources(char **newval, void **extra, GucSource source)
{
	pgmlr_fetch_source_list list;
	pgmlr_status st;

	if (pgmlr_fetch_sources_parse(*newval, &list, &st))
		return true;
	GUC_check_errcode(pgmlr_sqlstate(st.code));
	GUC_check_errdetail("%s", st.message);
	if (st.hint[0])
		GUC_check_errhint("%s", st.hint);
	return false;
}

static bool
check_hf_token(char **newval, void **extra, GucSource source)
{
	const char *v = *newval;
	char	   *secret;
	char	   *mask;
	const char *keep = NULL;	/* the clear text to store, if any */

	if (v == NULL || v[0] == '\0')
		keep = NULL;			/* unset: HF_TOKEN etc. apply */
	/* Re-applying the stored (masked) value keeps the current secret. */
	else if (strcmp(v, HF_TOKEN_MASK) == 0)
		keep = hf_token_secret;
	else
	{
		if (!pgmlr_hf_token_printable(v))
		{
			/*
			 * PostgreSQL quotes *newval in the error message: show the mask,
			 * never the rejected (possibly almost right) token.
			 */
			mask = strdup(HF_TOKEN_MASK);
			if (mask != NULL)
			{
				free(*newval);
				*newval = mask;
			}
			GUC_check_errdetail("A HuggingFace token is printable ASCII without spaces.");
			return false;
		}
		keep = v;
	}
	secret = keep ? strdup(keep) : NULL;
	mask = strdup(HF_TOKEN_MASK);
	if ((keep != NULL && secret == NULL) || mask == NULL)
	{
		free(secret);
		free(mask);
		GUC_check_errcode(ERRCODE_OUT_OF_MEMORY);
		return false;
	}
	/* In PG 15 GUC strings and extras are malloc'd and released with free(). */
	free(*newval);
	*newval = mask;
	*extra = secret;
	return true;
}

static void
assign_hf_token(const char *newval, void *extra)
{
	hf_token_secret = (const char *) extra;
}

const char *
pgmlr_hf_token_setting(void)
{
	return (hf_token_secret && hf_token_secret[0]) ? hf_token_secret : NULL;
}

void
pgmlr_define_gucs(void)
{
	/* Health thresholds */
	DefineCustomIntVariable("pgml_replication.archive_ready_warning",
							"WAL segments waiting to be archived at which archive_status() reports a warning.",
							"Counts the .ready files in pg_wal/archive_status.",
							&pgmlr_archive_ready_warning,
							16, 1, INT_MAX,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("pgml_replication.archive_ready_error",
							"WAL segments waiting to be archived at which archive_status() reports an error.",
							"A value below pgml_replication.archive_ready_warning is raised to it when used.",
							&pgmlr_archive_ready_error,
							128, 1, INT_MAX,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("pgml_replication.replication_lag_warning",
							"Replay lag at which replication_status() reports a warning.",
							"Bytes of WAL not yet replayed by a standby; set with a unit, e.g. '16MB'.",
							&pgmlr_replication_lag_warning_kb,
							16 * 1024, 1, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_KB,
							NULL, NULL, NULL);
	DefineCustomIntVariable("pgml_replication.replication_lag_error",
							"Replay lag at which replication_status() reports an error.",
							"Bytes of WAL not yet replayed by a standby; set with a unit, e.g. '1GB'. "
							"A value below pgml_replication.replication_lag_warning is raised to it when used.",
							&pgmlr_replication_lag_error_kb,
							1024 * 1024, 1, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_KB,
							NULL, NULL, NULL);
	DefineCustomIntVariable("pgml_replication.pgbackrest_info_ttl",
							"How long archive_status() and check() reuse a pgbackrest info answer.",
							"Per session and per stanza and configuration file; 0 runs pgbackrest on every call. "
							"pgml_repl.pgbackrest_info() itself always runs it.",
							&pgmlr_pgbackrest_info_ttl,
							5, 0, 3600,
							PGC_USERSET, GUC_UNIT_S,
							NULL, NULL, NULL);

	/* HuggingFace cache */
	DefineCustomStringVariable("pgml_replication.hf_cache_dir",
							   "HuggingFace hub cache folder that the manifest describes.",
							   "Empty means the server's HF_HUB_CACHE, HUGGINGFACE_HUB_CACHE, "
							   "$HF_HOME/hub, $XDG_CACHE_HOME/huggingface/hub or "
							   "$HOME/.cache/huggingface/hub, in that order.",
							   &pgmlr_hf_cache_dir,
							   "",
							   PGC_SIGHUP,
							   0,
							   NULL, NULL, NULL);

	/* Prefetch worker */
	DefineCustomBoolVariable("pgml_replication.prefetch",
							 "Whether the prefetch worker keeps this node's HuggingFace cache in line with the manifest.",
							 "On a standby it downloads what the replicated manifest lists; on a primary it publishes the manifest.",
							 &pgmlr_prefetch_enabled, true,
							 PGC_SIGHUP, 0, NULL, NULL, NULL);
	/*
	 * PostgreSQL refuses new PGC_POSTMASTER settings after start-up, and the
	 * worker that reads this one exists only when preloaded anyway.
	 */
	if (process_shared_preload_libraries_in_progress)
		DefineCustomStringVariable("pgml_replication.database",
								   "Database where the pgml_replication extension is installed (the worker connects to it).",
								   NULL,
								   &pgmlr_prefetch_database, "postgres",
								   PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("pgml_replication.naptime",
							"Time between two prefetch cycles.",
							"prefetch_now() starts a cycle at once.",
							&pgmlr_prefetch_naptime, 10, 1, 86400,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomStringVariable("pgml_replication.hf_endpoint",
							   "HuggingFace Hub (or mirror) to download from; empty means HF_ENDPOINT, else https://huggingface.co.",
							   NULL,
							   &pgmlr_hf_endpoint, "",
							   PGC_SIGHUP, 0, check_hf_endpoint, NULL, NULL);
	DefineCustomStringVariable("pgml_replication.hf_token",
							   "HuggingFace access token for gated models; empty means HF_TOKEN, HUGGING_FACE_HUB_TOKEN, then the huggingface_hub token file.",
							   "The token file is $HF_TOKEN_PATH, else $HF_HOME/token, else $XDG_CACHE_HOME/huggingface/token, else "
							   "$HOME/.cache/huggingface/token. Shown only as a mask, to everyone.",
							   &hf_token_masked, "",
							   PGC_SIGHUP, GUC_SUPERUSER_ONLY | GUC_NOT_IN_SAMPLE,
							   check_hf_token, assign_hf_token, NULL);
	DefineCustomStringVariable("pgml_replication.hf_ca_file",
							   "CA bundle used to verify the Hub's TLS certificate; empty means the system's.",
							   NULL,
							   &pgmlr_hf_ca_file, "",
							   PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("pgml_replication.max_parallel_downloads",
							"Number of files the prefetch worker downloads at once.",
							NULL,
							&pgmlr_max_parallel_downloads, 4, 1, 64,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("pgml_replication.min_free_disk",
							"Free space the prefetch worker leaves on the cache's file system.",
							"A download that would go below it waits and is retried later.",
							&pgmlr_min_free_disk_mb, 1024, 0, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_MB, NULL, NULL, NULL);
	DefineCustomIntVariable("pgml_replication.max_download_rate",
							"Bytes per second the prefetch worker downloads at most, all files together; 0 means no limit.",
							"A change applies at once, to a running download too.",
							&pgmlr_max_download_rate_kb, 0, 0, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_KB, NULL, NULL, NULL);
	DefineCustomIntVariable("pgml_replication.download_range_size",
							"Size of the ranges a large file is fetched in, over several connections at once.",
							"Files of at least two ranges are fetched in parallel ranges; smaller ones in one stream. A change applies from the next prefetch cycle.",
							&pgmlr_download_range_size_kb, 16 * 1024, 64, 1024 * 1024,
							PGC_SIGHUP, GUC_UNIT_KB, NULL, NULL, NULL);
	DefineCustomIntVariable("pgml_replication.max_streams_per_file",
							"Connections one large file is fetched over at most; 1 fetches every file in one stream.",
							"A file starts with 4 and doubles while its throughput grows by 20 %. A change applies from the next prefetch cycle.",
							&pgmlr_max_streams_per_file, 16, 1, 64,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("pgml_replication.prefetch_nice",
							"CPU niceness of the prefetch worker and its download threads; their I/O priority follows it.",
							"A change applies from the next prefetch cycle. A lower value than the worker has needs a server restart.",
							&pgmlr_prefetch_nice, 10, 0, 19,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	/* Read at every fetch step (worker/yield.c): a reload applies at once. */
	DefineCustomBoolVariable("pgml_replication.yield_to_queries",
							 "Whether the prefetch worker slows its downloads while this node's client backends are busy.",
							 "It falls to pgml_replication.yield_download_rate while queries use CPU on a busy node, "
							 "and speeds up again once they stop or leave CPU time unused.",
							 &pgmlr_yield_to_queries, true,
							 PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("pgml_replication.yield_download_rate",
							"Bytes per second the prefetch worker falls to while it yields to queries.",
							"pgml_replication.max_download_rate still caps it.",
							&pgmlr_yield_download_rate_kb, 5 * 1024, 1, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_KB, NULL, NULL, NULL);

	/* Serving blobs to replicas (hf_cache/blob_read.c) */
	DefineCustomIntVariable("pgml_replication.max_blob_readers",
							"Transactions that may read blobs through pgml_repl.hf_blob_read() at once on this server; 0 turns serving off.",
							"A reader holds its slot until its transaction ends; one more gets an error and retries later.",
							&pgmlr_max_blob_readers, 4, 0, 1000,
							PGC_SIGHUP, 0, NULL, NULL, NULL);

	/*
	 * Where a standby's worker fetches blobs from (worker/fetch_sources.c).
	 * upstream_conninfo has no check hook, like primary_conninfo: a refused
	 * value is quoted in the error, and it may hold a password. The worker
	 * reports a bad one as its last_error, without quoting it.
	 */
	DefineCustomStringVariable("pgml_replication.hf_sources",
							   "Where the prefetch worker on a standby fetches files from, in order: upstream, hub, or both.",
							   "upstream is the server of primary_conninfo (or pgml_replication.upstream_conninfo); "
							   "the Hub gets only what the upstream lacks or all of it when the upstream is unreachable. "
							   "A change applies from the next prefetch cycle.",
							   &pgmlr_hf_sources, "upstream, hub",
							   PGC_SIGHUP, GUC_LIST_INPUT, check_hf_sources, NULL, NULL);
	DefineCustomStringVariable("pgml_replication.upstream_conninfo",
							   "Connection string of the server a standby fetches files from; empty means the server of primary_conninfo.",
							   "dbname is replaced by pgml_replication.database. Prefer a passfile to a password here: "
							   "like primary_conninfo, the value is shown to superusers and pg_read_all_settings members.",
							   &pgmlr_upstream_conninfo, "",
							   PGC_SIGHUP, GUC_SUPERUSER_ONLY, NULL, NULL, NULL);

	/* Operator toolkit */
	DefineCustomIntVariable("pgml_replication.pgbackrest_timeout",
							"Time limit for the pgbackrest command run by pgml_repl.pgbackrest_info().",
							"pgbackrest gets SIGTERM at the limit and SIGKILL 5 seconds later.",
							&pgmlr_pgbackrest_timeout,
							30, 1, 3600,
							PGC_SUSET, GUC_UNIT_S,
							NULL, NULL, NULL);
}
