/*
 * gucs.h — every pgml_replication.* setting, as the C variable the GUC
 * machinery keeps current. Defined once, in gucs.c; code reads these
 * variables, never the settings by name (GetConfigOption), so a renamed or
 * retyped setting breaks the build instead of a lookup at run time.
 */
#ifndef PGMLR_GUCS_H
#define PGMLR_GUCS_H

#include "shim.h"

/* Health thresholds (archive_status(), replication_status(), check()). */
extern int	pgmlr_archive_ready_warning;
extern int	pgmlr_archive_ready_error;
/* In kB (GUC_UNIT_KB): an int GUC in bytes could not reach 1GB and beyond. */
extern int	pgmlr_replication_lag_warning_kb;
extern int	pgmlr_replication_lag_error_kb;
extern int	pgmlr_pgbackrest_info_ttl;	/* seconds; 0 runs pgbackrest every time */

/* Operator toolkit. */
extern int	pgmlr_pgbackrest_timeout;	/* seconds */

/* HuggingFace cache and the prefetch worker. */
extern char *pgmlr_hf_cache_dir;	/* "" means the environment's */
extern bool pgmlr_prefetch_enabled;
extern char *pgmlr_prefetch_database;	/* NULL unless preloaded */
extern int	pgmlr_prefetch_naptime;	/* seconds */
extern char *pgmlr_hf_endpoint;	/* "" means HF_ENDPOINT, else the Hub */
extern int	pgmlr_max_parallel_downloads;
extern int	pgmlr_download_range_size_kb;
extern int	pgmlr_max_streams_per_file;
extern int	pgmlr_min_free_disk_mb;
extern char *pgmlr_hf_ca_file;
extern int	pgmlr_max_download_rate_kb;
extern int	pgmlr_prefetch_nice;
extern bool pgmlr_yield_to_queries;
extern int	pgmlr_yield_download_rate_kb;

/* Where a standby fetches blobs from (worker/fetch_sources.c). */
extern char *pgmlr_hf_sources;	/* "upstream, hub" */
extern char *pgmlr_upstream_conninfo;	/* "" means primary_conninfo's server */

/* Serving blobs to replicas (hf_blob_read()). */
extern int	pgmlr_max_blob_readers;	/* 0: serving off */

/*
 * The clear text of pgml_replication.hf_token (the setting shows a mask);
 * NULL when unset. The fallbacks (HF_TOKEN...) are pgmlr_hf_hub_token()'s.
 */
extern const char *pgmlr_hf_token_setting(void);

/* Defines all of the above; called once from _PG_init. */
extern void pgmlr_define_gucs(void);

#endif							/* PGMLR_GUCS_H */
