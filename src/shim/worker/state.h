/*
 * worker/state.h — the prefetch worker's state in shared memory. state.c is
 * its only writer: the main loop (main.c) and the cycles (standby_role.c)
 * report through the functions below; the SQL functions prefetch_status(),
 * prefetch_queue() and prefetch_now() read it. Depends on nothing else of
 * the worker (main -> roles -> state).
 */
#ifndef PGMLR_WORKER_STATE_H
#define PGMLR_WORKER_STATE_H

#include "gucs.h"

#include "datatype/timestamp.h"
#include "storage/latch.h"
#include "storage/lwlock.h"

#include "pgml_repl/hf_fetch.h"

#define PREFETCH_QUEUE_SLOTS	64
#define PREFETCH_REFUSED_SLOTS	64
#define PREFETCH_NAME_LEN		256
#define PREFETCH_PATH_LEN		512
#define PREFETCH_ERROR_LEN		512
/* Declared models whose state model_status() shows; more are still fetched. */
#define PREFETCH_MODEL_SLOTS	256

/* A file not yet in the cache, or a manifest row the worker refused. */
typedef struct PrefetchQueueSlot
{
	char		repo[PREFETCH_NAME_LEN];	/* "model:org/name" */
	char		revision[48];
	char		path[PREFETCH_PATH_LEN];
	char		blob[72];
	int64		size;
	int32		attempts;
	char		status[16];		/* pending, downloading, retrying, failed, held, refused */
	char		source[16];		/* "upstream" or "hub": asked last; "" for refused */
	char		last_error[PREFETCH_ERROR_LEN];	/* for refused and held: the reason */
	TimestampTz next_try_at;	/* held or retrying: the next try; 0: none */
} PrefetchQueueSlot;

/*
 * A declared model as the primary's last cycle saw it (model_status()).
 * Counts are -1 while unknown (not resolved yet).
 */
typedef struct PrefetchModelSlot
{
	char		repo_type[16];
	char		repo_id[PREFETCH_NAME_LEN];
	char		revision[PREFETCH_NAME_LEN];
	char		commit[41];		/* "" until resolved */
	int64		files_wanted;
	int64		files_present;
	int64		bytes_wanted;
	int64		bytes_present;
	char		state[24];		/* resolving, downloading, ready, incomplete, and the Hub's refusals */
	char		detail[PREFETCH_ERROR_LEN];
	TimestampTz checked_at;
} PrefetchModelSlot;

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
	TimestampTz paused_until;	/* the Hub's rate limit: no request before; 0: none */
	int64		cycles;
	int64		bytes_from_upstream;	/* body bytes received, since the worker started */
	int64		bytes_from_hub;

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
	int32		models_len;		/* model slots filled */
	PrefetchModelSlot models[PREFETCH_MODEL_SLOTS];
} PrefetchShared;

/* What model_status() reads, copied under the lock. */
typedef struct PrefetchModelsView
{
	bool		shmem;			/* the library was preloaded */
	pid_t		worker_pid;		/* 0: no worker runs */
	int			len;
	PrefetchModelSlot models[PREFETCH_MODEL_SLOTS];
} PrefetchModelsView;

/* Called from _PG_init while shared_preload_libraries is processed. */
extern void pgmlr_prefetch_shmem_init(void);
/* Whether the shared memory exists (the library was preloaded). */
extern bool pgmlr_prefetch_shmem_ready(void);

/*
 * Claims the worker slot for this process; false when another live worker
 * holds it. On any later exit (FATAL too) the slot is released.
 */
extern bool pgmlr_prefetch_attach(void);

/* role NULL keeps the current role; detail NULL is empty. */
extern void pgmlr_prefetch_set_state(const char *role, const char *state, const char *detail);
extern void pgmlr_prefetch_record_error(const char *message);
extern bool pgmlr_prefetch_error_is_new(const char *message);

/* Main loop: a cycle starts; a cycle ended and the next is naptime_s away. */
extern void pgmlr_prefetch_cycle_started(TimestampTz started);
extern void pgmlr_prefetch_cycle_finished(int naptime_s);

/* Primary: what publish_hf_manifest() did; forgetting a standby's refusals. */
extern void pgmlr_prefetch_record_publish(int64 added, int64 removed, int64 refused);
extern void pgmlr_prefetch_clear_refusals(void);

/* Primary: the declared models' state (slots[0..n), at most PREFETCH_MODEL_SLOTS). */
extern void pgmlr_prefetch_record_models(int n, const PrefetchModelSlot *slots);
/* A copy of the models' state and the worker's presence, for model_status(). */
extern void pgmlr_prefetch_read_models(PrefetchModelsView *out);

/* Standby: the refused rows (slots[0..shown)) and their total. */
extern void pgmlr_prefetch_record_refusals(int64 total, int shown, const PrefetchQueueSlot *slots);
/*
 * A fetch pass (standby, or the primary's declared models): the job's progress, the head of its queue (slots[0..shown) of
 * queued), and failure as last_error when it is new ("" keeps last_error).
 */
extern void pgmlr_prefetch_record_progress(const pgmlr_fetch_progress *p, const char *state,
										   const char *detail, const char *failure,
										   int queued, int shown, const PrefetchQueueSlot *slots);
/* Standby: body bytes received from each source since the last call. */
extern void pgmlr_prefetch_add_source_bytes(int64 from_upstream, int64 from_hub);
/* Standby: the Hub's rate limit pauses every request until then (0: no pause). */
extern void pgmlr_prefetch_record_pause(TimestampTz until);
/* Standby: no file is being downloaded any more. */
extern void pgmlr_prefetch_clear_current(void);

/*
 * Runs fn inside its own transaction and turns an ERROR into a recorded
 * failure (WARNING + last_error), so an expected failure does not kill the
 * worker. Returns false when fn raised.
 */
extern bool pgmlr_prefetch_in_transaction(void (*fn) (void *), void *arg);

#endif							/* PGMLR_WORKER_STATE_H */
