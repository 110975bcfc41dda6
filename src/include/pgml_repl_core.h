/*
 * pgml_repl_core.h — the one boundary between the C++ core and the C shim.
 *
 * Plain C: no PostgreSQL type, no C++ type. Every function here is noexcept
 * in effect: the core catches everything and reports failures through a
 * pgmlr_status the caller owns. Strings and handles returned by the core are
 * allocated with malloc and released with the matching pgmlr_*_free call;
 * never pfree them, and never hand palloc'd memory to the core to keep.
 */
#ifndef PGML_REPL_CORE_H
#define PGML_REPL_CORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Status                                                               */
/* ------------------------------------------------------------------ */

/* The shim maps each code to a SQLSTATE (src/shim/errors.c). */
typedef enum pgmlr_errcode
{
	PGMLR_OK = 0,
	PGMLR_ERR_INVALID_PARAMETER,	/* 22023 invalid_parameter_value */
	PGMLR_ERR_INVALID_NAME,			/* 42602 invalid_name */
	PGMLR_ERR_CONFIG_FILE,			/* F0000 config_file_error */
	PGMLR_ERR_IO,					/* 58030 io_error */
	PGMLR_ERR_NOT_FOUND,			/* 58P01 undefined_file */
	PGMLR_ERR_PERMISSION,			/* 42501 insufficient_privilege */
	PGMLR_ERR_OUT_OF_MEMORY,		/* 53200 out_of_memory */
	PGMLR_ERR_CANCELED,				/* 57014 query_canceled */
	PGMLR_ERR_INTERNAL				/* XX000 internal_error */
} pgmlr_errcode;

typedef struct pgmlr_status
{
	pgmlr_errcode code;
	char		message[256];
	char		detail[1024];
	char		hint[512];
} pgmlr_status;

/* Resets *status to PGMLR_OK with empty texts. */
void		pgmlr_status_clear(pgmlr_status *status);

/* Releases a string returned by the core. NULL is fine. */
void		pgmlr_free(void *ptr);

/* ------------------------------------------------------------------ */
/* postgresql.auto.conf (configure_primary)                             */
/* ------------------------------------------------------------------ */
/* BEGIN auto_conf */
/* END auto_conf */

/* ------------------------------------------------------------------ */
/* Role names, passwords and pg_hba.conf                                */
/* ------------------------------------------------------------------ */
/* BEGIN replication_user_hba */
/* END replication_user_hba */

/* ------------------------------------------------------------------ */
/* Archive and replication health                                       */
/* ------------------------------------------------------------------ */
/* BEGIN health */
/* END health */

/* ------------------------------------------------------------------ */
/* HuggingFace cache scan, hashing and manifest                         */
/* ------------------------------------------------------------------ */
/* BEGIN hf_cache */
/*
 * Scan of a HuggingFace hub cache folder. A scan is an opaque handle: the
 * shim reads its rows, repos and notices through the accessors below (every
 * pointer stays valid until the handle is freed) and ties it to a memory
 * context with pgmlr_own_handle(scan, pgmlr_hf_scan_free).
 */
typedef struct pgmlr_hf_scan pgmlr_hf_scan;

/* One file of one snapshot (or a stray blob download: revision/path NULL). */
typedef struct pgmlr_hf_file_row
{
	const char *repo_type;		/* model, dataset, space */
	const char *repo_id;		/* gpt2, org/name */
	const char *revision;		/* snapshot commit; NULL for a stray download */
	const char *const *refs;	/* refs pointing at revision, sorted */
	int32_t		nrefs;
	const char *path;			/* relative to the snapshot; NULL for a stray download */
	const char *blob;			/* blob name; NULL when unknown */
	int64_t		size;			/* bytes; -1 when unknown */
	const char *status;			/* ok, broken_symlink, ... (docs/hf_cache.md) */
	bool		verified;		/* content hashed and equal to the blob name */
} pgmlr_hf_file_row;

/* One repo, as `huggingface-cli scan-cache` shows it. */
typedef struct pgmlr_hf_repo_row
{
	const char *repo_type;
	const char *repo_id;
	int32_t		revisions;
	int32_t		files;			/* distinct blobs (plus real files of no-symlink snapshots) */
	int64_t		size_on_disk;	/* each blob counted once */
	bool		has_last_modified;
	int64_t		last_modified;	/* newest blob mtime, seconds since the Unix epoch */
	const char *const *refs;
	int32_t		nrefs;
} pgmlr_hf_repo_row;

/*
 * The cache folder to use: configured if non-empty, else HF_HUB_CACHE,
 * HUGGINGFACE_HUB_CACHE, $HF_HOME/hub, $XDG_CACHE_HOME/huggingface/hub,
 * $HOME/.cache/huggingface/hub (the server's environment). malloc'd.
 */
char	   *pgmlr_hf_default_cache_dir(const char *configured, pgmlr_status *status);

/*
 * Lists cache_dir (absolute). A missing folder is no error: an empty scan
 * with a notice. Damage inside the cache becomes row statuses or notices.
 */
pgmlr_hf_scan *pgmlr_hf_scan_cache(const char *cache_dir, pgmlr_status *status);
/* Cancels and joins a running verification, then releases everything. */
void		pgmlr_hf_scan_free(void *scan);
/* False when the cache folder did not exist (the scan is then empty). */
bool		pgmlr_hf_scan_found(const pgmlr_hf_scan *scan);

size_t		pgmlr_hf_scan_file_count(const pgmlr_hf_scan *scan);
const pgmlr_hf_file_row *pgmlr_hf_scan_file(const pgmlr_hf_scan *scan, size_t i);
size_t		pgmlr_hf_scan_repo_count(const pgmlr_hf_scan *scan);
const pgmlr_hf_repo_row *pgmlr_hf_scan_repo(const pgmlr_hf_scan *scan, size_t i);
size_t		pgmlr_hf_scan_notice_count(const pgmlr_hf_scan *scan);
const char *pgmlr_hf_scan_notice(const pgmlr_hf_scan *scan, size_t i);

/*
 * Verification: hashes every distinct blob of the scan's ok rows on a pool
 * of threads (signals blocked, no PostgreSQL calls) while the caller waits
 * in slices and stays cancellable:
 *     pgmlr_hf_verify_start(scan, &st);
 *     while (!pgmlr_hf_verify_wait(scan, 100)) CHECK_FOR_INTERRUPTS();
 * wait returns true once every blob is hashed and the rows are updated
 * (verified, or status corrupt/unreadable). cancel asks the threads to stop;
 * pgmlr_hf_scan_free also cancels and joins them.
 */
void		pgmlr_hf_verify_start(pgmlr_hf_scan *scan, pgmlr_status *status);
bool		pgmlr_hf_verify_wait(pgmlr_hf_scan *scan, int timeout_ms);
void		pgmlr_hf_verify_cancel(pgmlr_hf_scan *scan);

/* A manifest row as stored in pgml_repl.hf_manifest (published_at aside). */
typedef struct pgmlr_hf_manifest_row
{
	const char *repo_type;
	const char *repo_id;
	const char *revision;
	const char *const *refs;
	int32_t		nrefs;
	const char *path;
	const char *blob;
	int64_t		size;
} pgmlr_hf_manifest_row;

typedef enum pgmlr_hf_change
{
	PGMLR_HF_INSERT = 0,
	PGMLR_HF_UPDATE,			/* same key, other refs/blob/size */
	PGMLR_HF_DELETE
} pgmlr_hf_change;

/*
 * Diff of the published manifest against a scan's healthy (ok) rows. Key:
 * repo_type, repo_id, revision, path. The shim adds the table's rows (copied),
 * computes, then applies the changes.
 */
typedef struct pgmlr_hf_diff pgmlr_hf_diff;

pgmlr_hf_diff *pgmlr_hf_diff_new(pgmlr_status *status);
void		pgmlr_hf_diff_free(void *diff);
void		pgmlr_hf_diff_add_published(pgmlr_hf_diff *diff, const pgmlr_hf_manifest_row *row,
										pgmlr_status *status);
void		pgmlr_hf_diff_compute(pgmlr_hf_diff *diff, const pgmlr_hf_scan *scan, pgmlr_status *status);
size_t		pgmlr_hf_diff_count(const pgmlr_hf_diff *diff, pgmlr_hf_change change);
const pgmlr_hf_manifest_row *pgmlr_hf_diff_row(const pgmlr_hf_diff *diff, pgmlr_hf_change change, size_t i);
size_t		pgmlr_hf_diff_unchanged(const pgmlr_hf_diff *diff);
/* Scan rows left out because their status is not ok. */
size_t		pgmlr_hf_diff_unhealthy(const pgmlr_hf_diff *diff);
/* END hf_cache */

#ifdef __cplusplus
}
#endif

#endif							/* PGML_REPL_CORE_H */
