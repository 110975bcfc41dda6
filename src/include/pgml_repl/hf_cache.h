/*
 * pgml_repl/hf_cache.h — the HuggingFace cache: layout, names, scan, manifest, checksums,
 * and the environment (cache folder, token, endpoint) huggingface_hub reads.
 *
 * Plain C, seen by the shim and by src/core/hf_cache/api.cpp only. Rules: pgml_repl/status.h.
 */
#ifndef PGML_REPL_HF_CACHE_H
#define PGML_REPL_HF_CACHE_H

#include "pgml_repl/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* HuggingFace cache scan, hashing and manifest                         */
/* ------------------------------------------------------------------ */
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

/*
 * A manifest row as stored in pgml_repl.hf_manifest (published_at aside):
 * what the table, the publisher's diff and the replica's fetch job
 * (pgml_repl/hf_fetch.h) all take. Every field is untrusted on a replica.
 */
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

/*
 * check()'s numbers: the table's rows (read by the shim) against a scan.
 * A file is repo_type, repo_id, revision, path and blob (refs aside); every
 * scan row with status ok counts (src/core/hf_cache/manifest.hpp).
 */
typedef struct pgmlr_hf_diff_counts_out
{
	int64_t		manifest_files;	/* table rows */
	int64_t		cache_files;	/* scan rows with status ok */
	int64_t		manifest_not_in_cache;
	int64_t		cache_not_in_manifest;
	int64_t		cache_invalid_names;	/* scan rows with status invalid_name */
} pgmlr_hf_diff_counts_out;

void		pgmlr_hf_diff_counts(const pgmlr_hf_manifest_row *rows, size_t nrows, const pgmlr_hf_scan *scan,
								 pgmlr_hf_diff_counts_out *out, pgmlr_status *status);

/*
 * Cache entries left out because their names break the Hub's rules
 * (src/core/hf_cache/names.hpp): files, and repo folders no valid repo id names
 * (folder: repo_id is then the folder's name, revision and path are NULL).
 */
typedef struct pgmlr_hf_refused_entry
{
	const char *repo_type;
	const char *repo_id;
	const char *revision;		/* NULL for a folder */
	const char *path;			/* NULL for a folder */
	bool		folder;
	const char *reason;			/* "path contains a backslash" */
	const char *label;			/* the entry for a message, values quoted and escaped */
} pgmlr_hf_refused_entry;

size_t		pgmlr_hf_diff_refused_count(const pgmlr_hf_diff *diff);
bool		pgmlr_hf_diff_refused(const pgmlr_hf_diff *diff, size_t i, pgmlr_hf_refused_entry *out);

/*
 * The rules of one manifest column, for the table's CHECK constraints: NULL
 * when value follows them, else a malloc'd "<column> <problem>" text.
 */
typedef enum pgmlr_hf_name_kind
{
	PGMLR_HF_REPO_ID = 0,
	PGMLR_HF_REVISION,
	PGMLR_HF_REF,
	PGMLR_HF_PATH,
	PGMLR_HF_BLOB
} pgmlr_hf_name_kind;

char	   *pgmlr_hf_name_problem(pgmlr_hf_name_kind kind, const char *value, pgmlr_status *status);

/* ------------------------------------------------------------------ */
/* HuggingFace environment: token and endpoint (cache folder above)     */
/* ------------------------------------------------------------------ */
/*
 * The token to send: configured (the setting) if non-empty, else HF_TOKEN,
 * else HUGGING_FACE_HUB_TOKEN, else the huggingface_hub token file
 * ($HF_TOKEN_PATH, else $HF_HOME/token, else
 * $XDG_CACHE_HOME/huggingface/token, else $HOME/.cache/huggingface/token).
 * malloc'd; NULL when there is none (status OK) or on failure.
 */
char	   *pgmlr_hf_hub_token(const char *configured, pgmlr_status *status);
/* Printable ASCII without spaces: what an HTTP header can carry. */
bool		pgmlr_hf_token_printable(const char *token);

/*
 * Whether value can be pgml_replication.hf_endpoint (empty can: it means the
 * fallback). False with the reason in status->detail otherwise.
 */
bool		pgmlr_hf_endpoint_valid(const char *value, pgmlr_status *status);
/*
 * The endpoint to download from: configured if non-empty, else HF_ENDPOINT,
 * else https://huggingface.co; each checked by pgmlr_hf_endpoint_valid.
 * malloc'd; NULL on failure.
 */
char	   *pgmlr_hf_hub_endpoint(const char *configured, pgmlr_status *status);

/* ------------------------------------------------------------------ */
/* Serving a blob's bytes: pgml_repl.hf_blob_read()                     */
/* ------------------------------------------------------------------ */
/*
 * The shim looks the blob up in pgml_repl.hf_manifest, checks the range
 * against the manifest's size, opens the file, then reads it in chunks with
 * interrupt checks in between. The handle owns one descriptor; tie it to a
 * memory context with pgmlr_own_handle(blob, pgmlr_hf_blob_close).
 */
#define PGMLR_HF_BLOB_READ_MAX (64 * 1024 * 1024)	/* bytes one call returns at most */

typedef struct pgmlr_hf_blob pgmlr_hf_blob;

/*
 * Bytes a read of length at offset returns from a blob of size bytes
 * (min(length, size - offset)); -1 with an error when offset is negative or
 * not below size (offset 0 of an empty blob is fine), or length is not in
 * 1..PGMLR_HF_BLOB_READ_MAX.
 */
int64_t		pgmlr_hf_blob_read_span(int64_t size, int64_t offset, int64_t length, pgmlr_status *status);
/*
 * Opens cache_dir/<repo folder>/blobs/<blob> without following any link and
 * checks it is a regular file of manifest_size bytes. NULL with an error:
 * INVALID_PARAMETER (a name breaks the Hub's rules), NOT_FOUND (missing or
 * incomplete), PERMISSION (a link or a non-regular file on the way), IO.
 */
pgmlr_hf_blob *pgmlr_hf_blob_open(const char *cache_dir, const char *repo_type, const char *repo_id,
								  const char *blob, int64_t manifest_size, pgmlr_status *status);
/* Reads exactly len bytes at offset into buf; false with an error otherwise. */
bool		pgmlr_hf_blob_pread(const pgmlr_hf_blob *blob, int64_t offset, void *buf, size_t len,
								pgmlr_status *status);
void		pgmlr_hf_blob_close(void *blob);

#ifdef __cplusplus
}
#endif

#endif							/* PGML_REPL_HF_CACHE_H */
