/*
 * worker/state.c — the worker's state in shared memory: the only code that
 * writes it (for the main loop and the cycles, worker/state.h) and the SQL
 * functions that show it: prefetch_status(), prefetch_queue(), prefetch_now().
 *
 * A standby is read-only, so progress can't go to a table; shared memory is
 * the one place every backend can read it.
 */
#include "worker/state.h"

#include <signal.h>

#include "access/xact.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/ipc.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

static PrefetchShared *prefetch_shared = NULL;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static void
prefetch_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(PrefetchShared)));
	RequestNamedLWLockTranche("pgml_replication", 1);
}

static void
prefetch_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	prefetch_shared = ShmemInitStruct("pgml_replication prefetch",
									  sizeof(PrefetchShared), &found);
	if (!found)
	{
		memset(prefetch_shared, 0, sizeof(PrefetchShared));
		prefetch_shared->lock = &(GetNamedLWLockTranche("pgml_replication"))->lock;
		strlcpy(prefetch_shared->state, "starting", sizeof(prefetch_shared->state));
	}
	LWLockRelease(AddinShmemInitLock);
}

/* Called from _PG_init while shared_preload_libraries is processed. */
void
pgmlr_prefetch_shmem_init(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = prefetch_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = prefetch_shmem_startup;
}

bool
pgmlr_prefetch_shmem_ready(void)
{
	return prefetch_shared != NULL;
}

/* Runs on any exit, FATAL included (PG_FINALLY would not). */
static void
prefetch_detach(int code, Datum arg)
{
	if (prefetch_shared == NULL)
		return;
	LWLockAcquire(prefetch_shared->lock, LW_EXCLUSIVE);
	if (prefetch_shared->worker_pid == MyProcPid)
	{
		prefetch_shared->worker_pid = 0;
		prefetch_shared->worker_latch = NULL;
		strlcpy(prefetch_shared->state, "stopped", sizeof(prefetch_shared->state));
		prefetch_shared->current_repo[0] = '\0';
		prefetch_shared->current_path[0] = '\0';
	}
	LWLockRelease(prefetch_shared->lock);
}

bool
pgmlr_prefetch_attach(void)
{
	bool		attached = false;

	LWLockAcquire(prefetch_shared->lock, LW_EXCLUSIVE);
	if (prefetch_shared->worker_pid == 0 || kill(prefetch_shared->worker_pid, 0) != 0)
	{
		prefetch_shared->worker_pid = MyProcPid;
		prefetch_shared->worker_latch = MyLatch;
		attached = true;
	}
	LWLockRelease(prefetch_shared->lock);
	if (attached)
		before_shmem_exit(prefetch_detach, (Datum) 0);
	return attached;
}

void
pgmlr_prefetch_set_state(const char *role, const char *state, const char *detail)
{
	LWLockAcquire(prefetch_shared->lock, LW_EXCLUSIVE);
	if (role)
		strlcpy(prefetch_shared->role, role, sizeof(prefetch_shared->role));
	strlcpy(prefetch_shared->state, state, sizeof(prefetch_shared->state));
	strlcpy(prefetch_shared->detail, detail ? detail : "", sizeof(prefetch_shared->detail));
	LWLockRelease(prefetch_shared->lock);
}

void
pgmlr_prefetch_record_error(const char *message)
{
	LWLockAcquire(prefetch_shared->lock, LW_EXCLUSIVE);
	strlcpy(prefetch_shared->last_error, message, sizeof(prefetch_shared->last_error));
	prefetch_shared->last_error_at = GetCurrentTimestamp();
	LWLockRelease(prefetch_shared->lock);
}

bool
pgmlr_prefetch_error_is_new(const char *message)
{
	bool		is_new;

	LWLockAcquire(prefetch_shared->lock, LW_SHARED);
	is_new = strcmp(prefetch_shared->last_error, message) != 0;
	LWLockRelease(prefetch_shared->lock);
	return is_new;
}

void
pgmlr_prefetch_cycle_started(TimestampTz started)
{
	LWLockAcquire(prefetch_shared->lock, LW_EXCLUSIVE);
	prefetch_shared->last_cycle_started_at = started;
	prefetch_shared->cycles++;
	LWLockRelease(prefetch_shared->lock);
}

void
pgmlr_prefetch_cycle_finished(int naptime_s)
{
	LWLockAcquire(prefetch_shared->lock, LW_EXCLUSIVE);
	prefetch_shared->last_cycle_finished_at = GetCurrentTimestamp();
	prefetch_shared->next_cycle_at =
		TimestampTzPlusMilliseconds(prefetch_shared->last_cycle_finished_at,
									naptime_s * 1000L);
	LWLockRelease(prefetch_shared->lock);
}

void
pgmlr_prefetch_record_publish(int64 added, int64 removed, int64 refused)
{
	LWLockAcquire(prefetch_shared->lock, LW_EXCLUSIVE);
	prefetch_shared->published_added = added;
	prefetch_shared->published_removed = removed;
	prefetch_shared->published_refused = refused;
	prefetch_shared->last_published_at = GetCurrentTimestamp();
	LWLockRelease(prefetch_shared->lock);
}

void
pgmlr_prefetch_clear_refusals(void)
{
	LWLockAcquire(prefetch_shared->lock, LW_EXCLUSIVE);
	prefetch_shared->refused_total = 0;
	prefetch_shared->refused_len = 0;
	LWLockRelease(prefetch_shared->lock);
}

void
pgmlr_prefetch_record_refusals(int64 total, int shown, const PrefetchQueueSlot *slots)
{
	shown = Min(shown, PREFETCH_REFUSED_SLOTS);
	LWLockAcquire(prefetch_shared->lock, LW_EXCLUSIVE);
	prefetch_shared->refused_total = total;
	prefetch_shared->refused_len = shown;
	memcpy(prefetch_shared->refused, slots, sizeof(PrefetchQueueSlot) * shown);
	LWLockRelease(prefetch_shared->lock);
}

void
pgmlr_prefetch_record_progress(const pgmlr_fetch_progress *p, const char *state, const char *detail,
							   const char *failure, int queued, int shown, const PrefetchQueueSlot *slots)
{
	shown = Min(shown, PREFETCH_QUEUE_SLOTS);
	LWLockAcquire(prefetch_shared->lock, LW_EXCLUSIVE);
	strlcpy(prefetch_shared->state, state, sizeof(prefetch_shared->state));
	strlcpy(prefetch_shared->detail, detail ? detail : "", sizeof(prefetch_shared->detail));
	prefetch_shared->files_wanted = p->files_wanted;
	prefetch_shared->files_done = p->files_done;
	prefetch_shared->files_failed = p->files_failed;
	prefetch_shared->bytes_wanted = p->bytes_wanted;
	prefetch_shared->bytes_done = p->bytes_done;
	prefetch_shared->bytes_failed = p->bytes_failed;
	strlcpy(prefetch_shared->current_repo, p->current_repo, sizeof(prefetch_shared->current_repo));
	strlcpy(prefetch_shared->current_path, p->current_path, sizeof(prefetch_shared->current_path));
	prefetch_shared->current_bytes = p->current_bytes;
	prefetch_shared->current_total = p->current_total;
	prefetch_shared->throughput_bytes_per_sec = p->throughput_bps;
	if (failure[0] != '\0' && strcmp(prefetch_shared->last_error, failure) != 0)
	{
		strlcpy(prefetch_shared->last_error, failure, sizeof(prefetch_shared->last_error));
		prefetch_shared->last_error_at = GetCurrentTimestamp();
	}
	prefetch_shared->queue_total = queued;
	prefetch_shared->queue_len = shown;
	memcpy(prefetch_shared->queue, slots, sizeof(PrefetchQueueSlot) * shown);
	LWLockRelease(prefetch_shared->lock);
}

void
pgmlr_prefetch_record_models(int n, const PrefetchModelSlot *slots)
{
	n = Min(n, PREFETCH_MODEL_SLOTS);
	LWLockAcquire(prefetch_shared->lock, LW_EXCLUSIVE);
	prefetch_shared->models_len = n;
	if (n > 0)
		memcpy(prefetch_shared->models, slots, sizeof(PrefetchModelSlot) * n);
	LWLockRelease(prefetch_shared->lock);
}

void
pgmlr_prefetch_read_models(PrefetchModelsView *out)
{
	out->shmem = prefetch_shared != NULL;
	out->worker_pid = 0;
	out->len = 0;
	if (!out->shmem)
		return;
	LWLockAcquire(prefetch_shared->lock, LW_SHARED);
	out->worker_pid = prefetch_shared->worker_pid;
	out->len = prefetch_shared->models_len;
	memcpy(out->models, prefetch_shared->models, sizeof(PrefetchModelSlot) * out->len);
	LWLockRelease(prefetch_shared->lock);
}

void
pgmlr_prefetch_add_source_bytes(int64 from_upstream, int64 from_hub)
{
	LWLockAcquire(prefetch_shared->lock, LW_EXCLUSIVE);
	prefetch_shared->bytes_from_upstream += from_upstream;
	prefetch_shared->bytes_from_hub += from_hub;
	LWLockRelease(prefetch_shared->lock);
}

void
pgmlr_prefetch_record_pause(TimestampTz until)
{
	LWLockAcquire(prefetch_shared->lock, LW_EXCLUSIVE);
	prefetch_shared->paused_until = until;
	LWLockRelease(prefetch_shared->lock);
}

void
pgmlr_prefetch_clear_current(void)
{
	LWLockAcquire(prefetch_shared->lock, LW_EXCLUSIVE);
	prefetch_shared->current_repo[0] = '\0';
	prefetch_shared->current_path[0] = '\0';
	LWLockRelease(prefetch_shared->lock);
}

bool
pgmlr_prefetch_in_transaction(void (*fn) (void *), void *arg)
{
	MemoryContext cycle_cxt = CurrentMemoryContext;
	volatile bool ok = true;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	PG_TRY();
	{
		fn(arg);
		PopActiveSnapshot();
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cycle_cxt);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		/* The same failure every naptime would flood the log: say it once. */
		ereport(pgmlr_prefetch_error_is_new(edata->message) ? WARNING : DEBUG1,
				(errmsg("pgml_replication prefetch: %s", edata->message),
				 edata->detail ? errdetail("%s", edata->detail) : 0,
				 edata->hint ? errhint("%s", edata->hint) : 0));
		pgmlr_prefetch_record_error(edata->message);
		FreeErrorData(edata);
		ok = false;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cycle_cxt);
	pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, NULL);
	return ok;
}

static Datum
timestamp_or_null(TimestampTz t, bool *isnull)
{
	*isnull = (t == 0);
	return TimestampTzGetDatum(t);
}

static Datum
text_or_null(const char *s, bool *isnull)
{
	*isnull = (s[0] == '\0');
	return *isnull ? (Datum) 0 : CStringGetTextDatum(s);
}

/*
 * Columns are only ever added at the end: a database whose extension is
 * still at an older version (ALTER EXTENSION ... UPDATE not yet run) gets
 * the columns its functions declare.
 */
static void
put_leading_columns(ReturnSetInfo *rsinfo, Datum *values, bool *nulls, int built)
{
	if (rsinfo->setDesc->natts > built)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("the SQL definition of this function has more columns than this pgml_replication library knows"),
				 errhint("Install the pgml_replication library that matches the extension version, then restart the server.")));
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

PG_FUNCTION_INFO_V1(pgmlr_prefetch_status);
Datum
pgmlr_prefetch_status(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	PrefetchShared snap;
	Datum		values[26];
	bool		nulls[26];
	int			i = 0;

	InitMaterializedSRF(fcinfo, 0);
	memset(nulls, 0, sizeof(nulls));

	if (prefetch_shared == NULL)
	{
		memset(&snap, 0, sizeof(snap));
		strlcpy(snap.state, "disabled", sizeof(snap.state));
		strlcpy(snap.detail, "pgml_replication is not in shared_preload_libraries, so no prefetch worker runs",
				sizeof(snap.detail));
	}
	else
	{
		LWLockAcquire(prefetch_shared->lock, LW_SHARED);
		memcpy(&snap, prefetch_shared, offsetof(PrefetchShared, queue));
		LWLockRelease(prefetch_shared->lock);
	}

	values[i] = text_or_null(snap.role, &nulls[i]), i++;
	values[i] = CStringGetTextDatum(snap.state), i++;
	values[i] = text_or_null(snap.detail, &nulls[i]), i++;
	values[i] = Int32GetDatum(snap.worker_pid), nulls[i] = (snap.worker_pid == 0), i++;
	values[i++] = Int64GetDatum(snap.files_wanted);
	values[i++] = Int64GetDatum(snap.files_done);
	values[i++] = Int64GetDatum(snap.files_failed);
	values[i++] = Int64GetDatum(snap.bytes_wanted);
	values[i++] = Int64GetDatum(snap.bytes_done);
	values[i++] = Int64GetDatum(snap.bytes_failed);
	values[i] = text_or_null(snap.current_repo, &nulls[i]), i++;
	values[i] = text_or_null(snap.current_path, &nulls[i]), i++;
	values[i] = Int64GetDatum(snap.current_bytes), nulls[i] = (snap.current_path[0] == '\0'), i++;
	values[i] = Int64GetDatum(snap.current_total), nulls[i] = (snap.current_path[0] == '\0'), i++;
	values[i++] = Float8GetDatum(snap.throughput_bytes_per_sec);
	values[i] = text_or_null(snap.last_error, &nulls[i]), i++;
	values[i] = timestamp_or_null(snap.last_error_at, &nulls[i]), i++;
	values[i] = timestamp_or_null(snap.last_cycle_started_at, &nulls[i]), i++;
	values[i] = timestamp_or_null(snap.last_cycle_finished_at, &nulls[i]), i++;
	values[i] = timestamp_or_null(snap.next_cycle_at, &nulls[i]), i++;
	values[i++] = Int64GetDatum(snap.cycles);
	values[i++] = Int32GetDatum(snap.queue_total);
	values[i++] = Int64GetDatum(snap.refused_total);
	/* A pause that has ended is no pause. */
	values[i] = timestamp_or_null(snap.paused_until > GetCurrentTimestamp() ? snap.paused_until : 0, &nulls[i]), i++;
	values[i++] = Int64GetDatum(snap.bytes_from_upstream);
	values[i++] = Int64GetDatum(snap.bytes_from_hub);
	Assert(i == lengthof(values));

	put_leading_columns(rsinfo, values, nulls, lengthof(values));
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(pgmlr_prefetch_queue);
/* The files not yet present, then the refused manifest rows. */
Datum
pgmlr_prefetch_queue(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	PrefetchQueueSlot *slots;
	int			n = 0;

	InitMaterializedSRF(fcinfo, 0);
	if (prefetch_shared == NULL)
		return (Datum) 0;

	slots = palloc(sizeof(PrefetchQueueSlot) * (PREFETCH_QUEUE_SLOTS + PREFETCH_REFUSED_SLOTS));
	LWLockAcquire(prefetch_shared->lock, LW_SHARED);
	n = Min(prefetch_shared->queue_len, PREFETCH_QUEUE_SLOTS);
	memcpy(slots, prefetch_shared->queue, sizeof(PrefetchQueueSlot) * n);
	memcpy(slots + n, prefetch_shared->refused,
		   sizeof(PrefetchQueueSlot) * Min(prefetch_shared->refused_len, PREFETCH_REFUSED_SLOTS));
	n += Min(prefetch_shared->refused_len, PREFETCH_REFUSED_SLOTS);
	LWLockRelease(prefetch_shared->lock);

	for (int k = 0; k < n; k++)
	{
		Datum		values[10];
		bool		nulls[10] = {0};

		values[0] = CStringGetTextDatum(slots[k].repo);
		values[1] = CStringGetTextDatum(slots[k].path);
		values[2] = text_or_null(slots[k].blob, &nulls[2]);
		values[3] = Int64GetDatum(slots[k].size);
		values[4] = Int32GetDatum(slots[k].attempts);
		values[5] = text_or_null(slots[k].last_error, &nulls[5]);
		values[6] = CStringGetTextDatum(slots[k].status);
		values[7] = text_or_null(slots[k].revision, &nulls[7]);
		values[8] = timestamp_or_null(slots[k].next_try_at, &nulls[8]);
		values[9] = text_or_null(slots[k].source, &nulls[9]);
		put_leading_columns(rsinfo, values, nulls, lengthof(values));
	}
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(pgmlr_prefetch_now);
Datum
pgmlr_prefetch_now(PG_FUNCTION_ARGS)
{
	bool		woken = false;

	if (prefetch_shared != NULL)
	{
		LWLockAcquire(prefetch_shared->lock, LW_SHARED);
		if (prefetch_shared->worker_pid != 0 && prefetch_shared->worker_latch != NULL)
		{
			SetLatch(prefetch_shared->worker_latch);
			woken = true;
		}
		LWLockRelease(prefetch_shared->lock);
	}
	if (!woken)
		ereport(NOTICE,
				(errmsg("no prefetch worker is running"),
				 errhint("Add pgml_replication to shared_preload_libraries and restart the server.")));
	PG_RETURN_BOOL(woken);
}
