/*
 * hf_cache/manifest_table.h — pgml_repl.hf_manifest, owned by
 * hf_cache/manifest_table.c: no other code reads or writes the table. Also
 * the publish routine (hf_cache/functions.c) that publish_hf_manifest() and
 * the primary's prefetch worker share, and the cache scan check() shares.
 */
#ifndef PGMLR_HF_MANIFEST_TABLE_H
#define PGMLR_HF_MANIFEST_TABLE_H

#include "shim.h"

#include "utils/palloc.h"
#include "pgml_repl/hf_cache.h"

/*
 * Every row of the table, in key order, allocated in the caller's memory
 * context (*count rows; NULL elements of refs read as ""). for_publish first
 * locks the table against other publishers (readers are not blocked).
 */
extern pgmlr_hf_manifest_row *pgmlr_manifest_table_read(bool for_publish, size_t *count);

/*
 * Where the manifest lists blob: each distinct repo (type and id) with the
 * size its rows give the blob, in key order, allocated in the caller's
 * context; *count entries (0: not listed). Read-only, with the caller's
 * privileges (SELECT on the table), so it works on a hot standby.
 */
typedef struct pgmlr_manifest_blob_entry
{
	char	   *repo_type;
	char	   *repo_id;
	int64		size;
} pgmlr_manifest_blob_entry;

extern pgmlr_manifest_blob_entry *pgmlr_manifest_table_find_blob(const char *blob, int *count);

/*
 * Each distinct repo (type and id) the manifest lists, in key order,
 * allocated in the caller's context; *count entries. Read-only, with the
 * caller's privileges, like pgmlr_manifest_table_find_blob.
 */
typedef struct pgmlr_manifest_repo
{
	char	   *repo_type;
	char	   *repo_id;
} pgmlr_manifest_repo;

extern pgmlr_manifest_repo *pgmlr_manifest_table_repos(int *count);

/*
 * SELECT on the table for a role that fetches blobs (replication/blob_fetch.c):
 * granted or revoked (GRANT/REVOKE through SPI, inside the caller's SPI
 * connection), and whether roleid has it.
 */
extern void pgmlr_manifest_table_set_select(const char *role, bool grant);
extern bool pgmlr_manifest_table_readable_by(Oid roleid);

/* Writes a computed diff: deletes, then updates, then inserts. */
extern void pgmlr_manifest_table_apply(const pgmlr_hf_diff *diff);

/*
 * Rows that break the CHECK constraints' rules (only possible once one was
 * dropped): how many, and the first by text order as "<row>: <problem>"
 * (NULL when none), as check() reports them.
 */
extern int64 pgmlr_manifest_table_rule_breakers(char **first);

/* What publishing changed, as publish_hf_manifest() returns it. */
typedef struct pgmlr_hf_publish_result
{
	int32		added;			/* inserted plus updated */
	int32		removed;		/* deleted plus updated */
	int32		unchanged;
	int32		refused;		/* cache entries whose names break the Hub's rules */
} pgmlr_hf_publish_result;

/*
 * Publishes the cache folder cache_dir (NULL: pgml_replication.hf_cache_dir
 * or the server's environment) into the table. report: NOTICE the scan's
 * notices and unhealthy entries, WARN about refused ones (the SQL function);
 * the worker, which would repeat them every naptime, passes false.
 */
extern void pgmlr_hf_publish(const char *cache_dir, bool report, pgmlr_hf_publish_result *out);

/* Scans dir into a handle owned by cxt; report: the scan's notices as NOTICEs. */
extern pgmlr_hf_scan *pgmlr_hf_scan_owned(const char *dir, MemoryContext cxt, bool report);

#endif							/* PGMLR_HF_MANIFEST_TABLE_H */
