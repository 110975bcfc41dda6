/*
 * auto_conf_file.c — postgresql.auto.conf, read with PostgreSQL's parser and
 * written at COMMIT the way ALTER SYSTEM writes it: same file, same lock
 * (AutoFileLock), same format, temp file + fsync + durable_rename (the
 * commit actions' PgmlrFileReplacement).
 *
 * ALTER SYSTEM holds AutoFileLock while it reads, merges and writes. We do
 * the same inside prepare(): the file is re-read under the lock at COMMIT,
 * so an ALTER SYSTEM run by another session between our call and our COMMIT
 * is merged, not overwritten.
 */
#include "replication/auto_conf_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/file_perm.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "storage/fd.h"
#include "storage/lwlock.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "pgml_repl/replication.h"

/* The name ALTER SYSTEM uses; it truncates a stale one, so do we. */
#define AUTO_CONF_TMP_FILENAME PG_AUTOCONF_FILENAME ".tmp"

/* One edit of the commit action: one setting, in call order. */
typedef struct PendingSetting
{
	char	   *name;
	char	   *value;
} PendingSetting;

/* The transaction's one queued write; lives in TopTransactionContext. */
typedef struct AutoConfWrite
{
	PgmlrFileReplacement file;
	bool		up_to_date;		/* the file already says it all: no write */
} AutoConfWrite;

static const PgmlrCommitAction auto_conf_action;

/* ---------------------------------------------------------------- */
/* Reading                                                            */
/* ---------------------------------------------------------------- */

void
pgmlr_auto_conf_load(pgmlr_auto_conf *conf, char **raw_out, Size *raw_len)
{
	struct stat st;
	FILE	   *fp;
	ConfigVariable *head = NULL;
	ConfigVariable *tail = NULL;
	ConfigVariable *item;
	pgmlr_status status;

	if (raw_out)
	{
		*raw_out = NULL;
		*raw_len = 0;
	}
	if (stat(PG_AUTOCONF_FILENAME, &st) != 0)
	{
		if (errno == ENOENT)
			return;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not stat file \"%s\": %m", PG_AUTOCONF_FILENAME)));
	}

	fp = AllocateFile(PG_AUTOCONF_FILENAME, "r");
	if (fp == NULL)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open file \"%s\": %m", PG_AUTOCONF_FILENAME)));

	if (raw_out)
	{
		StringInfoData buf;
		char		chunk[8192];
		size_t		n;

		initStringInfo(&buf);
		while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
			appendBinaryStringInfo(&buf, chunk, (int) n);
		if (ferror(fp))
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not read file \"%s\": %m", PG_AUTOCONF_FILENAME)));
		rewind(fp);
		*raw_out = buf.data;
		*raw_len = buf.len;
	}

	/* As AlterSystemSetConfigFile does: details of a bad line go to the log. */
	if (!ParseConfigFp(fp, PG_AUTOCONF_FILENAME, 0, LOG, &head, &tail))
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("could not parse contents of file \"%s\"", PG_AUTOCONF_FILENAME),
				 errhint("The server log shows the bad line. Fix it, or run ALTER SYSTEM RESET ALL to rewrite the file.")));
	FreeFile(fp);

	for (item = head; item != NULL; item = item->next)
	{
		if (item->name == NULL)
			continue;
		pgmlr_auto_conf_add(conf, item->name, item->value, &status);
		pgmlr_report_status(&status);
	}
	FreeConfigVariables(head);
}

static void
overlay_settings(pgmlr_auto_conf *conf, List *settings)
{
	ListCell   *lc;
	pgmlr_status status;

	foreach(lc, settings)
	{
		PendingSetting *p = (PendingSetting *) lfirst(lc);

		pgmlr_auto_conf_set(conf, p->name, p->value, &status);
		pgmlr_report_status(&status);
	}
}

void
pgmlr_auto_conf_overlay_pending(pgmlr_auto_conf *conf)
{
	overlay_settings(conf, pgmlr_commit_action_edits(&auto_conf_action));
}

/* ---------------------------------------------------------------- */
/* Writing at COMMIT                                                  */
/* ---------------------------------------------------------------- */

static void
auto_conf_prepare(void *arg, List *settings)
{
	AutoConfWrite *w = (AutoConfWrite *) arg;
	MemoryContext work;
	MemoryContext old;
	pgmlr_auto_conf *conf;
	pgmlr_status status;
	char	   *raw;
	Size		raw_len;
	char	   *text;
	Size		text_len;

	work = AllocSetContextCreate(TopTransactionContext, "pgml_repl auto.conf write",
								 ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(work);

	/* Released in install(), or by cleanup() / the abort's LWLockReleaseAll. */
	LWLockAcquire(AutoFileLock, LW_EXCLUSIVE);

	conf = pgmlr_auto_conf_create(&status);
	pgmlr_report_status(&status);
	pgmlr_own_handle(conf, pgmlr_auto_conf_free);

	pgmlr_auto_conf_load(conf, &raw, &raw_len);
	overlay_settings(conf, settings);
	text = pgmlr_take_string(pgmlr_auto_conf_render(conf, &status));
	pgmlr_report_status(&status);
	text_len = strlen(text);

	if (raw != NULL && raw_len == text_len && memcmp(raw, text, text_len) == 0)
	{
		w->up_to_date = true;
		MemoryContextSwitchTo(old);
		MemoryContextDelete(work);
		return;
	}

	pgmlr_file_replacement_write(&w->file, text, text_len);

	MemoryContextSwitchTo(old);
	MemoryContextDelete(work);
}

static void
auto_conf_install(void *arg)
{
	AutoConfWrite *w = (AutoConfWrite *) arg;

	if (!w->up_to_date)
		pgmlr_file_replacement_install(&w->file);
	if (LWLockHeldByMe(AutoFileLock))
		LWLockRelease(AutoFileLock);
}

/*
 * Runs at transaction end and when ROLLBACK TO SAVEPOINT drops the action;
 * must not ERROR. After an ERROR, AbortTransaction has already released
 * every LWLock, so the temp file is removed under the lock taken again:
 * another backend's ALTER SYSTEM may be writing the same name.
 */
static void
auto_conf_cleanup(void *arg)
{
	AutoConfWrite *w = (AutoConfWrite *) arg;

	if (w->file.temp_written)
	{
		bool		held = LWLockHeldByMe(AutoFileLock);

		if (!held)
			LWLockAcquire(AutoFileLock, LW_EXCLUSIVE);
		pgmlr_file_replacement_discard(&w->file);
		LWLockRelease(AutoFileLock);
	}
	else if (LWLockHeldByMe(AutoFileLock))
		LWLockRelease(AutoFileLock);
}

static void *
auto_conf_begin(void)
{
	AutoConfWrite *w = (AutoConfWrite *) palloc0(sizeof(AutoConfWrite));

	w->file.target = PG_AUTOCONF_FILENAME;
	w->file.temp_path = AUTO_CONF_TMP_FILENAME;
	w->file.mode = pg_file_create_mode;
	w->file.alter_system_wording = true;
	w->file.open_hint = "Make the data directory writable; " PG_AUTOCONF_FILENAME " is unchanged.";
	return w;
}

/* A reload lets archive_command take effect and pg_settings show pending_restart. */
static const PgmlrCommitAction auto_conf_action = {
	.begin = auto_conf_begin,
	.prepare = auto_conf_prepare,
	.install = auto_conf_install,
	.cleanup = auto_conf_cleanup,
	.reload_after_commit = true,
};

void
pgmlr_auto_conf_queue(int count, const char *const *names, const char *const *values)
{
	MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);
	int			i;

	for (i = 0; i < count; i++)
	{
		PendingSetting *p = (PendingSetting *) palloc(sizeof(PendingSetting));

		p->name = pstrdup(names[i]);
		p->value = pstrdup(values[i]);
		pgmlr_commit_action_add_edit(&auto_conf_action, p);
	}
	MemoryContextSwitchTo(old);
}
