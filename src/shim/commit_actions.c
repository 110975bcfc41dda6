/*
 * commit_actions.c — defers writes of server files to COMMIT.
 *
 * ALTER SYSTEM refuses to run in a transaction block because its file write
 * cannot be rolled back. Migration tools wrap everything in a transaction, so
 * our functions queue their writes here instead and perform them at
 * pre-commit; an ERROR there aborts the transaction like any other.
 *
 * Savepoints are handled here, once, for every file: an action is queued at
 * most once per transaction (one write per file, and AutoFileLock is not
 * re-entrant), and what a call contributes is an edit tagged with the
 * subtransaction that added it. ROLLBACK TO SAVEPOINT drops that
 * subtransaction's edits, even when the action itself was queued earlier.
 *
 * The actions that replace a file (postgresql.auto.conf, pg_hba.conf) share
 * one durable write: temp file, every byte, fsync, rename, fsync of the
 * folder (PgmlrFileReplacement).
 */
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include "access/xact.h"
#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "postmaster/postmaster.h"
#include "storage/fd.h"
#include "utils/memutils.h"

typedef struct QueuedEdit
{
	void	   *edit;
	SubTransactionId subid;		/* subtransaction that added it */
} QueuedEdit;

typedef struct QueuedAction
{
	const PgmlrCommitAction *action;	/* also the action's key */
	void	   *arg;
	SubTransactionId subid;		/* subtransaction that queued the action */
	List	   *edits;			/* QueuedEdit *, in the order added */
} QueuedAction;

/* Lives in TopTransactionContext; reset to NIL at every transaction end. */
static List *queued_actions = NIL;
static bool reload_pending = false;

static QueuedAction *
find_action(const PgmlrCommitAction *action)
{
	ListCell   *lc;

	foreach(lc, queued_actions)
	{
		QueuedAction *q = (QueuedAction *) lfirst(lc);

		if (q->action == action)
			return q;
	}
	return NULL;
}

/* A fresh list, so callers may keep or free it without touching the queue. */
static List *
surviving_edits(const QueuedAction *q)
{
	List	   *edits = NIL;
	ListCell   *lc;

	foreach(lc, q->edits)
		edits = lappend(edits, ((QueuedEdit *) lfirst(lc))->edit);
	return edits;
}

static void
run_cleanups(void)
{
	ListCell   *lc;

	foreach(lc, queued_actions)
	{
		QueuedAction *q = (QueuedAction *) lfirst(lc);

		if (q->action->cleanup)
			q->action->cleanup(q->arg);
	}
}

/*
 * An action whose edits were all rolled back is skipped: its file stays
 * byte-identical and it asks for no reload.
 */
static void
run_pre_commit(void)
{
	ListCell   *lc;

	/* Every prepare first: validation failures must stop before any rename. */
	foreach(lc, queued_actions)
	{
		QueuedAction *q = (QueuedAction *) lfirst(lc);

		if (q->edits != NIL && q->action->prepare)
			q->action->prepare(q->arg, surviving_edits(q));
	}
	foreach(lc, queued_actions)
	{
		QueuedAction *q = (QueuedAction *) lfirst(lc);

		if (q->edits == NIL)
			continue;
		if (q->action->install)
			q->action->install(q->arg);
		if (q->action->reload_after_commit)
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

/*
 * An action queued inside the aborted subtransaction goes with it (its edits
 * are necessarily from there too); one queued earlier stays and loses only
 * the aborted subtransaction's edits.
 */
static void
commit_actions_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
								SubTransactionId parentSubid, void *arg)
{
	ListCell   *alc;

	if (event != SUBXACT_EVENT_COMMIT_SUB && event != SUBXACT_EVENT_ABORT_SUB)
		return;
	foreach(alc, queued_actions)
	{
		QueuedAction *q = (QueuedAction *) lfirst(alc);
		ListCell   *lc;

		if (event == SUBXACT_EVENT_ABORT_SUB && q->subid == mySubid)
		{
			if (q->action->cleanup)
				q->action->cleanup(q->arg);
			queued_actions = foreach_delete_current(queued_actions, alc);
			continue;
		}
		if (q->subid == mySubid)
			q->subid = parentSubid;
		foreach(lc, q->edits)
		{
			QueuedEdit *e = (QueuedEdit *) lfirst(lc);

			if (e->subid != mySubid)
				continue;
			if (event == SUBXACT_EVENT_COMMIT_SUB)
				e->subid = parentSubid;
			else
				q->edits = foreach_delete_current(q->edits, lc);
		}
	}
}

void
pgmlr_commit_actions_init(void)
{
	RegisterXactCallback(commit_actions_xact_callback, NULL);
	RegisterSubXactCallback(commit_actions_subxact_callback, NULL);
}

void *
pgmlr_commit_action_arg(const PgmlrCommitAction *action)
{
	QueuedAction *q = find_action(action);
	MemoryContext old;
	void	   *arg;

	if (q != NULL)
		return q->arg;

	old = MemoryContextSwitchTo(TopTransactionContext);
	/* Before queuing: an ERROR in begin() must not leave a half-made action. */
	arg = action->begin ? action->begin() : NULL;
	q = (QueuedAction *) palloc0(sizeof(QueuedAction));
	q->action = action;
	q->arg = arg;
	q->subid = GetCurrentSubTransactionId();
	queued_actions = lappend(queued_actions, q);
	MemoryContextSwitchTo(old);
	return arg;
}

void
pgmlr_commit_action_add_edit(const PgmlrCommitAction *action, void *edit)
{
	MemoryContext old;
	QueuedEdit *e;
	QueuedAction *q;

	(void) pgmlr_commit_action_arg(action);
	q = find_action(action);
	old = MemoryContextSwitchTo(TopTransactionContext);
	e = (QueuedEdit *) palloc(sizeof(QueuedEdit));
	e->edit = edit;
	e->subid = GetCurrentSubTransactionId();
	q->edits = lappend(q->edits, e);
	MemoryContextSwitchTo(old);
}

List *
pgmlr_commit_action_edits(const PgmlrCommitAction *action)
{
	QueuedAction *q = find_action(action);

	return q ? surviving_edits(q) : NIL;
}

/* ---------------------------------------------------------------- */
/* Replacing a server file durably                                    */
/* ---------------------------------------------------------------- */

/* Every byte of data, looping over short writes and EINTR. */
static void
write_fully(int fd, const char *data, Size len, const char *path)
{
	while (len > 0)
	{
		ssize_t		n;

		errno = 0;
		n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
		{
			/* write() returning 0 for a regular file means no space */
			if (errno == 0)
				errno = ENOSPC;
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not write file \"%s\": %m", path),
					 errhint("Free space on that file system (or make it writable); the file in use is unchanged.")));
		}
		data += n;
		len -= (Size) n;
	}
}

void
pgmlr_file_replacement_write(PgmlrFileReplacement *r, const char *data, Size len)
{
	/* A transient file: closed by the abort if anything below ERRORs. */
	int			fd = OpenTransientFilePerm(r->temp_path, O_WRONLY | O_CREAT | O_TRUNC | PG_BINARY, r->mode);

	if (fd < 0)
	{
		if (r->alter_system_wording)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not open file \"%s\": %m", r->temp_path),
					 r->open_hint ? errhint("%s", r->open_hint) : 0));
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create file \"%s\": %m", r->temp_path),
				 r->open_hint ? errhint("%s", r->open_hint) : 0));
	}
	r->temp_written = true;
	write_fully(fd, data, len, r->temp_path);
	if (pg_fsync(fd) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not fsync file \"%s\": %m", r->temp_path)));
	/* closed before the rename, as ALTER SYSTEM does */
	if (CloseTransientFile(fd) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not close file \"%s\": %m", r->temp_path)));
}

void
pgmlr_file_replacement_install(PgmlrFileReplacement *r)
{
	/* rename, then fsync the file and its folder */
	(void) durable_rename(r->temp_path, r->target, ERROR);
	r->temp_written = false;
}

void
pgmlr_file_replacement_discard(PgmlrFileReplacement *r)
{
	if (r->temp_written)
		(void) unlink(r->temp_path);	/* a leftover is overwritten next time */
	r->temp_written = false;
}
