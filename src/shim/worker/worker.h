/*
 * prefetch.h — the prefetch worker's shared state, GUCs and entry points.
 * Shim-internal (includes PostgreSQL headers through shim.h).
 */
#ifndef PGMLR_PREFETCH_H
#define PGMLR_PREFETCH_H

#include "shim.h"

#include "datatype/timestamp.h"
#include "storage/latch.h"
#include "storage/lwlock.h"

#define PREFETCH_QUEUE_SLOTS	64
#define PREFETCH_REFUSED_SLOTS	64
#define PREFETCH_NAME_LEN		256
#define PREFETCH_PATH_LEN		512
#define PREFETCH_ERROR_LEN		512

/* A file not yet in the cache, or a manifest row the worker refused. */
typedef struct PrefetchQueueSlot
{
	char		repo[PREFETCH_NAME_LEN];	/* "model:org/name" */
	char		revision[48];
	char		path[PREFETCH_PATH_LEN];
	char		blob[72];
	int64		size;
	int32		attempts;
	char		status[16];		/* pending, downloading, retrying, failed, refused */
	char		last_error[PREFETCH_ERROR_LEN];	/* for refused: the reason */
} PrefetchQueueSlot;

/*
 * One instance in shared memory, written by the worker, read by the status
 * functions. Readers copy it under the lock (shared) and build rows after
 * releasing it.
 */
typedef struct PrefetchShared
{
	LWLock	   *lock;
	pid_t		worker_pid;		/* 0 when no worker runs */
	Latch	   *worker_latch;	/* set by prefetch_now() */

	char		role[16];		/* "standby" or "primary" */
	char		state[16];		/* idle, scanning, downloading, publishing,
								 * error, disabled */
	char		detail[PREFETCH_ERROR_LEN];

	int64		files_wanted;
	int64		files_done;
	int64		files_failed;
	int64		bytes_wanted;
	int64		bytes_done;
	int64		bytes_failed;

	char		current_repo[PREFETCH_NAME_LEN];
	char		current_path[PREFETCH_PATH_LEN];
	int64		current_bytes;
	int64		current_total;
	double		throughput_bytes_per_sec;

	char		last_error[PREFETCH_ERROR_LEN];
	TimestampTz last_error_at;
	TimestampTz last_cycle_started_at;
	TimestampTz last_cycle_finished_at;
	TimestampTz next_cycle_at;
	int64		cycles;

	int64		published_added;
	int64		published_removed;
	TimestampTz last_published_at;

	int64		published_refused;	/* primary: cache entries publish refused */

	int32		queue_total;	/* files not yet present (may exceed slots) */
	int32		queue_len;		/* slots filled */
	int64		refused_total;	/* manifest rows refused in the last cycle */
	int32		refused_len;	/* refused slots filled (the first ones) */
	PrefetchQueueSlot queue[PREFETCH_QUEUE_SLOTS];
	PrefetchQueueSlot refused[PREFETCH_REFUSED_SLOTS];
} PrefetchShared;

/* worker/state.c */
extern PrefetchShared *prefetch_shared;
extern void pgmlr_prefetch_shmem_init(void);

/* gucs.c */
extern bool pgmlr_prefetch_enabled;
extern char *pgmlr_prefetch_database;
extern int	pgmlr_prefetch_naptime;
extern char *pgmlr_hf_endpoint;
extern int	pgmlr_max_parallel_downloads;
extern int	pgmlr_min_free_disk_mb;
extern char *pgmlr_hf_ca_file;
extern int	pgmlr_max_download_rate_kb;
extern int	pgmlr_prefetch_nice;
extern const char *pgmlr_hf_token(void);	/* GUC, else HF_TOKEN... */
extern void pgmlr_define_prefetch_gucs(void);

/* worker/priority.c */
extern void pgmlr_prefetch_apply_priority(void);

/* worker/main.c */
extern void pgmlr_register_prefetch_worker(void);
extern PGDLLEXPORT void pgmlr_prefetch_main(Datum main_arg);

#endif							/* PGMLR_PREFETCH_H */
