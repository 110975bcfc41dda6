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
/* END hf_cache */

/* ------------------------------------------------------------------ */
/* HuggingFace Hub fetcher (replica prefetch)                           */
/* ------------------------------------------------------------------ */
/* BEGIN hf_fetch */
#include <signal.h>

/*
 * A fetch job downloads the blobs a manifest lists into a huggingface_hub
 * cache and publishes them (blob, then snapshot symlinks, then refs LAST).
 * The caller stays in control: pgmlr_fetch_step() runs libcurl for at most
 * max_ms and returns, so a background worker can check its latch, update
 * shared memory and stop on SIGTERM between steps. No thread of the core
 * ever calls back into the caller.
 */
typedef struct pgmlr_fetch_job pgmlr_fetch_job;

typedef struct pgmlr_fetch_options
{
	const char *cache_root;		/* huggingface_hub cache ("hub" folder) */
	const char *endpoint;		/* e.g. "https://huggingface.co" */
	const char *token;			/* bearer token or NULL; sent to the endpoint host only */
	const char *ca_file;		/* extra CA bundle (tests) or NULL */
	int			max_parallel;	/* concurrent transfers, 1..64 */
	int64_t		min_free_disk;	/* bytes that must stay free after a download */
	int			connect_timeout_ms;
	int			low_speed_limit;	/* bytes/s; slower for low_speed_time_s aborts */
	int			low_speed_time_s;
	int			max_retries;	/* failed attempts without progress, per file */
	int			backoff_base_ms;	/* first retry delay, doubled each retry */
	int			backoff_max_ms;
	int			lock_wait_ms;	/* how long a busy blob lock is retried */
	bool		verify_present;	/* hash blobs already present (slow) */
	volatile sig_atomic_t *abort_flag;	/* checked by curl's progress callback */
} pgmlr_fetch_options;

/* One manifest row. Every field is untrusted input. */
typedef struct pgmlr_fetch_row
{
	const char *repo_type;		/* model | dataset | space */
	const char *repo_id;
	const char *revision;		/* 40-hex commit */
	const char *ref;			/* branch/tag naming the commit, or NULL/"" */
	const char *path;			/* file path inside the snapshot */
	const char *blob;			/* 40-hex git blob id or 64-hex sha256 */
	int64_t		size;
} pgmlr_fetch_row;

typedef struct pgmlr_fetch_progress
{
	int64_t		files_wanted;	/* blobs to download */
	int64_t		files_done;
	int64_t		files_failed;	/* gave up in this job */
	int64_t		files_active;
	int64_t		bytes_wanted;
	int64_t		bytes_done;		/* bytes of verified, published blobs */
	int64_t		bytes_failed;
	int64_t		bytes_received;	/* every body byte written so far */
	int64_t		links_created;
	int64_t		refs_written;
	int64_t		links_failed;	/* snapshot links or refs that could not be written */
	char		last_publish_error[512];	/* the latest of those, "" if none */
	double		throughput_bps;	/* bytes_received / seconds since first step */
	char		current_repo[256];
	char		current_path[1025];
	int64_t		current_bytes;
	int64_t		current_total;
	bool		canceled;
} pgmlr_fetch_progress;

typedef enum pgmlr_fetch_state
{
	PGMLR_FETCH_PENDING = 0,
	PGMLR_FETCH_ACTIVE,
	PGMLR_FETCH_BACKOFF,		/* waiting before a retry */
	PGMLR_FETCH_FAILED,
	PGMLR_FETCH_DONE
} pgmlr_fetch_state;

typedef struct pgmlr_fetch_queue_entry
{
	char		repo_type[16];
	char		repo_id[200];
	char		path[1025];
	char		blob[65];
	int64_t		size;
	int64_t		bytes_done;
	int			attempts;
	pgmlr_fetch_state state;
	char		last_error[512];
} pgmlr_fetch_queue_entry;

/* curl_global_init; call once in the worker process, never the postmaster. */
void		pgmlr_fetch_global_init(pgmlr_status *status);

/* Fills *opts with defaults (every pointer NULL). */
void		pgmlr_fetch_options_init(pgmlr_fetch_options *opts);

/* NULL with *status set on bad options. Free with pgmlr_fetch_free. */
pgmlr_fetch_job *pgmlr_fetch_new(const pgmlr_fetch_options *opts, pgmlr_status *status);

/* Validates and adds one row. A refused row sets *status (the message names
 * the column) and leaves the job unchanged; the job stays usable. */
bool		pgmlr_fetch_add_row(pgmlr_fetch_job *job, const pgmlr_fetch_row *row, pgmlr_status *status);

/* Computes what is missing (blobs, symlinks, refs). Call once, after the rows. */
void		pgmlr_fetch_plan(pgmlr_fetch_job *job, pgmlr_status *status);

/* Runs transfers for at most about max_ms. Returns true once the job is
 * finished (every file done or failed, or canceled: then status is
 * PGMLR_ERR_CANCELED). Per-file failures are data (queue entries), not a
 * status. out may be NULL. */
bool		pgmlr_fetch_step(pgmlr_fetch_job *job, int max_ms, pgmlr_fetch_progress *out, pgmlr_status *status);

/* Blobs not yet present (pending, active, backing off or failed). */
int			pgmlr_fetch_queue_count(const pgmlr_fetch_job *job);
bool		pgmlr_fetch_queue_item(const pgmlr_fetch_job *job, int index, pgmlr_fetch_queue_entry *out);

/* Stops every transfer, removes temp files, releases locks. Published
 * files stay. The job is finished afterwards. */
void		pgmlr_fetch_cancel(pgmlr_fetch_job *job);
void		pgmlr_fetch_free(pgmlr_fetch_job *job);
/* END hf_fetch */

#ifdef __cplusplus
}
#endif

#endif							/* PGML_REPL_CORE_H */
