/*
 * worker/main.c — the background worker: registration and main loop.
 *
 * One worker per node. On a standby it makes the local HuggingFace cache
 * match the replicated manifest; on a primary it republishes the manifest.
 * RecoveryInProgress() is checked every cycle, so after a promotion the
 * same worker becomes the publisher without a restart.
 */
#include "worker/worker.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "worker/standby_role.h"

void
pgmlr_register_prefetch_worker(void)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	/* ConsistentState: runs on a hot standby (RecoveryFinished never would). */
	worker.bgw_start_time = BgWorkerStart_ConsistentState;
	worker.bgw_restart_time = 5;
	strlcpy(worker.bgw_library_name, "pgml_replication", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, "pgmlr_prefetch_main", BGW_MAXLEN);
	strlcpy(worker.bgw_name, "pgml_replication prefetch", BGW_MAXLEN);
	strlcpy(worker.bgw_type, "pgml_replication prefetch", BGW_MAXLEN);
	RegisterBackgroundWorker(&worker);
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

static bool
prefetch_attach(void)
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

static bool
pgmlr_prefetch_error_is_new(const char *message)
{
	bool		is_new;

	LWLockAcquire(prefetch_shared->lock, LW_SHARED);
	is_new = strcmp(prefetch_shared->last_error, message) != 0;
	LWLockRelease(prefetch_shared->lock);
	return is_new;
}

/*
 * Runs fn inside its own transaction and turns an ERROR into a recorded
 * failure (WARNING + shared memory), so an expected failure does not kill the
 * worker. Returns false when fn raised.
 */
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

void
pgmlr_prefetch_main(Datum main_arg)
{
	MemoryContext cycle_cxt;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	BackgroundWorkerUnblockSignals();

	if (prefetch_shared == NULL)
		ereport(ERROR,
				(errmsg("pgml_replication prefetch worker started without its shared memory"),
				 errhint("Load pgml_replication through shared_preload_libraries.")));
	if (!prefetch_attach())
	{
		ereport(LOG, (errmsg("pgml_replication prefetch worker already running, exiting")));
		proc_exit(0);
	}
	before_shmem_exit(prefetch_detach, (Datum) 0);
	pgmlr_prefetch_apply_priority();

	BackgroundWorkerInitializeConnection(pgmlr_prefetch_database, NULL, 0);
	pgstat_report_appname("pgml_replication prefetch");
	pgmlr_prefetch_cycle_init();

	cycle_cxt = AllocSetContextCreate(TopMemoryContext,
									  "pgml_replication prefetch cycle",
									  ALLOCSET_DEFAULT_SIZES);

	while (!ShutdownRequestPending)
	{
		TimestampTz started = GetCurrentTimestamp();

		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}

		/* Before the job starts its threads, which inherit the priority. */
		pgmlr_prefetch_apply_priority();

		MemoryContextReset(cycle_cxt);
		MemoryContextSwitchTo(cycle_cxt);

		LWLockAcquire(prefetch_shared->lock, LW_EXCLUSIVE);
		prefetch_shared->last_cycle_started_at = started;
		prefetch_shared->cycles++;
		LWLockRelease(prefetch_shared->lock);

		if (!pgmlr_prefetch_enabled)
			pgmlr_prefetch_set_state(NULL, "disabled", "pgml_replication.prefetch is off");
		else if (RecoveryInProgress())
			pgmlr_prefetch_standby_cycle();
		else
			pgmlr_prefetch_primary_cycle();

		MemoryContextSwitchTo(TopMemoryContext);

		LWLockAcquire(prefetch_shared->lock, LW_EXCLUSIVE);
		prefetch_shared->last_cycle_finished_at = GetCurrentTimestamp();
		prefetch_shared->next_cycle_at =
			TimestampTzPlusMilliseconds(prefetch_shared->last_cycle_finished_at,
										pgmlr_prefetch_naptime * 1000L);
		LWLockRelease(prefetch_shared->lock);

		if (ShutdownRequestPending)
			break;
		(void) WaitLatch(MyLatch,
						 WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 pgmlr_prefetch_naptime * 1000L,
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
	proc_exit(0);
}
