/*
 * commit_actions.c — defers writes of server files to COMMIT.
 *
 * ALTER SYSTEM refuses to run in a transaction block because its file write
 * cannot be rolled back. Migration tools wrap everything in a transaction, so
 * our functions queue their writes here instead and perform them at
 * pre-commit; an ERROR there aborts the transaction like any other.
 */
#include "shim.h"

#include <signal.h>

#include "access/xact.h"
#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "postmaster/postmaster.h"
#include "utils/memutils.h"

typedef struct QueuedAction
{
	PgmlrCommitAction action;
	SubTransactionId subid;		/* subtransaction that queued it */
	bool		prepared;
} QueuedAction;

/* Lives in TopTransactionContext; reset to NIL at every transaction end. */
static List *queued_actions = NIL;
static bool reload_pending = false;

static void
run_cleanups(void)
{
	ListCell   *lc;

	foreach(lc, queued_actions)
	{
		QueuedAction *q = (QueuedAction *) lfirst(lc);

		if (q->action.cleanup)
			q->action.cleanup(q->action.arg);
	}
}

static void
run_pre_commit(void)
{
	ListCell   *lc;

	/* Every prepare first: validation failures must stop before any rename. */
	foreach(lc, queued_actions)
	{
		QueuedAction *q = (QueuedAction *) lfirst(lc);

		if (q->action.prepare)
			q->action.prepare(q->action.arg);
		q->prepared = true;
	}
	foreach(lc, queued_actions)
	{
		QueuedAction *q = (QueuedAction *) lfirst(lc);

		if (q->action.install)
			q->action.install(q->action.arg);
		if (q->action.reload_after_commit)
			reload_pending = true;
	}
}

static void
commit_actions_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
			if (queued_actions != NIL)
				run_pre_commit();
			break;
		case XACT_EVENT_PRE_PREPARE:
			if (queued_actions != NIL)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("cannot PREPARE a transaction that changes server configuration files"),
						 errhint("Commit the configuration change in its own transaction.")));
			break;
		case XACT_EVENT_COMMIT:
			run_cleanups();
			queued_actions = NIL;
			if (reload_pending)
			{
				/* What pg_reload_conf() does; kill() cannot raise an ERROR. */
				if (kill(PostmasterPid, SIGHUP) != 0)
					ereport(WARNING,
							(errmsg("failed to send signal to postmaster: %m"),
							 errhint("Run SELECT pg_reload_conf() to apply the new configuration.")));
				reload_pending = false;
			}
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			run_cleanups();
			queued_actions = NIL;
			reload_pending = false;
			break;
		default:
			break;
	}
}

static void
commit_actions_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
								SubTransactionId parentSubid, void *arg)
{
	ListCell   *lc;

	if (queued_actions == NIL)
		return;
	if (event == SUBXACT_EVENT_COMMIT_SUB)
	{
		foreach(lc, queued_actions)
		{
			QueuedAction *q = (QueuedAction *) lfirst(lc);

			if (q->subid == mySubid)
				q->subid = parentSubid;
		}
	}
	else if (event == SUBXACT_EVENT_ABORT_SUB)
	{
		/* ROLLBACK TO SAVEPOINT forgets what the subtransaction queued. */
		foreach(lc, queued_actions)
		{
			QueuedAction *q = (QueuedAction *) lfirst(lc);

			if (q->subid == mySubid)
			{
				if (q->action.cleanup)
					q->action.cleanup(q->action.arg);
				queued_actions = foreach_delete_current(queued_actions, lc);
			}
		}
	}
}

void
pgmlr_commit_actions_init(void)
{
	RegisterXactCallback(commit_actions_xact_callback, NULL);
	RegisterSubXactCallback(commit_actions_subxact_callback, NULL);
}

void
pgmlr_at_commit(const PgmlrCommitAction *action)
{
	MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);
	QueuedAction *q = (QueuedAction *) palloc0(sizeof(QueuedAction));

	q->action = *action;
	q->subid = GetCurrentSubTransactionId();
	queued_actions = lappend(queued_actions, q);
	MemoryContextSwitchTo(old);
}

int
pgmlr_pending_commit_actions(void)
{
	return list_length(queued_actions);
}
