/*
 * worker/main.c — the background worker: registration and main loop.
 *
 * One worker per node. On a standby it makes the local HuggingFace cache
 * match the replicated manifest; on a primary it republishes the manifest.
 * RecoveryInProgress() is checked every cycle, so after a promotion the
 * same worker becomes the publisher without a restart. What it shows goes
 * through worker/state.c, the only writer of the shared state.
 */
#include "worker/worker.h"

#include "access/xlog.h"
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
#include "utils/timestamp.h"

/* One way: main -> roles -> state. */
#include "worker/standby_role.h"
#include "worker/state.h"

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

void
pgmlr_prefetch_main(Datum main_arg)
{
	MemoryContext cycle_cxt;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	BackgroundWorkerUnblockSignals();

	if (!pgmlr_prefetch_shmem_ready())
		ereport(ERROR,
				(errmsg("pgml_replication prefetch worker started without its shared memory"),
				 errhint("Load pgml_replication through shared_preload_libraries.")));
	if (!pgmlr_prefetch_attach())
	{
		ereport(LOG, (errmsg("pgml_replication prefetch worker already running, exiting")));
		proc_exit(0);
	}
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

		pgmlr_prefetch_cycle_started(started);

		if (!pgmlr_prefetch_enabled)
			pgmlr_prefetch_set_state(NULL, "disabled", "pgml_replication.prefetch is off");
		else if (RecoveryInProgress())
			pgmlr_prefetch_standby_cycle();
		else
			pgmlr_prefetch_primary_cycle();

		MemoryContextSwitchTo(TopMemoryContext);

		pgmlr_prefetch_cycle_finished(pgmlr_prefetch_naptime);

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
