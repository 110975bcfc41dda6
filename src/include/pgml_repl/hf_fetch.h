/*
 * pgml_repl/hf_fetch.h — fetching a manifest's blobs into the local cache (the prefetch worker's core).
 *
 * Plain C, seen by the shim and by src/core/hf_fetch/api.cpp only. Rules: pgml_repl/status.h.
 */
#ifndef PGML_REPL_HF_FETCH_H
#define PGML_REPL_HF_FETCH_H

#include <signal.h>
#include "pgml_repl/hf_cache.h"
#include "pgml_repl/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* HuggingFace Hub fetcher (replica prefetch)                           */
/* ------------------------------------------------------------------ */

/*
 * A fetch job downloads the blobs a manifest lists into a huggingface_hub
 * cache and publishes them (blob, then snapshot symlinks, then refs LAST).
 * The caller stays in control: pgmlr_fetch_step() runs libcurl for at most
 * max_ms and returns, so a background worker can check its latch, update
 * shared memory and stop on SIGTERM between steps. No thread of the core
 * ever calls back into the caller.
 */
typedef struct pgmlr_fetch_job pgmlr_fetch_job;

/*
 * What the caller keeps from one job to the next (hf_fetch/fetch_memory.hpp):
 * host pauses after a 429 or a RateLimit r=0, and the quarantine of files
 * whose bytes never match their name or that the Hub answers 401, 403, 404
 * or 410 (held back 1 min, doubling up to 1 h). The worker makes one at
 * start and hands it to every job through pgmlr_fetch_options.memory; one
 * job at a time uses it. Bounded in size.
 */
typedef struct pgmlr_fetch_memory pgmlr_fetch_memory;

typedef struct pgmlr_fetch_options
{
	const char *cache_root;		/* huggingface_hub cache ("hub" folder) */
	const char *endpoint;		/* e.g. "https://huggingface.co" */
	const char *token;			/* bearer token or NULL; sent to the endpoint host only */
	const char *ca_file;		/* extra CA bundle (tests) or NULL */
	const char *upstream_conninfo;	/* libpq conninfo of the upstream server;
									 * NULL or "": the Hub at endpoint */
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
	int64_t		max_bytes_per_second;	/* all transfers together; 0 = no limit */
	int64_t		range_size;		/* bytes per range of a file fetched in parallel ranges */
	int			max_streams_per_file;	/* connections per file, 1..64; 1 = one stream */
	int64_t		upstream_chunk;	/* bytes per query to an upstream, 64 KiB..64 MiB;
								 * 0: 64 MiB (the tests ask for less) */
	int			max_connections;	/* to the source at once, all files and ranges;
									 * 0: pgmlr_fetch_connection_cap()'s default */
	volatile sig_atomic_t *abort_flag;	/* checked by curl's progress callback */
	pgmlr_fetch_memory *memory;	/* outlives the job; NULL: the job keeps its own */
} pgmlr_fetch_options;

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
	int64_t		partials_removed;	/* stale partial downloads removed while planning */
	int64_t		files_held;		/* held back by the quarantine (also in files_failed) */
	int64_t		paused_ms;		/* the Hub's rate limit pauses every request this long yet; 0: none */
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
	PGMLR_FETCH_DONE,
	PGMLR_FETCH_HELD			/* held back by the quarantine until next_try_ms */
} pgmlr_fetch_state;

typedef struct pgmlr_fetch_queue_entry
{
	char		repo_type[16];
	char		repo_id[200];
	char		revision[41];
	char		path[1025];
	char		blob[65];
	int64_t		size;
	int64_t		bytes_done;
	int			attempts;
	pgmlr_fetch_state state;
	char		last_error[512];
	int64_t		next_try_ms;	/* held or retrying: milliseconds until the next try; -1: none */
} pgmlr_fetch_queue_entry;

/* A manifest row the job will not act on (validation or a conflict). */
typedef struct pgmlr_fetch_refusal
{
	char		repo_type[16];
	char		repo_id[200];
	char		revision[48];
	char		path[1025];
	char		reason[512];
	char		label[512];		/* the row for a log line, values quoted and escaped */
} pgmlr_fetch_refusal;

/* curl_global_init; call once in the worker process, never the postmaster. */
void		pgmlr_fetch_global_init(pgmlr_status *status);

/* NULL with *status set when out of memory. Free with pgmlr_fetch_memory_free
 * once no job uses it. */
pgmlr_fetch_memory *pgmlr_fetch_memory_new(pgmlr_status *status);
void		pgmlr_fetch_memory_free(pgmlr_fetch_memory *memory);

/* Fills *opts with defaults (every pointer NULL). */
void		pgmlr_fetch_options_init(pgmlr_fetch_options *opts);

/* How many connections a job with these options opens at most: with
 * max_connections 0, the default for max_parallel and max_streams_per_file
 * (up to 64); else the lower of the two. The worker reserves that many
 * descriptors before it starts the job. */
int			pgmlr_fetch_connection_cap(const pgmlr_fetch_options *opts);

/* NULL with *status set on bad options. Free with pgmlr_fetch_free. */
pgmlr_fetch_job *pgmlr_fetch_new(const pgmlr_fetch_options *opts, pgmlr_status *status);

/* Validates and adds one row of the table (pgml_repl/hf_cache.h), with all
 * its refs; empty refs are none. A refused row sets *status (the message
 * names the column), is recorded among the job's refusals and is not acted
 * on; a refused ref refuses that ref only (the file is still fetched for its
 * other refs, or for none if it lists no ref). The job stays usable. */
bool		pgmlr_fetch_add_row(pgmlr_fetch_job *job, const pgmlr_hf_manifest_row *row, pgmlr_status *status);

/* Computes what is missing (blobs, symlinks, refs). Call once, after the rows.
 * Rows that contradict each other refuse their repo only (recorded among the
 * refusals). Then removes the job's own partial downloads
 * (blobs/<blob>.pgml.incomplete) of blobs no transfer of this job wants,
 * each under its blob lock. */
void		pgmlr_fetch_plan(pgmlr_fetch_job *job, pgmlr_status *status);

/* Rows refused by pgmlr_fetch_add_row or pgmlr_fetch_plan, each file once. */
int			pgmlr_fetch_refused_count(const pgmlr_fetch_job *job);
bool		pgmlr_fetch_refused_item(const pgmlr_fetch_job *job, int index, pgmlr_fetch_refusal *out);

/* Runs transfers for at most about max_ms. Returns true once the job is
 * finished (every file done or failed, or canceled: then status is
 * PGMLR_ERR_CANCELED). Per-file failures are data (queue entries), not a
 * status. out may be NULL. */
bool		pgmlr_fetch_step(pgmlr_fetch_job *job, int max_ms, pgmlr_fetch_progress *out, pgmlr_status *status);

/* A new limit for all transfers together, from the next step on (0: none);
 * e.g. the worker lowering its rate while queries are busy. */
void		pgmlr_fetch_set_rate_limit(pgmlr_fetch_job *job, int64_t bytes_per_second, pgmlr_status *status);

/* Blobs not yet present (pending, active, backing off, failed or held). */
int			pgmlr_fetch_queue_count(const pgmlr_fetch_job *job);
bool		pgmlr_fetch_queue_item(const pgmlr_fetch_job *job, int index, pgmlr_fetch_queue_entry *out);

/* Stops every transfer, removes temp files, releases locks. Published
 * files stay. The job is finished afterwards. */
void		pgmlr_fetch_cancel(pgmlr_fetch_job *job);
void		pgmlr_fetch_free(pgmlr_fetch_job *job);

#ifdef __cplusplus
}
#endif

#endif							/* PGML_REPL_HF_FETCH_H */
